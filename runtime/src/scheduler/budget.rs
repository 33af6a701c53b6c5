//! The reductions budget: every runtime call costs reductions, and a process
//! that spent its slice yields at its next runtime call (see the fairness
//! section of the scheduler's docs). The same prologue acts on pending exit
//! signals, so a running process dies at its next runtime call.

use crate::process::current::Current;
use crate::process::exit::die;
use crate::reason::Reason;
use crate::scheduler::Suspend;
use crate::stack::depth::depth_of;
use crate::stack::overflow::RED_ZONE;
use std::sync::atomic::Ordering;

impl Current {
    /// Charges `n` reductions; yields when the slice is spent, and acts on
    /// pending exit signals (a running process dies at its next runtime call).
    #[inline]
    pub(crate) fn charge(&self, n: u32) {
        if let Err((reason, signal)) = self.try_charge(n) {
            die(self, reason, signal);
        }
    }

    /// [`Current::charge`], reporting a fatal signal instead of unwinding:
    /// `Err((reason, by_signal))` means the process must exit now. Loops that
    /// can return to the process's entry (the GenServer loop) use this to die
    /// without unwinding the stack — the cheapest way a process can go.
    ///
    /// Every runtime call goes through here, so the common case (budget
    /// left, stack not deep, no signal pending, not exiting) is a few inlined
    /// loads and stores; anything else takes [`Current::charge_slow`].
    #[inline]
    pub(crate) fn try_charge(&self, n: u32) -> Result<(), (Reason, bool)> {
        let slot = self.slot();
        slot.reductions.store(slot.reductions.load(Ordering::Relaxed) + n as u64, Ordering::Relaxed);
        let marker = 0u8;
        let sp = &marker as *const u8 as usize;
        // SAFETY: running process, short borrow.
        let (spent, deep, exiting) = unsafe {
            let local = self.local();
            local.budget = local.budget.saturating_sub(n);
            local.stack_deepest = local.stack_deepest.max(depth_of(local.stack_base, sp));
            let red_zone = RED_ZONE.min(local.stack_size as usize / 4);
            (local.budget == 0, sp < local.stack_limit + red_zone, local.exit_reason.is_some())
        };
        if spent | deep | exiting | slot.urgent.load(Ordering::Acquire) {
            return self.charge_slow(spent, deep);
        }
        Ok(())
    }

    /// The rest of [`Current::try_charge`]: too deep, out of budget, or a
    /// signal or an exit to act on.
    #[cold]
    #[inline(never)]
    fn charge_slow(&self, spent: bool, deep: bool) -> Result<(), (Reason, bool)> {
        if deep && !self.unwinding() {
            // Too deep for the runtime's own frames: end the process now,
            // by an ordinary unwind, before the guard page is reached inside
            // runtime code (see `stack::overflow`).
            return Err((Reason::StackOverflow, false));
        }
        if spent {
            self.suspend(Suspend::Yield);
            // SAFETY: as above.
            unsafe { self.local().budget = self.sched().config.budget };
        }
        self.try_check_signals()
    }
}
