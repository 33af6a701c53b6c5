//! Registered names (SEMANTICS.md §1.7): register / unregister / whereis /
//! send_named and their errors, one name per process, and the name being
//! released before the exit signals and `Down`s go out.

mod common;

use common::{down_of, exit_from, init, recv, wait_processes};
use ember_runtime::{
    monitor, process_info, receive, register, registered, self_pid, send, send_named, spawn, spawn_link, spawn_monitor,
    trap_exit, unregister, whereis, Name, NoProc, Pid, Reason, RegisterError,
};

fn waiter() -> Pid {
    spawn(|| {
        receive::<()>();
    })
}

#[test]
fn register_whereis_send_named_and_unregister() {
    init();
    common::run(|| {
        let me = self_pid();
        assert_eq!(whereis("worker"), None);
        let pid = spawn(move || {
            let n: u32 = receive();
            send(me, n + 1);
        });
        register("worker", pid).unwrap();
        assert_eq!(whereis("worker"), Some(pid));
        assert_eq!(whereis(String::from("worker")), Some(pid));
        assert!(registered().contains(&Name::from("worker")));
        assert_eq!(process_info(pid).unwrap().registered_name, Some("worker".into()));
        send_named("worker", 41u32).unwrap();
        assert_eq!(recv::<u32>(), 42);
        // Unregistering a live process's name.
        register("me", me).unwrap();
        unregister("me").unwrap();
        assert_eq!(whereis("me"), None);
        assert_eq!(process_info(me).unwrap().registered_name, None);
        // The name can then be taken again, by anyone.
        let other = waiter();
        register("me", other).unwrap();
        assert_eq!(whereis("me"), Some(other));
        send(other, ());
    });
}

#[test]
fn register_and_unregister_errors() {
    init();
    common::run(|| {
        let me = self_pid();
        let a = waiter();
        let b = waiter();
        register("taken", a).unwrap();
        assert_eq!(register("taken", b), Err(RegisterError::NameTaken(a)));
        assert_eq!(register("taken", a), Err(RegisterError::NameTaken(a)));
        assert_eq!(register("another", a), Err(RegisterError::AlreadyNamed("taken".into())));
        let (dead, m) = spawn_monitor(|| {});
        down_of(m);
        assert_eq!(register("dead", dead), Err(RegisterError::NoProc(dead)));
        assert_eq!(whereis("dead"), None);
        assert_eq!(unregister("nobody"), Err(RegisterError::NotRegistered("nobody".into())));
        assert_eq!(send_named("nobody", 1u8), Err(NoProc::Name("nobody".into())));
        // Failed registrations changed nothing.
        assert_eq!(whereis("taken"), Some(a));
        assert_eq!(process_info(b).unwrap().registered_name, None);
        assert_eq!(process_info(me).unwrap().registered_name, None);
        send(a, ());
        send(b, ());
    });
}

#[test]
fn a_process_has_at_most_one_name() {
    init();
    common::run(|| {
        let me = self_pid();
        register("first", me).unwrap();
        assert_eq!(register("second", me), Err(RegisterError::AlreadyNamed("first".into())));
        assert_eq!(whereis("second"), None);
        let names: Vec<Name> = registered().into_iter().filter(|n| whereis(n) == Some(me)).collect();
        assert_eq!(names, vec![Name::from("first")]);
        unregister("first").unwrap();
        register("second", me).unwrap();
        assert_eq!(whereis("first"), None);
        assert_eq!(whereis("second"), Some(me));
    });
}

#[test]
fn the_name_is_released_before_the_down_goes_out() {
    init();
    common::run(|| {
        let me = self_pid();
        for i in 0..100u32 {
            let pid = waiter();
            register("svc", pid).unwrap();
            let m = monitor(pid);
            pid.exit(Reason::custom(i));
            assert_eq!(down_of(m).reason, Reason::custom(i));
            // monitor_SUITE:named_down: the name is free the moment the Down arrives.
            assert_eq!(whereis("svc"), None);
            register("svc", me).unwrap();
            unregister("svc").unwrap();
        }
    });
}

#[test]
fn the_name_is_released_before_the_exit_signal_goes_out() {
    init();
    common::run(|| {
        trap_exit(true);
        let me = self_pid();
        for i in 0..100u32 {
            let pid = spawn_link(|| {
                register("linked", self_pid()).unwrap();
                let reason: Reason = receive();
                ember_runtime::exit(reason);
            });
            let reason = if i % 2 == 0 { Reason::custom(i) } else { Reason::Normal };
            // Wait until it holds the name.
            common::wait_until("the child registered", || whereis("linked") == Some(pid));
            send(pid, reason.clone());
            assert_eq!(exit_from(pid).reason, reason);
            register("linked", me).expect("free when the Exit arrives");
            unregister("linked").unwrap();
        }
    });
}

#[test]
fn a_name_is_released_when_its_process_exits() {
    init();
    common::run(|| {
        let (pid, m) = spawn_monitor(|| {
            register("short-lived", self_pid()).unwrap();
        });
        down_of(m);
        assert_eq!(whereis("short-lived"), None);
        assert_eq!(send_named("short-lived", ()), Err(NoProc::Name("short-lived".into())));
        wait_processes(1);
        assert!(!registered().contains(&Name::from("short-lived")));
        // A dead pid's old name can be reused by a new process.
        let p2 = waiter();
        register("short-lived", p2).unwrap();
        assert_ne!(p2, pid);
        send(p2, ());
    });
}

/// OTP-wide consistency (issue 14): no registration accepts the empty name.
#[test]
fn the_empty_name_is_refused() {
    init();
    common::run(|| {
        assert_eq!(register("", self_pid()), Err(RegisterError::EmptyName));
        assert_eq!(whereis(""), None);
        assert!(process_info(self_pid()).unwrap().registered_name.is_none());
    });
}
