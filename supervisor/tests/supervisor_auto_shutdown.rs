//! Automatic shutdown (SEMANTICS.md §4.9): significant children, checked
//! only when a child exits and is not restarted.

mod common;

use common::*;
use ember_runtime::{monitor, receive_if_timeout, Down, Reason};
use ember_supervisor::{AutoShutdown, ChildSpec, Restart, Supervisor, SupervisorOptions};

fn significant(id: &str, restart: Restart) -> ChildSpec {
    worker(id).restart(restart).significant(true)
}

/// Waits for the supervisor to exit; returns its reason.
fn sup_down(m: ember_runtime::Ref) -> Reason {
    receive_if_timeout(|d: &Down| d.monitor == m, BOUND).expect("the supervisor did not stop").reason
}

#[test]
fn any_significant_stops_on_the_first_significant_exit() {
    run(|| {
        for (restart, how) in [
            (Restart::Transient, How::Exit(Reason::Normal)),
            (Restart::Transient, How::Exit(Reason::shutdown_with(1))),
            (Restart::Temporary, How::Exit(Reason::Normal)),
            (Restart::Temporary, How::Kill),
        ] {
            let sup = Supervisor::start_link(
                vec![worker("a"), significant("s", restart), worker("b")],
                SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AnySignificant),
            )
            .unwrap();
            let m = monitor(sup.pid().unwrap());
            let s = wait_started("s");
            drain();
            let server = ember_runtime::gen_server::Server::<Worker>::new(s);
            match &how {
                How::Exit(r) => server.cast(Cmd::Exit(r.clone())),
                _ => s.exit(Reason::Kill),
            }
            assert_eq!(sup_down(m), Reason::Shutdown, "{restart:?} {how:?}");
            let events = drain_short();
            let tail = &events[events.len() - 2..];
            assert_eq!(tail, ["-b", "-a"], "{restart:?} {how:?}");
        }
        assert_eq!(settle_processes(1), 1);
    });
}

/// A significant transient child that crashes is restarted, not a reason to
/// stop; a non-significant one never is.
#[test]
fn restarts_and_non_significant_exits_do_not_stop() {
    run(|| {
        let sup = Supervisor::start_link(
            vec![
                significant("s", Restart::Transient),
                worker("t").restart(Restart::Temporary),
                worker("u").restart(Restart::Transient),
            ],
            SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AnySignificant),
        )
        .unwrap();
        let s = wait_started("s");
        let t = wait_started("t");
        let u = wait_started("u");
        crash(&sup, s, &How::Panic);
        wait_started("s");
        crash(&sup, t, &How::Exit(Reason::Normal));
        crash(&sup, u, &How::Exit(Reason::Normal));
        assert_eq!(ids(&sup), ["u", "s"]);
    });
}

/// terminate_child of a significant child never triggers the shutdown, nor
/// do significant children stopped as bystanders of a one_for_all restart.
#[test]
fn terminate_child_and_bystanders_do_not_trigger() {
    run(|| {
        let sup = Supervisor::start_link(
            vec![worker("a"), significant("s", Restart::Transient), significant("t", Restart::Temporary)],
            SupervisorOptions::one_for_all().auto_shutdown(AutoShutdown::AnySignificant),
        )
        .unwrap();
        let a = wait_started("a");
        crash(&sup, a, &How::Kill);
        // s is restarted with everyone; t (temporary) is dropped.
        assert_eq!(ids(&sup), ["s", "a"]);
        sup.terminate_child("s").unwrap();
        assert_eq!(sup.count_children().unwrap().active, 1);
    });
}

#[test]
fn all_significant_stops_when_the_last_one_exits() {
    run(|| {
        let sup = Supervisor::start_link(
            vec![
                worker("a"),
                significant("s1", Restart::Temporary),
                significant("s2", Restart::Transient),
                significant("s3", Restart::Transient),
            ],
            SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AllSignificant),
        )
        .unwrap();
        let m = monitor(sup.pid().unwrap());
        let s1 = wait_started("s1");
        let s2 = wait_started("s2");
        let s3 = wait_started("s3");
        // s3 stopped by request first: it no longer counts as running.
        sup.terminate_child("s3").unwrap();
        let _ = s3;
        crash(&sup, s1, &How::Exit(Reason::Normal));
        assert_eq!(ids(&sup), ["s3", "s2", "a"]);
        // The last running significant child exits cleanly.
        drain();
        let server = ember_runtime::gen_server::Server::<Worker>::new(s2);
        server.cast(Cmd::Exit(Reason::Shutdown));
        assert_eq!(sup_down(m), Reason::Shutdown);
        assert_eq!(drain_short(), ["-s2", "-a"]);
    });
}

/// A supervisor that stopped by auto_shutdown exits with `shutdown`: as a
/// transient significant child of a parent with auto_shutdown, it stops the
/// parent in turn.
#[test]
fn escalates_through_significant_supervisors() {
    run(|| {
        let me = ember_runtime::self_pid();
        let inner = Supervisor::child_spec(
            "inner",
            vec![worker_for("s", me).restart(Restart::Transient).significant(true)],
            SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AnySignificant),
        )
        .restart(Restart::Transient)
        .significant(true);
        let root = Supervisor::start_link(
            vec![worker("a"), inner],
            SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AnySignificant),
        )
        .unwrap();
        let m = monitor(root.pid().unwrap());
        let s = wait_started("s");
        ember_runtime::gen_server::Server::<Worker>::new(s).cast(Cmd::Exit(Reason::Normal));
        assert_eq!(sup_down(m), Reason::Shutdown);
        assert_eq!(drain_short(), ["+a", "-s", "-a"]);
        assert_eq!(settle_processes(1), 1);
    });
}

#[test]
fn start_child_checks_significance() {
    run(|| {
        let never = Supervisor::start_link(vec![], SupervisorOptions::one_for_one()).unwrap();
        assert!(never.start_child(significant("s", Restart::Transient)).is_err());
        let any = Supervisor::start_link(
            vec![],
            SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AnySignificant),
        )
        .unwrap();
        assert!(any.start_child(significant("p", Restart::Permanent)).is_err());
        assert!(any.start_child(significant("s", Restart::Transient)).is_ok());
    });
}
