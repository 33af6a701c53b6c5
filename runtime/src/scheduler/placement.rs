//! Placement: which thread may run a process, and where a process goes when
//! it becomes runnable.
//!
//! # Pinning: the soundness rule
//!
//! `spawn` takes a `Send` closure, but nothing stops the process from
//! creating thread-bound state on its stack and holding it across a
//! suspension: a `thread_local!` borrow, a `std::sync::MutexGuard`, a
//! `StdoutLock`, an `Rc` shared with a thread-local. Moving such a stack to
//! another thread is a data race. So a **started process is pinned** to the
//! worker thread it runs on: its slot's `home` names that worker, and only
//! that worker resumes it. A process **floats** (any worker may run it) only
//! where its stack holds nothing but the runtime's own frames:
//!
//! * not started yet (just spawned) — it has no stack;
//! * hibernated — it gave its stack back;
//! * suspended in the idle receive of a behaviour (GenServer, Agent, the
//!   supervisors): between two messages the server's state is a `Send` value
//!   owned by the runtime's loop, and no user frame is on the stack;
//! * spawned with the `unsafe` opt-in
//!   [`SpawnOptions::free_migration`](crate::SpawnOptions::free_migration),
//!   whose caller promises to hold no thread-bound state across a suspension.
//!
//! A process that is unwinding is pinned whatever else holds: std counts
//! panics per thread (see `process::unwinding`).
//!
//! The process itself decides, each time it suspends, whether it floats or
//! is pinned to the worker it is on (`Current::suspend`); it only matters
//! while it is not running, and the run-state protocol makes the decision
//! visible to whoever wakes it (the suspend is a read-modify-write that every
//! waker's read-modify-write reads).
//!
//! # Where a runnable process goes
//!
//! * Woken or spawned on a worker: to that worker's run-next if it floats or
//!   is pinned there (what it displaces goes to the back of the local
//!   queues); a process pinned elsewhere goes to its home's pinned inbox.
//! * Woken from a plain thread: floating processes to the injector (the
//!   urgent one of their level, for `Max` and `High`), pinned ones to their
//!   home's inbox.
//! * A floating process that yields goes to the back of its worker's
//!   stealable queue; a pinned one to the back of the worker's pinned queue.
//!
//! Floating processes rebalance through stealing and through run-next: a
//! server between messages runs on the core of whoever sent it the next
//! one. Pinned processes stay where they started, which is why a spawned
//! process starts on its spawner's worker unless another worker has been
//! idle for a while (see `worker`'s stealing rules).

use super::worker::WorkerLocal;
use super::Scheduler;
use crate::process::priority::{priority_of, Priority};
use std::sync::atomic::Ordering;

/// `home` of a process that any worker may run.
pub(crate) const FLOATING: u32 = u32::MAX;

impl Scheduler {
    /// The worker a queued or suspended process is pinned to, or
    /// [`FLOATING`].
    #[inline]
    pub(crate) fn home_of(&self, index: u32) -> u32 {
        self.table.get(index).map_or(FLOATING, |slot| slot.home.load(Ordering::Relaxed))
    }

    /// [`home_of`](Self::home_of), and the process's priority.
    #[inline]
    pub(crate) fn placement_of(&self, index: u32) -> (u32, Priority) {
        match self.table.get(index) {
            Some(slot) => (slot.home.load(Ordering::Relaxed), priority_of(slot)),
            None => (FLOATING, Priority::Normal),
        }
    }

    /// Puts a process that was just woken (`RunState::wake` returned true)
    /// or spawned on a run queue (see the module docs). A `Low` process
    /// skips the run-next slot, which would let it overtake the queues.
    pub(crate) fn schedule_woken(&self, index: u32) {
        let (home, priority) = self.placement_of(index);
        match WorkerLocal::current_of(self) {
            Some(worker) if priority == Priority::Low => worker.push_local(index),
            Some(worker) if home == worker.index as u32 || (home == FLOATING && worker.takes_floating()) => {
                if let Some(previous) = worker.shared().run_next.put(index) {
                    worker.push_local(previous);
                }
            }
            _ => self.schedule_elsewhere(home, index),
        }
    }

    /// Puts a yielding (or re-run) process at the back of a run queue.
    pub(crate) fn schedule_back(&self, index: u32) {
        match WorkerLocal::current_of(self) {
            Some(worker) => worker.push_local(index),
            None => self.schedule_elsewhere(self.home_of(index), index),
        }
    }

    /// Off its home worker: a floating process to the injector, a pinned
    /// one to its home's inbox.
    pub(crate) fn schedule_elsewhere(&self, home: u32, index: u32) {
        if home == FLOATING {
            match self.table.get(index).map_or(Priority::Normal, priority_of) {
                Priority::Max => self.urgent_injector[0].push(index),
                Priority::High => self.urgent_injector[1].push(index),
                _ => self.injector.push(index),
            }
            self.notify();
        } else {
            self.push_pinned(home, index);
        }
    }

    /// Hands a pinned process to its home worker, unparking it if it sleeps.
    pub(crate) fn push_pinned(&self, home: u32, index: u32) {
        let worker = &self.workers[home as usize];
        if worker.pinned.push(index) {
            worker.parker.unpark();
        }
    }
}
