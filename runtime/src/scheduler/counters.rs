//! Counters a worker keeps about itself, for introspection (`snapshot`).
//!
//! Only the worker writes them, on its own cache lines (they live in its
//! `WorkerShared`), with a relaxed load and store rather than a
//! read-modify-write; readers (a snapshot) load them relaxed and may see a
//! value a moment old. They are bumped on slow paths only — a steal, a park,
//! every 64th pick — never per message or per run. How busy a worker is
//! comes from the system monitor's sampling instead (see `sysmon`), which
//! costs the worker nothing.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// One worker's counters.
pub(crate) struct WorkerCounters {
    /// Processes taken from other workers' queues or run-next slots, or from
    /// the injector while out of local work.
    pub(crate) steals: AtomicU64,
    /// Times the worker went to sleep for lack of work.
    pub(crate) parks: AtomicU64,
    /// Length of its pinned queue as last published (every 64 picks and on
    /// each park), which only the worker can read directly.
    pub(crate) pinned_queued: AtomicUsize,
}

impl WorkerCounters {
    pub(crate) fn new() -> Self {
        WorkerCounters { steals: AtomicU64::new(0), parks: AtomicU64::new(0), pinned_queued: AtomicUsize::new(0) }
    }

    /// Owner only: adds one (no read-modify-write: nobody else writes).
    #[inline]
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    /// Owner only: publishes the pinned queue's length.
    #[inline]
    pub(crate) fn publish_pinned_queued(&self, n: usize) {
        self.pinned_queued.store(n, Ordering::Relaxed);
    }
}
