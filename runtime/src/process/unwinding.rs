//! Whether a process is unwinding, tracked per process.
//!
//! std counts panics in flight per OS *thread* (`std::thread::panicking`),
//! but a worker thread runs many processes, and a process whose destructor
//! suspends (a `blocking` flush, a `Server::call` to give a connection back)
//! in the middle of its unwind leaves the thread's count raised while other
//! processes run there. Those bystanders would read `panicking() == true`.
//! The runtime therefore keeps its own count in each process
//! (`Slot::unwinding`, an atomic only the process's owner writes, so that the
//! panic hook can raise it whatever borrows the interrupted code holds):
//!
//! * raised by the panic hook when a panic starts in the process, and by the
//!   runtime whenever it unwinds a process itself (`die`, `hibernate`, a
//!   panic resumed from the blocking pool);
//! * lowered where the runtime catches an unwind (`catch_exit`, the
//!   trampoline, which ends every unwind);
//! * corrected by std's own count whenever that one is exact for the
//!   running process: when no other process is suspended mid-unwind on this
//!   thread (`SUSPENDED_UNWINDING` is zero), `std::thread::panicking()` is
//!   about the running process alone. This catches a panic the process
//!   caught itself with `catch_unwind`, or raised with `resume_unwind`,
//!   which the runtime does not see.
//!
//! A process that is unwinding is pinned to its thread (see
//! `scheduler::placement`), so std's per-thread counts stay balanced: the
//! unwind ends on the thread where it began.
//!
//! What remains visible to user code: while a process is suspended
//! mid-unwind, `std::thread::panicking()` reads `true` in the other processes
//! of the same worker thread (and a std `Mutex` guard dropped there in that
//! window may poison its mutex). Ember itself never asks std.

use super::current::Current;
use super::Slot;
use std::cell::Cell;
use std::sync::atomic::Ordering;

thread_local! {
    /// Processes suspended in the middle of an unwind on this thread.
    static SUSPENDED_UNWINDING: Cell<usize> = const { Cell::new(0) };
}

/// Whether std's count on this thread is exact for the running process.
#[inline(never)]
fn thread_count_is_exact() -> bool {
    SUSPENDED_UNWINDING.with(|n| n.get() == 0)
}

impl Current {
    /// Whether the running process is unwinding (see the module docs).
    pub(crate) fn unwinding(&self) -> bool {
        let count = &self.slot().unwinding;
        if thread_count_is_exact() {
            let panicking = std::thread::panicking();
            if !panicking {
                count.store(0, Ordering::Relaxed);
            } else if count.load(Ordering::Relaxed) == 0 {
                // Raised without the hook (`resume_unwind`): count it.
                count.store(1, Ordering::Relaxed);
            }
            return panicking;
        }
        count.load(Ordering::Relaxed) > 0
    }

    /// The runtime starts unwinding the process (the panic hook counts
    /// panics itself, see [`unwind_started`]).
    pub(crate) fn unwind_started(&self) {
        unwind_started(self.slot());
    }

    /// The runtime caught an unwind of the process.
    pub(crate) fn unwind_caught(&self) {
        let count = &self.slot().unwinding;
        count.store(count.load(Ordering::Relaxed).saturating_sub(1), Ordering::Relaxed);
    }

    /// The trampoline: every unwind of the process is over.
    pub(crate) fn unwinds_done(&self) {
        self.slot().unwinding.store(0, Ordering::Relaxed);
    }
}

/// An unwind of the process in `slot` starts (called on its own thread).
pub(crate) fn unwind_started(slot: &Slot) {
    let count = &slot.unwinding;
    count.store(count.load(Ordering::Relaxed).saturating_add(1), Ordering::Relaxed);
}

/// Called around a suspension: returns a token to give back on resume, so
/// that a process suspended mid-unwind is counted on its thread meanwhile.
#[inline(never)]
pub(crate) fn suspend_mid_unwind(unwinding: bool) -> SuspendedUnwind {
    if unwinding {
        SUSPENDED_UNWINDING.with(|n| n.set(n.get() + 1));
    }
    SuspendedUnwind(unwinding)
}

/// See [`suspend_mid_unwind`].
pub(crate) struct SuspendedUnwind(bool);

impl SuspendedUnwind {
    /// The process runs again (on the same thread: it is pinned while
    /// unwinding).
    #[inline(never)]
    pub(crate) fn resumed(self) {
        if self.0 {
            SUSPENDED_UNWINDING.with(|n| n.set(n.get() - 1));
        }
    }
}
