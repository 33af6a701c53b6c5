//! Starting a supervisor (SEMANTICS.md §4.1–4.3, §4.10, §8): order, flag and
//! spec validation errors, failed-start cleanup, ignore, module-based
//! supervisors, names, supervisors as children.

mod common;

use common::*;
use ember_runtime::gen_server::{ProcessName, StartError, StartOptions};
use ember_runtime::{process_info, whereis, Dest, Pid, Reason, Via, ViaError};
use ember_supervisor::{
    check_childspecs, AutoShutdown, ChildCounts, ChildPid, ChildSpec, ChildSpecError, ChildType, Flags, FlagsError,
    InitError, Restart, Shutdown, Started, Supervisor, SupervisorModule, SupervisorOptions,
};
use std::sync::{Arc, Mutex};

fn failing(id: &str, reason: Reason) -> ChildSpec {
    ChildSpec::new(id, move || Started::Error(reason.clone()))
}

#[test]
fn children_start_in_order_and_the_supervisor_traps_exits() {
    run(|| {
        let sup = Supervisor::start_link(vec![worker("a"), worker("b"), worker("c")], SupervisorOptions::one_for_one())
            .unwrap();
        assert_eq!(drain_short(), ["+a", "+b", "+c"]);
        assert_eq!(ids(&sup), ["c", "b", "a"]);
        let info = process_info(sup.pid().unwrap()).unwrap();
        assert!(info.trap_exit);
        // Linked to its starter and to each child.
        assert!(info.links.contains(&ember_runtime::self_pid()));
        assert_eq!(info.links.len(), 4);
        // Stop order: reverse start order.
        sup.stop(Reason::Normal, None).unwrap();
        assert_eq!(drain_short(), ["-c", "-b", "-a"]);
        assert_eq!(settle_processes(1), 1);
    });
}

#[test]
fn flags_defaults_and_validation() {
    let flags = Flags::default();
    assert_eq!(flags.get_max_restarts(), 3);
    assert_eq!(flags.get_max_seconds(), 5);
    assert_eq!(flags.get_auto_shutdown(), AutoShutdown::Never);
    run(|| {
        let err =
            Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_one().max_seconds(0)).unwrap_err();
        assert_eq!(InitError::of(&err), Some(InitError::SupervisorData(FlagsError::InvalidPeriod(0))));
        // Nothing was started.
        assert!(drain().is_empty());
        assert_eq!(settle_processes(1), 1);
    });
}

#[test]
fn invalid_specs_are_errors_not_panics() {
    run(|| {
        let w = || Pid::UNDEFINED;
        let cases: Vec<(Vec<ChildSpec>, SupervisorOptions, ChildSpecError)> = vec![
            (vec![ChildSpec::new("", w)], SupervisorOptions::one_for_one(), ChildSpecError::MissingId),
            (
                vec![ChildSpec::new("a", w), ChildSpec::new("b", w), ChildSpec::new("a", w)],
                SupervisorOptions::one_for_one(),
                ChildSpecError::DuplicateChildName("a".into()),
            ),
            (
                vec![ChildSpec::new("s", w).restart(Restart::Transient).significant(true)],
                SupervisorOptions::one_for_one(),
                ChildSpecError::BadCombination("{auto_shutdown, never} with {significant, true}"),
            ),
            (
                vec![ChildSpec::new("s", w).significant(true)],
                SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AnySignificant),
                ChildSpecError::BadCombination("{restart, permanent} with {significant, true}"),
            ),
            // OTP checks auto_shutdown never before permanent.
            (
                vec![ChildSpec::new("s", w).significant(true)],
                SupervisorOptions::one_for_one(),
                ChildSpecError::BadCombination("{auto_shutdown, never} with {significant, true}"),
            ),
        ];
        for (specs, options, want) in cases {
            let err = Supervisor::start_link(specs, options).unwrap_err();
            assert_eq!(InitError::of(&err), Some(InitError::StartSpec(want)));
        }
        assert_eq!(settle_processes(1), 1);
    });
    assert_eq!(check_childspecs(&[], Some(AutoShutdown::Never)), Ok(()));
}

/// A failed start stops the children already started, in reverse order, and
/// the supervisor exits with `{shutdown, {failed_to_start_child, id, reason}}`.
#[test]
fn failed_start_cleans_up_in_reverse_order() {
    run(|| {
        for (bad, reason_is) in [
            (failing("c", Reason::custom("no db")), "error"),
            (ChildSpec::new("c", || -> Started { panic!("start exploded") }), "panic"),
        ] {
            let err = Supervisor::start_link(
                vec![worker("a"), worker("b"), bad, worker("d")],
                SupervisorOptions::one_for_one(),
            )
            .unwrap_err();
            assert_eq!(drain_short(), ["+a", "+b", "-b", "-a"], "{reason_is}");
            let StartError::Failed(reason) = &err else { panic!("{err:?}") };
            assert!(matches!(reason, Reason::ShutdownWith(_)), "a clean reason: {reason:?}");
            match InitError::of(&err) {
                Some(InitError::FailedToStartChild { id, reason }) => {
                    assert_eq!(id.as_str(), "c");
                    match reason_is {
                        "error" => assert_eq!(reason, Reason::custom("no db")),
                        _ => assert!(matches!(reason, Reason::Panic { .. })),
                    }
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(settle_processes(1), 1);
        }
        // The first child failing: nothing to clean up.
        let err =
            Supervisor::start_link(vec![failing("x", Reason::Killed)], SupervisorOptions::one_for_all()).unwrap_err();
        assert_eq!(InitError::of(&err), Some(InitError::FailedToStartChild { id: "x".into(), reason: Reason::Killed }));
    });
}

/// A child whose start returns ignore is kept, not running; a temporary one
/// is dropped. A child start error is not an ignore.
#[test]
fn ignore_keeps_the_spec_except_temporary() {
    run(|| {
        let ignore = |id: &str| ChildSpec::new(id, || Started::Ignore);
        let sup = Supervisor::start_link(
            vec![worker("a"), ignore("i"), ignore("t").restart(Restart::Temporary), worker("b")],
            SupervisorOptions::one_for_all(),
        )
        .unwrap();
        assert_eq!(drain_short(), ["+a", "+b"]);
        let children = sup.which_children().unwrap();
        assert_eq!(ids(&sup), ["b", "i", "a"]);
        assert_eq!(children[1].pid, ChildPid::Undefined);
        assert_eq!(sup.count_children().unwrap(), ChildCounts { specs: 3, active: 2, supervisors: 0, workers: 3 });
        // one_for_all restarts every spec: i is tried again (and ignores again).
        let b = children[0].pid.pid().unwrap();
        crash(&sup, b, &How::Kill);
        assert_eq!(drain_short(), ["-a", "+a", "+b"]);
        assert_eq!(ids(&sup), ["b", "i", "a"]);
    });
}

struct App;

#[derive(Clone)]
enum AppArg {
    Workers(Pid, usize),
    Ignore,
    Panic,
}

impl SupervisorModule for App {
    type Arg = AppArg;
    fn init(arg: AppArg) -> Option<(Flags, Vec<ChildSpec>)> {
        match arg {
            AppArg::Workers(observer, n) => {
                // Runs in the supervisor, which already traps exits.
                assert!(process_info(ember_runtime::self_pid()).unwrap().trap_exit);
                let children = (0..n).map(|i| worker_for(&format!("w{i}"), observer)).collect();
                Some((Flags::rest_for_one().max_restarts(7), children))
            }
            AppArg::Ignore => None,
            AppArg::Panic => panic!("init exploded"),
        }
    }
}

#[test]
fn module_based_supervisors() {
    run(|| {
        let me = ember_runtime::self_pid();
        let sup =
            Supervisor::start_link_module::<App>(AppArg::Workers(me, 2), StartOptions::new().name("app")).unwrap();
        assert_eq!(drain_short(), ["+w0", "+w1"]);
        assert_eq!(whereis("app"), sup.pid());
        assert_eq!(Supervisor::new("app").count_children().unwrap().active, 2);

        assert_eq!(
            Supervisor::start_link_module::<App>(AppArg::Ignore, StartOptions::new()).unwrap_err(),
            StartError::Ignore
        );
        let err = Supervisor::start_link_module::<App>(AppArg::Panic, StartOptions::new()).unwrap_err();
        assert!(matches!(err, StartError::Failed(Reason::Panic { .. })), "{err:?}");

        // The default child spec of a module: a supervisor child.
        let spec = App::child_spec(AppArg::Workers(me, 1));
        assert_eq!(spec.get_type(), ChildType::Supervisor);
        assert_eq!(spec.get_shutdown(), Shutdown::Infinity);
        assert!(spec.id().as_str().ends_with("App"));
        let root = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
        assert_eq!(drain_short(), ["+w0"]);
        assert_eq!(root.count_children().unwrap(), ChildCounts { specs: 1, active: 1, supervisors: 1, workers: 0 });
        // An ignoring module under a supervisor: kept, not running.
        let root2 = Supervisor::start_link(
            vec![App::child_spec(AppArg::Ignore).id_as("ign")],
            SupervisorOptions::one_for_one(),
        )
        .unwrap();
        assert_eq!(root2.which_children().unwrap()[0].pid, ChildPid::Undefined);
    });
}

#[test]
fn local_names() {
    run(|| {
        let sup = Supervisor::start_link(vec![], SupervisorOptions::one_for_one().name("root")).unwrap();
        let pid = sup.pid().unwrap();
        assert_eq!(whereis("root"), Some(pid));
        let err = Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_one().name("root")).unwrap_err();
        assert_eq!(err, StartError::AlreadyStarted(pid));
        assert!(drain().is_empty(), "no child was started");
        sup.stop(Reason::Normal, None).unwrap();
        assert_eq!(whereis("root"), None);
    });
}

/// A toy via scheme: one global slot.
#[derive(Debug, Default)]
struct Slot(Mutex<Option<Pid>>);

impl Via for Slot {
    fn register_name(&self, pid: Pid) -> Result<(), ViaError> {
        let mut slot = self.0.lock().unwrap();
        match *slot {
            Some(holder) if holder.is_alive() => Err(ViaError::Taken(holder)),
            _ => {
                *slot = Some(pid);
                Ok(())
            }
        }
    }
    fn unregister_name(&self) {
        *self.0.lock().unwrap() = None;
    }
    fn whereis_name(&self) -> Option<Pid> {
        (*self.0.lock().unwrap()).filter(|p| p.is_alive())
    }
}

#[test]
fn via_names() {
    run(|| {
        let slot = Arc::new(Slot::default());
        let name: ProcessName = slot.clone().into();
        let sup =
            Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_one().name(name.clone())).unwrap();
        assert_eq!(slot.whereis_name(), sup.pid());
        let by_name = Supervisor::new(Dest::Via(slot.clone()));
        assert_eq!(by_name.which_children().unwrap().len(), 1);
        let err = Supervisor::start_link(vec![], SupervisorOptions::one_for_one().name(name)).unwrap_err();
        assert_eq!(err, StartError::AlreadyStarted(sup.pid().unwrap()));
    });
}

/// A supervisor as a child: type supervisor, shutdown infinity; stopping
/// the root stops the whole tree depth first, in reverse order.
#[test]
fn supervisors_as_children() {
    run(|| {
        let me = ember_runtime::self_pid();
        let sub = Supervisor::child_spec(
            "sub",
            vec![worker_for("s1", me), worker_for("s2", me)],
            SupervisorOptions::one_for_one(),
        );
        assert_eq!(sub.get_type(), ChildType::Supervisor);
        assert_eq!(sub.get_shutdown(), Shutdown::Infinity);
        let root =
            Supervisor::start_link(vec![worker("a"), sub, worker("b")], SupervisorOptions::one_for_one()).unwrap();
        assert_eq!(drain_short(), ["+a", "+s1", "+s2", "+b"]);
        assert_eq!(root.count_children().unwrap(), ChildCounts { specs: 3, active: 3, supervisors: 1, workers: 2 });
        root.stop(Reason::Shutdown, None).unwrap();
        assert_eq!(drain_short(), ["-b", "-s2", "-s1", "-a"]);
        assert_eq!(settle_processes(1), 1);
    });
}
