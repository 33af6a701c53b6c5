//! The public API of a static supervisor (SEMANTICS.md §4.7–4.8): every
//! success and error case of start_child, terminate_child, restart_child,
//! delete_child, which_children, count_children, get_childspec and stop, and
//! the shutdown procedure (brutal_kill, timeout, infinity, a child that
//! unlinked itself, the parent's exit).

mod common;

use common::*;
use ember_runtime::gen_server::{CallError, StartOptions};
use ember_runtime::{receive, self_pid, send, spawn, spawn_link, trap_exit, unlink, Pid, Reason, Term};
use ember_supervisor::{
    ChildCounts, ChildPid, ChildSpec, ChildSpecError, ChildType, Restart, Shutdown, Started, StartedChild, Supervisor,
    SupervisorError, SupervisorOptions,
};
use std::time::Duration;

fn empty() -> Supervisor {
    Supervisor::start_link(vec![], SupervisorOptions::one_for_one()).unwrap()
}

#[test]
fn start_child_cases() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_one()).unwrap();
        wait_started("a");
        // Appended: most recent first in which_children.
        let b = sup.start_child(worker("b")).unwrap().pid().unwrap();
        assert_eq!(wait_started("b"), b);
        assert_eq!(ids(&sup), ["b", "a"]);
        // Same id running / present.
        assert_eq!(sup.start_child(worker("b")), Err(SupervisorError::AlreadyStarted(b)));
        sup.terminate_child("b").unwrap();
        assert_eq!(sup.start_child(worker("b")), Err(SupervisorError::AlreadyPresent));
        // Ignore: saved not running; temporary: not saved.
        assert_eq!(sup.start_child(ChildSpec::new("i", || Started::Ignore)), Ok(StartedChild::Ignored));
        assert_eq!(
            sup.start_child(ChildSpec::new("t", || Started::Ignore).restart(Restart::Temporary)),
            Ok(StartedChild::Ignored)
        );
        assert_eq!(ids(&sup), ["i", "b", "a"]);
        // Info.
        let info = sup
            .start_child(ChildSpec::new("x", || {
                let pid = spawn_link(|| loop {
                    receive::<()>();
                });
                Started::OkInfo(pid, Term::new("extra"))
            }))
            .unwrap();
        assert!(matches!(&info, StartedChild::RunningInfo(_, t) if t == &Term::new("extra")));
        // Failures: nothing saved.
        assert_eq!(
            sup.start_child(ChildSpec::new("f", || Started::Error(Reason::custom("nope")))),
            Err(SupervisorError::StartFailed(Reason::custom("nope")))
        );
        let err = sup.start_child(ChildSpec::new("p", || -> Started { panic!("start panicked") })).unwrap_err();
        assert!(matches!(err, SupervisorError::StartFailed(Reason::Panic { .. })), "{err:?}");
        assert_eq!(ids(&sup), ["x", "i", "b", "a"]);
        // Invalid specs.
        assert_eq!(
            sup.start_child(ChildSpec::new("", || Pid::UNDEFINED)),
            Err(SupervisorError::InvalidSpec(ChildSpecError::MissingId))
        );
        assert!(matches!(
            sup.start_child(ChildSpec::new("s", || Pid::UNDEFINED).restart(Restart::Temporary).significant(true)),
            Err(SupervisorError::InvalidSpec(ChildSpecError::BadCombination(_)))
        ));
        // A child whose name is taken by any process: already_started, unchanged.
        ember_runtime::register("taken", self_pid()).unwrap();
        assert_eq!(sup.start_child(named_worker("n", "taken")), Err(SupervisorError::AlreadyStarted(self_pid())));
        assert_eq!(ids(&sup), ["x", "i", "b", "a"]);
    });
}

#[test]
fn terminate_child_cases() {
    run(|| {
        let sup = Supervisor::start_link(
            vec![worker("a"), with_restart(worker("t"), Restart::Temporary)],
            SupervisorOptions::one_for_one(),
        )
        .unwrap();
        let a = wait_started("a");
        assert_eq!(sup.terminate_child("zz"), Err(SupervisorError::NotFound));
        sup.terminate_child("a").unwrap();
        assert_eq!(drain_short(), ["+t", "-a"]);
        assert!(!a.is_alive());
        // Not restarted, spec kept; terminating again is fine.
        assert_eq!(child_pid(&sup, "a"), None);
        sup.terminate_child("a").unwrap();
        // A temporary child's spec goes with it.
        sup.terminate_child("t").unwrap();
        assert_eq!(ids(&sup), ["a"]);
        assert_eq!(sup.terminate_child("t"), Err(SupervisorError::NotFound));
        assert!(drain_short() == ["-t"]);
    });
}

#[test]
fn restart_child_cases() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_one()).unwrap();
        wait_started("a");
        assert_eq!(sup.restart_child("zz"), Err(SupervisorError::NotFound));
        assert_eq!(sup.restart_child("a"), Err(SupervisorError::Running));
        sup.terminate_child("a").unwrap();
        let pid = sup.restart_child("a").unwrap().pid().unwrap();
        assert_eq!(wait_started("a"), pid);
        assert_eq!(child_pid(&sup, "a"), Some(pid));

        // Ignore → Ok(Ignored), stays undefined; error → raw reason, stays undefined.
        // Answers, last first: start, ignore, error, then start for ever.
        let answers = std::sync::Arc::new(std::sync::Mutex::new(vec![
            Some(Started::Error(Reason::custom("later"))),
            Some(Started::Ignore),
            None,
        ]));
        let spec = ChildSpec::new("m", move || {
            answers.lock().unwrap().pop().flatten().unwrap_or_else(|| {
                Started::Ok(spawn_link(|| loop {
                    receive::<()>();
                }))
            })
        });
        sup.start_child(spec).unwrap();
        sup.terminate_child("m").unwrap();
        assert_eq!(sup.restart_child("m"), Ok(StartedChild::Ignored));
        assert_eq!(child_pid(&sup, "m"), None);
        assert_eq!(sup.restart_child("m"), Err(SupervisorError::StartFailed(Reason::custom("later"))));
        assert_eq!(child_pid(&sup, "m"), None);
        assert!(sup.restart_child("m").unwrap().pid().is_some());
    });
}

#[test]
fn delete_child_cases() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a"), worker("b")], SupervisorOptions::one_for_one()).unwrap();
        assert_eq!(sup.delete_child("a"), Err(SupervisorError::Running));
        assert_eq!(sup.delete_child("zz"), Err(SupervisorError::NotFound));
        sup.terminate_child("a").unwrap();
        sup.delete_child("a").unwrap();
        assert_eq!(ids(&sup), ["b"]);
        assert_eq!(sup.delete_child("a"), Err(SupervisorError::NotFound));
        // Re-adding the id is possible again.
        sup.start_child(worker("a")).unwrap();
        assert_eq!(ids(&sup), ["a", "b"]);
    });
}

#[test]
fn which_children_count_children_get_childspec() {
    run(|| {
        let me = self_pid();
        let sub = Supervisor::child_spec("sub", vec![worker_for("s", me)], SupervisorOptions::one_for_one());
        let sup =
            Supervisor::start_link(vec![worker("a"), sub, worker("b")], SupervisorOptions::one_for_one()).unwrap();
        sup.start_child(worker("c")).unwrap();
        let children = sup.which_children().unwrap();
        let view: Vec<(String, ChildType)> =
            children.iter().map(|c| (c.id.clone().unwrap().to_string(), c.kind)).collect();
        assert_eq!(
            view,
            [
                ("c".into(), ChildType::Worker),
                ("b".into(), ChildType::Worker),
                ("sub".into(), ChildType::Supervisor),
                ("a".into(), ChildType::Worker)
            ]
        );
        assert_eq!(sup.count_children().unwrap(), ChildCounts { specs: 4, active: 4, supervisors: 1, workers: 3 });
        sup.terminate_child("sub").unwrap();
        sup.terminate_child("a").unwrap();
        assert_eq!(sup.count_children().unwrap(), ChildCounts { specs: 4, active: 2, supervisors: 1, workers: 3 });
        assert_eq!(sup.get_childspec("sub").unwrap().get_shutdown(), Shutdown::Infinity);
        assert_eq!(sup.get_childspec("zz").unwrap_err(), SupervisorError::NotFound);
    });
}

#[test]
fn calls_to_a_missing_supervisor_are_errors() {
    run(|| {
        let sup = empty();
        sup.stop(Reason::Normal, None).unwrap();
        assert_eq!(sup.which_children(), Err(CallError::NoProc));
        assert_eq!(sup.count_children(), Err(CallError::NoProc));
        assert_eq!(sup.start_child(worker("a")), Err(SupervisorError::Call(CallError::NoProc)));
        assert_eq!(sup.terminate_child("a"), Err(SupervisorError::Call(CallError::NoProc)));
        assert_eq!(Supervisor::new("nobody").restart_child("a"), Err(SupervisorError::Call(CallError::NoProc)));
        assert_eq!(sup.stop(Reason::Normal, None), Err(CallError::NoProc));
    });
}

/// A child that traps exits and ignores `shutdown` (it reports the signal).
fn stubborn(id: &str, shutdown: Shutdown) -> ChildSpec {
    let observer = self_pid();
    let id_s = id.to_string();
    ChildSpec::new(id, move || {
        let id = id_s.clone();
        spawn_link(move || {
            trap_exit(true);
            send(observer, Event::Started(id.clone(), self_pid()));
            loop {
                let e: ember_runtime::Exit = receive();
                send(observer, Event::Stopped(id.clone(), e.reason));
            }
        })
    })
    .shutdown(shutdown)
}

/// The shutdown procedures: brutal_kill kills at once; a timeout sends
/// `shutdown`, then kills (a `shutdown_error`); infinity waits.
#[test]
fn shutdown_procedures() {
    run(|| {
        let sup = Supervisor::start_link(
            vec![
                stubborn("brutal", Shutdown::BrutalKill),
                stubborn("timeout", Shutdown::Timeout(Duration::from_millis(20))),
                worker("patient").shutdown(Shutdown::Infinity),
            ],
            SupervisorOptions::one_for_one(),
        )
        .unwrap();
        let brutal = wait_started("brutal");
        let timeout = wait_started("timeout");
        wait_started("patient");

        let m = ember_runtime::monitor(brutal);
        sup.terminate_child("brutal").unwrap();
        let d: ember_runtime::Down = ember_runtime::receive_if(|d: &ember_runtime::Down| d.monitor == m);
        assert_eq!(d.reason, Reason::Killed);

        let m = ember_runtime::monitor(timeout);
        sup.terminate_child("timeout").unwrap();
        let d: ember_runtime::Down = ember_runtime::receive_if(|d: &ember_runtime::Down| d.monitor == m);
        assert_eq!(d.reason, Reason::Killed);

        sup.terminate_child("patient").unwrap();
        let events: Vec<String> = drain()
            .into_iter()
            .map(|e| match e {
                Event::Stopped(id, r) => format!("-{id} {r:?}"),
                other => other.short(),
            })
            .collect();
        // The stubborn child saw the shutdown signal before it was killed.
        assert_eq!(events, ["-timeout shutdown", "-patient shutdown"]);
    });
}

/// A child that unlinked itself from the supervisor cannot hang its
/// shutdown (OTP `child_unlink`): the supervisor waits on a monitor.
#[test]
fn a_child_that_unlinked_itself_cannot_hang_shutdown() {
    run(|| {
        let observer = self_pid();
        let naughty = ChildSpec::new("naughty", move || {
            let sup = self_pid();
            spawn_link(move || {
                unlink(sup);
                send(observer, Event::Started("naughty".into(), self_pid()));
                loop {
                    receive::<()>();
                }
            })
        })
        .shutdown(Shutdown::Infinity);
        let sup = Supervisor::start_link(vec![naughty, worker("w")], SupervisorOptions::one_for_one()).unwrap();
        let n = wait_started("naughty");
        wait_started("w");
        sup.stop(Reason::Shutdown, Some(BOUND)).unwrap();
        assert!(!n.is_alive());
        assert_eq!(settle_processes(1), 1);

        // The same child killed while running is never noticed by the
        // supervisor (no link), and stopping still works.
        let sup = Supervisor::start_link(
            vec![ChildSpec::new("naughty", move || {
                let sup = self_pid();
                spawn_link(move || {
                    unlink(sup);
                    send(observer, Event::Started("naughty".into(), self_pid()));
                    loop {
                        receive::<()>();
                    }
                })
            })],
            SupervisorOptions::one_for_one(),
        )
        .unwrap();
        let n = wait_started("naughty");
        n.exit(Reason::Kill);
        wait_down(n);
        sup.stop(Reason::Shutdown, Some(BOUND)).unwrap();
    });
}

/// The parent's exit reaches `terminate`: children stopped in reverse order,
/// then the supervisor exits with the parent's reason.
#[test]
fn parent_exit_stops_the_tree() {
    run(|| {
        let me = self_pid();
        let parent = spawn(move || {
            let sup = Supervisor::start_link(
                vec![worker_for("a", me), worker_for("b", me)],
                SupervisorOptions::one_for_one(),
            )
            .unwrap();
            send(me, sup.pid().unwrap());
            receive::<()>();
            ember_runtime::exit(Reason::shutdown_with("parent leaves"));
        });
        let sup: Pid = receive();
        assert_eq!(drain_short(), ["+a", "+b"]);
        let m = ember_runtime::monitor(sup);
        send(parent, ());
        let d: ember_runtime::Down = ember_runtime::receive_if(|d: &ember_runtime::Down| d.monitor == m);
        assert_eq!(d.reason, Reason::shutdown_with("parent leaves"));
        let events = drain();
        assert_eq!(events.iter().map(Event::short).collect::<Vec<_>>(), ["-b", "-a"]);
        assert!(events.iter().all(|e| matches!(e, Event::Stopped(_, Reason::Shutdown))));
        assert_eq!(settle_processes(1), 1);
    });
}

/// Stop with a reason; the supervisor exits with it.
#[test]
fn stop_with_a_reason() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_one()).unwrap();
        let pid = sup.pid().unwrap();
        let m = ember_runtime::monitor(pid);
        sup.stop(Reason::shutdown_with(1), None).unwrap();
        let d: ember_runtime::Down = ember_runtime::receive_if(|d: &ember_runtime::Down| d.monitor == m);
        assert_eq!(d.reason, Reason::shutdown_with(1));
        assert_eq!(drain_short(), ["+a", "-a"]);
    });
}

/// An unexpected message is dropped (and reported); the supervisor goes on.
#[test]
fn unexpected_messages_are_dropped() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_one()).unwrap();
        send(sup.pid().unwrap(), "hello");
        send(sup.pid().unwrap(), 42u64);
        assert_eq!(sup.count_children().unwrap().active, 1);
    });
}

/// A GenServer child with a name, restarted under the same name.
#[test]
fn named_children_get_their_name_back() {
    run(|| {
        let sup = Supervisor::start_link(vec![named_worker("a", "alpha")], SupervisorOptions::one_for_one()).unwrap();
        let a = wait_started("a");
        assert_eq!(ember_runtime::whereis("alpha"), Some(a));
        crash(&sup, a, &How::Panic);
        let a2 = wait_started("a");
        assert_ne!(a, a2);
        assert_eq!(ember_runtime::whereis("alpha"), Some(a2));
        let _ = StartOptions::new();
    });
}

/// A start function that calls `exit(reason)`: `start_child` fails with that
/// reason and the supervisor lives on (Elixir's `{:error, :oops}`). A panic
/// in a start function carries its location.
#[test]
fn exit_in_a_start_function_is_the_start_error() {
    run(|| {
        let sup = empty();
        let spec = ChildSpec::new("oops", || -> Pid { ember_runtime::exit(Reason::custom("oops")) });
        assert_eq!(sup.start_child(spec), Err(SupervisorError::StartFailed(Reason::custom("oops"))));
        assert!(sup.pid().is_some_and(|p| p.is_alive()));
        assert!(ids(&sup).is_empty());
        match sup.start_child(ChildSpec::new("p", || -> Pid { panic!("start panicked") })) {
            Err(SupervisorError::StartFailed(Reason::Panic { message, location: Some(location) })) => {
                assert_eq!(&*message, "start panicked");
                assert!(location.file.ends_with("supervisor_api.rs"), "{location:?}");
            }
            other => panic!("expected a panic with its location, got {other:?}"),
        }
        // At init, the exit reason is the failed child's.
        let err = Supervisor::start_link(
            vec![ChildSpec::new("oops", || -> Pid { ember_runtime::exit(Reason::custom("oops")) })],
            SupervisorOptions::one_for_one(),
        )
        .unwrap_err();
        assert_eq!(
            ember_supervisor::InitError::of(&err),
            Some(ember_supervisor::InitError::FailedToStartChild { id: "oops".into(), reason: Reason::custom("oops") })
        );
    });
}

/// The children table at a size where a lookup by scanning would show (OTP's
/// `scale_start_stop_many_children` pattern, checked for behaviour, not
/// speed): children started one by one keep their order through
/// terminations, deletions, restarts by request and restarts after crashes,
/// each found by its id and by its pid.
#[test]
fn many_children_keep_their_order_and_are_found_by_id_and_pid() {
    run(|| {
        const N: usize = 2_000;
        let w = || {
            spawn_link(|| loop {
                receive::<()>();
            })
        };
        let sup = Supervisor::start_link(vec![], SupervisorOptions::one_for_one().max_restarts(1_000)).unwrap();
        for i in 0..N {
            sup.start_child(ChildSpec::new(i, w)).unwrap();
        }
        // Every third child is terminated, every sixth deleted too.
        for i in (0..N).step_by(3) {
            sup.terminate_child(i).unwrap();
            if i % 2 == 0 {
                sup.delete_child(i).unwrap();
                assert_eq!(sup.get_childspec(i).unwrap_err(), SupervisorError::NotFound);
            }
        }
        // Some terminated children are started again: they keep their place.
        for i in (3..N).step_by(6) {
            assert!(sup.restart_child(i).unwrap().pid().is_some());
        }
        // Crashes, found by pid, restart the right child in its place.
        let before: std::collections::HashMap<String, Option<Pid>> =
            sup.which_children().unwrap().into_iter().map(|c| (c.id.unwrap().to_string(), c.pid.pid())).collect();
        for i in (1..N).step_by(100) {
            let pid = child_pid(&sup, &i.to_string()).unwrap();
            let m = ember_runtime::monitor(pid);
            pid.exit(Reason::custom("crash"));
            ember_runtime::receive_if(|d: &ember_runtime::Down| d.monitor == m);
        }
        let after = sup.which_children().unwrap();
        let expected: Vec<String> =
            (0..N).rev().filter(|i| !(i % 3 == 0 && i % 2 == 0)).map(|i| i.to_string()).collect();
        let got: Vec<String> = after.iter().map(|c| c.id.clone().unwrap().to_string()).collect();
        assert_eq!(got, expected, "most recently started first, deleted ones gone");
        for c in &after {
            let id = c.id.clone().unwrap().to_string();
            let i: usize = id.parse().unwrap();
            let old = before[&id];
            match (i % 3 == 0, i % 100 == 1) {
                (true, _) if i % 6 == 3 => assert!(c.pid.pid().is_some_and(|p| p.is_alive()), "{id} restarted"),
                (true, _) => assert_eq!(c.pid, ChildPid::Undefined, "{id} terminated"),
                (false, true) => assert!(c.pid.pid().is_some_and(|p| Some(p) != old && p.is_alive()), "{id} crashed"),
                (false, false) => assert_eq!(c.pid.pid(), old, "{id} untouched"),
            }
        }
        assert_eq!(sup.count_children().unwrap().specs, expected.len());
        // A child restarted after a crash is found by its new pid too.
        let pid = child_pid(&sup, "1").unwrap();
        let m = ember_runtime::monitor(pid);
        pid.exit(Reason::custom("crash again"));
        ember_runtime::receive_if(|d: &ember_runtime::Down| d.monitor == m);
        assert!(child_pid(&sup, "1").is_some_and(|p| p != pid && p.is_alive()));
        sup.stop(Reason::Shutdown, None).unwrap();
        assert_eq!(settle_processes(1), 1);
    });
}

/// OTP's `which_child/2` and `get_callback_module/1`.
#[test]
fn which_child_and_get_callback_module() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a"), worker("b")], SupervisorOptions::one_for_one()).unwrap();
        let a = wait_started("a");
        wait_started("b");
        let entry = sup.which_child("a").unwrap();
        assert_eq!((entry.id.unwrap().as_str(), entry.pid, entry.kind), ("a", ChildPid::Running(a), ChildType::Worker));
        assert_eq!(sup.which_child("c"), Err(SupervisorError::NotFound));
        // A crash: restarting is seen through which_child too.
        crash(&sup, a, &How::Kill);
        assert!(matches!(sup.which_child("a").unwrap().pid, ChildPid::Running(p) if p != a));
        assert_eq!(sup.get_callback_module().unwrap(), "Supervisor");
        let nobody = Supervisor::new("nobody");
        assert_eq!(nobody.which_child("a"), Err(SupervisorError::Call(CallError::NoProc)));
        assert_eq!(nobody.get_callback_module(), Err(CallError::NoProc));
        // A PartitionSupervisor is a Supervisor whose module says so.
        let spec = ChildSpec::new("w", || {
            spawn_link(|| loop {
                receive::<()>();
            })
        });
        ember_supervisor::PartitionSupervisor::start_link(ember_supervisor::PartitionSupervisorOptions::new(
            "ps", spec,
        ))
        .unwrap();
        assert_eq!(Supervisor::new("ps").get_callback_module().unwrap(), "PartitionSupervisor");
        assert!(Supervisor::new("ps").which_child("0").unwrap().pid.pid().is_some());
    });
}

/// A supervisor can run at `High` priority (issue 14), so a restart is not
/// queued behind busy workers: its start options carry the spawn options.
#[test]
fn a_supervisor_can_run_at_high_priority() {
    run(|| {
        use ember_runtime::{process_info, Priority, SpawnOptions};
        let spawn = SpawnOptions::new().priority(Priority::High);
        let options = SupervisorOptions::one_for_one().with_start_options(StartOptions::new().spawn_options(spawn));
        let sup = Supervisor::start_link(vec![worker("a")], options).unwrap();
        let pid = wait_started("a");
        assert_eq!(process_info(sup.pid().unwrap()).unwrap().priority, Priority::High);
        // Its children keep the default.
        assert_eq!(process_info(pid).unwrap().priority, Priority::Normal);
    });
}
