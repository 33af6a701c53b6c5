//! PartitionSupervisor: structure, routing and introspection
//! (SEMANTICS.md §6.1–§6.4).

use ember_runtime::gen_server::StartError;
use ember_runtime::{
    monitor, receive, receive_if, self_pid, send, spawn_link, trap_exit, Dest, Down, Exit, Pid, Reason, Via, ViaError,
};
use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
use ember_supervisor::partition_supervisor::{
    via_partition, PartitionKey, PartitionSupervisor, PartitionSupervisorOptions,
};
use ember_supervisor::{ChildPid, ChildSpec, ChildType, StartedChild};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let _ = tracing_subscriber::fmt().with_writer(std::io::sink).try_init();
    ember_runtime::run(move || {
        trap_exit(true);
        f()
    })
    .expect("the test process failed")
}

fn idle() -> Pid {
    spawn_link(|| loop {
        receive::<()>();
    })
}

/// Partition number → pid, from `which_children`.
fn partition_pids(name: &str) -> HashMap<usize, Pid> {
    PartitionSupervisor::which_children(name)
        .unwrap()
        .into_iter()
        .map(|c| (c.id.unwrap().as_str().parse().unwrap(), c.pid.pid().unwrap()))
        .collect()
}

fn dynamic_partitions(name: &'static str, n: usize) -> Pid {
    let spec = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new());
    PartitionSupervisor::start_link(PartitionSupervisorOptions::new(name, spec).partitions(n)).unwrap()
}

#[test]
fn one_child_per_partition_defaulting_to_the_schedulers() {
    run(|| {
        let schedulers = ember_runtime::stats().schedulers;
        let spec = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new());
        let ps = PartitionSupervisor::start_link(PartitionSupervisorOptions::new("default", spec)).unwrap();
        assert_eq!(PartitionSupervisor::partitions("default").unwrap(), schedulers);
        assert_eq!(ember_runtime::whereis("default"), Some(ps), "registered under its name");
        let children = PartitionSupervisor::which_children("default").unwrap();
        assert_eq!(children.len(), schedulers);
        // Most recently started first, as Supervisor::which_children.
        let ids: Vec<String> = children.iter().map(|c| c.id.clone().unwrap().to_string()).collect();
        let expected: Vec<String> = (0..schedulers).rev().map(|p| p.to_string()).collect();
        assert_eq!(ids, expected);
        assert!(children.iter().all(|c| c.kind == ChildType::Supervisor && matches!(c.pid, ChildPid::Running(_))));
        let counts = PartitionSupervisor::count_children("default").unwrap();
        assert_eq!(
            (counts.specs, counts.active, counts.supervisors, counts.workers),
            (schedulers, schedulers, schedulers, 0)
        );
    });
}

#[test]
fn integer_keys_route_by_remainder() {
    run(|| {
        dynamic_partitions("ints", 3);
        let pids = partition_pids("ints");
        for key in -7i64..=7 {
            let expected = pids[&((key.unsigned_abs() % 3) as usize)];
            assert_eq!(via_partition("ints", key).whereis(), Some(expected), "key {key}");
        }
        assert_eq!(via_partition("ints", u64::MAX).whereis(), Some(pids[&((u64::MAX % 3) as usize)]));
        assert_eq!(via_partition("ints", i64::MIN).whereis(), Some(pids[&((i64::MIN.unsigned_abs() % 3) as usize)]));
        assert_eq!(PartitionKey::from(7usize), PartitionKey::Integer(7));
    });
}

#[test]
fn other_keys_route_by_a_stable_hash() {
    run(|| {
        dynamic_partitions("hashed", 4);
        let pids = partition_pids("hashed");
        let mut hit = HashSet::new();
        for i in 0..200 {
            let key = format!("user:{i}");
            let p = PartitionKey::from(key.as_str()).partition(4);
            // The same key always picks the same partition, whatever its Rust type.
            assert_eq!(PartitionKey::from(key.clone()), PartitionKey::from(key.as_str()));
            assert_eq!(via_partition("hashed", key.as_str()).whereis(), Some(pids[&p]));
            hit.insert(p);
        }
        assert_eq!(hit.len(), 4, "the keys spread over every partition");
        // Pids are hashed too (Elixir routes `self()` this way).
        let me = self_pid();
        assert_eq!(via_partition("hashed", me).whereis(), via_partition("hashed", me).whereis());
        // Pinned values: the hash is stable from run to run.
        assert_eq!(PartitionKey::hashed("stable"), PartitionKey::hashed("stable"));
        assert_eq!(PartitionKey::hashed(&(1u8, "a")), PartitionKey::hashed(&(1u8, "a")));
    });
}

#[test]
fn dynamic_supervisor_start_child_through_a_partition() {
    run(|| {
        dynamic_partitions("dyn", 2);
        let pids = partition_pids("dyn");
        for key in 0..10 {
            let started = DynamicSupervisor::start_child(via_partition("dyn", key), ChildSpec::new("w", idle)).unwrap();
            assert!(matches!(started, StartedChild::Running(_)));
        }
        // Even keys to partition 0, odd ones to partition 1.
        assert_eq!(DynamicSupervisor::count_children(pids[&0]).unwrap().active, 5);
        assert_eq!(DynamicSupervisor::count_children(pids[&1]).unwrap().active, 5);
        // Calls through the via name reach the partition too.
        assert_eq!(DynamicSupervisor::count_children(PartitionSupervisor::via("dyn", 3)).unwrap().active, 5);
    });
}

#[test]
fn with_arguments_gives_each_partition_its_own_argument() {
    run(|| {
        let me = self_pid();
        // Each partition is a DynamicSupervisor whose extra argument is its
        // partition number; its children receive it.
        let spec = ChildSpec::with_args("dynsup", |partition: usize| {
            DynamicSupervisor::start_link(DynamicSupervisorOptions::new().extra_arguments(partition))
        })
        .supervisor();
        let options = PartitionSupervisorOptions::with_args("args", spec, 100usize)
            .with_arguments(|base, partition| base + partition)
            .partitions(3);
        PartitionSupervisor::start_link(options).unwrap();
        for key in 0..3usize {
            let child = ChildSpec::with_args("w", move |extra: usize| {
                send(me, (key, extra));
                idle()
            });
            DynamicSupervisor::start_child(via_partition("args", key), child).unwrap();
            assert_eq!(receive::<(usize, usize)>(), (key, 100 + key));
        }
    });
}

#[test]
fn a_restarted_partition_is_found_under_its_new_pid() {
    run(|| {
        let ps = dynamic_partitions("restarts", 2);
        let old = via_partition("restarts", 1).whereis().unwrap();
        let m = monitor(old);
        old.exit(Reason::Kill);
        receive_if(|d: &Down| d.monitor == m);
        // The supervisor handled the exit (and restarted the partition,
        // recording its pid) before it answers.
        let new = partition_pids("restarts")[&1];
        assert_ne!(new, old);
        assert_eq!(via_partition("restarts", 1).whereis(), Some(new));
        assert!(DynamicSupervisor::start_child(via_partition("restarts", 1), ChildSpec::new("w", idle)).is_ok());
        assert!(ps.is_alive());
    });
}

#[test]
fn stop_removes_the_routing_table() {
    run(|| {
        let ps = dynamic_partitions("stopped", 2);
        let partitions: Vec<Pid> = partition_pids("stopped").into_values().collect();
        let watches: Vec<_> = partitions.iter().map(|&p| monitor(p)).collect();
        PartitionSupervisor::stop("stopped", Reason::Normal).unwrap();
        let _ = receive_if(|e: &Exit| e.from == ps);
        for m in watches {
            assert_eq!(receive_if(|d: &Down| d.monitor == m).reason, Reason::Shutdown);
        }
        assert!(PartitionSupervisor::partitions("stopped").is_err());
        assert_eq!(via_partition("stopped", 0).whereis(), None);
        assert!(DynamicSupervisor::start_child(via_partition("stopped", 0), ChildSpec::new("w", idle)).is_err());
        // The name can be used again at once.
        dynamic_partitions("stopped", 3);
        assert_eq!(PartitionSupervisor::partitions("stopped").unwrap(), 3);
    });
}

#[test]
fn a_killed_partition_supervisor_leaves_no_table_behind() {
    run(|| {
        let test = self_pid();
        let owner = ember_runtime::spawn(move || {
            let ps = dynamic_partitions("killed", 2);
            send(test, ps);
            receive::<()>();
        });
        let ps: Pid = receive();
        let m = monitor(ps);
        ps.exit(Reason::Kill);
        assert_eq!(receive_if(|d: &Down| d.monitor == m).reason, Reason::Killed);
        assert!(PartitionSupervisor::partitions("killed").is_err());
        send(owner, ());
    });
}

#[test]
fn zero_partitions_is_refused() {
    run(|| {
        let spec = ChildSpec::new("w", idle);
        let err = PartitionSupervisor::start_link(PartitionSupervisorOptions::new("zero", spec).partitions(0));
        assert!(matches!(err, Err(StartError::Failed(_))));
        assert_eq!(ember_runtime::whereis("zero"), None);
    });
}

/// A toy via scheme: names in a shared map.
#[derive(Debug)]
struct ToyName(Arc<Mutex<HashMap<String, Pid>>>, String);

impl Via for ToyName {
    fn register_name(&self, pid: Pid) -> Result<(), ViaError> {
        let mut names = self.0.lock().unwrap();
        match names.get(&self.1) {
            Some(&p) if p.is_alive() => Err(ViaError::Taken(p)),
            _ => {
                names.insert(self.1.clone(), pid);
                Ok(())
            }
        }
    }
    fn unregister_name(&self) {
        self.0.lock().unwrap().remove(&self.1);
    }
    fn whereis_name(&self) -> Option<Pid> {
        self.0.lock().unwrap().get(&self.1).copied()
    }
}

#[test]
fn a_partition_supervisor_with_a_via_name() {
    run(|| {
        let names = Arc::new(Mutex::new(HashMap::new()));
        let name = Arc::new(ToyName(names.clone(), "parts".into()));
        let spec = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new());
        let ps =
            PartitionSupervisor::start_link(PartitionSupervisorOptions::new(name.clone(), spec).partitions(2)).unwrap();
        assert_eq!(name.whereis_name(), Some(ps));
        assert_eq!(PartitionSupervisor::partitions(name.clone()).unwrap(), 2);
        let child = DynamicSupervisor::start_child(via_partition(name.clone(), 1), ChildSpec::new("w", idle)).unwrap();
        assert!(child.pid().is_some());
        assert_eq!(PartitionSupervisor::which_children(name.clone()).unwrap().len(), 2);
        assert_eq!(PartitionSupervisor::resize(name.clone(), 1).unwrap(), 2);
        assert_eq!(via_partition(name.clone(), 1).whereis(), via_partition(name.clone(), 0).whereis());
    });
}

#[test]
fn the_via_name_of_a_partition_cannot_be_registered() {
    run(|| {
        dynamic_partitions("noreg", 1);
        let Dest::Via(via) = via_partition("noreg", 0) else { unreachable!() };
        assert!(matches!(via.register_name(self_pid()), Err(ViaError::Refused(_))));
        // A process started under it: the name resolves, so the start
        // finds it taken (gen's pre-check, as in OTP)…
        let p0 = via.whereis_name().unwrap();
        let options = DynamicSupervisorOptions::new().name(via.clone());
        assert_eq!(DynamicSupervisor::start_link(options.clone()), Err(StartError::AlreadyStarted(p0)));
        // …and when it does not resolve, registering it is refused.
        PartitionSupervisor::resize("noreg", 0).unwrap();
        assert!(matches!(DynamicSupervisor::start_link(options), Err(StartError::InvalidName(_))));
    });
}

#[test]
fn runtimes_have_separate_names() {
    // Two runtimes of one OS process, each with a PartitionSupervisor of the
    // same name, both running at once: each sees its own.
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = [2usize, 3]
        .into_iter()
        .map(|n| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                run(move || {
                    let spec = ChildSpec::new("w", idle);
                    PartitionSupervisor::start_link(PartitionSupervisorOptions::new("same", spec).partitions(n))
                        .unwrap();
                    let b = barrier.clone();
                    ember_runtime::blocking(move || b.wait());
                    assert_eq!(PartitionSupervisor::partitions("same").unwrap(), n);
                    ember_runtime::blocking(move || barrier.wait());
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// The empty name is refused before anything starts, as `register("")`
/// and `Registry::start_link` refuse it: every name behaves alike.
#[test]
fn the_empty_name_is_refused() {
    run(|| {
        let spec = ChildSpec::new("w", idle);
        let err = PartitionSupervisor::start_link(PartitionSupervisorOptions::new("", spec.clone())).unwrap_err();
        assert_eq!(err, StartError::InvalidName(ember_runtime::RegisterError::EmptyName.to_string()));
        assert_eq!(ember_runtime::stats().processes, 1, "nothing was started");
        assert!(PartitionSupervisor::partitions("").is_err());
        assert_eq!(via_partition("", 0).whereis(), None);
        // As a child, the same error.
        let sup = ember_supervisor::Supervisor::start_link(vec![], ember_supervisor::SupervisorOptions::one_for_one())
            .unwrap();
        let child = PartitionSupervisor::child_spec(PartitionSupervisorOptions::new("", spec).partitions(1));
        assert!(sup.start_child(child).is_err());
    });
}

/// The routing table belongs to the supervisor process, not to the child
/// specs: partitions whose spec is temporary (which keeps no start function
/// once started) are still routed to, and the table still goes when the
/// supervisor does.
#[test]
fn the_routing_table_lives_as_long_as_its_supervisor() {
    run(|| {
        let spec = ChildSpec::new("w", idle).restart(ember_supervisor::Restart::Temporary);
        let ps = PartitionSupervisor::start_link(PartitionSupervisorOptions::new("temps", spec).partitions(2)).unwrap();
        assert_eq!(PartitionSupervisor::partitions("temps").unwrap(), 2);
        let p0 = via_partition("temps", 0).whereis().unwrap();
        assert!(p0.is_alive());
        assert_ne!(via_partition("temps", 1).whereis(), Some(p0));
        let m = monitor(ps);
        PartitionSupervisor::stop("temps", Reason::Normal).unwrap();
        receive_if(|d: &Down| d.monitor == m);
        assert!(PartitionSupervisor::partitions("temps").is_err());
    });
}
