//! PartitionSupervisor: `resize` (SEMANTICS.md §6.4).

use ember_runtime::{monitor, receive, receive_if, spawn, spawn_link, trap_exit, Down, Pid, Reason};
use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
use ember_supervisor::partition_supervisor::{
    via_partition, PartitionSupervisor, PartitionSupervisorOptions, ResizeError,
};
use ember_supervisor::{ChildPid, ChildSpec, StartChildError};
use std::collections::HashMap;

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

fn states(name: &str) -> HashMap<usize, ChildPid> {
    PartitionSupervisor::which_children(name)
        .unwrap()
        .into_iter()
        .map(|c| (c.id.unwrap().as_str().parse().unwrap(), c.pid))
        .collect()
}

fn start(name: &'static str, n: usize) {
    let spec = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new());
    PartitionSupervisor::start_link(PartitionSupervisorOptions::new(name, spec).partitions(n)).unwrap();
}

#[test]
fn shrinking_stops_routing_then_stops_the_partitions() {
    run(|| {
        start("shrink", 4);
        let before = states("shrink");
        let p2 = before[&2].pid().unwrap();
        let p3 = before[&3].pid().unwrap();
        let (m2, m3) = (monitor(p2), monitor(p3));
        assert_eq!(PartitionSupervisor::resize("shrink", 2).unwrap(), 4);
        assert_eq!(PartitionSupervisor::partitions("shrink").unwrap(), 2);
        // The partitions past the new count are stopped (and not restarted)…
        assert_eq!(receive_if(|d: &Down| d.monitor == m2).reason, Reason::Shutdown);
        assert_eq!(receive_if(|d: &Down| d.monitor == m3).reason, Reason::Shutdown);
        let after = states("shrink");
        assert_eq!(after[&2], ChildPid::Undefined);
        assert_eq!(after[&3], ChildPid::Undefined);
        assert_eq!(after[&0], before[&0]);
        // …and keys route among the remaining ones.
        for key in 0..8 {
            assert_eq!(via_partition("shrink", key).whereis(), before[&(key % 2)].pid(), "key {key}");
        }
        let counts = PartitionSupervisor::count_children("shrink").unwrap();
        assert_eq!((counts.specs, counts.active), (4, 2));
        // Same size: nothing happens.
        assert_eq!(PartitionSupervisor::resize("shrink", 2).unwrap(), 2);
    });
}

#[test]
fn growing_starts_the_partitions_again_then_routes_to_them() {
    run(|| {
        start("grow", 3);
        PartitionSupervisor::resize("grow", 1).unwrap();
        assert_eq!(PartitionSupervisor::resize("grow", 3).unwrap(), 1);
        let after = states("grow");
        for p in 0..3 {
            let pid = after[&p].pid().expect("running again");
            assert!(pid.is_alive());
            assert_eq!(via_partition("grow", p).whereis(), Some(pid));
        }
        assert!(DynamicSupervisor::start_child(via_partition("grow", 2), ChildSpec::new("w", idle)).is_ok());
    });
}

#[test]
fn resize_is_bounded_by_the_initial_count() {
    run(|| {
        start("bounded", 2);
        assert_eq!(PartitionSupervisor::resize("bounded", 3), Err(ResizeError::OutOfRange { max: 2, got: 3 }));
        assert_eq!(PartitionSupervisor::resize("nobody", 1), Err(ResizeError::NoProc));
        // Down to zero: nothing to route to.
        assert_eq!(PartitionSupervisor::resize("bounded", 0).unwrap(), 2);
        assert_eq!(PartitionSupervisor::partitions("bounded").unwrap(), 0);
        assert_eq!(via_partition("bounded", 0).whereis(), None);
        assert!(matches!(
            DynamicSupervisor::start_child(via_partition("bounded", 0), ChildSpec::new("w", idle)),
            Err(StartChildError::Call(ember_runtime::gen_server::CallError::NoProc))
        ));
        assert_eq!(PartitionSupervisor::resize("bounded", 2).unwrap(), 0);
        assert!(via_partition("bounded", 1).whereis().is_some());
    });
}

#[test]
fn concurrent_resizes_run_one_after_the_other() {
    run(|| {
        start("racy", 8);
        let me = ember_runtime::self_pid();
        let sizes = [1usize, 3, 6, 2, 7, 4, 5];
        for &n in &sizes {
            spawn(move || ember_runtime::send(me, (n, PartitionSupervisor::resize("racy", n))));
        }
        let mut previous = Vec::new();
        for _ in 0..sizes.len() {
            let (n, result) = receive::<(usize, Result<usize, ResizeError>)>();
            previous.push((n, result.unwrap()));
        }
        // Serialised: the previous counts, in resize order, form a chain
        // starting at 8, each the size set by the resize before it.
        let final_size = PartitionSupervisor::partitions("racy").unwrap();
        let mut chain = vec![8];
        let mut remaining = previous.clone();
        while !remaining.is_empty() {
            let last = *chain.last().unwrap();
            let i = remaining.iter().position(|&(_, prev)| prev == last).expect("a resize saw the last size");
            chain.push(remaining.swap_remove(i).0);
        }
        assert_eq!(*chain.last().unwrap(), final_size);
        let running = states("racy").values().filter(|s| matches!(s, ChildPid::Running(_))).count();
        assert_eq!(running, final_size);
    });
}

/// Opens the gate a partition's start function waits at.
struct Open;

/// Waits until `pid` is suspended (in a receive), within a bound.
fn wait_suspended(pid: Pid) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ember_runtime::process_info(pid).map(|i| i.status) != Some(ember_runtime::Status::Waiting) {
        assert!(std::time::Instant::now() < deadline, "{pid} never waited");
        ember_runtime::yield_now();
    }
}

/// Concurrent resizes queue up and take their turn in arrival order, each
/// handed the turn by a message from the one before; a waiter killed in
/// the queue leaves it, and a holder killed while it resizes hands the turn
/// on as it unwinds.
#[test]
fn resizes_wait_in_line_for_a_message() {
    run(|| {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let gated = Arc::new(AtomicBool::new(false));
        let gate = gated.clone();
        // While the gate is armed, a partition's start waits (in the
        // supervisor process) for `Open`: a resize growing the count holds
        // the lock until then.
        let spec = ChildSpec::new("w", move || {
            if gate.swap(false, Ordering::SeqCst) {
                receive::<Open>();
            }
            idle()
        });
        let sup = PartitionSupervisor::start_link(PartitionSupervisorOptions::new("line", spec).partitions(3)).unwrap();
        assert_eq!(PartitionSupervisor::resize("line", 1).unwrap(), 3);
        gated.store(true, Ordering::SeqCst);

        let me = ember_runtime::self_pid();
        let resizer = |n: usize| {
            spawn(move || ember_runtime::send(me, (ember_runtime::self_pid(), PartitionSupervisor::resize("line", n))))
        };
        // The holder: grows to 3 and stops in the gated start of partition 1.
        let holder = resizer(3);
        wait_suspended(holder);
        wait_suspended(sup);
        // Three waiters, queued in this order; the second is killed.
        let first = resizer(1);
        wait_suspended(first);
        let doomed = resizer(1);
        wait_suspended(doomed);
        let last = resizer(1);
        wait_suspended(last);
        let m = monitor(doomed);
        doomed.exit(Reason::Kill);
        receive_if(|d: &Down| d.monitor == m);

        // The holder is killed mid-resize; its start goes on in the
        // supervisor, which the gate now lets finish.
        let m = monitor(holder);
        holder.exit(Reason::Kill);
        receive_if(|d: &Down| d.monitor == m);
        ember_runtime::send(sup, Open);
        // `first` had the turn next, then `last`. (The holder was killed
        // before it stored the new count, so both find 1.)
        let (pid, result) = receive::<(Pid, Result<usize, ResizeError>)>();
        assert_eq!((pid, result), (first, Ok(1)));
        let (pid, result) = receive::<(Pid, Result<usize, ResizeError>)>();
        assert_eq!((pid, result), (last, Ok(1)));
        assert_eq!(PartitionSupervisor::partitions("line").unwrap(), 1);
        // The lock is free again.
        assert_eq!(PartitionSupervisor::resize("line", 0).unwrap(), 1);
    });
}
