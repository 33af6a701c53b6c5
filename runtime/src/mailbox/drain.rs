//! Draining the inbox: moving what senders appended (behind the slot lock)
//! into the private mailbox that selective receive scans, acting on control
//! signals on the way (exit signals decided by the table in
//! `signal::decision`, monitor `Down`s, shutdown).

use crate::process::current::Current;
use crate::process::exit::die;
use crate::process::{Control, Letter, Local, Message, Shared, Slot};
use crate::reason::Reason;
use crate::scheduler::Scheduler;
use crate::signal::decision::{exit_signal_outcome, SignalOutcome};
use crate::signal::Down;
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
        let exiting = unsafe {
            let local = self.local();
            if local.returning_to_exit {
                return Ok(());
            }
            local.exit_reason.as_deref().cloned()
        };
        match exiting {
            // Exiting, but not unwinding or returning to exit: the process
            // caught its exit and carried on; it dies now. (While it unwinds
            // or returns, destructors may use the runtime: the reason is
            // recorded and wins once they are done.)
            Some(exiting) if !self.unwinding() => Err(exiting),
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
    /// signal was found and the process must start exiting now (the exit is
    /// then recorded: a caller that cannot leave at once, such as a
    /// `blocking` call whose frame is lent to the pool, may ignore it and
    /// the process dies at its next runtime call).
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
        let unwinding = self.unwinding();
        // SAFETY: running process, short borrow.
        let Drained { verdict, discarded } = drain(self.sched(), self.slot(), unsafe { self.local() }, unwinding);
        // Dropped with no borrow of the process held: their destructors may
        // call the runtime.
        drop(discarded);
        match verdict {
            Verdict::Continue => Ok(()),
            // Already unwinding: the recorded reason wins once it is done
            // (unwinding again inside a destructor would abort the OS
            // process).
            Verdict::Exit(_) | Verdict::Kill if unwinding => {
                if matches!(verdict, Verdict::Kill) {
                    self.kill_identity();
                }
                Ok(())
            }
            Verdict::Exit(reason) => Err((reason, true)),
            Verdict::Kill => {
                self.kill_identity();
                Err((Reason::Killed, true))
            }
        }
    }
}

/// What a drain asks of the process.
pub(crate) enum Verdict {
    /// Nothing: carry on.
    Continue,
    /// A fatal exit signal: exit with this reason (it is recorded in
    /// `Local::exit_reason`; the process is marked exiting).
    Exit(Reason),
    /// An explicit `Kill`: the identity ends at once with `killed`, whatever
    /// the process is doing (see `process::exit`, "Kill").
    Kill,
}

/// The result of a [`drain`]: the verdict, and what the process will never
/// see, for the caller to drop once it holds no borrow of the process and no
/// lock.
pub(crate) struct Drained {
    pub(crate) verdict: Verdict,
    pub(crate) discarded: Vec<Message>,
}

/// Moves everything in the slot's inbox to the private mailbox, acting on
/// control signals in order (SEMANTICS.md §1.4, in `signal::decision`).
///
/// A process that is not exiting: the first fatal signal decides its exit;
/// the messages and signals behind it are discarded (it never sees them),
/// except a `Kill`, which still ends the identity at once. A process that is
/// already exiting (`exit_reason` set, or `unwinding`: its destructors run
/// and may wait for replies) keeps receiving messages and `Down`s, ignores
/// further exit signals, and acts only on a `Kill`.
///
/// Runs on the thread that owns the process (the process itself, or its
/// worker when the process holds no stack).
pub(crate) fn drain(sched: &Scheduler, slot: &Slot, local: &mut Local, unwinding: bool) -> Drained {
    let mut discarded = Vec::new();
    if !slot.inbox_pending.load(Ordering::Acquire) || drain_plain(slot, local) {
        return Drained { verdict: Verdict::Continue, discarded };
    }
    let mut shared = slot.shared.lock();
    // Every path below leaves the inbox empty.
    slot.inbox_pending.store(false, Ordering::Relaxed);
    if shared.controls == 0 {
        // The signals were drained in between (only by this thread: it owns
        // the process), or this is a plain batch that arrived since.
        move_inbox(slot, &mut shared, local);
        return Drained { verdict: Verdict::Continue, discarded };
    }
    shared.controls = 0;
    slot.urgent.store(false, Ordering::Relaxed);
    let me = slot.pid(sched.node);
    let exiting = unwinding || local.exit_reason.is_some();
    // An exiting process does not trap: it is past handling signals.
    let trapping = !exiting && slot.trap_exit.load(Ordering::Relaxed);
    let mut verdict = Verdict::Continue;
    // A fatal signal was found in this batch: what follows is not seen.
    let mut cut = false;
    while let Some(Letter { seq, msg }) = shared.inbox.pop_front() {
        if !msg.is::<Control>() {
            if cut {
                discarded.push(msg);
            } else {
                local.mailbox.push_back(Letter { seq, msg });
            }
            continue;
        }
        let control = *msg.downcast::<Control>().expect("checked above");
        // A signal turned into a message takes the signal's place.
        let deliver = |local: &mut Local, msg: Message| local.mailbox.push_back(Letter { seq, msg });
        match control {
            Control::Exit { from, reason, link } => {
                // Unlinked before the signal arrived: row 1, dropped.
                if link && !shared.relations.remove_link(&from) {
                    discarded.push(Box::new(reason));
                    continue;
                }
                match exit_signal_outcome(me, from, reason, link, trapping) {
                    SignalOutcome::Kill => verdict = Verdict::Kill,
                    SignalOutcome::Ignore => {}
                    SignalOutcome::Message(m) if !cut => deliver(local, Box::new(m)),
                    SignalOutcome::Message(m) => discarded.push(Box::new(m)),
                    SignalOutcome::Die(r) if exiting || cut => discarded.push(Box::new(r)),
                    SignalOutcome::Die(r) => {
                        cut = true;
                        decide(&mut shared, local, &mut verdict, r);
                    }
                }
            }
            Control::Down { monitor, pid, reason } => {
                if cut {
                    discarded.push(Box::new(reason));
                } else if let Some((_, name)) = shared.relations.remove_monitor(&monitor) {
                    deliver(local, Box::new(Down { monitor, pid, name, reason }));
                } else {
                    // Demonitored meanwhile: the reason (a user term,
                    // maybe) is dropped outside the lock.
                    discarded.push(Box::new(reason));
                }
            }
            Control::Terminate(reason) if exiting || cut => discarded.push(Box::new(reason)),
            Control::Terminate(reason) => {
                cut = true;
                decide(&mut shared, local, &mut verdict, reason);
            }
        }
    }
    crate::mailbox::give_back_room(&mut shared.inbox);
    slot.mailbox_len.store(local.mailbox.len(), Ordering::Relaxed);
    Drained { verdict, discarded }
}

/// The first fatal signal of a process that was not exiting decides its
/// exit reason (a `Kill` in the same batch still ends the identity at once,
/// with this reason: see `Current::kill_identity`).
fn decide(shared: &mut Shared, local: &mut Local, verdict: &mut Verdict, reason: Reason) {
    shared.exiting = true;
    local.exit_reason = Some(Box::new((reason.clone(), true)));
    if !matches!(verdict, Verdict::Kill) {
        *verdict = Verdict::Exit(reason);
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
        // The inbox keeps its buffer for the next deliveries, unless a
        // burst grew it.
        crate::mailbox::give_back_room(&mut shared.inbox);
    }
    slot.mailbox_len.store(local.mailbox.len(), Ordering::Relaxed);
}
