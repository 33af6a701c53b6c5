//! The running process, as seen from its own code.
//!
//! A worker sets [`CURRENT`] to the slot it resumes and clears it when the
//! coroutine hands control back. Processes migrate between worker threads at
//! every suspension, so the thread-locals are read through `#[inline(never)]`
//! functions on every runtime call and nothing derived from them is kept
//! across a switch — except the slot and the scheduler themselves, which are
//! shared heap objects that outlive the process.
//!
//! This module also holds the process side of the signal protocol: draining
//! the inbox (where exit signals are acted on, SEMANTICS.md §1.4), exiting by
//! unwinding, and the reductions budget.

use super::{Control, Entry, Finish, Local, Message, Outcome, Slot};
use crate::pid::Pid;
use crate::reason::{PanicLocation, Reason};
use crate::scheduler::{Scheduler, Suspend};
use crate::signal::{Down, Exit};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Once;

thread_local! {
    /// The slot of the process this thread is running, or null.
    pub(crate) static CURRENT: Cell<*const Slot> = const { Cell::new(ptr::null()) };
    /// The location of the last panic in a process on this thread, keyed by slot.
    static LAST_PANIC: RefCell<Option<(usize, PanicLocation)>> = const { RefCell::new(None) };
}

/// A panic payload the runtime unwinds a process's stack with.
pub(crate) enum Unwind {
    /// The process exits with this reason: `exit(reason)` called by the
    /// process (`signal: false`), or a fatal exit signal (`signal: true`,
    /// which behaviours must not intercept: the process dies at once).
    Exit { reason: Reason, signal: bool },
    /// `hibernate(f)`: drop the stack, continue in `f` on the next message.
    Hibernate(Entry),
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
    let slot = CURRENT.with(|c| c.get());
    if slot.is_null() {
        return None;
    }
    let sched = crate::scheduler::worker::current_scheduler()?;
    Some(Current { sched, slot })
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

    /// Hands control back to the worker.
    pub(crate) fn suspend(&self, why: Suspend) {
        // SAFETY: the process is running; the borrow ends before the switch.
        let (yielder, base) = unsafe {
            let local = self.local();
            (local.yielder, local.stack_base)
        };
        let marker = 0u8;
        let sp = &marker as *const u8 as usize;
        self.slot().stack_used.store(base.saturating_sub(sp), Ordering::Relaxed);
        // SAFETY: the yielder lives on this coroutine's stack for as long as
        // the coroutine runs, and we are that coroutine.
        unsafe { (*yielder).suspend(why) };
    }

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
    #[inline]
    pub(crate) fn try_charge(&self, n: u32) -> Result<(), (Reason, bool)> {
        let slot = self.slot();
        slot.reductions.store(slot.reductions.load(Ordering::Relaxed) + n as u64, Ordering::Relaxed);
        // SAFETY: running process, short borrow.
        let spent = unsafe {
            let local = self.local();
            local.budget = local.budget.saturating_sub(n);
            local.budget == 0
        };
        if spent {
            self.suspend(Suspend::Yield);
            // SAFETY: as above.
            unsafe { self.local().budget = self.sched().config.budget };
        }
        self.try_check_signals()
    }

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

/// Starts unwinding the current process so that it exits with `reason`;
/// `signal` tells whether an exit signal (not the process itself) decided it.
///
/// A signal is final: the process is no longer alive and, should it catch the
/// unwind, dies again at its next runtime call. `exit(reason)` called by the
/// process itself is an exception, as in Erlang: a `catch_unwind` (or a
/// GenServer running `terminate`) may catch it and carry on.
pub(crate) fn die(cur: &Current, reason: Reason, signal: bool) -> ! {
    if signal {
        // SAFETY: running process, short borrow.
        let local = unsafe { cur.local() };
        if local.exit_reason.is_none() {
            local.exit_reason = Some(Box::new((reason.clone(), signal)));
        }
        cur.slot().shared.lock().alive = false;
    }
    panic::resume_unwind(Box::new(Unwind::Exit { reason, signal }))
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
fn move_inbox(slot: &Slot, shared: &mut super::Shared, local: &mut Local) {
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

/// What receiving an exit signal does (SEMANTICS.md §1.4, rows 2–8; row 1 —
/// a link signal for a link that is gone — is decided by the caller).
#[derive(Debug, PartialEq)]
pub(crate) enum SignalOutcome {
    Ignore,
    Message(Exit),
    Die(Reason),
}

pub(crate) fn exit_signal_outcome(me: Pid, from: Pid, reason: Reason, link: bool, trapping: bool) -> SignalOutcome {
    match reason {
        // Row 2: an explicit kill is untrappable and becomes `killed`.
        Reason::Kill if !link => SignalOutcome::Die(Reason::Killed),
        // Rows 3–4: `exit(self(), normal)`.
        Reason::Normal if !link && from == me => {
            if trapping {
                SignalOutcome::Message(Exit { from, reason })
            } else {
                SignalOutcome::Die(Reason::Normal)
            }
        }
        // Rows 5–6: `normal` from another process.
        Reason::Normal => {
            if trapping {
                SignalOutcome::Message(Exit { from, reason })
            } else {
                SignalOutcome::Ignore
            }
        }
        // Rows 7–8: anything else (a link-flag `kill` stays `kill`).
        reason => {
            if trapping {
                SignalOutcome::Message(Exit { from, reason })
            } else {
                SignalOutcome::Die(reason)
            }
        }
    }
}

/// The function a process's coroutine runs: calls the entry under
/// `catch_unwind` and turns however it ended into an [`Outcome`]. The exit
/// procedure itself runs on the worker's stack, after the coroutine is done.
pub(crate) fn trampoline(entry: Entry) -> impl FnOnce(&corosensei::Yielder<(), Suspend>, ()) -> Outcome {
    move |yielder, ()| {
        let cur = current();
        // SAFETY: the process runs on this thread; short borrow.
        unsafe { cur.local().yielder = yielder };
        let result = panic::catch_unwind(AssertUnwindSafe(entry));
        // Re-read: the process may be on another thread by now.
        let cur = current();
        let outcome = match result {
            Ok(Finish::Exit(reason)) => Outcome::Exit(reason, false),
            Ok(Finish::Hibernate(f)) => Outcome::Hibernate(f),
            Err(payload) => match payload.downcast::<Unwind>() {
                Ok(unwind) => match *unwind {
                    Unwind::Exit { reason, signal } => Outcome::Exit(reason, signal),
                    Unwind::Hibernate(f) => Outcome::Hibernate(f),
                },
                Err(payload) => {
                    let location = take_panic_location(cur.slot());
                    let reason = Reason::from_panic(&*payload, location);
                    // A payload whose destructor panics must not escape.
                    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
                    Outcome::Exit(reason, false)
                }
            },
        };
        // SAFETY: as above.
        match unsafe { cur.local().exit_reason.take().map(|b| *b) } {
            // Exiting started (a fatal signal, `exit`): that reason wins over
            // whatever the function did afterwards.
            Some((reason, signal)) => Outcome::Exit(reason, signal),
            None => outcome,
        }
    }
}

pub(crate) fn take_panic_location(slot: &Slot) -> Option<PanicLocation> {
    LAST_PANIC.with(|p| match p.borrow_mut().take() {
        Some((key, location)) if key == slot as *const Slot as usize => Some(location),
        _ => None,
    })
}

/// Installs (once per OS process) a panic hook that records the location of
/// panics inside processes, for their exit reason, and keeps the default
/// output for panics elsewhere. A panic inside a process is reported by the
/// runtime's crash report instead of the default hook's message.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let slot = CURRENT.with(|c| c.get());
            if slot.is_null() {
                previous(info);
                return;
            }
            if let Some(l) = info.location() {
                let location = PanicLocation { file: l.file().into(), line: l.line(), column: l.column() };
                LAST_PANIC.with(|p| *p.borrow_mut() = Some((slot as usize, location)));
            }
        }));
    });
}

/// Sends `msg` to a pid of any runtime. Returns false if it is dead.
pub(crate) fn send_message(pid: Pid, msg: Message) -> bool {
    crate::scheduler::deliver_anywhere(pid, msg, false, false)
}

/// Delivers a control signal to a pid of any runtime.
pub(crate) fn send_control(pid: Pid, control: Control, urgent: bool) -> bool {
    crate::scheduler::deliver_anywhere(pid, Box::new(control), true, urgent)
}
