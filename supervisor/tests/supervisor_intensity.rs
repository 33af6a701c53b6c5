//! Restart intensity (SEMANTICS.md §4.6): the window logic on its own (with
//! `Intensity::add_restart_at`), and live: exceeding `max_restarts` stops
//! the children and the supervisor with `shutdown`; every restart attempt
//! counts, failed ones included; a parent restarts a supervisor that gave
//! up only if it is permanent.

mod common;

use common::*;
use ember_runtime::{monitor, receive_if_timeout, Down, Reason};
use ember_supervisor::{ChildPid, Intensity, Restart, Supervisor, SupervisorOptions};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn window_counts_restarts_within_the_period() {
    let mut i = Intensity::new(3, 5);
    let t = Instant::now();
    assert!(i.add_restart_at(t));
    assert!(i.add_restart_at(t));
    assert!(i.add_restart_at(t));
    assert!(!i.add_restart_at(t), "a fourth restart within 5 s exceeds 3");
}

#[test]
fn window_forgets_restarts_older_than_the_period() {
    let mut i = Intensity::new(3, 5);
    let t = Instant::now(); // after the history's epoch: seconds count from there
    assert!(i.add_restart_at(t));
    assert!(i.add_restart_at(t + secs(1)));
    assert!(i.add_restart_at(t + secs(2)));
    // At 6 s, the restart at 0 s is out of the window [1, 6]: 3 remain.
    assert!(i.add_restart_at(t + secs(6)));
    // At 6 s again: 1, 2, 6, 6 → 4.
    assert!(!i.add_restart_at(t + secs(6)));
}

#[test]
fn window_boundary_is_inclusive_in_whole_seconds() {
    let mut i = Intensity::new(1, 5);
    let t = Instant::now();
    assert!(i.add_restart_at(t));
    // OTP keeps restarts with `R >= Now - Period`: 0 >= 5 - 5.
    assert!(!i.add_restart_at(t + secs(5)));
    let mut i = Intensity::new(1, 5);
    let t = Instant::now();
    assert!(i.add_restart_at(t));
    assert!(i.add_restart_at(t + secs(6)));
    // Fractions of a second do not count: 0.5 s and 5.5 s are seconds 0 and 5.
    let mut i = Intensity::new(1, 5);
    let t = Instant::now();
    assert!(i.add_restart_at(t + Duration::from_millis(500)));
    assert!(!i.add_restart_at(t + Duration::from_millis(5500)));
}

#[test]
fn zero_intensity_gives_up_at_the_first_restart() {
    let mut i = Intensity::new(0, 5);
    assert!(!i.add_restart_at(Instant::now()));
}

#[test]
fn a_failed_check_is_still_recorded() {
    // OTP prepends the restart before comparing: the history keeps it.
    let mut i = Intensity::new(1, 10);
    let t = Instant::now();
    assert!(i.add_restart_at(t));
    assert!(!i.add_restart_at(t + secs(1)));
    assert!(!i.add_restart_at(t + secs(10)), "the restart at 1 s is still in the window");
    assert!(i.add_restart_at(t + secs(30)));
}

/// More than max_restarts: the other children are stopped (reverse order)
/// and the supervisor exits with `shutdown`.
#[test]
fn exceeding_max_restarts_shuts_the_supervisor_down() {
    run(|| {
        let sup = Supervisor::start_link(
            vec![worker("a"), worker("b"), worker("c")],
            SupervisorOptions::one_for_one().max_restarts(2).max_seconds(3600),
        )
        .unwrap();
        let sup_pid = sup.pid().unwrap();
        let sup_down = monitor(sup_pid);
        let mut b = wait_started("b");
        drain();
        for _ in 0..2 {
            crash(&sup, b, &How::Kill);
            b = wait_started("b");
        }
        // The third restart within the period is one too many.
        b.exit(Reason::Kill);
        let down = receive_if_timeout(|d: &Down| d.monitor == sup_down, BOUND).expect("the supervisor gave up");
        assert_eq!(down.reason, Reason::Shutdown);
        assert_eq!(drain_short(), ["-c", "-a"]);
        assert_eq!(settle_processes(1), 1);
    });
}

#[test]
fn zero_max_restarts_gives_up_at_the_first_crash() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_all().max_restarts(0)).unwrap();
        let a = wait_started("a");
        let m = monitor(sup.pid().unwrap());
        a.exit(Reason::Kill);
        assert_eq!(receive_if_timeout(|d: &Down| d.monitor == m, BOUND).unwrap().reason, Reason::Shutdown);
        assert!(drain().is_empty());
    });
}

/// Clean exits of transient and temporary children are not restarts: they
/// never count.
#[test]
fn exits_that_are_not_restarted_do_not_count() {
    run(|| {
        let sup = Supervisor::start_link(vec![], SupervisorOptions::one_for_one().max_restarts(0)).unwrap();
        for i in 0..5 {
            let id = format!("t{i}");
            let pid = sup.start_child(with_restart(worker(&id), Restart::Transient)).unwrap().pid().unwrap();
            crash(&sup, pid, &How::Exit(Reason::Normal));
            let pid =
                sup.start_child(with_restart(worker(&format!("x{i}")), Restart::Temporary)).unwrap().pid().unwrap();
            crash(&sup, pid, &How::Kill);
        }
        assert_eq!(sup.count_children().unwrap().specs, 5);
    });
}

/// Every restart attempt counts, including the retries of a failed restart:
/// a child that never starts again exhausts max_restarts = 3 in four
/// attempts.
#[test]
fn every_attempt_counts() {
    run(|| {
        let failures = Arc::new(AtomicU32::new(0));
        let sup = Supervisor::start_link(
            vec![worker("a"), flaky("f", failures.clone())],
            SupervisorOptions::one_for_one().max_restarts(3).max_seconds(3600),
        )
        .unwrap();
        let m = monitor(sup.pid().unwrap());
        let f = wait_started("f");
        drain();
        failures.store(u32::MAX, std::sync::atomic::Ordering::SeqCst);
        f.exit(Reason::Kill);
        assert_eq!(receive_if_timeout(|d: &Down| d.monitor == m, BOUND).unwrap().reason, Reason::Shutdown);
        // Restart 1 fails, retries 2 and 3 fail, the 4th attempt is refused.
        assert_eq!(drain_short(), ["?f", "?f", "?f", "-a"]);
    });
}

/// A supervisor that gave up exits with `shutdown`: its parent restarts it
/// if it is permanent, and not if it is transient.
#[test]
fn escalation_to_the_parent() {
    run(|| {
        let me = ember_runtime::self_pid();
        let inner = |restart: Restart| {
            Supervisor::child_spec("inner", vec![worker_for("w", me)], SupervisorOptions::one_for_one().max_restarts(0))
                .restart(restart)
        };
        for (restart, restarted) in [(Restart::Permanent, true), (Restart::Transient, false)] {
            let root = Supervisor::start_link(vec![inner(restart)], SupervisorOptions::one_for_one()).unwrap();
            let w = wait_started("w");
            let inner_pid = child_pid(&root, "inner").unwrap();
            let m = monitor(inner_pid);
            w.exit(Reason::Kill);
            assert_eq!(receive_if_timeout(|d: &Down| d.monitor == m, BOUND).unwrap().reason, Reason::Shutdown);
            sync(&root);
            let state = root.which_children().unwrap()[0].pid;
            if restarted {
                assert!(matches!(state, ChildPid::Running(p) if p != inner_pid), "{restart:?}");
                wait_started("w");
            } else {
                assert_eq!(state, ChildPid::Undefined, "{restart:?}");
            }
            root.stop(Reason::Shutdown, None).unwrap();
            drain();
        }
    });
}
