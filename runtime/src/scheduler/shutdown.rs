//! Shutting a runtime down, with a bound.
//!
//! 1. Every live process gets an untrappable exit signal with reason
//!    `Shutdown`; its stack unwinds and its destructors run. They may use
//!    the runtime (flush through `blocking`, give a connection back with a
//!    call): the runtime keeps running until every process has exited.
//! 2. A process still there after the shutdown timeout
//!    (`Builder::shutdown_timeout`) is **abandoned**: it is waiting in a
//!    destructor for something that does not come, or is a detached remnant
//!    of a `Kill` doing the same. Its worker ends it without running the rest
//!    of its destructors — the stack is leaked, never reused (something may
//!    still point into it, such as a blocking call's frame) — and says so on
//!    stderr.
//! 3. A process that does not return to the runtime at all (computing, or
//!    blocked in a system call) cannot be abandoned: after a second timeout
//!    the shutdown reports it and returns without joining its worker thread,
//!    which exits when the process returns (it holds the runtime's shared
//!    state alive until then).
//!
//! Then the worker threads, the monitor and the blocking pool are joined
//! (each with the same bound).

use super::Scheduler;
use crate::process::Control;
use crate::reason::Reason;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

impl Scheduler {
    /// Stops every process and thread of the runtime; see the module docs.
    /// Must not run on one of the runtime's own threads.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        self.shutting_down.store(true, Ordering::SeqCst);
        for pid in crate::process::info::live_processes(self) {
            self.deliver(pid, Box::new(Control::Terminate(Reason::Shutdown)), true, true);
        }
        if !self.wait_exited(Instant::now() + timeout) {
            let left = self.table.live.load(Ordering::Acquire);
            eprintln!(
                "[ember] shutdown: {left} process(es) still running after {timeout:?}; abandoning those suspended \
                 in their destructors"
            );
            self.abandoning.store(true, Ordering::SeqCst);
            for pid in crate::process::info::live_processes(self) {
                self.wake(pid);
            }
            if !self.wait_exited(Instant::now() + timeout) {
                let left = self.table.live.load(Ordering::Acquire);
                eprintln!(
                    "[ember] shutdown: {left} process(es) never returned to the runtime (computing or blocked in a \
                     system call); their worker threads are left to finish on their own"
                );
            }
        }
        self.stop.store(true, Ordering::SeqCst);
        self.unpark_all();
        self.sysmon.unpark();
        let deadline = Instant::now() + timeout;
        join_within(self.sysmon.take_handles(), deadline);
        join_within(self.blocking.shutdown(), deadline);
    }

    /// Waits until every process has exited, or `deadline`; returns whether
    /// they all did.
    fn wait_exited(&self, deadline: Instant) -> bool {
        let mut guard = self.exited.0.lock();
        while self.table.live.load(Ordering::Acquire) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            self.exited.1.wait_for(&mut guard, Duration::from_millis(50));
        }
        true
    }
}

/// Joins the threads that finish before `deadline`; the others are left to
/// finish on their own (their handles are dropped, which detaches them).
fn join_within(handles: Vec<JoinHandle<()>>, deadline: Instant) {
    let mut pending = handles;
    loop {
        let (done, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|h| h.is_finished());
        for h in done {
            let _ = h.join();
        }
        pending = rest;
        if pending.is_empty() || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
