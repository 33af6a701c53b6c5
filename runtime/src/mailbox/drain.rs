//! Draining the inbox: moving what senders appended (behind the slot lock)
//! into the private mailbox that selective receive scans, acting on control
//! signals on the way (exit signals decided by the table in
//! `signal::decision`, monitor `Down`s, shutdown).

use crate::process::current::Current;
use crate::process::exit::die;
use crate::process::{Control, Local, Message, Shared, Slot};
use crate::reason::Reason;
use crate::scheduler::Scheduler;
use crate::signal::decision::{exit_signal_outcome, SignalOutcome};
use crate::signal::Down;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;

impl Current {
    /// Acts on urgent signals (exit signals) waiting in the inbox, and
    /// resumes exiting if the process caught its own exit unwinding.
    #[inline]
    pub(crate) fn check_signals(&self) {
        if let Err((reason, signal)) = self.try_check_signals() {
            die(self, reason, signal);
        }
    }

    /// [`Current::check_signals`] without unwinding.
    #[inline]
    pub(crate) fn try_check_signals(&self) -> Result<(), (Reason, bool)> {
        if self.slot().urgent.load(Ordering::Acquire) {
            self.try_drain()?;
        }
        // SAFETY: running process, short borrow.
        let local = unsafe { self.local() };
        match local.exit_reason.as_deref().cloned() {
            // Exiting, but not unwinding or returning to exit: the process
            // caught its exit and carried on; it dies now. (While it unwinds
            // or returns, destructors may use the runtime: the reason is
            // recorded and wins once they are done.)
            Some(exiting) if !local.returning_to_exit && !std::thread::panicking() => Err(exiting),
            _ => Ok(()),
        }
    }

    /// Moves the inbox to the private mailbox, acting on control signals;
    /// unwinds the process if one of them is fatal.
    pub(crate) fn drain_or_die(&self) {
        if let Err((reason, signal)) = self.try_drain() {
            die(self, reason, signal);
        }
    }

    /// Declares that the process, told by a `try_*` call to exit, is
    /// returning to its entry instead of unwinding.
    pub(crate) fn return_to_exit(&self) {
        // SAFETY: running process, short borrow.
        unsafe { self.local().returning_to_exit = true };
    }

    /// [`Current::drain_or_die`] without unwinding: `Err` when a fatal
    /// signal was found (the process is then marked exiting).
    #[inline]
    pub(crate) fn try_drain(&self) -> Result<(), (Reason, bool)> {
        // The common case of a receive about to wait, without a call.
        if !self.slot().inbox_pending.load(Ordering::Acquire) {
            return Ok(());
        }
        // SAFETY: running process, short borrow.
        if drain_plain(self.slot(), unsafe { self.local() }) {
            return Ok(());
        }
        self.try_drain_signals()
    }

    #[cold]
    #[inline(never)]
    fn try_drain_signals(&self) -> Result<(), (Reason, bool)> {
        // SAFETY: running process, short borrow.
        let (result, discarded) = drain(self.sched(), self.slot(), unsafe { self.local() });
        // Dropped with no borrow of the process held: their destructors may
        // call the runtime.
        drop(discarded);
        match result {
            Err(reason) if !std::thread::panicking() => Err((reason, true)),
            _ => Ok(()),
        }
    }
}

/// Moves everything in the slot's inbox to the private mailbox, acting on
/// control signals in order. Returns the exit reason if a fatal signal was
/// found (everything after it is discarded: the process never sees it), and
/// the discarded messages, for the caller to drop once it holds no borrow of
/// the process.
///
/// Runs on the thread that owns the process (the process itself, or its
/// worker when the process holds no stack).
pub(crate) fn drain(sched: &Scheduler, slot: &Slot, local: &mut Local) -> (Result<(), Reason>, VecDeque<Message>) {
    if !slot.inbox_pending.load(Ordering::Acquire) || drain_plain(slot, local) {
        return (Ok(()), VecDeque::new());
    }
    let mut shared = slot.shared.lock();
    // Every path below leaves the inbox empty.
    slot.inbox_pending.store(false, Ordering::Relaxed);
    if shared.controls == 0 {
        // The signals were drained in between (only by this thread: it owns
        // the process), or this is a plain batch that arrived since.
        move_inbox(slot, &mut shared, local);
        return (Ok(()), VecDeque::new());
    }
    shared.controls = 0;
    slot.urgent.store(false, Ordering::Relaxed);
    if local.exit_reason.is_some() {
        // Already exiting: only the first fatal signal counts.
        return (Ok(()), std::mem::take(&mut shared.inbox));
    }
    let me = slot.pid(sched.node);
    let trapping = slot.trap_exit.load(Ordering::Relaxed);
    let mut fatal = None;
    while let Some(msg) = shared.inbox.pop_front() {
        if !msg.is::<Control>() {
            local.mailbox.push_back(msg);
            continue;
        }
        let control = *msg.downcast::<Control>().expect("checked above");
        match control {
            Control::Exit { from, reason, link } => {
                // Unlinked before the signal arrived: row 1, dropped.
                if link && shared.links.remove(&from).is_none() {
                    continue;
                }
                match exit_signal_outcome(me, from, reason, link, trapping) {
                    SignalOutcome::Ignore => {}
                    SignalOutcome::Message(m) => local.mailbox.push_back(Box::new(m)),
                    SignalOutcome::Die(r) => {
                        fatal = Some(r);
                        break;
                    }
                }
            }
            Control::Down { monitor, pid, reason } => {
                if let Some((_, name)) = shared.monitors.remove(&monitor) {
                    local.mailbox.push_back(Box::new(Down { monitor, pid, name, reason }));
                }
            }
            Control::Terminate(reason) => {
                fatal = Some(reason);
                break;
            }
        }
    }
    slot.mailbox_len.store(local.mailbox.len(), Ordering::Relaxed);
    match fatal {
        None => (Ok(()), VecDeque::new()),
        Some(reason) => {
            shared.alive = false;
            local.exit_reason = Some(Box::new((reason.clone(), true)));
            (Err(reason), std::mem::take(&mut shared.inbox))
        }
    }
}

/// The common drain, once the `pending` flag was seen up (callers check it
/// first, without a call): plain messages move to the private mailbox (an
/// O(1) swap when it is empty). Returns `false`, leaving everything in
/// place, when control signals wait: the caller then runs the full
/// [`drain`].
///
/// Not inlined and returning a `bool`: the full drain's large result,
/// written to memory and read back at once, cost a store-forwarding stall
/// on every receive.
#[inline(never)]
pub(crate) fn drain_plain(slot: &Slot, local: &mut Local) -> bool {
    let mut shared = slot.shared.lock();
    if shared.controls != 0 {
        return false;
    }
    slot.inbox_pending.store(false, Ordering::Relaxed);
    move_inbox(slot, &mut shared, local);
    true
}

/// Moves a signal-free inbox to the private mailbox (under the slot lock).
fn move_inbox(slot: &Slot, shared: &mut Shared, local: &mut Local) {
    if shared.inbox.is_empty() {
        return;
    }
    if local.mailbox.is_empty() {
        std::mem::swap(&mut local.mailbox, &mut shared.inbox);
    } else {
        local.mailbox.append(&mut shared.inbox);
    }
    slot.mailbox_len.store(local.mailbox.len(), Ordering::Relaxed);
}
