//! Helpers shared by the supervisor tests.
//!
//! Children report to the test process (the *observer*) with [`Event`]
//! messages: `+id` when they start, `-id` when they run `terminate`. Since a
//! supervisor waits for each child to start (and to stop) before the next,
//! the observer receives these events in the order the supervisor did
//! things.
//!
//! Synchronisation is by messages only: after a child's `Down` has reached
//! the test, any call to the supervisor is served after the supervisor has
//! handled that child's `Exit` (the dying child sends link exits before
//! `Down`s, and the test's call comes later still). So "monitor, crash, wait
//! for `Down`, call the supervisor" is a barrier: every event caused by the
//! crash is in the test's mailbox when the call returns.
#![allow(dead_code)]

use ember_runtime::gen_server::{Action, GenServer, Init, StartOptions};
use ember_runtime::{monitor, receive_if_timeout, receive_timeout, self_pid, send, trap_exit, Down, Pid, Reason};
use ember_supervisor::{ChildSpec, Restart, Started, Supervisor};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A failure bound, never a synchronisation delay.
pub const BOUND: Duration = Duration::from_secs(10);

/// Installs a subscriber that swallows reports and crash reports.
pub fn quiet() {
    let _ = tracing_subscriber::fmt().with_writer(std::io::sink).try_init();
}

/// Runs `f` as the root process of a fresh runtime, trapping exits.
pub fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    quiet();
    ember_runtime::run(move || {
        trap_exit(true);
        f()
    })
    .expect("the test process failed")
}

/// What children tell the observer.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A child started (in its `init`, with its pid).
    Started(String, Pid),
    /// A child ran `terminate` with this reason.
    Stopped(String, Reason),
    /// A start function was called (for children whose start may fail).
    Attempt(String, u32),
}

impl Event {
    /// `+id`, `-id` or `?id`.
    pub fn short(&self) -> String {
        match self {
            Event::Started(id, _) => format!("+{id}"),
            Event::Stopped(id, _) => format!("-{id}"),
            Event::Attempt(id, _) => format!("?{id}"),
        }
    }
}

/// What the test worker can be told to do.
pub enum Cmd {
    /// Stop with this reason (`terminate` runs).
    Exit(Reason),
    /// Panic in `handle_cast` (`terminate` runs).
    Panic,
}

/// A GenServer child that reports its start and its `terminate`. It traps
/// exits, so the supervisor's `shutdown` reaches `terminate`.
pub struct Worker {
    id: String,
    observer: Pid,
}

/// The worker's start argument.
#[derive(Clone)]
pub struct WorkerArg {
    pub id: String,
    pub observer: Pid,
    pub trap: bool,
}

impl GenServer for Worker {
    type Arg = WorkerArg;
    type Call = ();
    type Reply = ();
    type Cast = Cmd;
    type Continue = ();

    fn init(arg: WorkerArg) -> Init<Self> {
        if arg.trap {
            trap_exit(true);
        }
        send(arg.observer, Event::Started(arg.id.clone(), self_pid()));
        Init::Ok(Worker { id: arg.id, observer: arg.observer })
    }

    fn handle_call(&mut self, _: (), _: ember_runtime::ReplyTo<()>) -> ember_runtime::gen_server::CallResult<Self> {
        ember_runtime::gen_server::CallResult::Reply(())
    }

    fn handle_cast(&mut self, cmd: Cmd) -> Action<()> {
        match cmd {
            Cmd::Exit(reason) => Action::Stop(reason),
            Cmd::Panic => panic!("worker {} told to panic", self.id),
        }
    }

    fn terminate(&mut self, reason: &Reason) {
        send(self.observer, Event::Stopped(self.id.clone(), reason.clone()));
    }
}

/// A permanent GenServer worker that reports to the caller.
pub fn worker(id: &str) -> ChildSpec {
    worker_for(id, self_pid())
}

/// A permanent GenServer worker that reports to `observer`.
pub fn worker_for(id: &str, observer: Pid) -> ChildSpec {
    let arg = WorkerArg { id: id.to_string(), observer, trap: true };
    ChildSpec::new(id, move || ember_runtime::gen_server::start_link::<Worker>(arg.clone(), StartOptions::new()))
}

/// A named permanent GenServer worker that reports to the caller.
pub fn named_worker(id: &str, name: &str) -> ChildSpec {
    let arg = WorkerArg { id: id.to_string(), observer: self_pid(), trap: true };
    let name = name.to_string();
    ChildSpec::new(id, move || {
        ember_runtime::gen_server::start_link::<Worker>(arg.clone(), StartOptions::new().name(name.as_str()))
    })
}

/// A plain (non-GenServer, non-trapping) child that reports its start and
/// waits for ever.
pub fn plain(id: &str) -> ChildSpec {
    let observer = self_pid();
    let id_s = id.to_string();
    ChildSpec::new(id, move || {
        let id = id_s.clone();
        ember_runtime::spawn_link(move || {
            send(observer, Event::Started(id, self_pid()));
            loop {
                ember_runtime::receive::<()>();
            }
        })
    })
}

/// A worker whose start function fails while `failures` is above zero
/// (each failure decrements it), and reports every attempt.
pub fn flaky(id: &str, failures: Arc<AtomicU32>) -> ChildSpec {
    let observer = self_pid();
    let arg = WorkerArg { id: id.to_string(), observer, trap: true };
    let attempts = Arc::new(AtomicU32::new(0));
    let id_s = id.to_string();
    ChildSpec::new(id, move || {
        let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        send(observer, Event::Attempt(id_s.clone(), n));
        if failures.load(Ordering::SeqCst) > 0 {
            failures.fetch_sub(1, Ordering::SeqCst);
            return Started::Error(Reason::custom(format!("{} refuses to start", id_s)));
        }
        ember_runtime::gen_server::start_link::<Worker>(arg.clone(), StartOptions::new()).into()
    })
}

/// A child spec with another restart type.
pub fn with_restart(spec: ChildSpec, restart: Restart) -> ChildSpec {
    spec.restart(restart)
}

/// Every event already in the mailbox, in order.
pub fn drain() -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(e) = receive_timeout::<Event>(Duration::ZERO) {
        out.push(e);
    }
    out
}

/// [`drain`], as `+id` / `-id` strings.
pub fn drain_short() -> Vec<String> {
    drain().iter().map(Event::short).collect()
}

/// The next event (fails after [`BOUND`]).
pub fn next_event() -> Event {
    receive_timeout::<Event>(BOUND).expect("no event within the bound")
}

/// Waits for the start of `id` and returns its pid, leaving other events
/// queued.
pub fn wait_started(id: &str) -> Pid {
    match receive_if_timeout(|e: &Event| matches!(e, Event::Started(i, _) if i == id), BOUND) {
        Some(Event::Started(_, pid)) => pid,
        other => panic!("{id} did not start: {other:?}"),
    }
}

/// How to end a child.
#[derive(Clone, Debug)]
pub enum How {
    /// `Cmd::Exit(reason)`: the worker stops itself with the reason.
    Exit(Reason),
    /// The worker panics.
    Panic,
    /// `exit(pid, kill)`: it dies with `killed`, without `terminate`.
    Kill,
}

/// Ends a worker the way `how` says, waits for its `Down` and then for the
/// supervisor to have handled its exit (a call is the barrier). Returns the
/// worker's exit reason.
pub fn crash(sup: &Supervisor, pid: Pid, how: &How) -> Reason {
    let m = monitor(pid);
    let server = ember_runtime::gen_server::Server::<Worker>::new(pid);
    match how {
        How::Exit(r) => server.cast(Cmd::Exit(r.clone())),
        How::Panic => server.cast(Cmd::Panic),
        How::Kill => pid.exit(Reason::Kill),
    }
    let down = receive_if_timeout(|d: &Down| d.monitor == m, BOUND).expect("the child did not exit");
    sync(sup);
    down.reason
}

/// A barrier: returns once the supervisor has served everything sent to it
/// before.
pub fn sync(sup: &Supervisor) {
    sup.count_children().expect("the supervisor is gone");
}

/// Waits for `pid` to exit and returns its reason.
pub fn wait_down(pid: Pid) -> Reason {
    let m = monitor(pid);
    receive_if_timeout(|d: &Down| d.monitor == m, BOUND).expect("still alive").reason
}

/// The pid of child `id`, if it runs.
pub fn child_pid(sup: &Supervisor, id: &str) -> Option<Pid> {
    sup.which_children()
        .unwrap()
        .into_iter()
        .find(|c| c.id.as_ref().is_some_and(|i| i.as_str() == id))
        .and_then(|c| c.pid.pid())
}

/// The ids of `which_children`, most recent first.
pub fn ids(sup: &Supervisor) -> Vec<String> {
    sup.which_children().unwrap().into_iter().map(|c| c.id.unwrap().to_string()).collect()
}

/// The live process count, once it settles at `expected` (a process that
/// sent its `Down` may still be finishing its exit for a few microseconds).
pub fn settle_processes(expected: usize) -> usize {
    let deadline = std::time::Instant::now() + BOUND;
    loop {
        let n = ember_runtime::stats().processes;
        if n == expected || std::time::Instant::now() > deadline {
            return n;
        }
        ember_runtime::yield_now();
    }
}
