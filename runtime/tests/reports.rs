//! Crash reports (SEMANTICS.md §1.1, §9.3): a process that fails by itself
//! (a panic, `exit`) with a reason other than `normal`, `shutdown` or
//! `{shutdown, _}` gets a crash report (target `ember::crash`) naming its
//! pid and reason; clean reasons get none, and neither does a process killed
//! by an exit signal (it ran no code to fail, as in OTP). Reports are captured by the global subscriber of `common`.

mod common;

use common::{crash_reports, down_of, gen_server_reports, init, wait_processes, wait_until};
use ember_runtime::gen_server::{start, CallResult, GenServer, Init, ReplyTo, StartOptions};
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

/// A server whose `handle_call` fails on `Crash`.
#[derive(Debug)]
struct Ledger {
    balance: i64,
    show_state: bool,
}

enum LedgerCall {
    Crash,
}

impl GenServer for Ledger {
    type Arg = bool;
    type Call = LedgerCall;
    type Reply = ();
    type Cast = ();
    type Continue = ();

    fn init(show_state: bool) -> Init<Self> {
        Init::Ok(Ledger { balance: 1233, show_state })
    }

    fn handle_call(&mut self, LedgerCall::Crash: LedgerCall, _from: ReplyTo<()>) -> CallResult<Self> {
        self.balance += 1; // the report shows the state the callback left
        CallResult::Stop(Reason::custom("books do not balance"))
    }

    fn format_status(&self) -> Option<&dyn std::fmt::Debug> {
        self.show_state.then_some(self as &dyn std::fmt::Debug)
    }
}

/// OTP's terminate report names the server (pid and name), the last
/// message, the client of a call and the state (issue 14). Ember's carries
/// the last message's type, and the state only when the server opts in.
#[test]
fn a_gen_server_terminate_report_names_the_server_the_client_and_the_message() {
    init();
    common::run(|| {
        for show_state in [false, true] {
            let name = if show_state { "ledger_shown" } else { "ledger" };
            let server = start::<Ledger>(show_state, StartOptions::new().name(name)).unwrap();
            let pid = server.pid().unwrap();
            assert!(server.call(LedgerCall::Crash).is_err());
            wait_until("the terminate report is out", || !gen_server_reports(pid).is_empty());
            let reports = gen_server_reports(pid);
            assert_eq!(reports.len(), 1, "{reports:?}");
            let report = &reports[0].fields;
            assert_eq!(report.get("name").map(String::as_str), Some(name), "{report:?}");
            assert_eq!(report.get("client"), Some(&self_pid().to_string()), "{report:?}");
            assert_eq!(report.get("last_message").map(String::as_str), Some("call"), "{report:?}");
            let kind = report.get("last_message_type").expect("the message's type");
            assert!(kind.ends_with("LedgerCall"), "{report:?}");
            assert!(report["reason"].contains("books do not balance"), "{report:?}");
            let message = &report["message"];
            assert!(message.contains(&pid.to_string()) && message.contains(&self_pid().to_string()), "{message}");
            match show_state {
                false => {
                    assert!(!report.contains_key("state"), "the state is private by default: {report:?}");
                    assert!(!message.contains("1234"), "{message}");
                }
                true => {
                    assert!(report["state"].contains("balance: 1234"), "{report:?}");
                    assert!(message.contains("balance: 1234"), "{message}");
                }
            }
        }
    });
}
