//! Strategies (SEMANTICS.md §4.5–4.6): every strategy × restart type × exit
//! reason, with the exact order of stops and starts; plus the cases where
//! OTP restarts specs that were not running (`supervisor_SUITE:tree`), drops
//! temporary bystanders, and leaves earlier children alone (rest_for_one).

mod common;

use common::*;
use ember_runtime::{Pid, Reason};
use ember_supervisor::{ChildPid, Restart, Strategy, Supervisor, SupervisorOptions};

/// The exit reasons of the matrix.
fn hows() -> Vec<(&'static str, How, bool)> {
    // (label, how, clean?)
    vec![
        ("normal", How::Exit(Reason::Normal), true),
        ("shutdown", How::Exit(Reason::Shutdown), true),
        ("{shutdown, _}", How::Exit(Reason::shutdown_with("bye")), true),
        ("custom", How::Exit(Reason::custom("boom")), false),
        ("panic", How::Panic, false),
        ("killed", How::Kill, false),
    ]
}

fn restarts() -> [Restart; 3] {
    [Restart::Permanent, Restart::Transient, Restart::Temporary]
}

/// Children a, b, c (b with the restart type under test); b exits; checks
/// the events and the children afterwards.
fn matrix(strategy: Strategy) {
    run(move || {
        for restart in restarts() {
            for (label, how, clean) in hows() {
                let case = format!("{strategy:?} / {restart:?} / {label}");
                let sup = Supervisor::start_link(
                    vec![worker("a"), with_restart(worker("b"), restart), worker("c")],
                    SupervisorOptions::new(strategy).max_restarts(100),
                )
                .unwrap();
                let a = wait_started("a");
                let b = wait_started("b");
                let c = wait_started("c");
                assert!(drain().is_empty());

                let reason = crash(&sup, b, &how);
                if matches!(how, How::Kill) {
                    assert_eq!(reason, Reason::Killed, "{case}");
                }
                let restarted = restart == Restart::Permanent || (restart == Restart::Transient && !clean);
                let mut expected: Vec<&str> = if matches!(how, How::Kill) { vec![] } else { vec!["-b"] };
                if restarted {
                    expected.extend(match strategy {
                        Strategy::OneForOne => vec!["+b"],
                        Strategy::OneForAll => vec!["-c", "-a", "+a", "+b", "+c"],
                        Strategy::RestForOne => vec!["-c", "+b", "+c"],
                    });
                }
                let events = drain();
                let short: Vec<String> = events.iter().map(|e| e.short()).collect();
                assert_eq!(short, expected, "{case}");

                // Stops by the supervisor are `shutdown`.
                for e in &events {
                    if let Event::Stopped(id, r) = e {
                        if id != "b" {
                            assert_eq!(r, &Reason::Shutdown, "{case}");
                        }
                    }
                }
                // The children afterwards, most recent first.
                let new_pid = |id: &str, old: Pid| {
                    events
                        .iter()
                        .find_map(|e| match e {
                            Event::Started(i, p) if i == id => Some(*p),
                            _ => None,
                        })
                        .unwrap_or(old)
                };
                let children = sup.which_children().unwrap();
                let got: Vec<(String, ChildPid)> =
                    children.iter().map(|c| (c.id.clone().unwrap().to_string(), c.pid)).collect();
                let want: Vec<(String, ChildPid)> = if restarted {
                    vec![
                        ("c".into(), ChildPid::Running(new_pid("c", c))),
                        ("b".into(), ChildPid::Running(new_pid("b", b))),
                        ("a".into(), ChildPid::Running(new_pid("a", a))),
                    ]
                } else if restart == Restart::Temporary {
                    vec![("c".into(), ChildPid::Running(c)), ("a".into(), ChildPid::Running(a))]
                } else {
                    vec![
                        ("c".into(), ChildPid::Running(c)),
                        ("b".into(), ChildPid::Undefined),
                        ("a".into(), ChildPid::Running(a)),
                    ]
                };
                assert_eq!(got, want, "{case}");
                if restarted {
                    assert_ne!(new_pid("b", b), b, "{case}");
                }
                sup.stop(Reason::Shutdown, None).unwrap();
                drain();
            }
        }
        assert_eq!(settle_processes(1), 1);
    });
}

#[test]
fn one_for_one_matrix() {
    matrix(Strategy::OneForOne);
}

#[test]
fn one_for_all_matrix() {
    matrix(Strategy::OneForAll);
}

#[test]
fn rest_for_one_matrix() {
    matrix(Strategy::RestForOne);
}

/// one_for_all restarts every remaining spec, including children stopped
/// earlier with terminate_child (`supervisor_SUITE:tree`), and drops the
/// temporary bystanders.
#[test]
fn one_for_all_restarts_terminated_specs_and_drops_temporaries() {
    run(|| {
        let sup = Supervisor::start_link(
            vec![worker("a"), with_restart(worker("t"), Restart::Temporary), worker("b"), worker("c")],
            SupervisorOptions::one_for_all(),
        )
        .unwrap();
        let b = wait_started("b");
        drain();
        sup.terminate_child("c").unwrap();
        assert_eq!(drain_short(), ["-c"]);

        crash(&sup, b, &How::Kill);
        // c was not running: not stopped, but started again; t is stopped and gone.
        assert_eq!(drain_short(), ["-t", "-a", "+a", "+b", "+c"]);
        assert_eq!(ids(&sup), ["c", "b", "a"]);
        assert!(sup.which_children().unwrap().iter().all(|c| matches!(c.pid, ChildPid::Running(_))));
    });
}

/// rest_for_one leaves the children before the dead one alone, stops the
/// later ones (reverse order), and starts the dead one and every later spec,
/// running or not.
#[test]
fn rest_for_one_restarts_only_the_rest() {
    run(|| {
        let sup = Supervisor::start_link(
            vec![worker("a"), worker("b"), worker("c"), with_restart(worker("t"), Restart::Temporary), worker("d")],
            SupervisorOptions::rest_for_one(),
        )
        .unwrap();
        let a = wait_started("a");
        let b = wait_started("b");
        drain();
        sup.terminate_child("d").unwrap();
        assert_eq!(drain_short(), ["-d"]);

        crash(&sup, b, &How::Kill);
        assert_eq!(drain_short(), ["-t", "-c", "+b", "+c", "+d"]);
        assert_eq!(ids(&sup), ["d", "c", "b", "a"]);
        assert_eq!(child_pid(&sup, "a"), Some(a));

        // The last child: only itself.
        let d = child_pid(&sup, "d").unwrap();
        crash(&sup, d, &How::Kill);
        assert_eq!(drain_short(), ["+d"]);
    });
}

/// one_for_one: a child stopped by terminate_child is not restarted when
/// another child crashes.
#[test]
fn one_for_one_touches_nothing_else() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a"), worker("b")], SupervisorOptions::one_for_one()).unwrap();
        let a = wait_started("a");
        wait_started("b");
        sup.terminate_child("b").unwrap();
        drain();
        crash(&sup, a, &How::Panic);
        assert_eq!(drain_short(), ["-a", "+a"]);
        assert_eq!(sup.which_children().unwrap()[0].pid, ChildPid::Undefined);
    });
}

/// Plain (non-GenServer) children work the same; an exit from a process
/// that is not a child is ignored.
#[test]
fn plain_children_and_strangers() {
    run(|| {
        let sup = Supervisor::start_link(vec![plain("p"), plain("q")], SupervisorOptions::one_for_all()).unwrap();
        let p = wait_started("p");
        wait_started("q");
        // A stranger linked to the supervisor dies: nothing happens.
        let sup_pid = sup.pid().unwrap();
        let stranger = ember_runtime::spawn(move || {
            ember_runtime::link(sup_pid).unwrap();
            ember_runtime::exit(Reason::custom("stranger"));
        });
        wait_down(stranger);
        sync(&sup);
        assert_eq!(child_pid(&sup, "p"), Some(p));
        // A plain child killed: one_for_all restarts both.
        let m = ember_runtime::monitor(p);
        p.exit(Reason::Kill);
        ember_runtime::receive_if(|d: &ember_runtime::Down| d.monitor == m);
        sync(&sup);
        // Plain children report from their own process, whenever they run.
        let p2 = wait_started("p");
        let q2 = wait_started("q");
        let running: Vec<_> = sup.which_children().unwrap().iter().map(|c| c.pid.pid()).collect();
        assert_eq!(running, [Some(q2), Some(p2)]);
    });
}
