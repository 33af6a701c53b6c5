//! "Try again" (SEMANTICS.md §4.6): a failed restart marks the child
//! restarting and is retried through a message the supervisor sends itself,
//! so requests already queued are served first.
//!
//! Some tests hold the supervisor inside a child's start function (which
//! runs in the supervisor's process) until the test sends it a [`Go`]. The
//! test first makes sure its request is queued in the supervisor's mailbox
//! (by watching `message_queue_len`), then lets the start fail: the retry
//! message lands behind the request.

mod common;

use common::*;
use ember_runtime::gen_server::StartOptions;
use ember_runtime::{monitor, process_info, receive, receive_if_timeout, self_pid, send, spawn, Down, Pid, Reason};
use ember_supervisor::{ChildPid, ChildSpec, Started, StartedChild, Supervisor, SupervisorError, SupervisorOptions};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Lets a gated start function go on.
struct Go;

/// A worker whose start function reports each attempt, waits for [`Go`]
/// while `gate` is set, and fails while `failures` is above zero.
fn gated(id: &str, failures: Arc<AtomicU32>, gate: Arc<AtomicBool>) -> ChildSpec {
    let observer = self_pid();
    let arg = WorkerArg { id: id.to_string(), observer, trap: true };
    let attempts = Arc::new(AtomicU32::new(0));
    let id_s = id.to_string();
    ChildSpec::new(id, move || {
        let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        send(observer, Event::Attempt(id_s.clone(), n));
        if gate.load(Ordering::SeqCst) {
            receive::<Go>();
        }
        if failures.load(Ordering::SeqCst) > 0 {
            failures.fetch_sub(1, Ordering::SeqCst);
            return Started::Error(Reason::custom("not yet"));
        }
        ember_runtime::gen_server::start_link::<Worker>(arg.clone(), StartOptions::new()).into()
    })
}

/// Waits until `pid` has at least `n` messages queued.
fn wait_queued(pid: Pid, n: usize) {
    let deadline = Instant::now() + BOUND;
    while process_info(pid).expect("alive").message_queue_len < n {
        assert!(Instant::now() < deadline, "nothing was queued");
        ember_runtime::yield_now();
    }
}

/// Runs `request` in a helper process (it blocks in the call), waits until
/// the request is queued at the supervisor, lets the gated start go on, and
/// returns the helper's result.
fn while_restarting<T: Send + 'static>(sup: &Supervisor, request: impl FnOnce(Supervisor) -> T + Send + 'static) -> T {
    let me = self_pid();
    let sup_pid = sup.pid().unwrap();
    let handle = sup.clone();
    spawn(move || send(me, Some(request(handle))));
    wait_queued(sup_pid, 1);
    send(sup_pid, Go);
    receive::<Option<T>>().unwrap()
}

/// A restart that fails twice, then succeeds: three attempts, the child
/// runs, no request needed.
#[test]
fn failed_restarts_are_retried_until_they_succeed() {
    run(|| {
        let failures = Arc::new(AtomicU32::new(0));
        let sup = Supervisor::start_link(vec![flaky("f", failures.clone())], SupervisorOptions::one_for_one()).unwrap();
        let f = wait_started("f");
        drain();
        failures.store(2, Ordering::SeqCst);
        let m = monitor(f);
        f.exit(Reason::Kill);
        receive_if_timeout(|d: &Down| d.monitor == m, BOUND).unwrap();
        let f2 = wait_started("f");
        sync(&sup);
        assert_eq!(drain_short(), ["?f", "?f", "?f"]);
        assert_eq!(child_pid(&sup, "f"), Some(f2));
    });
}

/// A terminate_child queued while a restart is retried is served before
/// the retry, and cancels it.
#[test]
fn terminate_child_is_served_before_the_retry() {
    run(|| {
        let failures = Arc::new(AtomicU32::new(0));
        let gate = Arc::new(AtomicBool::new(false));
        let sup = Supervisor::start_link(
            vec![worker("a"), gated("g", failures.clone(), gate.clone())],
            SupervisorOptions::one_for_one().max_restarts(100),
        )
        .unwrap();
        let g = wait_started("g");
        drain();
        failures.store(u32::MAX, Ordering::SeqCst);
        gate.store(true, Ordering::SeqCst);
        let m = monitor(g);
        g.exit(Reason::Kill);
        receive_if_timeout(|d: &Down| d.monitor == m, BOUND).unwrap();
        // The supervisor is inside the first restart attempt.
        assert_eq!(next_event(), Event::Attempt("g".into(), 2));
        let result = while_restarting(&sup, |s| s.terminate_child("g"));
        assert_eq!(result, Ok(()));
        sync(&sup);
        // The pending retry found the child not restarting: no new attempt.
        assert!(drain().is_empty());
        assert_eq!(sup.which_children().unwrap()[0].pid, ChildPid::Undefined);
        // It can be restarted by hand.
        failures.store(0, Ordering::SeqCst);
        gate.store(false, Ordering::SeqCst);
        assert!(matches!(sup.restart_child("g"), Ok(StartedChild::Running(_))));
    });
}

/// A stop request queued while retrying is served first: the supervisor
/// stops its children and exits without another attempt.
#[test]
fn stop_is_served_before_the_retry() {
    run(|| {
        let failures = Arc::new(AtomicU32::new(0));
        let gate = Arc::new(AtomicBool::new(false));
        let sup = Supervisor::start_link(
            vec![worker("a"), gated("g", failures.clone(), gate.clone())],
            SupervisorOptions::one_for_one(),
        )
        .unwrap();
        let g = wait_started("g");
        drain();
        failures.store(u32::MAX, Ordering::SeqCst);
        gate.store(true, Ordering::SeqCst);
        g.exit(Reason::Kill);
        assert_eq!(next_event(), Event::Attempt("g".into(), 2));
        let result = while_restarting(&sup, |s| s.stop(Reason::Shutdown, None));
        assert_eq!(result, Ok(()));
        assert_eq!(drain_short(), ["-a"]);
    });
}

/// While restarting, the child shows as restarting, and restart_child and
/// delete_child refuse with `restarting`; every retry is an attempt.
#[test]
fn restarting_state_is_visible() {
    run(|| {
        let failures = Arc::new(AtomicU32::new(0));
        let gate = Arc::new(AtomicBool::new(false));
        let sup = Supervisor::start_link(
            vec![gated("g", failures.clone(), gate.clone())],
            SupervisorOptions::one_for_one().max_restarts(100),
        )
        .unwrap();
        let g = wait_started("g");
        drain();
        failures.store(u32::MAX, Ordering::SeqCst);
        gate.store(true, Ordering::SeqCst);
        g.exit(Reason::Kill);
        assert_eq!(next_event(), Event::Attempt("g".into(), 2));

        let children = while_restarting(&sup, |s| s.which_children().unwrap());
        assert_eq!(children[0].pid, ChildPid::Restarting);
        // The retry runs next: attempt 3, held at the gate.
        assert_eq!(next_event(), Event::Attempt("g".into(), 3));
        assert_eq!(while_restarting(&sup, |s| s.restart_child("g")), Err(SupervisorError::Restarting));
        assert_eq!(next_event(), Event::Attempt("g".into(), 4));
        assert_eq!(while_restarting(&sup, |s| s.delete_child("g")), Err(SupervisorError::Restarting));
        assert_eq!(next_event(), Event::Attempt("g".into(), 5));
        let counts = while_restarting(&sup, |s| s.count_children().unwrap());
        assert_eq!((counts.specs, counts.active), (1, 0));
        assert_eq!(next_event(), Event::Attempt("g".into(), 6));
        // Let it succeed.
        failures.store(0, Ordering::SeqCst);
        let counts = while_restarting(&sup, |s| s.count_children().unwrap());
        assert_eq!(counts.active, 1);
        wait_started("g");
        assert!(drain().is_empty());
    });
}

/// one_for_all: when a child fails to start during a restart, the ones
/// before it run, it is restarting, the ones after it are not running; the
/// retry stops everything and starts all again.
#[test]
fn one_for_all_retry() {
    run(|| {
        let failures = Arc::new(AtomicU32::new(0));
        let gate = Arc::new(AtomicBool::new(false));
        let sup = Supervisor::start_link(
            vec![worker("a"), gated("f", failures.clone(), gate.clone()), worker("c")],
            SupervisorOptions::one_for_all(),
        )
        .unwrap();
        let a = wait_started("a");
        drain();
        failures.store(1, Ordering::SeqCst);
        gate.store(true, Ordering::SeqCst);
        let m = monitor(a);
        a.exit(Reason::Kill);
        receive_if_timeout(|d: &Down| d.monitor == m, BOUND).unwrap();
        assert_eq!(drain_until_attempt(), ["-c", "-f", "+a", "?f"]);
        let children = while_restarting(&sup, |s| s.which_children().unwrap());
        let states: Vec<_> = children.iter().map(|c| c.pid).collect();
        assert!(matches!(states[..], [ChildPid::Undefined, ChildPid::Restarting, ChildPid::Running(_)]));
        // The retry (attempt 3 of f succeeds).
        gate.store(false, Ordering::SeqCst);
        send(sup.pid().unwrap(), Go);
        wait_started("c");
        sync(&sup);
        assert_eq!(drain_short(), ["-a", "+a", "?f", "+f"]);
    });
}

/// rest_for_one: the retry restarts the failed child and the ones after
/// it, not the ones before — even when the first crash was an earlier child.
#[test]
fn rest_for_one_retry_restarts_from_the_failed_child() {
    run(|| {
        let failures = Arc::new(AtomicU32::new(0));
        let sup = Supervisor::start_link(
            vec![worker("z"), worker("a"), flaky("f", failures.clone()), worker("c")],
            SupervisorOptions::rest_for_one(),
        )
        .unwrap();
        let a = wait_started("a");
        wait_started("c");
        drain();
        failures.store(1, Ordering::SeqCst);
        let m = monitor(a);
        a.exit(Reason::Kill);
        receive_if_timeout(|d: &Down| d.monitor == m, BOUND).unwrap();
        wait_started("c");
        sync(&sup);
        // a is restarted once; the retry is for f and what follows it.
        let events = drain_short();
        assert_eq!(events, ["-c", "-f", "+a", "?f", "?f", "+f"]);
        assert_eq!(ids(&sup), ["c", "f", "a", "z"]);
    });
}

/// Events up to and including the next start attempt.
fn drain_until_attempt() -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let e = next_event();
        let attempt = matches!(e, Event::Attempt(..));
        out.push(e.short());
        if attempt {
            return out;
        }
    }
}
