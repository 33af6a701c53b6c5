//! Monitors (SEMANTICS.md §1.3): one `Down` per monitor, `noproc`, by name,
//! `demonitor` and `demonitor_flush`, `spawn_monitor`.

mod common;

use common::{down_of, init, recv, wait_processes, wait_until};
use ember_runtime::{
    demonitor, demonitor_flush, monitor, monitor_name, process_info, receive, receive_if_timeout, register, self_pid,
    send, spawn, spawn_monitor, trap_exit, yield_now, Down, Monitored, Name, Pid, Reason,
};
use std::time::Duration;

/// A process that waits for a `()` and then exits normally.
fn waiter() -> Pid {
    spawn(|| {
        receive::<()>();
    })
}

fn no_down_queued(m: ember_runtime::Ref) -> bool {
    receive_if_timeout(|d: &Down| d.monitor == m, Duration::ZERO).is_none()
}

#[test]
fn a_monitor_delivers_exactly_one_down() {
    init();
    common::run(|| {
        let pid = waiter();
        let m = monitor(pid);
        assert_eq!(process_info(self_pid()).unwrap().monitors, vec![(m, Monitored::Process(pid))]);
        assert_eq!(process_info(pid).unwrap().monitored_by, vec![self_pid()]);
        pid.exit(Reason::custom("stop"));
        assert_eq!(down_of(m), Down { monitor: m, pid, name: None, reason: Reason::custom("stop") });
        // Once the target's exit procedure is over, every Down it sent has
        // arrived: there is no second one.
        wait_processes(1);
        assert!(no_down_queued(m));
        assert!(process_info(self_pid()).unwrap().monitors.is_empty(), "a fired monitor is removed");
        // A monitor does not affect the monitoring process.
        assert!(!process_info(self_pid()).unwrap().trap_exit);
    });
}

#[test]
fn monitoring_a_dead_process_gives_noproc_at_once() {
    init();
    common::run(|| {
        let (pid, m0) = spawn_monitor(|| {});
        down_of(m0);
        let m = monitor(pid);
        assert_ne!(m, m0);
        assert_eq!(down_of(m), Down { monitor: m, pid, name: None, reason: Reason::NoProc });
        assert!(no_down_queued(m));
        assert!(process_info(self_pid()).unwrap().monitors.is_empty());
    });
}

#[test]
fn a_name_monitor_down_carries_the_name() {
    init();
    common::run(|| {
        let pid = waiter();
        register("named", pid).unwrap();
        let m = monitor_name("named");
        // Listed by name, as OTP lists `{process, {Name, Node}}`.
        let listed = Monitored::Name { name: Name::from("named"), pid };
        assert_eq!(process_info(self_pid()).unwrap().monitors, vec![(m, listed)]);
        send(pid, ());
        let down = down_of(m);
        assert_eq!(down, Down { monitor: m, pid, name: Some(Name::from("named")), reason: Reason::Normal });
        // Nothing registered: noproc at once, with the name and an undefined pid.
        let m = monitor_name("named");
        assert_eq!(
            down_of(m),
            Down { monitor: m, pid: Pid::UNDEFINED, name: Some("named".into()), reason: Reason::NoProc }
        );
    });
}

#[test]
fn a_name_monitor_resolves_the_name_once() {
    init();
    common::run(|| {
        let first = waiter();
        register("svc", first).unwrap();
        let m = monitor_name("svc");
        ember_runtime::unregister("svc").unwrap();
        let second = waiter();
        register("svc", second).unwrap();
        second.exit(Reason::Kill);
        first.exit(Reason::custom("first"));
        let down = down_of(m);
        assert_eq!((down.pid, down.reason), (first, Reason::custom("first")));
    });
}

#[test]
fn two_monitors_give_two_downs() {
    init();
    common::run(|| {
        let pid = waiter();
        let m1 = monitor(pid);
        let m2 = monitor(pid);
        assert_ne!(m1, m2);
        assert_eq!(process_info(pid).unwrap().monitored_by, vec![self_pid(), self_pid()]);
        send(pid, ());
        assert_eq!(down_of(m2).reason, Reason::Normal);
        assert_eq!(down_of(m1).reason, Reason::Normal);
        wait_processes(1);
        assert!(no_down_queued(m1) && no_down_queued(m2));
    });
}

#[test]
fn demonitor_before_the_exit_means_no_down() {
    init();
    common::run(|| {
        let pid = waiter();
        let m1 = monitor(pid);
        assert!(demonitor(m1), "an active monitor is removed");
        assert!(process_info(pid).unwrap().monitored_by.is_empty());
        assert!(process_info(self_pid()).unwrap().monitors.is_empty());
        pid.exit(Reason::Kill);
        // A second monitor, made after the demonitor; its Down is sent by the
        // same exit procedure that would have sent the first one.
        let m2 = monitor(pid);
        let down = down_of(m2);
        assert!(down.reason == Reason::Killed || down.reason == Reason::NoProc, "{down:?}");
        wait_processes(1);
        assert!(no_down_queued(m1));
    });
}

#[test]
fn demonitor_flush_removes_a_queued_down() {
    init();
    common::run(|| {
        let pid = waiter();
        let m = monitor(pid);
        send(pid, ());
        // Wait, without consuming it, until the Down is in the mailbox.
        let mut queued = false;
        wait_until("the Down is queued", || {
            let _ = receive_if_timeout(
                |d: &Down| {
                    queued |= d.monitor == m;
                    false
                },
                Duration::ZERO,
            );
            queued
        });
        assert_eq!(process_info(self_pid()).unwrap().message_queue_len, 1);
        assert!(!demonitor_flush(m), "the monitor had fired");
        assert!(no_down_queued(m));
        assert_eq!(process_info(self_pid()).unwrap().message_queue_len, 0);
        // Other messages are left alone.
        let pid = waiter();
        let m = monitor(pid);
        send(self_pid(), 1u8);
        assert!(demonitor_flush(m), "still active");
        assert_eq!(recv::<u8>(), 1);
        send(pid, ());
    });
}

#[test]
fn demonitor_returns_false_once_the_monitor_fired() {
    init();
    common::run(|| {
        let (_, m) = spawn_monitor(|| {});
        down_of(m);
        assert!(!demonitor(m));
        assert!(!demonitor(m));
        // A monitor removed before is not active any more either.
        let pid = waiter();
        let m = monitor(pid);
        assert!(demonitor(m));
        assert!(!demonitor(m));
        // Someone else's monitor is not the caller's to remove.
        let me = self_pid();
        let other = spawn(move || {
            let m: ember_runtime::Ref = receive();
            send(me, demonitor(m));
        });
        let m = monitor(pid);
        send(other, m);
        assert!(!recv::<bool>());
        assert_eq!(process_info(self_pid()).unwrap().monitors, vec![(m, Monitored::Process(pid))], "not removed");
        send(pid, ());
        assert_eq!(down_of(m).reason, Reason::Normal);
    });
}

#[test]
fn spawn_monitor_monitors_atomically() {
    init();
    common::run(|| {
        for i in 0..200u32 {
            // Even a process that exits at once is seen exiting.
            let (pid, m) = spawn_monitor(move || {
                if i % 2 == 0 {
                    ember_runtime::exit(Reason::custom(i));
                }
            });
            let down = down_of(m);
            assert_eq!(down.pid, pid);
            let expected = if i % 2 == 0 { Reason::custom(i) } else { Reason::Normal };
            assert_eq!(down.reason, expected);
        }
        // A monitor does not link: the parent is unaffected by the child's crash.
        assert!(!trap_exit(false));
        let (_, m) = spawn_monitor(|| panic!("crash"));
        assert!(matches!(down_of(m).reason, Reason::Panic { .. }));
        yield_now();
        assert!(process_info(self_pid()).unwrap().links.is_empty());
    });
}

#[test]
fn monitoring_oneself_creates_no_monitor() {
    init();
    common::run(|| {
        register("me", self_pid()).unwrap();
        let by_pid = monitor(self_pid());
        let by_name = monitor_name("me");
        assert_ne!(by_pid, by_name, "each call still returns a fresh reference");
        // OTP creates no monitor for its own process: nothing is listed on
        // either side, and there is nothing to remove.
        let info = process_info(self_pid()).unwrap();
        assert!(info.monitors.is_empty(), "{:?}", info.monitors);
        assert!(info.monitored_by.is_empty(), "{:?}", info.monitored_by);
        assert!(no_down_queued(by_pid) && no_down_queued(by_name));
        assert!(!demonitor(by_pid));
        assert!(!demonitor_flush(by_name));
    });
}
