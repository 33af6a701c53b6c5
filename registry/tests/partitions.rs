//! The registry as a supervisor of its partitions (SEMANTICS.md §7.1, §7.2):
//! one_for_all for unique keys, one_for_one for duplicate keys, restart
//! intensity, shutdown, and what registered processes see.

mod common;

use common::{run, wait_down, Puppet};
use ember_registry::{Options, Registry, RegistryError};
use ember_runtime::{monitor, receive, receive_timeout, self_pid, trap_exit, Exit, Pid, Reason};
use std::time::Duration;

type Reg = Registry<u32, ()>;

/// The live owner of partition `i` of registry `name` (with values of type `V`).
fn part<V: Clone + Send + Sync + 'static>(name: &str, i: usize) -> Option<Pid> {
    Registry::<u32, V>::named(name).ok().and_then(|r| r.partition_pid(i))
}

fn partitions(name: &str, p: usize) -> Vec<Pid> {
    (0..p).map(|i| part::<()>(name, i).unwrap()).collect()
}

/// A puppet that registers `keys` and answers with the owners.
fn registered(reg: &Reg, keys: impl IntoIterator<Item = u32> + Send + 'static) -> (Puppet, Vec<Pid>) {
    let puppet = Puppet::spawn();
    let r = reg.clone();
    let owners = puppet.run(move || keys.into_iter().map(|k| r.register(k, ()).unwrap()).collect());
    (puppet, owners)
}

/// Kills partition `pid` and waits until the registry has restarted it
/// (a new owner of partition `i`).
fn kill_partition<V: Clone + Send + Sync + 'static>(name: &str, i: usize, pid: Pid) -> Pid {
    let m = monitor(pid);
    pid.exit(Reason::Kill);
    wait_down(m);
    common::wait_until("the partition is restarted", || part::<V>(name, i).is_some_and(|p| p != pid));
    // The new partition publishes itself during its init: wait until that
    // has finished (its answer to a sync comes after), or the next kill
    // could land in the init and count as a failed restart too.
    // (With unique keys all partitions restart, one after the other.)
    common::wait_until("every partition answers", || Registry::<u32, V>::named(name).and_then(|r| r.sync()).is_ok());
    part::<V>(name, i).unwrap()
}

#[test]
fn unique_partitions_restart_all_for_one() {
    run(|| {
        let name = "Parts.Unique";
        let reg = Reg::start_link(Options::unique(name).partitions(4)).unwrap();
        let before = partitions(name, 4);
        // Processes spread over the partitions; one traps exits.
        let mut puppets = Vec::new();
        for i in 0..12 {
            puppets.push(registered(&reg, [i]).0);
        }
        let trapper = Puppet::spawn();
        let r = reg.clone();
        trapper.run(move || {
            trap_exit(true);
            r.register(100, ()).unwrap();
        });
        let monitors: Vec<_> = puppets.iter().map(|p| monitor(p.pid)).collect();
        assert_eq!(reg.count().unwrap(), 13);

        kill_partition::<()>(name, 0, before[0]);
        // Every partition was restarted...
        common::wait_until("all partitions restarted", || {
            (0..4).all(|i| part::<()>(name, i).is_some_and(|p| !before.contains(&p)))
        });
        // ...and every registered process that does not trap exits died
        // with its partition (killed, or shut down with its siblings).
        for m in monitors {
            let reason = wait_down(m);
            assert!(reason == Reason::Killed || reason == Reason::Shutdown, "{reason:?}");
        }
        assert!(trapper.pid.is_alive());
        // The tables were cleared: the trapping survivor lost its entry,
        // and can register again with the new partition.
        reg.sync().unwrap();
        assert_eq!(reg.count().unwrap(), 0);
        let r = reg.clone();
        trapper.run(move || r.register(100, ()).unwrap());
        assert_eq!(reg.lookup(&100).unwrap(), vec![(trapper.pid, ())]);
        assert!(reg.pid().unwrap().is_alive());
    })
}

#[test]
fn duplicate_partitions_restart_one_for_one() {
    run(|| {
        let name = "Parts.Duplicate";
        let reg = Reg::start_link(Options::duplicate(name).partitions(4)).unwrap();
        let before = partitions(name, 4);
        let mut by_owner: Vec<(Puppet, Pid)> = Vec::new();
        for i in 0..16 {
            let (puppet, owners) = registered(&reg, [i]);
            by_owner.push((puppet, owners[0]));
        }
        let victim = by_owner[0].1;
        let i = before.iter().position(|&p| p == victim).unwrap();
        let monitors: Vec<_> = by_owner.iter().map(|(p, o)| (monitor(p.pid), *o)).collect();

        let restarted = kill_partition::<()>(name, i, victim);
        assert_ne!(restarted, victim);
        // Only that partition was restarted.
        let after = partitions(name, 4);
        for j in 0..4 {
            assert_eq!(after[j] == before[j], j != i, "partition {j}");
        }
        // Its processes died; the others live, with their entries.
        let mut survivors = 0;
        for (m, owner) in monitors {
            if owner == victim {
                assert_eq!(wait_down(m), Reason::Killed);
            } else {
                survivors += 1;
                ember_runtime::demonitor(m);
            }
        }
        reg.sync().unwrap();
        assert_eq!(reg.count().unwrap(), survivors);
        for (puppet, owner) in &by_owner {
            assert_eq!(puppet.pid.is_alive(), *owner != victim);
        }
    })
}

#[test]
fn too_many_partition_restarts_stop_the_registry() {
    run(|| {
        trap_exit(true);
        let name = "Parts.Intensity";
        let reg = Reg::start_link(Options::duplicate(name).partitions(2)).unwrap();
        let top = reg.pid().unwrap();
        // 3 restarts within 5 seconds are allowed...
        let mut victim = part::<()>(name, 0).unwrap();
        let sibling = part::<()>(name, 1).unwrap();
        for _ in 0..3 {
            victim = kill_partition::<()>(name, 0, victim);
        }
        assert!(top.is_alive());
        // ...the 4th is one too many: the registry shuts down.
        victim.exit(Reason::Kill);
        let exit: Exit = receive();
        assert_eq!((exit.from, exit.reason), (top, Reason::Shutdown));
        assert!(!sibling.is_alive());
        assert_eq!(reg.count(), Err(RegistryError::UnknownRegistry(name.into())));
    })
}

/// A partition killed as soon as it shows up in the tables — possibly still
/// inside its `init` — is restarted again: a failed restart is retried
/// within the intensity, as OTP's supervisor does, instead of taking the
/// whole registry down.
#[test]
fn a_partition_killed_while_starting_is_restarted_again() {
    run(|| {
        trap_exit(true);
        let name = "Parts.KilledWhileStarting";
        let reg = Reg::start_link(Options::duplicate(name).partitions(2)).unwrap();
        let top = reg.pid().unwrap();
        let first = part::<()>(name, 0).unwrap();
        let m = monitor(first);
        first.exit(Reason::Kill);
        wait_down(m);
        // Kill the successor the moment it is published.
        let mut successor = None;
        common::wait_until("a successor is published", || {
            successor = part::<()>(name, 0).filter(|&p| p != first);
            successor.is_some()
        });
        let successor = successor.unwrap();
        let m = monitor(successor);
        successor.exit(Reason::Kill);
        wait_down(m);
        // Two or three restart attempts in all: within the intensity.
        common::wait_until("partition 0 runs again", || part::<()>(name, 0).is_some_and(|p| p != successor));
        reg.sync().unwrap();
        assert!(top.is_alive());
        assert!(receive_timeout::<Exit>(Duration::ZERO).is_none(), "the registry must not have exited");
    })
}

#[test]
fn stopping_the_registry_stops_its_processes() {
    run(|| {
        // Linked to the registry, which stops with `shutdown`.
        trap_exit(true);
        let name = "Parts.Stop";
        let reg = Reg::start_link(Options::unique(name).partitions(2)).unwrap();
        let (puppet, _) = registered(&reg, [1, 2]);
        let m = monitor(puppet.pid);
        let parts = partitions(name, 2);
        reg.stop(Reason::Shutdown).unwrap();
        assert_eq!(wait_down(m), Reason::Shutdown);
        assert!(parts.iter().all(|p| !p.is_alive()));
        assert!(ember_runtime::whereis(name).is_none());
    })
}

#[test]
fn killing_the_registry_kills_its_partitions() {
    run(|| {
        trap_exit(true);
        let name = "Parts.Kill";
        let reg = Reg::start_link(Options::unique(name).partitions(3)).unwrap();
        let top = reg.pid().unwrap();
        let parts = partitions(name, 3);
        let (puppet, _) = registered(&reg, [1]);
        let m = monitor(puppet.pid);
        let part_monitors: Vec<_> = parts.iter().map(|p| monitor(*p)).collect();
        top.exit(Reason::Kill);
        let exit: Exit = receive();
        assert_eq!((exit.from, exit.reason), (top, Reason::Killed));
        for pm in part_monitors {
            assert_eq!(wait_down(pm), Reason::Killed);
        }
        assert_eq!(wait_down(m), Reason::Killed);
        assert_eq!(reg.lookup(&1), Err(RegistryError::UnknownRegistry(name.into())));
        // The name is free again.
        let again = Reg::start_link(Options::unique(name)).unwrap();
        assert_ne!(again.pid(), Some(top));
        let _ = self_pid();
    })
}

/// Tells a storm worker to stop and report.
struct Halt(Pid);
/// A storm worker stopped.
struct Halted;

/// Processes that trap exits keep registering and unregistering while
/// partitions are killed and restarted: when the storm is over, the key
/// tables and the pid tables agree, and hold nothing but live processes —
/// no entry written during a restart outlived the clearing of its table.
fn restart_storm(keys: ember_registry::Keys) {
    run(move || {
        trap_exit(true);
        let name = "Parts.Storm";
        let reg = Registry::<u32, u32>::start_link(ember_registry::Options::new(name, keys).partitions(4)).unwrap();
        let workers: Vec<Pid> = (0..8u64)
            .map(|seed| {
                let r = reg.clone();
                ember_runtime::spawn(move || {
                    trap_exit(true);
                    let mut x = seed * 7919 + 1;
                    loop {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let key = (x % 64) as u32;
                        if x % 3 == 0 {
                            let _ = r.unregister(&key);
                        } else {
                            let _ = r.register(key, seed as u32);
                        }
                        while ember_runtime::receive_timeout::<Exit>(std::time::Duration::ZERO).is_some() {}
                        if let Some(Halt(to)) = ember_runtime::receive_timeout::<Halt>(std::time::Duration::ZERO) {
                            ember_runtime::send(to, Halted);
                            ember_runtime::receive::<()>();
                        }
                        ember_runtime::yield_now();
                    }
                })
            })
            .collect();
        // Three partition crashes: within the restart intensity.
        for round in 0..3 {
            let i = round % 4;
            let victim = part::<u32>(name, i).unwrap();
            kill_partition::<u32>(name, i, victim);
            for _ in 0..50 {
                ember_runtime::yield_now();
            }
        }
        for w in &workers {
            ember_runtime::send(*w, Halt(self_pid()));
        }
        for _ in &workers {
            common::wait_until("workers halted", || {
                ember_runtime::receive_timeout::<Halted>(std::time::Duration::ZERO).is_some()
            });
        }
        reg.sync().unwrap();
        let entries = reg.select(&ember_registry::Spec::all(|k: &u32, pid, _: &u32| (pid, *k))).unwrap();
        for (pid, _) in &entries {
            assert!(workers.contains(pid) && pid.is_alive(), "entry of {pid}");
        }
        for w in &workers {
            let mut from_keys: Vec<u32> = entries.iter().filter(|(p, _)| p == w).map(|(_, k)| *k).collect();
            from_keys.sort();
            let mut from_pids = reg.keys(*w).unwrap();
            from_pids.sort();
            assert_eq!(from_keys, from_pids, "key tables and pid tables disagree on {w}");
        }
        assert!(reg.pid().is_some());
    })
}

#[test]
fn restart_storm_unique() {
    restart_storm(ember_registry::Keys::Unique)
}

#[test]
fn restart_storm_duplicate() {
    restart_storm(ember_registry::Keys::duplicate())
}

/// The top process is a Supervisor (as Elixir's Registry is one): its
/// children are the partitions, in order, and the supervisor API sees them.
#[test]
fn the_top_process_is_a_supervisor_of_the_partitions() {
    run(|| {
        let name = "Parts.Supervisor";
        let reg = Reg::start_link(Options::unique(name).partitions(3)).unwrap();
        let top = ember_supervisor::Supervisor::new(reg.pid().unwrap());
        assert_eq!(top.get_callback_module().unwrap(), "Registry");
        let children = top.which_children().unwrap();
        let ids: Vec<String> = children.iter().map(|c| c.id.clone().unwrap().to_string()).collect();
        assert_eq!(ids, ["PIDPartition2", "PIDPartition1", "PIDPartition0"]);
        let pids: Vec<Option<Pid>> = children.iter().rev().map(|c| c.pid.pid()).collect();
        assert_eq!(pids, partitions(name, 3).into_iter().map(Some).collect::<Vec<_>>());
        assert_eq!(top.count_children().unwrap().active, 3);
    })
}
