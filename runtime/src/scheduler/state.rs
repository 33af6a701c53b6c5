//! The run state of a process: one atomic word per process slot.
//!
//! # Protocol
//!
//! ```text
//!            spawn              pop from a queue
//!   FREE ───────────► SCHEDULED ─────────────────► RUNNING ──── exit ───► FREE
//!                        ▲  ▲                       │   │
//!                        │  │ wake (caller enqueues) │   │ wake
//!                        │  └──────── IDLE ◄─────────┘   ▼
//!                        │         suspend          NOTIFIED
//!                        └───────────────────────────────┘
//!                          suspend or yield (worker re-enqueues)
//! ```
//!
//! * A process is in at most one run queue: only the transition into
//!   `SCHEDULED` (from `IDLE` by a waker, from `FREE` by spawn, from
//!   `RUNNING`/`NOTIFIED` by the worker that ran it) enqueues, and every one of
//!   them is a single atomic step taken by exactly one thread.
//! * A wake-up that races with suspension is never lost: a waker that finds the
//!   process `RUNNING` marks it `NOTIFIED` instead of enqueueing; the worker's
//!   `suspend` (a compare-and-swap from `RUNNING` to `IDLE`) then fails and the
//!   worker re-enqueues the process. Whatever the waker published before waking
//!   (a message pushed under the mailbox lock) is therefore seen by the process
//!   when it runs again.
//! * Wake-ups are allowed to be spurious: a stale waker (holding the pid of an
//!   exited process whose slot was reused) may wake the new occupant. Every
//!   suspension point re-checks its condition in a loop, so this only costs a
//!   context switch.

use crate::sync::{AtomicU32, Ordering};

pub(crate) const FREE: u32 = 0;
pub(crate) const IDLE: u32 = 1;
pub(crate) const SCHEDULED: u32 = 2;
pub(crate) const RUNNING: u32 = 3;
pub(crate) const NOTIFIED: u32 = 4;

/// The run state of one process slot. See the module docs for the protocol.
#[derive(Debug)]
pub(crate) struct RunState(AtomicU32);

impl RunState {
    pub(crate) fn new() -> Self {
        RunState(AtomicU32::new(FREE))
    }

    /// Wakes the process. Returns `true` when the caller must push it onto a
    /// run queue (it went `IDLE` → `SCHEDULED`).
    pub(crate) fn wake(&self) -> bool {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let next = match cur {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                // FREE: nobody to wake; SCHEDULED / NOTIFIED: it will run anyway.
                _ => return false,
            };
            match self.0.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return next == SCHEDULED,
                Err(actual) => cur = actual,
            }
        }
    }

    /// A freshly spawned process: `FREE` → `SCHEDULED` (the spawner enqueues it).
    pub(crate) fn spawned(&self) {
        debug_assert_eq!(self.0.load(Ordering::Relaxed), FREE);
        self.0.store(SCHEDULED, Ordering::Release);
    }

    /// A worker took the process from a run queue: `SCHEDULED` → `RUNNING`.
    pub(crate) fn start_running(&self) {
        debug_assert_eq!(self.0.load(Ordering::Relaxed), SCHEDULED);
        // Only the worker that popped the process touches the state here
        // besides wakers, which only act on IDLE / RUNNING; a plain store would
        // lose no wake-up, but a swap keeps the sequence easy to reason about.
        self.0.swap(RUNNING, Ordering::AcqRel);
    }

    /// The process suspended waiting for a wake-up. Returns `true` when a
    /// wake-up arrived while it ran: the state is then `SCHEDULED` and the
    /// caller must enqueue it again.
    pub(crate) fn suspend(&self) -> bool {
        match self.0.compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => false,
            Err(actual) => {
                debug_assert_eq!(actual, NOTIFIED);
                self.0.store(SCHEDULED, Ordering::Release);
                true
            }
        }
    }

    /// The process yielded its slice: `RUNNING`/`NOTIFIED` → `SCHEDULED`; the
    /// caller enqueues it.
    pub(crate) fn yielded(&self) {
        // Wakers never act on SCHEDULED, and from RUNNING they only move to
        // NOTIFIED, which also becomes SCHEDULED here.
        self.0.swap(SCHEDULED, Ordering::AcqRel);
    }

    /// The process exited and its slot is free again.
    pub(crate) fn release(&self) {
        self.0.store(FREE, Ordering::Release);
    }

    pub(crate) fn load(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;
    use loom::thread;

    /// A message published before a wake-up is always seen: either the process
    /// sees it before suspending, or the worker re-enqueues it (exactly once).
    #[test]
    fn wake_racing_with_suspend_is_never_lost() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            let message = Arc::new(AtomicBool::new(false));
            state.spawned();
            state.start_running();

            let (s2, m2) = (state.clone(), message.clone());
            let waker = thread::spawn(move || {
                m2.store(true, Ordering::Release);
                s2.wake()
            });

            // The process checks its mailbox, then suspends.
            let saw_message = message.load(Ordering::Acquire);
            let requeued_by_worker = if saw_message { false } else { state.suspend() };
            let enqueued_by_waker = waker.join().unwrap();

            if !saw_message {
                // Exactly one party enqueues the process.
                assert!(requeued_by_worker ^ enqueued_by_waker);
                assert_eq!(state.load(), SCHEDULED);
            }
        });
    }

    /// Two concurrent wakers of an idle process enqueue it exactly once.
    #[test]
    fn concurrent_wakers_enqueue_once() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            state.spawned();
            state.start_running();
            assert!(!state.suspend());
            let s2 = state.clone();
            let t = thread::spawn(move || s2.wake());
            let a = state.wake();
            let b = t.join().unwrap();
            assert!(a ^ b);
            assert_eq!(state.load(), SCHEDULED);
        });
    }

    /// A wake-up racing with a yield never enqueues the process twice.
    #[test]
    fn wake_racing_with_yield() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            state.spawned();
            state.start_running();
            let s2 = state.clone();
            let t = thread::spawn(move || s2.wake());
            state.yielded();
            assert!(!t.join().unwrap());
            assert_eq!(state.load(), SCHEDULED);
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        let s = RunState::new();
        assert!(!s.wake(), "a free slot is never enqueued");
        s.spawned();
        assert!(!s.wake(), "already scheduled");
        s.start_running();
        assert!(!s.suspend());
        assert_eq!(s.load(), IDLE);
        assert!(s.wake());
        s.start_running();
        assert!(!s.wake());
        assert_eq!(s.load(), NOTIFIED);
        assert!(s.suspend(), "notified while running: re-enqueue");
        assert_eq!(s.load(), SCHEDULED);
        s.start_running();
        s.release();
        assert!(!s.wake());
    }
}
