//! The running process, as seen from its own code.
//!
//! A worker sets [`CURRENT`] to the slot it resumes and clears it when the
//! coroutine hands control back. The thread-locals are read through
//! `#[inline(never)]` functions on every runtime call and nothing derived
//! from them is kept across a switch — except the slot and the scheduler
//! themselves, which are shared heap objects that outlive the process.

use super::unwinding::suspend_mid_unwind;
use super::{Local, Slot};
use crate::pid::Pid;
use crate::scheduler::placement::FLOATING;
use crate::scheduler::{Scheduler, Suspend};
use crate::stack::depth::depth_of;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering;

thread_local! {
    /// The process this thread is running (null pointers when none): its
    /// scheduler beside its slot, so that finding the running process is one
    /// thread-local read.
    pub(crate) static CURRENT: Cell<Current> = const { Cell::new(Current::NONE) };
}

/// The running process: its scheduler and slot.
#[derive(Clone, Copy)]
pub(crate) struct Current {
    sched: *const Scheduler,
    slot: *const Slot,
}

/// The running process, if this thread is running one.
// Not inlined: see the module docs.
#[inline(never)]
pub(crate) fn try_current() -> Option<Current> {
    let cur = CURRENT.with(|c| c.get());
    (!cur.slot.is_null()).then_some(cur)
}

/// The running process; panics with a clear message outside of one.
#[track_caller]
pub(crate) fn current() -> Current {
    match try_current() {
        Some(c) => c,
        None => panic!(
            "ember: this function must be called from inside an Ember process \
             (start one with ember::run or Runtime::block_on)"
        ),
    }
}

impl Current {
    /// No process (what `CURRENT` holds between runs).
    pub(crate) const NONE: Current = Current { sched: ptr::null(), slot: ptr::null() };

    /// What a worker sets `CURRENT` to while it runs the process in `slot`.
    pub(crate) fn running(sched: &Scheduler, slot: &Slot) -> Current {
        Current { sched, slot }
    }

    /// The slot of the process this thread runs, or null (for the panic hook,
    /// which must not panic).
    pub(crate) fn slot_ptr() -> *const Slot {
        CURRENT.with(|c| c.get().slot)
    }

    pub(crate) fn sched(&self) -> &Scheduler {
        // SAFETY: a runtime outlives all of its processes: shutdown waits for
        // every process to exit before the scheduler can be dropped.
        unsafe { &*self.sched }
    }

    pub(crate) fn slot(&self) -> &Slot {
        // SAFETY: slots live as long as the scheduler (see `sched`).
        unsafe { &*self.slot }
    }

    pub(crate) fn pid(&self) -> Pid {
        self.slot().pid(self.sched().node)
    }

    /// The process's private part.
    ///
    /// # Safety
    ///
    /// As [`Slot::local`]: the process is running on this thread (true for any
    /// `Current` obtained by the process itself); the reference must not be
    /// held across a suspension or overlap another one.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn local(&self) -> &mut Local {
        // SAFETY: forwarded to the caller.
        unsafe { self.slot().local() }
    }

    /// Hands control back to the worker. The process stays pinned to the
    /// worker it runs on (unless it was spawned with free migration): only
    /// that thread resumes it (see `scheduler::placement`).
    #[inline]
    pub(crate) fn suspend(&self, why: Suspend) {
        self.suspend_as(why, false)
    }

    /// [`Current::suspend`] at a safe point: the caller guarantees that the
    /// stack holds only the runtime's own frames and `Send` data (a
    /// behaviour's idle receive), so the process floats while suspended.
    #[inline]
    pub(crate) fn suspend_at_safe_point(&self, why: Suspend) {
        self.suspend_as(why, true)
    }

    fn suspend_as(&self, why: Suspend, safe_point: bool) {
        let unwinding = self.unwinding();
        let marker = 0u8;
        let sp = &marker as *const u8 as usize;
        // SAFETY: the process is running; the borrow ends before the switch.
        let (yielder, depth, deepest, home, size) = unsafe {
            let local = self.local();
            let floats = (safe_point || local.free_migration) && !unwinding;
            let depth = depth_of(local.stack_base, sp);
            local.stack_deepest = local.stack_deepest.max(depth);
            (local.yielder, depth, local.stack_deepest, if floats { FLOATING } else { local.worker }, local.stack_size)
        };
        self.slot().home.store(home, Ordering::Relaxed);
        self.slot().stack_depth.publish(depth as usize, deepest);
        self.sched().system_monitor.stack_used(self.sched(), self.slot(), deepest as usize, size as usize);
        let mid_unwind = suspend_mid_unwind(unwinding);
        // SAFETY: the yielder lives on this coroutine's stack for as long as
        // the coroutine runs, and we are that coroutine.
        unsafe { (*yielder).suspend(why) };
        mid_unwind.resumed();
    }
}
