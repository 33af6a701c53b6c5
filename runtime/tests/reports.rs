//! Crash reports (SEMANTICS.md §1.1, §9.3): a process that fails by itself
//! (a panic, `exit`) with a reason other than `normal`, `shutdown` or
//! `{shutdown, _}` gets a crash report (target `ember::crash`) naming its
//! pid and reason; clean reasons get none, and neither does a process killed
//! by an exit signal (it ran no code to fail, as in OTP). Reports are captured by the global subscriber of `common`.

mod common;

use common::{crash_reports, down_of, init, wait_processes, wait_until};
use ember_runtime::{exit, receive, register, self_pid, spawn, spawn_monitor, Reason};

#[test]
fn a_panic_gets_a_crash_report_with_pid_reason_and_location() {
    init();
    common::run(|| {
        let (pid, m) = spawn_monitor(|| panic!("report me"));
        let reason = down_of(m).reason;
        wait_until("the crash report is out", || !crash_reports(pid).is_empty());
        let reports = crash_reports(pid);
        assert_eq!(reports.len(), 1, "{reports:?}");
        let report = &reports[0];
        assert_eq!(report.pid, pid.to_string());
        assert_eq!(report.reason, format!("{reason:?}"));
        assert!(report.reason.contains("report me"), "{report:?}");
        assert!(report.location.as_deref().is_some_and(|l| l.contains("reports.rs")), "{report:?}");
        assert!(report.message.contains(&pid.to_string()), "{report:?}");
    });
}

#[test]
fn a_custom_reason_gets_a_crash_report_with_the_name() {
    init();
    common::run(|| {
        let (pid, m) = spawn_monitor(|| {
            register("reported", self_pid()).unwrap();
            exit(Reason::custom("bad input"));
        });
        assert_eq!(down_of(m).reason, Reason::custom("bad input"));
        wait_until("the crash report is out", || !crash_reports(pid).is_empty());
        let reports = crash_reports(pid);
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].reason, "\"bad input\"");
        assert_eq!(reports[0].name.as_deref(), Some("reported"));
        // A process killed by an exit signal ran no code of its own to fail:
        // as in OTP (proc_lib reports only what the process raised), it gets
        // no crash report, whatever the reason.
        let victim = spawn(|| {
            receive::<()>();
        });
        let m = ember_runtime::monitor(victim);
        victim.exit(Reason::custom(404u32));
        assert_eq!(down_of(m).reason, Reason::custom(404u32));
        wait_processes(1);
        assert!(crash_reports(victim).is_empty(), "{:?}", crash_reports(victim));
    });
}

#[test]
fn clean_reasons_get_no_crash_report() {
    init();
    common::run(|| {
        let mut pids = Vec::new();
        for reason in [Reason::Normal, Reason::Shutdown, Reason::shutdown_with("maintenance")] {
            let r = reason.clone();
            let (pid, m) = spawn_monitor(move || exit(r));
            assert_eq!(down_of(m).reason, reason);
            pids.push(pid);
            // Also when the clean reason comes as an exit signal.
            if !reason.is_normal() {
                let victim = spawn(|| {
                    receive::<()>();
                });
                let m = ember_runtime::monitor(victim);
                victim.exit(reason.clone());
                assert_eq!(down_of(m).reason, reason);
                pids.push(victim);
            }
        }
        let (pid, m) = spawn_monitor(|| {});
        down_of(m);
        pids.push(pid);
        // Every exit procedure (which reports after sending the Downs) is over.
        wait_processes(1);
        for pid in pids {
            assert!(crash_reports(pid).is_empty(), "{pid}: {:?}", crash_reports(pid));
        }
    });
}

#[test]
fn a_killed_process_gets_no_crash_report() {
    init();
    common::run(|| {
        let victim = spawn(|| {
            receive::<()>();
        });
        let m = ember_runtime::monitor(victim);
        victim.exit(Reason::Kill);
        assert_eq!(down_of(m).reason, Reason::Killed);
        wait_processes(1);
        assert!(crash_reports(victim).is_empty(), "{:?}", crash_reports(victim));
    });
}

/// A panic whose payload is not a string (issue 14) says so and still
/// carries the place it was raised; Ember's own values keep their text.
#[test]
fn non_string_panic_payloads_are_described() {
    common::init();
    common::run(|| {
        match ember_runtime::catch_exit(|| std::panic::panic_any(42u64)) {
            Err(Reason::Panic { message, location }) => {
                assert!(message.contains("non-string payload"), "{message}");
                assert!(location.expect("a location").file.ends_with("reports.rs"));
            }
            other => panic!("expected a panic reason, got {other:?}"),
        }
        match ember_runtime::catch_exit(|| std::panic::panic_any(Reason::custom("mine"))) {
            Err(Reason::Panic { message, .. }) => assert_eq!(&*message, "\"mine\""),
            other => panic!("expected a panic reason, got {other:?}"),
        }
    });
}
