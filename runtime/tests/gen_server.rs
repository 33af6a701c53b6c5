//! GenServer: one test per row of the tables in SEMANTICS.md §3 (init
//! results, callback returns, when terminate runs, call errors, late replies,
//! stop), plus 100,000 concurrent callers.

use ember_runtime::gen_server::{
    reply, start, start_link, Action, CallError, CallResult, GenServer, Info, Init, Next, ReplyTo, Server, StartError,
    StartOptions, Timeout,
};
use ember_runtime::{
    monitor, process_info, receive, receive_if, receive_timeout, self_pid, send, spawn, spawn_link, stats, trap_exit,
    whereis, Down, Exit, Pid, Reason,
};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(10);

fn quiet() {
    let _ = tracing_subscriber::fmt().with_writer(std::io::sink).try_init();
}

/// Everything the test server reports to its observer.
#[derive(Debug, PartialEq)]
enum Event {
    Init,
    Continued(u32),
    Timeout,
    Info(String),
    Terminate(Reason),
}

/// How the test server's init behaves.
#[derive(Clone)]
enum InitMode {
    Ok,
    Timeout(Duration),
    Hibernate,
    Continue(u32),
    Ignore,
    Stop(Reason),
    Error(Reason),
    Panic,
    Exit(Reason),
    Block,
}

#[derive(Clone)]
struct Arg {
    observer: Pid,
    init: InitMode,
}

enum Req {
    Get,
    Set(u32),
    ReplyThen(Next<u32>),
    NoReplyThenReply,
    ReplyTwice,
    ReplyFromAnother,
    Defer,
    Stop(Reason),
    StopReply(Reason),
    Panic,
    Exit(Reason),
    CallSelf,
}

enum Cast {
    Set(u32),
    Stop(Reason),
    Then(Next<u32>),
}

struct Test {
    observer: Pid,
    value: u32,
    deferred: Option<ReplyTo<u32>>,
    panic_in_terminate: bool,
}

impl GenServer for Test {
    type Arg = Arg;
    type Call = Req;
    type Reply = u32;
    type Cast = Cast;
    type Continue = u32;

    fn init(arg: Arg) -> Init<Self> {
        send(arg.observer, Event::Init);
        let state = Test { observer: arg.observer, value: 0, deferred: None, panic_in_terminate: false };
        match arg.init {
            InitMode::Ok => Init::Ok(state),
            InitMode::Timeout(d) => Init::OkThen(state, Next::Timeout(d)),
            InitMode::Hibernate => Init::OkThen(state, Next::Hibernate),
            InitMode::Continue(n) => {
                // A message already waiting must be served after the continue.
                send(self_pid(), "queued before continue".to_string());
                Init::OkThen(state, Next::Continue(n))
            }
            InitMode::Ignore => Init::Ignore,
            InitMode::Stop(r) => Init::Stop(r),
            InitMode::Error(r) => Init::Error(r),
            InitMode::Panic => panic!("init exploded"),
            InitMode::Exit(r) => ember_runtime::exit(r),
            InitMode::Block => loop {
                receive::<()>();
            },
        }
    }

    fn handle_call(&mut self, req: Req, from: ReplyTo<u32>) -> CallResult<Self> {
        match req {
            Req::Get => CallResult::Reply(self.value),
            Req::Set(v) => {
                self.value = v;
                CallResult::Reply(v)
            }
            Req::ReplyThen(next) => CallResult::ReplyThen(self.value, next),
            Req::NoReplyThenReply => {
                reply(from, self.value + 1);
                CallResult::NoReply
            }
            Req::ReplyTwice => {
                reply(from, 1);
                CallResult::Reply(2)
            }
            Req::ReplyFromAnother => {
                spawn(move || reply(from, 5));
                CallResult::NoReply
            }
            Req::Defer => {
                send(self.observer, Event::Info("deferred".into()));
                self.deferred = Some(from);
                CallResult::NoReply
            }
            Req::Stop(r) => CallResult::Stop(r),
            Req::StopReply(r) => CallResult::StopReply(r, 99),
            Req::Panic => panic!("handle_call exploded"),
            Req::Exit(r) => ember_runtime::exit(r),
            Req::CallSelf => {
                let me: Server<Test> = Server::new(self_pid());
                let err = me.call(Req::Get).unwrap_err();
                assert_eq!(err, CallError::CallingSelf);
                CallResult::Reply(7)
            }
        }
    }

    fn handle_cast(&mut self, cast: Cast) -> Action<u32> {
        match cast {
            Cast::Set(v) => {
                self.value = v;
                Action::NoReply
            }
            Cast::Stop(r) => Action::Stop(r),
            Cast::Then(next) => Action::NoReplyThen(next),
        }
    }

    fn handle_info(&mut self, info: Info) -> Action<u32> {
        if info.is::<Timeout>() {
            send(self.observer, Event::Timeout);
            return Action::NoReply;
        }
        if let Some(e) = info.downcast_ref::<Exit>() {
            send(self.observer, Event::Info(format!("exit {:?}", e.reason)));
            return Action::NoReply;
        }
        match info.downcast::<String>() {
            Ok(s) if s == "release" => {
                if let Some(to) = self.deferred.take() {
                    reply(to, 1234);
                }
                Action::NoReply
            }
            Ok(s) if s == "panic terminate" => {
                self.panic_in_terminate = true;
                Action::NoReply
            }
            Ok(s) => {
                send(self.observer, Event::Info(s));
                Action::NoReply
            }
            Err(_) => Action::NoReply,
        }
    }

    fn handle_continue(&mut self, n: u32) -> Action<u32> {
        send(self.observer, Event::Continued(n));
        self.value = n;
        if n > 1 {
            Action::NoReplyThen(Next::Continue(n - 1))
        } else {
            Action::NoReply
        }
    }

    fn terminate(&mut self, reason: &Reason) {
        send(self.observer, Event::Terminate(reason.clone()));
        if self.panic_in_terminate {
            panic!("terminate exploded");
        }
    }
}

fn arg(init: InitMode) -> Arg {
    Arg { observer: self_pid(), init }
}

fn event() -> Event {
    receive_timeout::<Event>(BOUND).expect("an event within the bound")
}

fn no_event() -> Option<Event> {
    receive_timeout::<Event>(Duration::ZERO)
}

fn started(init: InitMode) -> Server<Test> {
    let s = start_link::<Test>(arg(init), StartOptions::new()).unwrap();
    assert_eq!(event(), Event::Init);
    s
}

/// Sends `pid` an exit signal and waits for its exit reason (monitoring it
/// first, so the reason cannot be lost to a race).
fn exit_and_wait(pid: Pid, reason: Reason) -> Reason {
    let m = monitor(pid);
    pid.exit(reason);
    receive_if(|d: &Down| d.monitor == m).reason
}

// ---- init results (§3.1) ----

#[test]
fn init_ok_serves_calls() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Ok);
        assert_eq!(s.call(Req::Set(5)).unwrap(), 5);
        assert_eq!(s.call(Req::Get).unwrap(), 5);
    })
    .unwrap();
}

#[test]
fn init_ok_with_timeout_delivers_a_timeout() {
    quiet();
    ember_runtime::run(|| {
        started(InitMode::Timeout(Duration::from_millis(1)));
        assert_eq!(event(), Event::Timeout);
    })
    .unwrap();
}

#[test]
fn init_ok_with_hibernate_hibernates_first() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Hibernate);
        let pid = s.pid().unwrap();
        // Wait until it is suspended without a stack.
        let mut info = process_info(pid).unwrap();
        for _ in 0..10_000 {
            if info.stack_bytes == 0 && info.status != ember_runtime::Status::Runnable {
                break;
            }
            ember_runtime::yield_now();
            info = process_info(pid).unwrap();
        }
        assert_eq!(info.stack_bytes, 0, "a hibernating server holds no stack");
        assert_eq!(s.call(Req::Get).unwrap(), 0, "and serves calls when woken");
    })
    .unwrap();
}

#[test]
fn init_continue_runs_before_any_message() {
    quiet();
    ember_runtime::run(|| {
        started(InitMode::Continue(3));
        assert_eq!(event(), Event::Continued(3));
        assert_eq!(event(), Event::Continued(2));
        assert_eq!(event(), Event::Continued(1));
        assert_eq!(event(), Event::Info("queued before continue".into()));
    })
    .unwrap();
}

#[test]
fn init_ignore_returns_ignore_and_exits_normally() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let r = start_link::<Test>(arg(InitMode::Ignore), StartOptions::new().name("ignored"));
        assert_eq!(r.unwrap_err(), StartError::Ignore);
        assert_eq!(whereis("ignored"), None, "the name is released before the starter hears");
        assert!(receive_timeout::<Exit>(Duration::ZERO).is_none(), "no stray Exit");
    })
    .unwrap();
}

#[test]
fn init_error_returns_the_reason_and_exits_normally() {
    quiet();
    ember_runtime::run(|| {
        // Not trapping: the server exits `normal`, which does not kill us.
        let r = start_link::<Test>(arg(InitMode::Error(Reason::custom("nope"))), StartOptions::new());
        assert_eq!(r.unwrap_err(), StartError::Failed(Reason::custom("nope")));
    })
    .unwrap();
}

#[test]
fn init_stop_returns_the_reason_to_a_trapping_starter() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let r = start_link::<Test>(arg(InitMode::Stop(Reason::custom("bad"))), StartOptions::new().name("s"));
        assert_eq!(r.unwrap_err(), StartError::Failed(Reason::custom("bad")));
        assert!(receive_timeout::<Exit>(Duration::ZERO).is_none(), "no stray Exit");
        // The name is free again at once.
        assert!(start_link::<Test>(arg(InitMode::Ok), StartOptions::new().name("s")).is_ok());
    })
    .unwrap();
}

#[test]
fn init_stop_kills_a_non_trapping_starter_through_the_link() {
    quiet();
    ember_runtime::run(|| {
        let me = self_pid();
        let (_starter, m) = ember_runtime::spawn_monitor(move || {
            let _ = start_link::<Test>(
                Arg { observer: me, init: InitMode::Stop(Reason::custom("bad")) },
                StartOptions::new(),
            );
            send(me, "returned");
        });
        assert_eq!(receive_if(|d: &Down| d.monitor == m).reason, Reason::custom("bad"));
        assert!(receive_timeout::<&str>(Duration::ZERO).is_none());
    })
    .unwrap();
}

#[test]
fn init_panic_fails_with_the_panic() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let err = start_link::<Test>(arg(InitMode::Panic), StartOptions::new()).unwrap_err();
        match err {
            StartError::Failed(Reason::Panic { message, location }) => {
                assert_eq!(&*message, "init exploded");
                assert!(location.unwrap().file.ends_with("gen_server.rs"));
            }
            other => panic!("unexpected {other:?}"),
        }
    })
    .unwrap();
}

#[test]
fn init_exit_fails_with_the_reason() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let err = start_link::<Test>(arg(InitMode::Exit(Reason::Shutdown)), StartOptions::new()).unwrap_err();
        assert_eq!(err, StartError::Failed(Reason::Shutdown));
    })
    .unwrap();
}

#[test]
fn init_timeout_kills_the_server() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let before = stats().processes;
        let err = start_link::<Test>(
            arg(InitMode::Block),
            StartOptions::new().timeout(Duration::from_millis(20)).name("slow"),
        )
        .unwrap_err();
        assert_eq!(err, StartError::Timeout);
        assert_eq!(whereis("slow"), None);
        assert_eq!(stats().processes, before, "the server is gone");
        assert!(receive_timeout::<Exit>(Duration::ZERO).is_none(), "no stray Exit");
    })
    .unwrap();
}

#[test]
fn terminate_is_not_called_when_init_fails() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let _ = start_link::<Test>(arg(InitMode::Stop(Reason::custom("x"))), StartOptions::new());
        assert_eq!(event(), Event::Init);
        assert_eq!(no_event(), None);
    })
    .unwrap();
}

#[test]
fn already_started_is_checked_before_spawning() {
    quiet();
    ember_runtime::run(|| {
        let s = start_link::<Test>(arg(InitMode::Ok), StartOptions::new().name("one")).unwrap();
        assert_eq!(event(), Event::Init);
        let err = start_link::<Test>(arg(InitMode::Ok), StartOptions::new().name("one")).unwrap_err();
        assert_eq!(err, StartError::AlreadyStarted(s.pid().unwrap()));
        assert_eq!(no_event(), None, "no second init ran");
    })
    .unwrap();
}

#[test]
fn already_started_in_the_race() {
    quiet();
    ember_runtime::run(|| {
        let me = self_pid();
        // Many starters race for one name: exactly one wins, the others get
        // AlreadyStarted with the winner's pid.
        for _ in 0..20 {
            spawn(move || {
                let r = start::<Test>(Arg { observer: me, init: InitMode::Ok }, StartOptions::new().name("race"));
                send(me, r.map(|s| s.pid().unwrap()));
            });
        }
        let results: Vec<Result<Pid, StartError>> = (0..20).map(|_| receive()).collect();
        let winners: Vec<Pid> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(winners.len(), 1);
        for r in &results {
            if let Err(e) = r {
                assert_eq!(*e, StartError::AlreadyStarted(winners[0]));
            }
        }
    })
    .unwrap();
}

// ---- callback returns (§3.2) ----

#[test]
fn reply_then_continue_timeout_and_hibernate() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Ok);
        assert_eq!(s.call(Req::ReplyThen(Next::Continue(1))).unwrap(), 0);
        assert_eq!(event(), Event::Continued(1));
        assert_eq!(s.call(Req::ReplyThen(Next::Timeout(Duration::from_millis(1)))).unwrap(), 1);
        assert_eq!(event(), Event::Timeout);
        assert_eq!(s.call(Req::ReplyThen(Next::Hibernate)).unwrap(), 1);
        assert_eq!(s.call(Req::Get).unwrap(), 1, "state survives hibernation");
    })
    .unwrap();
}

#[test]
fn a_message_before_the_timeout_cancels_it() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Ok);
        s.cast(Cast::Then(Next::Timeout(Duration::from_secs(3600))));
        send(s.pid().unwrap(), "hello".to_string());
        assert_eq!(event(), Event::Info("hello".into()));
        assert_eq!(s.call(Req::Get).unwrap(), 0);
        assert_eq!(no_event(), None, "no Timeout was delivered");
    })
    .unwrap();
}

#[test]
fn noreply_and_reply_later() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Ok);
        // Replying from inside the callback, then returning NoReply.
        assert_eq!(s.call(Req::NoReplyThenReply).unwrap(), 1);
        // Replying later, from another callback.
        let me = self_pid();
        let server = s.clone();
        spawn(move || send(me, server.call(Req::Defer)));
        assert_eq!(event(), Event::Info("deferred".into()));
        send(s.pid().unwrap(), "release".to_string());
        assert_eq!(receive::<Result<u32, CallError>>().unwrap(), 1234);
    })
    .unwrap();
}

#[test]
fn stop_from_call_runs_terminate_and_the_caller_sees_the_exit() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let s = started(InitMode::Ok);
        let err = s.call(Req::Stop(Reason::custom("bye"))).unwrap_err();
        assert_eq!(err, CallError::Exited(Reason::custom("bye")));
        assert_eq!(event(), Event::Terminate(Reason::custom("bye")));
    })
    .unwrap();
}

#[test]
fn stop_with_reply_replies_after_terminate() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let s = started(InitMode::Ok);
        assert_eq!(s.call(Req::StopReply(Reason::Normal)).unwrap(), 99);
        // terminate's message was sent before the reply: it is already here.
        assert_eq!(no_event(), Some(Event::Terminate(Reason::Normal)));
    })
    .unwrap();
}

#[test]
fn stop_with_reply_replies_even_if_terminate_panics() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let s = started(InitMode::Ok);
        send(s.pid().unwrap(), "panic terminate".to_string());
        assert_eq!(s.call(Req::StopReply(Reason::Normal)).unwrap(), 99);
        let pid = s.pid().unwrap();
        let exit = receive_if(|e: &Exit| e.from == pid);
        assert!(matches!(exit.reason, Reason::Panic { .. }), "terminate's panic becomes the reason");
    })
    .unwrap();
}

#[test]
fn cast_stop_runs_terminate() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let s = started(InitMode::Ok);
        let pid = s.pid().unwrap();
        s.cast(Cast::Stop(Reason::Shutdown));
        assert_eq!(event(), Event::Terminate(Reason::Shutdown));
        assert_eq!(receive_if(|e: &Exit| e.from == pid).reason, Reason::Shutdown);
    })
    .unwrap();
}

#[test]
fn panic_in_a_callback_runs_terminate_with_the_panic() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let s = started(InitMode::Ok);
        match s.call(Req::Panic).unwrap_err() {
            CallError::Exited(Reason::Panic { message, .. }) => assert_eq!(&*message, "handle_call exploded"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(event(), Event::Terminate(Reason::Panic { .. })));
    })
    .unwrap();
}

#[test]
fn exit_in_a_callback_runs_terminate_with_the_reason() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let s = started(InitMode::Ok);
        assert_eq!(s.call(Req::Exit(Reason::custom("out"))).unwrap_err(), CallError::Exited(Reason::custom("out")));
        assert_eq!(event(), Event::Terminate(Reason::custom("out")));
    })
    .unwrap();
}

// ---- when terminate runs (§3.2, second table) ----

/// A server that traps exits from init.
struct Trapper(Pid);

impl GenServer for Trapper {
    type Arg = Pid;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(observer: Pid) -> Init<Self> {
        trap_exit(true);
        Init::Ok(Trapper(observer))
    }
    fn handle_info(&mut self, info: Info) -> Action<()> {
        match info.downcast::<Exit>() {
            Ok(e) => send(self.0, Event::Info(format!("exit {:?}", e.reason))),
            Err(info) => {
                if let Ok(s) = info.downcast::<String>() {
                    send(self.0, Event::Info(s));
                }
            }
        }
        Action::NoReply
    }
    fn terminate(&mut self, reason: &Reason) {
        send(self.0, Event::Terminate(reason.clone()));
    }
}

#[test]
fn terminate_runs_on_parent_exit_when_trapping() {
    quiet();
    ember_runtime::run(|| {
        let me = self_pid();
        let parent = spawn(move || {
            let s = start_link::<Trapper>(me, StartOptions::new()).unwrap();
            send(s.pid().unwrap(), "queued first".to_string());
            send(me, s.pid().unwrap());
            ember_runtime::exit(Reason::custom("parent died"));
        });
        let server: Pid = receive();
        let m = monitor(server);
        assert_eq!(event(), Event::Info("queued first".into()));
        assert_eq!(event(), Event::Terminate(Reason::custom("parent died")));
        let down = receive_if(|d: &Down| d.monitor == m);
        assert!(down.reason == Reason::custom("parent died") || down.reason == Reason::NoProc);
        let _ = parent;
    })
    .unwrap();
}

#[test]
fn exit_from_a_non_parent_goes_to_handle_info() {
    quiet();
    ember_runtime::run(|| {
        let s = start_link::<Trapper>(self_pid(), StartOptions::new()).unwrap();
        let server = s.pid().unwrap();
        let other = spawn(move || {
            ember_runtime::link(server).unwrap();
            ember_runtime::exit(Reason::custom("stranger"));
        });
        let _ = other;
        assert_eq!(event(), Event::Info("exit \"stranger\"".into()));
        assert!(server.is_alive());
    })
    .unwrap();
}

#[test]
fn no_terminate_when_a_non_trapping_server_is_killed_by_a_signal() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let s = started(InitMode::Ok);
        let pid = s.pid().unwrap();
        assert_eq!(exit_and_wait(pid, Reason::custom("signal")), Reason::custom("signal"));
        assert_eq!(no_event(), None, "terminate did not run");
    })
    .unwrap();
}

#[test]
fn no_terminate_on_kill_even_when_trapping() {
    quiet();
    ember_runtime::run(|| {
        let s = start::<Trapper>(self_pid(), StartOptions::new()).unwrap();
        let pid = s.pid().unwrap();
        assert_eq!(exit_and_wait(pid, Reason::Kill), Reason::Killed);
        assert_eq!(no_event(), None, "terminate did not run");
    })
    .unwrap();
}

#[test]
fn stop_runs_terminate_regardless_of_trap_exit() {
    quiet();
    ember_runtime::run(|| {
        // Not linked: a linked, non-trapping caller would die by the link.
        let s = start::<Test>(arg(InitMode::Ok), StartOptions::new()).unwrap();
        assert_eq!(event(), Event::Init);
        s.stop(Reason::Shutdown, None).unwrap();
        assert_eq!(event(), Event::Terminate(Reason::Shutdown));
        assert!(!s.pid().unwrap().is_alive());
    })
    .unwrap();
}

#[test]
fn stop_reports_a_different_exit_reason() {
    quiet();
    ember_runtime::run(|| {
        trap_exit(true);
        let s = started(InitMode::Ok);
        send(s.pid().unwrap(), "panic terminate".to_string());
        match s.stop(Reason::Normal, None).unwrap_err() {
            CallError::Exited(Reason::Panic { message, .. }) => assert_eq!(&*message, "terminate exploded"),
            other => panic!("unexpected {other:?}"),
        }
    })
    .unwrap();
}

#[test]
fn stop_errors() {
    quiet();
    ember_runtime::run(|| {
        let nobody: Server<Test> = Server::new("nobody");
        assert_eq!(nobody.stop(Reason::Normal, None).unwrap_err(), CallError::NoProc);
        let blocked = start::<Test>(arg(InitMode::Ok), StartOptions::new()).unwrap();
        assert_eq!(event(), Event::Init);
        // Keep it busy in a deferred call so that stop times out? A stop is
        // served in order; a server stuck in init never serves it.
        let stuck = spawn(|| loop {
            receive::<()>();
        });
        let stuck: Server<Test> = Server::new(stuck);
        assert_eq!(stuck.stop(Reason::Normal, Some(Duration::from_millis(10))).unwrap_err(), CallError::Timeout);
        blocked.stop(Reason::Normal, None).unwrap();
    })
    .unwrap();
}

// ---- call errors and late replies (§3.3) ----

#[test]
fn call_errors() {
    quiet();
    ember_runtime::run(|| {
        let unknown: Server<Test> = Server::new("unknown");
        assert_eq!(unknown.call(Req::Get).unwrap_err(), CallError::NoProc);
        let (dead, _) = ember_runtime::spawn_monitor(|| {});
        receive::<Down>();
        let dead: Server<Test> = Server::new(dead);
        assert_eq!(dead.call(Req::Get).unwrap_err(), CallError::NoProc);
        let s = started(InitMode::Ok);
        assert_eq!(s.call(Req::CallSelf).unwrap(), 7);
        assert_eq!(s.call_timeout(Req::Defer, Some(Duration::from_millis(5))).unwrap_err(), CallError::Timeout);
        assert_eq!(event(), Event::Info("deferred".into()));
    })
    .unwrap();
}

#[test]
fn a_late_reply_never_lands_in_the_callers_mailbox() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Ok);
        assert_eq!(s.call_timeout(Req::Defer, Some(Duration::from_millis(5))).unwrap_err(), CallError::Timeout);
        assert_eq!(event(), Event::Info("deferred".into()));
        // Now the server replies to the timed-out call...
        send(s.pid().unwrap(), "release".to_string());
        // ...and a later call from us is ordered after that reply.
        assert_eq!(s.call(Req::Get).unwrap(), 0);
        assert!(ember_runtime::receive_any_timeout(Duration::ZERO).is_none(), "the late reply was dropped");
        assert_eq!(ember_runtime::process_info(self_pid()).unwrap().monitors.len(), 0, "no monitor left behind");
    })
    .unwrap();
}

#[test]
fn a_second_reply_to_one_call_is_dropped() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Ok);
        assert_eq!(s.call(Req::ReplyTwice).unwrap(), 1, "the first reply answers the call");
        // A later call is ordered after the second reply: it was dropped
        // (OTP's reply_demonitor alias), not left in the caller's mailbox.
        assert_eq!(s.call(Req::Get).unwrap(), 0);
        assert!(ember_runtime::receive_any_timeout(Duration::ZERO).is_none(), "a stray second reply");
    })
    .unwrap();
}

#[test]
fn calls_leave_no_monitor_on_either_side() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Ok);
        let pid = s.pid().unwrap();
        for i in 0..100 {
            assert_eq!(s.call(Req::Set(i)).unwrap(), i);
        }
        assert_eq!(s.call(Req::ReplyTwice).unwrap(), 1);
        assert_eq!(s.call(Req::NoReplyThenReply).unwrap(), 100);
        assert_eq!(s.call(Req::ReplyFromAnother).unwrap(), 5);
        // A timed-out call, then its late reply.
        assert_eq!(s.call_timeout(Req::Defer, Some(Duration::from_millis(5))).unwrap_err(), CallError::Timeout);
        assert_eq!(event(), Event::Info("deferred".into()));
        send(pid, "release".to_string());
        assert_eq!(s.call(Req::Get).unwrap(), 99);
        assert!(process_info(self_pid()).unwrap().monitors.is_empty(), "the caller's side");
        assert!(process_info(pid).unwrap().monitored_by.is_empty(), "the server's side");
    })
    .unwrap();
}

#[test]
fn the_callers_death_does_not_disturb_the_server() {
    quiet();
    ember_runtime::run(|| {
        let s = started(InitMode::Ok);
        let pid = s.pid().unwrap();
        let caller = spawn(move || {
            let s: Server<Test> = Server::new(pid);
            let _ = s.call(Req::Defer);
        });
        // Wait until the server holds the deferred call, then kill the caller.
        assert_eq!(event(), Event::Info("deferred".into()));
        exit_and_wait(caller, Reason::Kill);
        send(pid, "release".to_string());
        assert_eq!(s.call(Req::Set(3)).unwrap(), 3);
    })
    .unwrap();
}

#[test]
fn cast_always_succeeds() {
    quiet();
    ember_runtime::run(|| {
        let unknown: Server<Test> = Server::new("unknown");
        unknown.cast(Cast::Set(1));
        let (dead, _) = ember_runtime::spawn_monitor(|| {});
        receive::<Down>();
        Server::<Test>::new(dead).cast(Cast::Set(1));
        let s = started(InitMode::Ok);
        s.cast(Cast::Set(8));
        assert_eq!(s.call(Req::Get).unwrap(), 8);
    })
    .unwrap();
}

#[test]
fn a_linked_non_trapping_caller_dies_with_the_server() {
    quiet();
    ember_runtime::run(|| {
        let me = self_pid();
        let (caller, m) = ember_runtime::spawn_monitor(move || {
            let s = start_link::<Test>(Arg { observer: me, init: InitMode::Ok }, StartOptions::new()).unwrap();
            let _ = s.call(Req::Panic);
            send(me, "survived");
        });
        assert_eq!(event(), Event::Init);
        let down = receive_if(|d: &Down| d.monitor == m);
        assert_eq!(down.pid, caller);
        assert!(matches!(down.reason, Reason::Panic { .. }));
        assert!(receive_timeout::<&str>(Duration::ZERO).is_none());
    })
    .unwrap();
}

// ---- hibernation ----

#[test]
fn hibernate_after_gives_the_stack_back() {
    quiet();
    ember_runtime::run(|| {
        let s = start_link::<Test>(arg(InitMode::Ok), StartOptions::new().hibernate_after(Duration::from_millis(1)))
            .unwrap();
        assert_eq!(event(), Event::Init);
        let pid = s.pid().unwrap();
        s.cast(Cast::Set(4));
        let mut hibernated = false;
        for _ in 0..100_000 {
            let i = process_info(pid).unwrap();
            if i.stack_bytes == 0 && i.status == ember_runtime::Status::Hibernating {
                hibernated = true;
                break;
            }
            ember_runtime::yield_now();
        }
        assert!(hibernated, "idle server hibernated");
        assert_eq!(s.call(Req::Get).unwrap(), 4);
    })
    .unwrap();
}

#[test]
fn thousands_of_hibernated_servers_hold_no_stacks() {
    quiet();
    ember_runtime::run(|| {
        let base = stats().stacks_in_use;
        let servers: Vec<Server<Test>> =
            (0..5_000).map(|_| start::<Test>(arg(InitMode::Hibernate), StartOptions::new()).unwrap()).collect();
        for _ in 0..5_000 {
            assert_eq!(event(), Event::Init);
        }
        // Every server is hibernating once it has no stack; a call wakes one.
        let mut in_use = stats().stacks_in_use;
        for _ in 0..100_000 {
            if in_use <= base + 2 {
                break;
            }
            ember_runtime::yield_now();
            in_use = stats().stacks_in_use;
        }
        assert!(in_use <= base + 2, "{in_use} stacks in use for 5000 hibernated servers");
        assert_eq!(servers[42].call(Req::Set(1)).unwrap(), 1);
        for s in &servers {
            s.stop(Reason::Normal, None).unwrap();
        }
    })
    .unwrap();
}

// ---- scale ----

#[test]
fn one_hundred_thousand_concurrent_callers() {
    quiet();
    ember_runtime::run(|| {
        struct Echo;
        impl GenServer for Echo {
            type Arg = ();
            type Call = u64;
            type Reply = u64;
            type Cast = ();
            type Continue = ();
            fn init(_: ()) -> Init<Self> {
                Init::Ok(Echo)
            }
            fn handle_call(&mut self, n: u64, from: ReplyTo<u64>) -> CallResult<Self> {
                assert_ne!(from.pid(), self_pid());
                CallResult::Reply(n * 2)
            }
        }
        let s = start_link::<Echo>((), StartOptions::new()).unwrap();
        let me = self_pid();
        const N: u64 = 100_000;
        for i in 0..N {
            let s = s.clone();
            spawn_link(move || {
                let r = s.call_timeout(i, None).unwrap();
                send(me, (i, r));
            });
        }
        let mut seen = vec![false; N as usize];
        for _ in 0..N {
            let (i, r): (u64, u64) = receive();
            assert_eq!(r, i * 2, "every reply matched to its caller");
            assert!(!seen[i as usize]);
            seen[i as usize] = true;
        }
    })
    .unwrap();
}

/// A server whose state reports when it is dropped.
struct Guarded(Pid);

impl Drop for Guarded {
    fn drop(&mut self) {
        send(self.0, "state dropped");
    }
}

impl GenServer for Guarded {
    type Arg = Pid;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(observer: Pid) -> Init<Self> {
        Init::Ok(Guarded(observer))
    }
    fn terminate(&mut self, _: &Reason) {
        send(self.0, "terminate ran");
    }
}

#[test]
fn a_killed_server_drops_its_state_without_terminate() {
    quiet();
    ember_runtime::run(|| {
        // Killed while waiting for a message: the loop returns (no unwinding)
        // and the state is dropped on the way.
        let s = start::<Guarded>(self_pid(), StartOptions::new()).unwrap();
        let pid = s.pid().unwrap();
        assert_eq!(exit_and_wait(pid, Reason::custom("die")), Reason::custom("die"));
        assert_eq!(receive_timeout::<&str>(BOUND), Some("state dropped"));
        assert_eq!(receive_timeout::<&str>(Duration::ZERO), None, "terminate did not run");
        // Same when it is hibernating.
        let s = start::<Guarded>(self_pid(), StartOptions::new().hibernate_after(Duration::from_millis(1))).unwrap();
        let pid = s.pid().unwrap();
        while process_info(pid).map(|i| i.status) != Some(ember_runtime::Status::Hibernating) {
            ember_runtime::yield_now();
        }
        assert_eq!(exit_and_wait(pid, Reason::Kill), Reason::Killed);
        assert_eq!(receive_timeout::<&str>(BOUND), Some("state dropped"));
        assert_eq!(receive_timeout::<&str>(Duration::ZERO), None, "terminate did not run");
    })
    .unwrap();
}

/// Issue 14: a call from a process with a long mailbox starts its receive
/// where the mailbox ended (the BEAM's receive marker). The backlog is left
/// untouched and in order; the speed is measured by the `call_with_backlog`
/// benchmark.
#[test]
fn calls_from_a_process_with_a_backlog_get_their_replies_and_keep_the_backlog() {
    quiet();
    ember_runtime::run(|| {
        struct Echo;
        impl GenServer for Echo {
            type Arg = ();
            type Call = u32;
            type Reply = u32;
            type Cast = ();
            type Continue = ();
            fn init(_: ()) -> Init<Self> {
                Init::Ok(Echo)
            }
            fn handle_call(&mut self, n: u32, _from: ReplyTo<u32>) -> CallResult<Self> {
                CallResult::Reply(n)
            }
        }
        let server = start_link::<Echo>((), StartOptions::new()).unwrap();
        let me = ember_runtime::self_pid();
        for i in 0..10_000u32 {
            ember_runtime::send(me, i);
        }
        for n in 0..200u32 {
            assert_eq!(server.call(n).unwrap(), n);
        }
        for i in 0..10_000u32 {
            assert_eq!(ember_runtime::receive::<u32>(), i);
        }
    })
    .unwrap();
}

// ---- a handle aimed at a server of another type (issue 14) ----

/// Answers `u32` calls with their double.
struct Doubler;

impl GenServer for Doubler {
    type Arg = ();
    type Call = u32;
    type Reply = u32;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ok(Doubler)
    }
    fn handle_call(&mut self, n: u32, _from: ReplyTo<u32>) -> CallResult<Self> {
        CallResult::Reply(n * 2)
    }
}

/// Same request and reply types as `Doubler`, another server.
struct Halver;

impl GenServer for Halver {
    type Arg = ();
    type Call = u32;
    type Reply = u32;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ok(Halver)
    }
    fn handle_call(&mut self, n: u32, _from: ReplyTo<u32>) -> CallResult<Self> {
        CallResult::Reply(n / 2)
    }
}

/// Claims `Doubler`'s protocol, with another reply type.
struct Impostor;

impl GenServer for Impostor {
    type Arg = ();
    type Call = u32;
    type Reply = String;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ignore
    }
    fn protocol() -> std::any::TypeId {
        std::any::TypeId::of::<Doubler>()
    }
}

#[test]
fn a_call_through_a_handle_of_another_server_type_fails_at_once() {
    quiet();
    ember_runtime::run(|| {
        let doubler = start_link::<Doubler>((), StartOptions::new()).unwrap();
        let pid = doubler.pid().unwrap();
        // Another request type (`Test`'s), and the same types under another
        // server: both are refused with an error reply, not left to time out.
        let wrong: Server<Test> = Server::new(pid);
        let err = wrong.call(Req::Get).unwrap_err();
        match &err {
            CallError::WrongServer { expected, actual } => {
                assert!(expected.ends_with("Test") && actual.ends_with("Doubler"), "{err}");
            }
            other => panic!("expected WrongServer, got {other:?}"),
        }
        let twin: Server<Halver> = Server::new(pid);
        assert!(matches!(twin.call(8), Err(CallError::WrongServer { .. })));
        // The protocol alone is not enough: the reply type must match too.
        let impostor: Server<Impostor> = Server::new(pid);
        assert!(matches!(impostor.call(8), Err(CallError::WrongServer { .. })));
        // The server is unharmed and serves its own handle.
        assert_eq!(doubler.call(21).unwrap(), 42);
        assert_eq!(process_info(self_pid()).unwrap().monitors.len(), 0, "no monitor left behind");
    })
    .unwrap();
}

// ---- gen_server!: unused associated types left out (issue 14) ----

/// Takes casts only; replies to `()` calls with its count.
#[derive(Debug)]
struct Tally(u32);

ember_runtime::gen_server! {
    /// Attributes on the impl pass through.
    #[allow(clippy::needless_lifetimes)]
    impl GenServer for Tally {
        /// Doc comments on the items pass through too.
        type Reply = u32;
        type Cast = u32;

        fn init(_: ()) -> Init<Self> {
            Init::Ok(Tally(0))
        }

        fn handle_call(&mut self, _: (), _from: ReplyTo<u32>) -> CallResult<Self> {
            CallResult::Reply(self.0)
        }

        fn handle_cast(&mut self, n: u32) -> Action<()> {
            self.0 += n;
            Action::NoReply
        }

        fn handle_info(&mut self, _message: Info) -> Action<()> {
            Action::NoReply
        }

        fn terminate(&mut self, _reason: &Reason) {}

        fn format_status(&self) -> Option<&dyn std::fmt::Debug> {
            Some(self)
        }
    }
}

/// Every type named, in another order: the macro adds nothing.
struct Named;

ember_runtime::gen_server! {
    impl GenServer for Named {
        type Continue = u8;
        type Cast = ();
        type Reply = &'static str;
        type Call = ();
        type Arg = u8;

        fn init(step: u8) -> Init<Self> {
            Init::OkThen(Named, Next::Continue(step))
        }

        fn handle_continue(&mut self, _step: u8) -> Action<u8> {
            Action::NoReply
        }

        fn handle_call(&mut self, _: (), _from: ReplyTo<&'static str>) -> CallResult<Self> {
            CallResult::Reply("named")
        }
    }
}

#[test]
fn gen_server_macro_defaults_the_types_left_out() {
    quiet();
    ember_runtime::run(|| {
        fn is_unit<T: 'static>() -> bool {
            std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>()
        }
        assert!(is_unit::<<Tally as GenServer>::Arg>() && is_unit::<<Tally as GenServer>::Call>());
        assert!(is_unit::<<Tally as GenServer>::Continue>());
        let tally = start_link::<Tally>((), StartOptions::new()).unwrap();
        tally.cast(2);
        tally.cast(3);
        assert_eq!(tally.call(()).unwrap(), 5);
        let named = start_link::<Named>(1, StartOptions::new()).unwrap();
        assert_eq!(named.call(()).unwrap(), "named");
    })
    .unwrap();
}
