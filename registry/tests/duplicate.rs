//! Duplicate registries (SEMANTICS.md §7.2, §7.3), partitioned by pid and
//! by key, with 1 and 8 partitions.

mod common;

use common::{die_and_sync, run, sorted, wait_down, Puppet};
use ember_registry::{Clause, Keys, Options, PartitionBy, Registry, RegistryError, RegistryEvent, Spec};
use ember_runtime::{monitor, process_info, receive, register, self_pid, send, Pid, Reason};

type Reg = Registry<String, u32>;

fn start(name: &str, keys: Keys, partitions: usize) -> Reg {
    Reg::start_link(Options::new(name, keys).partitions(partitions)).unwrap()
}

fn k(s: &str) -> String {
    s.to_string()
}

fn links(pid: Pid) -> Vec<Pid> {
    process_info(pid).unwrap().links
}

/// Generates a test per (partitioning, partitions) pair.
macro_rules! duplicate {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use ember_registry::{Keys, PartitionBy};
                #[test]
                fn by_pid_p1() {
                    super::$name(Keys::Duplicate(PartitionBy::Pid), 1)
                }
                #[test]
                fn by_pid_p8() {
                    super::$name(Keys::Duplicate(PartitionBy::Pid), 8)
                }
                #[test]
                fn by_key_p1() {
                    super::$name(Keys::Duplicate(PartitionBy::Key), 1)
                }
                #[test]
                fn by_key_p8() {
                    super::$name(Keys::Duplicate(PartitionBy::Key), 8)
                }
            }
        )*
    };
}

fn has_duplicate_registrations(keys: Keys, p: usize) {
    run(move || {
        let reg = start("Dup.Reg", keys, p);
        let me = self_pid();
        let owner = reg.register(k("hello"), 1).unwrap();
        assert!(links(me).contains(&owner));
        // The same process, the same key, again: fine.
        reg.register(k("hello"), 2).unwrap();
        reg.register(k("world"), 3).unwrap();
        assert_eq!(sorted(reg.lookup(&k("hello")).unwrap()), vec![(me, 1), (me, 2)]);
        assert_eq!(sorted(reg.keys(me).unwrap()), vec![k("hello"), k("hello"), k("world")]);
        assert_eq!(sorted(reg.values(&k("hello"), me).unwrap()), vec![1, 2]);
        assert_eq!(reg.count().unwrap(), 3);

        // Many processes under one key.
        let puppets: Vec<Puppet> = (0..10).map(|_| Puppet::spawn()).collect();
        for (i, puppet) in puppets.iter().enumerate() {
            let r = reg.clone();
            puppet.run(move || r.register(k("hello"), 100 + i as u32).unwrap());
        }
        assert_eq!(reg.lookup(&k("hello")).unwrap().len(), 12);
        assert_eq!(reg.count().unwrap(), 13);
        for (i, puppet) in puppets.iter().enumerate() {
            assert_eq!(reg.values(&k("hello"), puppet.pid).unwrap(), vec![100 + i as u32]);
            assert_eq!(reg.keys(puppet.pid).unwrap(), vec![k("hello")]);
        }
        // whereis (what via uses) finds nothing in a duplicate registry.
        assert_eq!(reg.whereis(&k("hello")).unwrap(), None);
    })
}

fn unregisters(keys: Keys, p: usize) {
    run(move || {
        let reg = start("Dup.Unregister", keys, p);
        let me = self_pid();
        let owner = reg.register(k("hello"), 1).unwrap();
        reg.register(k("hello"), 2).unwrap();
        let other = Puppet::spawn();
        let r = reg.clone();
        other.run(move || r.register(k("hello"), 3).unwrap());
        // Removes all of the caller's entries under the key, and only those.
        reg.unregister(&k("hello")).unwrap();
        assert_eq!(reg.lookup(&k("hello")).unwrap(), vec![(other.pid, 3)]);
        assert!(reg.keys(me).unwrap().is_empty());
        assert!(!links(me).contains(&owner), "unlinked: no key left");
        assert_eq!(reg.count().unwrap(), 1);
        reg.unregister(&k("hello")).unwrap();
        assert_eq!(reg.count().unwrap(), 1);
    })
}

fn unregister_match(keys: Keys, p: usize) {
    run(move || {
        let reg = start("Dup.UnregisterMatch", keys, p);
        let me = self_pid();
        for v in [1, 2, 3] {
            reg.register(k("hello"), v).unwrap();
        }
        reg.register(k("world"), 4).unwrap();
        // None match: nothing happens.
        reg.unregister_match(&k("hello"), |v| *v > 10).unwrap();
        assert_eq!(reg.count().unwrap(), 4);
        // Some match: those go, the others stay (in both tables).
        reg.unregister_match(&k("hello"), |v| *v >= 2).unwrap();
        assert_eq!(reg.lookup(&k("hello")).unwrap(), vec![(me, 1)]);
        assert_eq!(sorted(reg.keys(me).unwrap()), vec![k("hello"), k("world")]);
        // All match: the key goes; the process stays linked (another key).
        reg.unregister_match(&k("hello"), |_| true).unwrap();
        assert!(reg.lookup(&k("hello")).unwrap().is_empty());
        assert_eq!(reg.keys(me).unwrap(), vec![k("world")]);
        reg.unregister_match(&k("world"), |v| *v == 4).unwrap();
        assert!(reg.keys(me).unwrap().is_empty());
        assert_eq!(reg.count().unwrap(), 0);
        // Partial removal keeps the pid table in step: the process's death
        // still cleans up everything.
        let puppet = Puppet::spawn();
        let r = reg.clone();
        puppet.run(move || {
            for v in [1, 2, 3, 4] {
                r.register(k("x"), v).unwrap();
            }
            r.unregister_match(&k("x"), |v| v % 2 == 0).unwrap();
        });
        assert_eq!(reg.keys(puppet.pid).unwrap(), vec![k("x"), k("x")]);
        die_and_sync(&reg, puppet.pid, Reason::Kill);
        assert_eq!(reg.count().unwrap(), 0);
    })
}

fn update_value_is_not_supported(keys: Keys, p: usize) {
    run(move || {
        let reg = start("Dup.Update", keys, p);
        reg.register(k("hello"), 1).unwrap();
        let err = reg.update_value(&k("hello"), |v| v + 1).unwrap_err();
        assert!(matches!(&err, RegistryError::NotSupported(why) if why.contains("update_value")), "{err}");
    })
}

fn queries(keys: Keys, p: usize) {
    run(move || {
        let reg = start("Dup.Queries", keys, p);
        let me = self_pid();
        let other = Puppet::spawn();
        for v in [1, 2, 3] {
            reg.register(k("a"), v).unwrap();
        }
        let r = reg.clone();
        other.run(move || {
            r.register(k("a"), 10).unwrap();
            r.register(k("b"), 20).unwrap();
        });
        assert_eq!(reg.count().unwrap(), 5);
        assert_eq!(sorted(reg.match_values(&k("a"), |v| *v >= 2).unwrap()), vec![(me, 2), (me, 3), (other.pid, 10)]);
        assert_eq!(reg.count_match(&k("a"), |v| *v >= 3).unwrap(), 2);
        assert_eq!(reg.count_match(&k("zz"), |_| true).unwrap(), 0);
        let spec = Spec::new().clause(Clause::new().pid_eq(other.pid).body(|k: &String, _, v: &u32| (k.clone(), *v)));
        assert_eq!(sorted(reg.select(&spec).unwrap()), vec![(k("a"), 10), (k("b"), 20)]);
        let spec: Spec<String, u32, ()> = Spec::new().clause(Clause::new().key_eq(k("a")));
        assert_eq!(reg.count_select(&spec).unwrap(), 4);
    })
}

fn dispatch(keys: Keys, p: usize) {
    run(move || {
        let reg = start("Dup.Dispatch", keys, p);
        let me = self_pid();
        let puppets: Vec<Puppet> = (0..16).map(|_| Puppet::spawn()).collect();
        for (i, puppet) in puppets.iter().enumerate() {
            let r = reg.clone();
            puppet.run(move || r.register(k("topic"), i as u32).unwrap());
        }
        // Serial: in the caller, one call per non-empty partition.
        let mut seen = Vec::new();
        let mut calls = 0;
        reg.dispatch(&k("topic"), |entries| {
            assert!(!entries.is_empty());
            assert_eq!(ember_runtime::self_pid(), me);
            calls += 1;
            seen.extend_from_slice(entries);
        })
        .unwrap();
        assert!(calls >= 1 && calls <= p);
        assert_eq!(sorted(seen.iter().map(|(_, v)| *v).collect()), (0..16).collect::<Vec<u32>>());
        reg.dispatch(&k("nobody"), |_| panic!("not called without entries")).unwrap();
        // Parallel: every entry once, from one process per partition for
        // duplicate-by-pid registries with several partitions.
        reg.dispatch_parallel(&k("topic"), move |entries| {
            for (pid, v) in entries {
                send(me, (*pid, *v, ember_runtime::self_pid()));
            }
        })
        .unwrap();
        let mut got: Vec<(Pid, u32, Pid)> = (0..16).map(|_| receive()).collect();
        got.sort_by_key(|(_, v, _)| *v);
        for (i, (pid, v, runner)) in got.iter().enumerate() {
            assert_eq!((*pid, *v), (puppets[i].pid, i as u32));
            let in_caller = *runner == me;
            assert_eq!(in_caller, keys != Keys::duplicate() || p == 1);
        }
        // A failing callback in a dispatch process is reported (when run
        // in the caller, it is the caller's own panic).
        if keys == Keys::duplicate() && p > 1 {
            let failed = reg.dispatch_parallel(&k("topic"), |_| panic!("callback failure"));
            assert!(matches!(failed, Err(RegistryError::DispatchFailed(Reason::Panic { .. }))));
        }
    })
}

fn cleans_up_after_exits(keys: Keys, p: usize) {
    run(move || {
        let reg = start("Dup.Cleanup", keys, p);
        let survivor = Puppet::spawn();
        let r = reg.clone();
        survivor.run(move || r.register(k("shared"), 0).unwrap());
        for reason in [Reason::Normal, Reason::custom("boom"), Reason::Kill] {
            let puppet = Puppet::spawn();
            let r = reg.clone();
            puppet.run(move || {
                for i in 0..20 {
                    r.register(format!("key{i}"), i).unwrap();
                    r.register(k("shared"), i).unwrap();
                }
            });
            assert_eq!(reg.count().unwrap(), 41);
            let m = monitor(puppet.pid);
            match reason.clone() {
                Reason::Kill => puppet.pid.exit(Reason::Kill),
                other => puppet.cast(move || ember_runtime::exit(other)),
            }
            wait_down(m);
            reg.sync().unwrap();
            assert_eq!(reg.count().unwrap(), 1, "after {reason:?}");
            assert_eq!(reg.lookup(&k("shared")).unwrap(), vec![(survivor.pid, 0)]);
            assert!(reg.keys(puppet.pid).unwrap().is_empty());
        }
    })
}

fn listeners(keys: Keys, p: usize) {
    run(move || {
        register("dup_listener", self_pid()).unwrap();
        let reg =
            Reg::start_link(Options::new("Dup.Listeners", keys).partitions(p).listeners(["dup_listener"])).unwrap();
        let me = self_pid();
        reg.register(k("a"), 1).unwrap();
        reg.register(k("a"), 2).unwrap();
        for value in [1, 2] {
            let event: RegistryEvent<String, u32> = receive();
            assert_eq!(
                event,
                RegistryEvent::Register { registry: "Dup.Listeners".into(), key: k("a"), pid: me, value }
            );
        }
        reg.unregister_match(&k("a"), |v| *v == 1).unwrap(); // partial: no message
        reg.unregister_match(&k("a"), |v| *v == 2).unwrap(); // the last one: a message
        let event: RegistryEvent<String, u32> = receive();
        assert_eq!(event, RegistryEvent::Unregister { registry: "Dup.Listeners".into(), key: k("a"), pid: me });
        assert_eq!(ember_runtime::receive_timeout::<RegistryEvent<String, u32>>(std::time::Duration::ZERO), None);
    })
}

fn partitions_are_by_pid_or_by_key(keys: Keys, p: usize) {
    run(move || {
        let reg = start("Dup.Layout", keys, p);
        // Many processes each register one key: with partitioning by key,
        // every entry of a key is owned by one partition.
        let puppets: Vec<Puppet> = (0..32).map(|_| Puppet::spawn()).collect();
        let mut owners = Vec::new();
        for puppet in &puppets {
            let r = reg.clone();
            owners.push(puppet.run(move || r.register(k("one"), 0).unwrap()));
        }
        owners.sort();
        owners.dedup();
        if keys == Keys::Duplicate(PartitionBy::Key) || p == 1 {
            assert_eq!(owners.len(), 1);
        } else {
            assert!(owners.len() > 1, "32 processes over {p} partitions by pid used {} owners", owners.len());
        }
    })
}

duplicate!(
    has_duplicate_registrations,
    unregisters,
    unregister_match,
    update_value_is_not_supported,
    queries,
    dispatch,
    cleans_up_after_exits,
    listeners,
    partitions_are_by_pid_or_by_key,
);
