//! DynamicSupervisor: child exits, restarts, intensity and "try again"
//! (SEMANTICS.md §5.4, §5.5).
//!
//! Synchronisation: a child's start function (run by the supervisor) sends
//! the test an event, and "monitor the child, make it exit, wait for its
//! `Down`, then call the supervisor" is a barrier — the supervisor handles
//! the child's `Exit` (sent before the `Down`) before the call, so whatever
//! the restart did is visible when the call returns.

mod captured;

use captured::{logged, run};
use ember_runtime::{
    monitor, receive, receive_if, receive_timeout, self_pid, send, spawn, spawn_link, Down, Exit, Pid, Reason, Select,
};
use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, TerminateChildError};
use ember_supervisor::{ChildCounts, ChildPid, ChildSpec, Restart, Started};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A child started: its start function ran and returned this pid.
#[derive(Debug, PartialEq)]
struct StartedAs(u32, Pid);

/// A child told to exit with this reason.
struct Die(Reason);

/// A spec whose children report `StartedAs(tag, pid)` and exit when told.
fn reporting(tag: u32, restart: Restart) -> ChildSpec {
    let me = self_pid();
    ChildSpec::new("reporting", move || {
        let pid = spawn_link(|| {
            let Die(reason) = receive();
            if reason != Reason::Normal {
                ember_runtime::exit(reason);
            }
        });
        send(me, StartedAs(tag, pid));
        pid
    })
    .restart(restart)
}

/// Makes `pid` end with `reason` and waits until it has.
fn end_child(pid: Pid, reason: Reason) {
    let m = monitor(pid);
    if reason == Reason::Killed {
        pid.exit(Reason::Kill);
    } else {
        send(pid, Die(reason));
    }
    receive_if(|d: &Down| d.monitor == m);
}

#[test]
fn restart_types_by_exit_reason() {
    run(|| {
        let reasons = [
            ("normal", Reason::Normal),
            ("shutdown", Reason::Shutdown),
            ("shutdown_with", Reason::shutdown_with("bye")),
            ("custom", Reason::custom("crash")),
            ("killed", Reason::Killed),
        ];
        for (restart, rname) in
            [(Restart::Permanent, "permanent"), (Restart::Transient, "transient"), (Restart::Temporary, "temporary")]
        {
            for (tag, (why, reason)) in reasons.iter().enumerate() {
                let name = format!("restart-{rname}-{why}");
                let sup = DynamicSupervisor::start_link(
                    DynamicSupervisorOptions::new().name(name.as_str()).max_restarts(100),
                )
                .unwrap();
                let tag = tag as u32;
                let child = DynamicSupervisor::start_child(sup, reporting(tag, restart)).unwrap().pid().unwrap();
                assert_eq!(receive::<StartedAs>(), StartedAs(tag, child));
                end_child(child, reason.clone());
                let counts = DynamicSupervisor::count_children(sup).unwrap();
                let restarted = receive_timeout::<StartedAs>(Duration::ZERO);
                let expect_restart = match restart {
                    Restart::Permanent => true,
                    Restart::Transient => !reason.is_clean(),
                    Restart::Temporary => false,
                };
                assert_eq!(restarted.is_some(), expect_restart, "{name}: restarted?");
                if expect_restart {
                    let StartedAs(_, new) = restarted.unwrap();
                    assert_ne!(new, child);
                    assert_eq!(counts, ChildCounts { specs: 1, active: 1, supervisors: 0, workers: 1 }, "{name}");
                    assert_eq!(DynamicSupervisor::which_children(sup).unwrap()[0].pid, ChildPid::Running(new));
                } else {
                    assert_eq!(counts, ChildCounts::default(), "{name}: forgotten");
                }
                // child_terminated is reported unless the child just went
                // away (clean reason, not permanent).
                let expect_report = restart == Restart::Permanent || !reason.is_clean();
                let reported = logged(&format!("Supervisor {name} terminated"));
                assert_eq!(!reported.is_empty(), expect_report, "{name}: report {reported:?}");
                DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
                let _ = receive_if(|e: &Exit| e.from == sup);
            }
        }
    });
}

#[test]
fn exits_of_strangers_and_unexpected_messages_are_ignored() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("stranger-sup")).unwrap();
        DynamicSupervisor::start_child(sup, reporting(0, Restart::Permanent)).unwrap();
        let _ = receive::<StartedAs>();
        // An exit signal from a process that is not a child (nor the parent)
        // arrives as an Exit message: ignored.
        let m = monitor(spawn(move || sup.exit(Reason::custom("not yours"))));
        receive_if(|d: &Down| d.monitor == m);
        send(sup, "hello");
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap().active, 1);
        assert!(receive_timeout::<StartedAs>(Duration::ZERO).is_none(), "nothing restarted");
        assert_eq!(logged("stranger-sup received unexpected message").len(), 1);
    });
}

#[test]
fn a_restarted_child_moves_to_the_end_of_which_children() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let mut pids = Vec::new();
        for tag in 0..3 {
            pids.push(DynamicSupervisor::start_child(sup, reporting(tag, Restart::Permanent)).unwrap().pid().unwrap());
            let _ = receive::<StartedAs>();
        }
        end_child(pids[0], Reason::custom("crash"));
        let order: Vec<ChildPid> = DynamicSupervisor::which_children(sup).unwrap().into_iter().map(|c| c.pid).collect();
        let StartedAs(0, restarted) = receive::<StartedAs>() else { panic!("tag 0 restarted") };
        assert_eq!(order, vec![ChildPid::Running(pids[1]), ChildPid::Running(pids[2]), ChildPid::Running(restarted)]);
    });
}

#[test]
fn intensity_exceeded_shuts_everything_down() {
    run(|| {
        let sup = DynamicSupervisor::start_link(
            DynamicSupervisorOptions::new().name("intense").max_restarts(2).max_seconds(3600),
        )
        .unwrap();
        let bystander = DynamicSupervisor::start_child(sup, reporting(9, Restart::Permanent)).unwrap().pid().unwrap();
        let _ = receive::<StartedAs>();
        let watch_bystander = monitor(bystander);
        let watch_sup = monitor(sup);
        let mut child = DynamicSupervisor::start_child(sup, reporting(1, Restart::Permanent)).unwrap().pid().unwrap();
        let _ = receive::<StartedAs>();
        for _ in 0..2 {
            end_child(child, Reason::custom("crash"));
            child = receive::<StartedAs>().1;
        }
        // The third restart in the window is one too many.
        child.exit(Reason::Kill);
        let down = receive_if(|d: &Down| d.monitor == watch_sup);
        assert_eq!(down.reason, Reason::Shutdown, "the supervisor exits with shutdown");
        let exit = receive_if(|e: &Exit| e.from == sup);
        assert_eq!(exit.reason, Reason::Shutdown, "and its parent hears it");
        let down = receive_if(|d: &Down| d.monitor == watch_bystander);
        assert_eq!(down.reason, Reason::Shutdown, "the other children were shut down first");
        assert!(receive_timeout::<StartedAs>(Duration::ZERO).is_none(), "no fourth start");
        assert_eq!(logged("Supervisor intense caused shutdown").len(), 1);
    });
}

#[test]
fn intensity_zero_gives_up_at_the_first_restart() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_restarts(0)).unwrap();
        let watch = monitor(sup);
        let child = DynamicSupervisor::start_child(sup, reporting(0, Restart::Transient)).unwrap().pid().unwrap();
        let _ = receive::<StartedAs>();
        // A clean exit of a transient child is no restart…
        end_child(child, Reason::Normal);
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap().specs, 0);
        // …an abnormal one is.
        let child = DynamicSupervisor::start_child(sup, reporting(1, Restart::Transient)).unwrap().pid().unwrap();
        let _ = receive::<StartedAs>();
        send(child, Die(Reason::custom("crash")));
        assert_eq!(receive_if(|d: &Down| d.monitor == watch).reason, Reason::Shutdown);
    });
}

/// A start attempt, told to the test by the start function (which runs in
/// the supervisor) before it waits for a [`Proceed`].
#[derive(Debug)]
struct Attempt(u32);

/// Whether the waiting start attempt succeeds.
struct Proceed(bool);

/// A spec whose first start succeeds at once; every later start (a
/// restart) tells the test and waits for its verdict. While it waits, the
/// supervisor is blocked.
fn flaky() -> (ChildSpec, Arc<AtomicU32>) {
    let me = self_pid();
    let attempts = Arc::new(AtomicU32::new(0));
    let count = attempts.clone();
    let spec = ChildSpec::new("flaky", move || {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        send(me, Attempt(n));
        if n > 1 {
            let Proceed(ok) = receive();
            if !ok {
                return Started::Error(Reason::custom("not yet"));
            }
        }
        let pid = spawn_link(|| loop {
            receive::<()>();
        });
        send(me, StartedAs(n, pid));
        Started::Ok(pid)
    });
    (spec, attempts)
}

/// What a helper process got from the supervisor.
enum Seen {
    Children(Vec<ChildPid>, ChildCounts),
    Terminated(Result<(), TerminateChildError>),
}

#[test]
fn a_failed_restart_is_retried_and_shows_as_restarting() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("flaky-sup").max_restarts(1000))
            .unwrap();
        let (spec, attempts) = flaky();
        let first = DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap();
        let _ = receive::<Attempt>();
        let _ = receive::<StartedAs>();
        first.exit(Reason::Kill);
        // The restart waits for us: fail it.
        assert_eq!(receive::<Attempt>().0, 2);
        send(sup, Proceed(false));
        // The retry comes through the supervisor's mailbox: a request sent
        // meanwhile is served between two attempts, and sees the child as
        // restarting.
        assert_eq!(receive::<Attempt>().0, 3);
        let me = self_pid();
        spawn(move || {
            let pids = DynamicSupervisor::which_children(sup).unwrap().into_iter().map(|c| c.pid).collect();
            let counts = DynamicSupervisor::count_children(sup).unwrap();
            send(me, Seen::Children(pids, counts));
        });
        send(sup, Proceed(false));
        let (pids, counts) = loop {
            let seen = Select::new().on(|a: Attempt| Err(a.0)).on(Ok).wait();
            match seen {
                Err(_) => send(sup, Proceed(false)),
                Ok(Seen::Children(pids, counts)) => break (pids, counts),
                Ok(Seen::Terminated(_)) => unreachable!(),
            }
        };
        assert_eq!(pids, vec![ChildPid::Restarting]);
        assert_eq!(counts, ChildCounts { specs: 1, active: 0, supervisors: 0, workers: 1 });
        // The supervisor is retrying: let the next attempt succeed.
        let n = receive::<Attempt>().0;
        send(sup, Proceed(true));
        let StartedAs(m, pid) = receive::<StartedAs>();
        assert_eq!(m, n);
        assert_eq!(DynamicSupervisor::which_children(sup).unwrap()[0].pid, ChildPid::Running(pid));
        assert_eq!(attempts.load(Ordering::SeqCst), n);
        assert!(!logged("Supervisor flaky-sup failed to start").is_empty(), "start_error reported");
    });
}

#[test]
fn terminate_child_cancels_a_pending_restart() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_restarts(1000)).unwrap();
        let (spec, _) = flaky();
        let first = DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap();
        let _ = receive::<Attempt>();
        let _ = receive::<StartedAs>();
        first.exit(Reason::Kill);
        assert_eq!(receive::<Attempt>().0, 2);
        send(sup, Proceed(false));
        assert_eq!(receive::<Attempt>().0, 3);
        let me = self_pid();
        spawn(move || send(me, Seen::Terminated(DynamicSupervisor::terminate_child(sup, first))));
        send(sup, Proceed(false));
        loop {
            match Select::new().on(|a: Attempt| Err(a.0)).on(Ok).wait() {
                Err(_) => send(sup, Proceed(false)),
                Ok(Seen::Terminated(result)) => {
                    assert_eq!(result, Ok(()), "a restarting child is terminated by its old pid");
                    break;
                }
                Ok(Seen::Children(..)) => unreachable!(),
            }
        }
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap(), ChildCounts::default());
        assert!(receive_timeout::<Attempt>(Duration::ZERO).is_none(), "no attempt after terminate_child");
        assert_eq!(DynamicSupervisor::terminate_child(sup, first), Err(TerminateChildError::NotFound));
    });
}

#[test]
fn every_retry_counts_toward_the_intensity() {
    run(|| {
        let me = self_pid();
        let attempts = Arc::new(AtomicU32::new(0));
        let count = attempts.clone();
        let spec = ChildSpec::new("fails-after-first", move || {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            send(me, Attempt(n));
            if n > 1 {
                return Started::Error(Reason::custom("broken"));
            }
            spawn_link(|| loop {
                receive::<()>();
            })
            .into()
        });
        let sup =
            DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_restarts(3).max_seconds(3600)).unwrap();
        let watch = monitor(sup);
        let child = DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap();
        child.exit(Reason::Kill);
        assert_eq!(receive_if(|d: &Down| d.monitor == watch).reason, Reason::Shutdown);
        // The initial start, then three restart attempts (one plus two
        // retries); the fourth restart is refused before any start.
        let seen: Vec<u32> = std::iter::from_fn(|| receive_timeout::<Attempt>(Duration::ZERO).map(|a| a.0)).collect();
        assert_eq!(seen, vec![1, 2, 3, 4]);
        assert_eq!(attempts.load(Ordering::SeqCst), 4);
    });
}

#[test]
fn a_restart_that_returns_ignore_forgets_the_child() {
    run(|| {
        let me = self_pid();
        let attempts = Arc::new(AtomicU32::new(0));
        let spec = ChildSpec::new("once", move || {
            if attempts.fetch_add(1, Ordering::SeqCst) > 0 {
                send(me, Attempt(2));
                return Started::Ignore;
            }
            spawn_link(|| loop {
                receive::<()>();
            })
            .into()
        });
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let child = DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap();
        end_child(child, Reason::Killed);
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap(), ChildCounts::default());
        assert_eq!(receive_timeout::<Attempt>(Duration::ZERO).map(|a| a.0), Some(2));
    });
}

#[test]
fn a_restarting_child_still_counts_toward_max_children() {
    run(|| {
        let sup =
            DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_children(1).max_restarts(1000)).unwrap();
        let (spec, _) = flaky();
        let first = DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap();
        let _ = receive::<Attempt>();
        let _ = receive::<StartedAs>();
        first.exit(Reason::Kill);
        assert_eq!(receive::<Attempt>().0, 2);
        send(sup, Proceed(false));
        assert_eq!(receive::<Attempt>().0, 3);
        // Served between two attempts, while the child is restarting.
        let me = self_pid();
        spawn(move || {
            let other = ChildSpec::new("other", || {
                spawn_link(|| loop {
                    receive::<()>();
                })
            });
            send(me, DynamicSupervisor::start_child(sup, other).map(|s| s.pid().is_some()));
        });
        send(sup, Proceed(false));
        let refused: Result<bool, ember_supervisor::StartChildError> = loop {
            match Select::new()
                .on(|a: Attempt| Err(a.0))
                .on(|r: Result<bool, ember_supervisor::StartChildError>| Ok(r))
                .wait()
            {
                Err(_) => send(sup, Proceed(false)),
                Ok(result) => break result,
            }
        };
        assert_eq!(refused, Err(ember_supervisor::StartChildError::MaxChildren));
    });
}
