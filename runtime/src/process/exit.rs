//! How a process ends.
//!
//! # Exiting
//!
//! A process decides to exit when its function returns, when it calls
//! `exit(reason)` or panics, or when it takes a fatal exit signal from its
//! inbox. Except when its function returns, it then **unwinds**: its
//! destructors run, and they may use the runtime — flush through
//! `blocking`, give a connection back with `Server::call`, wait for a reply
//! — because the process is still alive while they run: messages, replies
//! and `Down`s still reach it, it keeps its name, links and monitors, and
//! `process_info` shows it `Exiting`. Once the unwind is done, the exit
//! procedure runs on the worker's own stack.
//!
//! # Kill
//!
//! An explicit `Kill` (`pid.exit(Reason::Kill)`) is unconditional, as on the
//! BEAM: the process's **identity ends at once**, whatever it is doing —
//! even in the middle of cleanup code waiting in a receive. Its name is
//! released, its links get `killed` exit signals and its monitors `Down`s
//! with `killed`, new monitors get `noproc`, and its pid is dead. What is
//! left of it — the stack, with destructors still to run — finishes
//! **detached**, under a fresh anonymous pid (so that replies to calls its
//! destructors make still reach it), and exits with `killed` when its
//! unwind is done. A detached remnant that never finishes holds its slot
//! and stack until runtime shutdown, which abandons it (see
//! `Runtime::drop`).
//!
//! # The exit procedure
//!
//! In order (SEMANTICS.md §10, item 2), for the identity that ends:
//!
//! 1. take its links, monitors and name, under the slot lock, and mark it
//!    dead: from here on `is_alive` is false and it accepts no messages (a
//!    detached remnant accepts them again under its next serial, step 6);
//! 2. release the registered name, *before* any signal goes out, so a
//!    supervisor that hears of the exit can register the name again at once;
//! 3. remove the monitors it held from their targets;
//! 4. send an exit signal with the link flag to every linked process, and a
//!    DOWN to every monitoring process (each after any message this process
//!    sent them earlier: same inbox, same order);
//! 5. emit a crash report if the reason is not clean and the process failed
//!    by itself (a panic, `exit`) — a process killed by an exit signal ran
//!    no code and, as in OTP, gets none;
//! 6. advance the slot's serial (the pid is dead from now on) and answer the
//!    links and monitors made while it was exiting with `noproc` (after
//!    everything above, in the order the BEAM gives).
//!
//! Then, when the whole process ends, the slot is recycled.

use super::current::Current;
use super::priority::{set_slot_priority, Priority};
use super::trampoline::Unwind;
use super::{Control, Slot};
use crate::name::Name;
use crate::pid::Pid;
use crate::reason::Reason;
use crate::scheduler::placement::FLOATING;
use crate::scheduler::worker::WorkerLocal;
use crate::scheduler::Scheduler;
use std::sync::atomic::Ordering;

/// Starts unwinding the current process so that it exits with `reason`;
/// `signal` tells whether an exit signal (not the process itself) decided it.
///
/// A signal is final: should the process catch the unwind, it dies again at
/// its next runtime call. `exit(reason)` called by the process itself is an
/// exception, as in Erlang: a `catch_unwind` (or a GenServer running
/// `terminate`) may catch it and carry on.
///
/// Never called while the process is already unwinding (a second unwind
/// started inside a destructor would abort the OS process): callers check
/// [`Current::unwinding`].
pub(crate) fn die(cur: &Current, reason: Reason, signal: bool) -> ! {
    if signal {
        // SAFETY: running process, short borrow.
        let local = unsafe { cur.local() };
        if local.exit_reason.is_none() {
            local.exit_reason = Some(Box::new((reason.clone(), signal)));
        }
        cur.slot().shared.lock().exiting = true;
    }
    cur.unwind_started();
    std::panic::resume_unwind(Box::new(Unwind::Exit { reason, signal }))
}

impl Current {
    /// A `Kill` was taken: the identity ends now (see the module docs); the
    /// process goes on detached, and its remnant exits once its unwind is
    /// done. The identity ends with `killed`, or, if its exit was already
    /// decided (a signal or `exit` came first, as on the BEAM where the
    /// process would be gone already), with that reason.
    pub(crate) fn kill_identity(&self) {
        // SAFETY: running process, short borrow.
        if self.slot().detached.swap(true, Ordering::Relaxed) {
            return;
        }
        let reason = unsafe {
            let local = self.local();
            let decided = local.exit_reason.get_or_insert_with(|| Box::new((Reason::Killed, true)));
            decided.0.clone()
        };
        retire_identity(self.sched(), self.slot(), &reason, true, false);
    }
}

/// Runs the exit procedure (steps 1–6 of the module docs) for the identity
/// the process in `slot` has now. `whole`: the process itself ends too (it
/// stops accepting messages in step 1); otherwise it goes on detached under
/// the next serial. `by_signal`: an exit signal ended it (no crash report).
fn retire_identity(sched: &Scheduler, slot: &Slot, reason: &Reason, by_signal: bool, whole: bool) {
    let pid = slot.pid(sched.node);
    let ((links, monitors, monitored_by), name, text_label, exit_hook) = {
        let mut shared = slot.shared.lock();
        // The identity is dead from here on, before any signal goes out:
        // whoever hears of the exit finds the pid not alive, as on the BEAM
        // (a supervisor restarting a child under a via name relies on it:
        // the registry hands the name over once the holder is not alive). A
        // detached remnant comes alive again under its next serial (step 6).
        shared.alive = false;
        shared.label = None;
        let text_label = std::mem::take(&mut shared.text_label);
        (
            shared.relations.take_all(),
            shared.name.take().map(|name| *name),
            text_label,
            std::mem::take(&mut shared.exit_hook),
        )
    };
    if text_label {
        // Freed outside the slot lock; the slot is not reused before this
        // exit is done.
        drop(sched.side.labels.remove(slot.index));
    }
    if let Some(name) = &name {
        sched.names.release(name, pid);
    }
    for (monitor, (target, _)) in monitors {
        if target.node != sched.node {
            crate::node::demonitor_remote(pid, target, monitor);
            continue;
        }
        if let Some(t) = sched.slot(target) {
            let mut shared = t.shared.lock();
            if t.serial.load(Ordering::Relaxed) == target.serial && shared.relations.remove_monitored_by(&monitor) {
                super::hibernation::removed_from(t, &mut shared.relations);
            }
        }
    }
    for (linked, ()) in links {
        send_exit(linked, pid, reason.clone());
    }
    for (monitor, watcher) in monitored_by {
        send_down(watcher, monitor, pid, reason.clone());
    }
    if !reason.is_clean() && !by_signal {
        crash_report(pid, name.as_ref(), reason);
    }
    if let Some(f) = exit_hook.then(|| sched.side.exit_hooks.remove(slot.index)).flatten() {
        f(reason);
    }
    // The pid dies here: senders compare serials under the slot lock. Links
    // and monitors made while the process was exiting (after step 1) are
    // answered now, with `noproc`, in the same critical section that retires
    // the pid: they reach their owners after every signal sent above, as the
    // BEAM orders an exiting process's answers after its exit signals.
    let (late_links, late_monitors) = {
        let mut shared = slot.shared.lock();
        slot.serial.store(slot.serial.load(Ordering::Relaxed).wrapping_add(1), Ordering::Release);
        shared.alive = !whole;
        shared.exiting = !whole;
        shared.relations.take_links_and_monitored_by()
    };
    for (linked, ()) in late_links {
        send_exit(linked, pid, Reason::NoProc);
    }
    for (monitor, watcher) in late_monitors {
        send_down(watcher, monitor, pid, Reason::NoProc);
    }
}

fn send_exit(to: Pid, from: Pid, reason: Reason) {
    crate::mailbox::deliver::send_control(to, Control::Exit { from, reason, link: true }, true);
}

fn send_down(to: Pid, monitor: crate::Ref, pid: Pid, reason: Reason) {
    crate::mailbox::deliver::send_control(to, Control::Down { monitor, pid, reason }, false);
}

/// Runs the exit procedure for the process in `slot` (owned by the caller,
/// whose coroutine is finished or was never started), then frees the slot.
/// `by_signal` tells whether an exit signal killed it: such a process ran no
/// code of its own to fail, and (as in OTP) gets no crash report. A process
/// whose identity a `Kill` already ended (detached) just ends its anonymous
/// remnant.
pub(crate) fn terminate(sched: &Scheduler, slot: &Slot, reason: Reason, by_signal: bool) {
    // SAFETY: the caller owns the process and no other reference to its
    // `Local` is live (the coroutine has finished). One short borrow.
    let (detached, mailbox, wake) = unsafe {
        let local = slot.local();
        let detached = slot.detached.swap(false, Ordering::Relaxed);
        local.exit_reason = None;
        local.returning_to_exit = false;
        local.hibernated = false;
        local.free_migration = false;
        (detached, std::mem::take(&mut local.mailbox), local.wake.take())
    };
    // It leaves no timer behind.
    if let Some(wake) = wake {
        crate::time::cancel_wake(sched, wake);
    }
    slot.mailbox_len.store(0, Ordering::Relaxed);
    // Sockets it still owns: released, or closed if its stack was abandoned
    // (an overflow, or shutdown giving up on it: see `io::resource`).
    // SAFETY: as above; short borrow.
    unsafe { slot.local().resources.on_exit(slot.pid(sched.node)) };
    // A detached remnant reports nothing: its identity was reported when the
    // `Kill` ended it.
    retire_identity(sched, slot, &reason, by_signal || detached, true);
    let inbox = {
        let mut shared = slot.shared.lock();
        shared.controls = 0;
        shared.exiting = false;
        std::mem::take(&mut shared.inbox)
    };
    slot.urgent.store(false, Ordering::Relaxed);
    slot.inbox_pending.store(false, Ordering::Relaxed);
    // Messages nobody will read; dropped outside the lock, their destructors
    // may do anything.
    drop_on_worker(inbox);
    drop_on_worker(mailbox);
    // (Letters hold user messages: dropped on the worker, outside any lock.)
    free_slot(sched, slot);
}

/// Recycles the slot of a process that is gone.
fn free_slot(sched: &Scheduler, slot: &Slot) {
    slot.trap_exit.store(false, Ordering::Relaxed);
    set_slot_priority(sched, slot, Priority::Normal);
    slot.low_turns.store(0, Ordering::Relaxed);
    slot.hibernating.store(false, Ordering::Relaxed);
    slot.reductions.store(0, Ordering::Relaxed);
    slot.unwinding.store(0, Ordering::Relaxed);
    slot.home.store(FLOATING, Ordering::Relaxed);
    slot.run.release();
    if slot.serial.load(Ordering::Relaxed) > RETIRE_AT {
        // The slot's serials are used up: it is retired, never reused, so no
        // pid ever names two processes (see `RETIRE_AT`).
        sched.table.retired.fetch_add(1, Ordering::Relaxed);
    } else {
        recycle(sched, slot);
    }
    let live = sched.table.live.fetch_sub(1, Ordering::AcqRel) - 1;
    if live == 0 && sched.shutting_down.load(Ordering::Acquire) {
        let _guard = sched.exited.0.lock();
        sched.exited.1.notify_all();
    }
}

/// A slot whose serial is past this is retired when its process ends. An
/// occupant advances the serial at most twice (its identity, and its
/// detached remnant after a `Kill`), so serials never wrap: a pid, slot index
/// and serial, names one process for the life of the runtime. A slot reused
/// at 1.7M spawns/s runs out after about 42 minutes; retiring it costs its
/// 300-odd bytes.
pub(crate) const RETIRE_AT: u32 = u32::MAX - 2;

fn recycle(sched: &Scheduler, slot: &Slot) {
    match WorkerLocal::current_of(sched) {
        Some(worker) => worker.give_slot(slot.index),
        None => sched.table.give_back([slot.index]),
    }
}

/// The crash report of a process stopped at its stack's guard page.
pub(crate) fn overflow_report(pid: Pid, requested: usize, usable: usize) {
    let message = format!(
        "process {pid} overflowed its stack ({usable} usable bytes, {requested} asked for) and was stopped at the guard \
         page: its frames were abandoned (their destructors did not run; locks they held stay held). Give it a larger \
         stack with SpawnOptions::stack_size, or every process with Builder::stack_size"
    );
    if tracing::dispatcher::has_been_set() {
        tracing::error!(target: "ember::crash", pid = %pid, reason = "stack_overflow", stack_bytes = usable, "{message}");
    } else {
        eprintln!("[ember] CRASH REPORT {message}");
    }
}

/// Drops a value that holds user data (messages, a process's closure) on a
/// worker thread, outside any process. A destructor that panics must not take
/// the worker down with it: the panic is caught and logged.
pub(crate) fn drop_on_worker<T>(value: T) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value))).is_err() {
        tracing::error!(target: "ember::crash", "a destructor panicked while a process's data was dropped; ignored");
    }
}

/// The crash report of a process that ended with a non-clean reason
/// (SEMANTICS.md §9.3), through `tracing`. When no `tracing` subscriber is
/// installed it is printed to stderr instead, so a crash is never silent.
fn crash_report(pid: Pid, name: Option<&Name>, reason: &Reason) {
    let location = match reason {
        Reason::Panic { location: Some(l), .. } => Some(l.to_string()),
        _ => None,
    };
    if tracing::dispatcher::has_been_set() {
        tracing::error!(
            target: "ember::crash",
            pid = %pid,
            name = name.map(|n| n.as_str()),
            reason = ?reason,
            location = location.as_deref(),
            "process {pid} exited: {reason:?}"
        );
    } else {
        match name {
            Some(n) => eprintln!("[ember] CRASH REPORT process {pid} ({n}) exited: {reason:?}"),
            None => eprintln!("[ember] CRASH REPORT process {pid} exited: {reason:?}"),
        }
    }
}
