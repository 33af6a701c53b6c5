//! Helpers shared by the runtime's integration tests.
//!
//! * [`init`] installs (once per test binary) a global `tracing` subscriber
//!   that prints nothing but keeps the runtime's crash reports in a
//!   process-global list, so tests can assert on them (filtered by pid: pids
//!   of different runtimes never collide) and crash reports do not spam
//!   stderr.
//! * Synchronisation helpers: bounded receives (a timeout is only a failure
//!   bound), [`wait_until`] for runtime state that has no message to wait on,
//!   and [`Guard`], a drop guard that reports on a std channel.
//! * [`with_deadline`]: runs a runtime on its own thread so that a test whose
//!   failure mode is a hang (a starved scheduler) fails instead of hanging.
#![allow(dead_code)]

use ember_runtime::{
    receive_if_timeout, receive_timeout, stats, yield_now, Builder, Down, Exit, Pid, Reason, Ref, Runtime,
};
use std::any::Any;
use std::fmt;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Failure bound for anything a test waits for. Generous: CI is a slow,
/// noisy 2-core machine.
pub const BOUND: Duration = Duration::from_secs(20);

/// A crash report the runtime emitted (target `ember::crash`).
#[derive(Clone, Debug, Default)]
pub struct CrashReport {
    pub pid: String,
    pub name: Option<String>,
    pub reason: String,
    pub location: Option<String>,
    pub message: String,
    /// Every field of the event, by name (`message` included).
    pub fields: std::collections::BTreeMap<String, String>,
}

static REPORTS: Mutex<Vec<CrashReport>> = Mutex::new(Vec::new());
static SYSMON: Mutex<Vec<CrashReport>> = Mutex::new(Vec::new());
static GEN_SERVER: Mutex<Vec<CrashReport>> = Mutex::new(Vec::new());

struct CaptureCrashes;

impl<S: tracing::Subscriber> Layer<S> for CaptureCrashes {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let list = match event.metadata().target() {
            "ember::crash" => &REPORTS,
            "ember::sysmon" => &SYSMON,
            "ember::gen_server" => &GEN_SERVER,
            _ => return,
        };
        let mut report = CrashReport::default();
        event.record(&mut report);
        list.lock().unwrap_or_else(|e| e.into_inner()).push(report);
    }
}

/// The system monitor's reports so far (target `ember::sysmon`; `pid` and
/// `message` are filled in).
pub fn sysmon_reports() -> Vec<CrashReport> {
    SYSMON.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Visit for CrashReport {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

/// The GenServer terminate reports emitted so far for the server `pid`
/// (target `ember::gen_server`; read them in `fields`).
pub fn gen_server_reports(pid: Pid) -> Vec<CrashReport> {
    let pid = pid.to_string();
    GEN_SERVER.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|r| r.pid == pid).cloned().collect()
}

impl CrashReport {
    fn set(&mut self, field: &Field, value: String) {
        self.fields.insert(field.name().to_string(), value.clone());
        match field.name() {
            "pid" => self.pid = value,
            "name" => self.name = Some(value),
            "reason" => self.reason = value,
            "location" => self.location = Some(value),
            "message" => self.message = value,
            _ => {}
        }
    }
}

/// Installs the global subscriber (once per binary). Call at the start of
/// every test.
pub fn init() {
    let subscriber = tracing_subscriber::registry().with(CaptureCrashes);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The crash reports emitted so far for `pid`.
pub fn crash_reports(pid: Pid) -> Vec<CrashReport> {
    let pid = pid.to_string();
    REPORTS.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|r| r.pid == pid).cloned().collect()
}

/// Receives a message of type `M`, failing the test after [`BOUND`].
#[track_caller]
pub fn recv<M: Any + Send>() -> M {
    match receive_timeout::<M>(BOUND) {
        Some(m) => m,
        None => panic!("no {} within {BOUND:?}", std::any::type_name::<M>()),
    }
}

/// Receives the first `M` for which `pred` holds, failing after [`BOUND`].
#[track_caller]
pub fn recv_if<M: Any + Send>(pred: impl FnMut(&M) -> bool) -> M {
    match receive_if_timeout(pred, BOUND) {
        Some(m) => m,
        None => panic!("no matching {} within {BOUND:?}", std::any::type_name::<M>()),
    }
}

/// The `Down` of monitor `m`, failing after [`BOUND`].
#[track_caller]
pub fn down_of(m: Ref) -> Down {
    recv_if(|d: &Down| d.monitor == m)
}

/// The `Exit` message from `from`, failing after [`BOUND`].
#[track_caller]
pub fn exit_from(from: Pid) -> Exit {
    recv_if(|e: &Exit| e.from == from)
}

/// True when no `M` for which `pred` holds is in the mailbox right now
/// (zero timeout: looks at everything, never blocks). Prove the ordering that
/// makes this meaningful first.
pub fn none_queued<M: Any + Send>(pred: impl FnMut(&M) -> bool) -> bool {
    receive_if_timeout(pred, Duration::ZERO).is_none()
}

/// Waits (yielding, not sleeping) until `cond` holds, failing after [`BOUND`].
/// For runtime state no message announces (a process has finished its exit
/// procedure, a process has suspended).
#[track_caller]
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        yield_now();
    }
}

/// Waits until the caller's runtime has exactly `n` live processes (every
/// other process has finished its exit procedure: its signals, crash report
/// and pid release are done).
#[track_caller]
pub fn wait_processes(n: usize) {
    wait_until(&format!("{n} processes are alive"), || stats().processes == n);
}

/// Sends `value` on a std channel when dropped: proves destructors ran.
pub struct Guard<T: Send + Clone>(pub mpsc::Sender<T>, pub T);

impl<T: Send + Clone> Drop for Guard<T> {
    fn drop(&mut self) {
        let _ = self.0.send(self.1.clone());
    }
}

/// Runs `f` as the root process of a runtime built from `builder`, on a
/// separate OS thread; fails the test if it has not finished within
/// `deadline` (then the runtime and its thread are leaked: a starved
/// scheduler could not be shut down anyway).
#[track_caller]
pub fn with_deadline<T, F>(builder: Builder, deadline: Duration, f: F) -> Result<T, Reason>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = builder.build().expect("runtime builds");
        let result = rt.block_on(f);
        // Only shut down (and join) once the result is out: a failing test
        // must not hang in `drop`.
        let _ = tx.send(result);
        drop(rt);
    });
    match rx.recv_timeout(deadline) {
        Ok(result) => result,
        Err(_) => panic!("the runtime did not finish within {deadline:?} (starved or hung)"),
    }
}

/// `ember_runtime::run` with the default builder and a hang guard.
#[track_caller]
pub fn run<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match with_deadline(Runtime::builder(), Duration::from_secs(120), f) {
        Ok(v) => v,
        Err(reason) => panic!("root process exited: {reason:?}"),
    }
}

/// A tiny deterministic PRNG (xorshift64*), no extra crates.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Scenarios that may kill the OS process (an abort, a stack overflow) run in
/// a child process: the parent test re-runs this test binary with only the
/// scenario's (ignored) test selected and checks how the child ended.
pub mod child {
    use std::process::{Command, Output};

    const SCENARIO: &str = "EMBER_TEST_CHILD_SCENARIO";

    /// How a child scenario ended.
    #[derive(Debug)]
    pub struct Ended {
        /// The exit code, or `None` when a signal killed it.
        pub code: Option<i32>,
        /// The signal that killed it, if any.
        pub signal: Option<i32>,
        pub stdout: String,
        pub stderr: String,
    }

    impl Ended {
        /// The child ran the scenario to completion and passed.
        pub fn passed(&self) -> bool {
            self.code == Some(0) && self.stdout.contains("1 passed")
        }
    }

    /// Runs the `#[ignore]`d test `name` of this test binary in a child
    /// process.
    pub fn run(name: &str) -> Ended {
        run_selected(name, &["--ignored"])
    }

    /// Runs the (not ignored) test `name` of this test binary again, alone,
    /// in a child process: for a test that checks state of the whole OS
    /// process (its open fds), which the other tests of the binary,
    /// running in parallel threads, would disturb. The test body calls
    /// [`is`] to tell which side it is on.
    pub fn rerun(name: &str) -> Ended {
        run_selected(name, &[])
    }

    fn run_selected(name: &str, selection: &[&str]) -> Ended {
        let exe = std::env::current_exe().expect("the test binary");
        let Output { status, stdout, stderr } = Command::new(exe)
            .args(selection)
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(SCENARIO, name)
            .output()
            .expect("the child runs");
        use std::os::unix::process::ExitStatusExt;
        Ended {
            code: status.code(),
            signal: status.signal(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Whether this process is the child running scenario `name` (the
    /// scenario's test body does nothing otherwise, so that running ignored
    /// tests by hand does not run them twice).
    pub fn is(name: &str) -> bool {
        std::env::var(SCENARIO).is_ok_and(|s| s == name)
    }
}
