//! Helpers shared by the registry's integration tests.
//!
//! * [`Puppet`]: a process that runs closures on request, so a test can make
//!   another process register, look up or die at exactly the point it wants.
//! * [`die_and_sync`]: ends a process, waits for its `Down`, then syncs the
//!   registry's partitions — after which its cleanup is done (a process's
//!   exit signals reach its links before its `Down` reaches monitors).
//! * [`wait_until`]: a bounded poll, for state that no message announces.
//!
//! Timeouts are only failure bounds: nothing waits on time to synchronise.
#![allow(dead_code)]

use ember_registry::Registry;
use ember_runtime::{monitor, receive_if_timeout, self_pid, send, spawn, yield_now, Down, Pid, Reason, Ref, Select};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Failure bound for anything a test waits for (CI is a slow 2-core box).
pub const BOUND: Duration = Duration::from_secs(20);

/// Silences crash reports (the tests kill processes on purpose).
pub fn quiet() {
    let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default());
}

/// Runs a test body as the root process of a fresh runtime.
pub fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    quiet();
    match ember_runtime::run(f) {
        Ok(v) => v,
        Err(reason) => panic!("the test process exited: {reason:?}"),
    }
}

/// A job for a puppet.
struct Job(Box<dyn FnOnce() + Send>);

/// A process that runs closures on request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Puppet {
    /// The puppet's pid.
    pub pid: Pid,
}

impl Puppet {
    /// Spawns a puppet (not linked).
    pub fn spawn() -> Puppet {
        let pid = spawn(|| loop {
            let Job(f) = ember_runtime::receive();
            f();
        });
        Puppet { pid }
    }

    /// Runs `f` in the puppet and returns its value. Panics (fails the test)
    /// if the puppet dies first or the bound passes.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let me = self_pid();
        let tag = Ref::new();
        let m = monitor(self.pid);
        send(self.pid, Job(Box::new(move || send(me, (tag, f())))));
        let out = Select::new()
            .on_if(move |(t, _): &(Ref, T)| *t == tag, |(_, v): (Ref, T)| Ok(v))
            .on_if(move |d: &Down| d.monitor == m, |d: Down| Err(format!("the puppet died: {:?}", d.reason)))
            .after(BOUND, || Err("the puppet did not answer in time".to_string()))
            .wait();
        ember_runtime::demonitor_flush(m);
        out.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Makes the puppet run `f` without waiting.
    pub fn cast(&self, f: impl FnOnce() + Send + 'static) {
        send(self.pid, Job(Box::new(f)));
    }

    /// Ends the puppet with `reason` (`Kill` is an exit signal from here;
    /// anything else is the puppet calling `exit` itself), and waits for it.
    pub fn exit(&self, reason: Reason) -> Reason {
        let m = monitor(self.pid);
        if reason == Reason::Kill {
            self.pid.exit(Reason::Kill);
        } else {
            self.cast(move || ember_runtime::exit(reason));
        }
        wait_down(m)
    }
}

/// Waits for the `Down` of monitor `m`; returns its reason.
pub fn wait_down(m: Ref) -> Reason {
    match receive_if_timeout(|d: &Down| d.monitor == m, BOUND) {
        Some(d) => d.reason,
        None => panic!("no Down within {BOUND:?}"),
    }
}

/// Ends `pid` with an exit signal `reason` (as a supervisor would), waits
/// for its `Down`, then syncs `reg`: its entries are gone afterwards.
pub fn die_and_sync<K, V>(reg: &Registry<K, V>, pid: Pid, reason: Reason)
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let m = monitor(pid);
    pid.exit(reason);
    wait_down(m);
    reg.sync().unwrap();
}

/// Polls `cond` (yielding in between) until it holds; fails the test after
/// the bound.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        yield_now();
    }
}

/// Sorted copy (results come in no particular order).
pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Generates `p1` and `p8` tests running `$body(partitions)` with 1 and 8
/// partitions.
#[macro_export]
macro_rules! partitioned {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn p1() {
                    super::$name(1)
                }
                #[test]
                fn p8() {
                    super::$name(8)
                }
            }
        )*
    };
}
