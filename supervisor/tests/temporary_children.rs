//! A temporary child is never restarted, so once it has started its
//! supervisor keeps nothing of its start function: OTP saves no start
//! arguments for it (`supervisor:save_child/2`), and neither does Elixir's
//! DynamicSupervisor. Each start function here captures a [`Tattle`], whose
//! drop tells the test.
//!
//! Synchronisation: the supervisor drops the start function before it
//! answers the request (or acknowledges its start), and messages from one
//! process arrive in the order they were sent, so the `Dropped` message is
//! in the mailbox when the call returns.

mod common;

use common::run;
use ember_runtime::{receive, receive_timeout, self_pid, send, spawn_link, Pid};
use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
use ember_supervisor::{ChildSpec, Restart, Strategy, Supervisor, SupervisorOptions};
use std::time::Duration;

/// Sent by a [`Tattle`] when it is dropped.
#[derive(Debug, PartialEq)]
struct Dropped(&'static str);

/// A start argument (think of a 50 KB buffer) that reports its drop.
struct Tattle {
    name: &'static str,
    observer: Pid,
}

impl Drop for Tattle {
    fn drop(&mut self) {
        send(self.observer, Dropped(self.name));
    }
}

/// A child whose start function holds a [`Tattle`] named `name`.
fn child(name: &'static str, restart: Restart) -> ChildSpec {
    let tattle = Tattle { name, observer: self_pid() };
    ChildSpec::new(name, move || {
        let _held = &tattle;
        spawn_link(|| loop {
            receive::<()>();
        })
    })
    .restart(restart)
}

fn dropped() -> Vec<&'static str> {
    let mut out = Vec::new();
    while let Some(Dropped(name)) = receive_timeout::<Dropped>(Duration::ZERO) {
        out.push(name);
    }
    out.sort();
    out
}

#[test]
fn a_static_supervisor_drops_the_start_function_of_a_started_temporary_child() {
    run(|| {
        for strategy in [Strategy::OneForOne, Strategy::OneForAll, Strategy::RestForOne] {
            let children = vec![child("temporary", Restart::Temporary), child("permanent", Restart::Permanent)];
            let sup = Supervisor::start_link(children, SupervisorOptions::new(strategy)).unwrap();
            assert_eq!(dropped(), ["temporary"], "{strategy:?}: at init");
            assert!(!sup.get_childspec("temporary").unwrap().has_start());
            assert!(sup.get_childspec("permanent").unwrap().has_start());

            sup.start_child(child("later", Restart::Temporary)).unwrap();
            assert_eq!(dropped(), ["later"], "{strategy:?}: start_child");
            sup.start_child(child("transient", Restart::Transient)).unwrap();
            assert_eq!(dropped(), Vec::<&str>::new(), "{strategy:?}: a transient child keeps it");

            // The rest goes with the supervisor.
            sup.stop(ember_runtime::Reason::Shutdown, None).unwrap();
            assert_eq!(dropped(), ["permanent", "transient"], "{strategy:?}: at stop");
        }
    });
}

#[test]
fn a_dynamic_supervisor_drops_the_start_function_of_a_started_temporary_child() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        DynamicSupervisor::start_child(sup, child("temporary", Restart::Temporary)).unwrap();
        assert_eq!(dropped(), ["temporary"]);
        DynamicSupervisor::start_child(sup, child("permanent", Restart::Permanent)).unwrap();
        assert_eq!(dropped(), Vec::<&str>::new());
        DynamicSupervisor::stop(sup, ember_runtime::Reason::Shutdown).unwrap();
        assert_eq!(dropped(), ["permanent"]);
    });
}
