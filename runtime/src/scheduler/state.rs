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
//! * Every write to the word after spawn is a read-modify-write, including a
//!   waker's that finds the process already `SCHEDULED` or `NOTIFIED` (it
//!   writes the same value back). The writes therefore form one chain in
//!   which each reads the previous one, so whatever a waker published before
//!   waking is visible to the process at its next run, even when the process
//!   reads it without a lock (the inbox's `pending` flag). A plain store or
//!   load anywhere in the chain would open a store-buffer race that loses
//!   the message; the loom models below check each case.
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
                // It will run anyway, but the word is still written (same
                // value): every write to it is a read-modify-write, so the
                // worker's next one reads this one and acquires what the
                // waker published before waking (see `start_running`).
                SCHEDULED | NOTIFIED => cur,
                // FREE: nobody to wake.
                _ => return false,
            };
            match self.0.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return cur == IDLE,
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
        // A read-modify-write, not a store: a waker that found the process
        // SCHEDULED also writes the word (see `wake`), so one of the two
        // reads the other's write. Either the waker sees RUNNING (and marks
        // it NOTIFIED) or this swap reads the waker's write and acquires what
        // it published — the inbox's `pending` flag, which the process reads
        // without the slot lock. With a plain store both could read the old
        // value and the message would wait for a wake-up nobody sends (the
        // loom model `wake_of_a_scheduled_process_is_seen_when_it_runs`).
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
                // A swap, not a store: a waker may write NOTIFIED again in
                // between (see `wake`), and this must read its write.
                self.0.swap(SCHEDULED, Ordering::AcqRel);
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

    /// A sender on another thread: publishes a message (the flag, stored
    /// with `order`), then wakes the process. Joins to "the waker enqueued
    /// it".
    fn send_from_thread(state: &Arc<RunState>, flag: &Arc<AtomicBool>, order: Ordering) -> thread::JoinHandle<bool> {
        let (state, flag) = (state.clone(), flag.clone());
        thread::spawn(move || {
            flag.store(true, order);
            state.wake()
        })
    }

    /// The running process drains (reads the flag), then waits. Returns
    /// whether this side accounts for the message: it saw it, or the worker
    /// re-enqueues the process because a wake-up raced with the suspend.
    fn drain_then_wait(state: &RunState, flag: &AtomicBool) -> bool {
        flag.load(Ordering::Acquire) || state.suspend()
    }

    /// A message published before a wake-up is always seen: either the process
    /// sees it before suspending, or the worker re-enqueues it (exactly once).
    #[test]
    fn wake_racing_with_suspend_is_never_lost() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            let message = Arc::new(AtomicBool::new(false));
            state.spawned();
            state.start_running();

            let waker = send_from_thread(&state, &message, Ordering::Release);

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

    /// The inbox's `pending` flag is stored `Relaxed` (under the slot lock)
    /// and read without the lock. A reader that sees a stale `false` still
    /// loses nothing: if the worker re-enqueues the process because the wake
    /// raced with its suspension, the failed suspend synchronised with the
    /// waker, so the re-run sees the flag.
    #[test]
    fn relaxed_pending_flag_is_seen_by_the_rerun() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            let pending = Arc::new(AtomicBool::new(false));
            state.spawned();
            state.start_running();

            let waker = send_from_thread(&state, &pending, Ordering::Relaxed);

            let saw_message = pending.load(Ordering::Acquire);
            if !saw_message && state.suspend() {
                // Re-run by this worker: the message must be visible now.
                state.start_running();
                assert!(pending.load(Ordering::Acquire));
            }
            waker.join().unwrap();
        });
    }

    /// A message delivered while the process sits in a run queue (the waker
    /// finds it `SCHEDULED` and enqueues nothing) is seen when it runs, even
    /// though the process reads the `pending` flag without the slot lock:
    /// the store-buffer race between "store pending; read the state" and
    /// "store RUNNING; read pending" must not let both read the old value.
    #[test]
    fn wake_of_a_scheduled_process_is_seen_when_it_runs() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            let pending = Arc::new(AtomicBool::new(false));
            state.spawned();

            let waker = send_from_thread(&state, &pending, Ordering::Relaxed);

            // A worker pops the process and runs it: it drains, then waits.
            state.start_running();
            let accounted = drain_then_wait(&state, &pending);
            let enqueued = waker.join().unwrap();
            assert!(accounted || enqueued, "the message is lost: nobody will run the process");
        });
    }

    /// As above, for a waker that finds the process `NOTIFIED` (woken while
    /// it ran): the worker's failed suspend re-runs it, and the re-run sees
    /// the second message too.
    #[test]
    fn wake_of_a_notified_process_is_seen_by_the_rerun() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            let pending = Arc::new(AtomicBool::new(false));
            state.spawned();
            state.start_running();
            assert!(!state.wake(), "first waker: RUNNING -> NOTIFIED");

            let waker = send_from_thread(&state, &pending, Ordering::Relaxed);

            assert!(state.suspend(), "notified: the worker re-runs it");
            state.start_running();
            let accounted = drain_then_wait(&state, &pending);
            let enqueued = waker.join().unwrap();
            assert!(accounted || enqueued, "the message is lost: nobody will run the process");
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

    /// The blocking-pool hand-off (`scheduler::blocking`): the pool thread
    /// writes the result into the frame's cell, sets `done` (release) and
    /// wakes the process; the process loops on `done` (acquire) and
    /// suspends. Whichever way the wake-up and the suspension race, the
    /// process runs again and reads the result after the pool thread wrote
    /// it (loom checks the cell accesses are ordered).
    #[test]
    fn a_blocking_result_is_seen_by_the_process_it_wakes() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            let done = Arc::new(AtomicBool::new(false));
            let result = Arc::new(loom::cell::UnsafeCell::new(0u32));
            state.spawned();
            state.start_running();
            let pool = {
                let (state, done, result) = (state.clone(), done.clone(), result.clone());
                // SAFETY (of the cell): the process reads it only after
                // seeing `done`.
                thread::spawn(move || {
                    result.with_mut(|r| unsafe { *r = 42 });
                    done.store(true, Ordering::Release);
                    state.wake()
                })
            };
            let mut pool = Some(pool);
            loop {
                if done.load(Ordering::Acquire) {
                    assert_eq!(result.with(|r| unsafe { *r }), 42);
                    break;
                }
                if !state.suspend() {
                    // Suspended for good: only the pool's wake-up runs it.
                    let enqueued = pool.take().expect("one wake-up").join().unwrap();
                    assert!(enqueued, "a suspended process is enqueued by its wake-up");
                }
                state.start_running();
            }
            if let Some(pool) = pool {
                pool.join().unwrap();
            }
        });
    }

    /// The hibernate path (`WorkerLocal::hibernate`): the process leaves its
    /// continuation in its body, looks at its inbox under the slot lock and
    /// suspends if it is empty; a sender pushes under the lock and wakes it.
    /// Either the process sees the message and stays runnable, or the wake-up
    /// (or the race it loses to) enqueues it, and whoever runs it next, on
    /// any thread, reads the continuation the process left.
    #[test]
    fn a_hibernated_process_is_woken_with_its_continuation() {
        loom::model(|| {
            let state = Arc::new(RunState::new());
            let inbox = Arc::new(loom::sync::Mutex::new(0u32));
            let body = Arc::new(loom::cell::UnsafeCell::new(0u32));
            state.spawned();
            state.start_running();
            let sender = {
                let (state, inbox, body) = (state.clone(), inbox.clone(), body.clone());
                thread::spawn(move || {
                    *inbox.lock().unwrap() += 1;
                    if state.wake() {
                        // This thread's worker runs the hibernated process.
                        state.start_running();
                        assert_eq!(body.with(|b| unsafe { *b }), 7, "the continuation is visible");
                        return true;
                    }
                    false
                })
            };
            // SAFETY (of the cell): written by the owner before it suspends;
            // read by whoever runs the process next.
            body.with_mut(|b| unsafe { *b = 7 });
            let has_mail = *inbox.lock().unwrap() > 0;
            let rerun_here = if has_mail {
                state.yielded();
                true
            } else {
                state.suspend()
            };
            let run_by_sender = sender.join().unwrap();
            assert!(rerun_here || run_by_sender, "the message is never left behind");
            if rerun_here && !run_by_sender {
                state.start_running();
                assert_eq!(body.with(|b| unsafe { *b }), 7);
            }
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
