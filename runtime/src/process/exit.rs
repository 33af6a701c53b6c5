//! How a process ends.
//!
//! The exit procedure runs on the worker's own stack once the process's
//! coroutine has finished (or, for a process that holds no stack, instead of
//! starting it). In order (SEMANTICS.md §10, item 2):
//!
//! 1. mark the process not alive and take its links, monitors and name, all
//!    under the slot lock — from here on, links and monitors aimed at it get
//!    `noproc`, and messages to it are dropped;
//! 2. release the registered name, *before* any signal goes out, so a
//!    supervisor that hears of the exit can register the name again at once;
//! 3. remove the monitors it held from their targets;
//! 4. send an exit signal with the link flag to every linked process, and a
//!    DOWN to every monitoring process (each after any message this process
//!    sent them earlier: same inbox, same order);
//! 5. emit a crash report if the reason is not clean and the process failed
//!    by itself (a panic, `exit`) — a process killed by an exit signal ran
//!    no code and, as in OTP, gets none;
//! 6. advance the slot's serial (the pid is dead from now on), answer the
//!    links and monitors made while it was exiting with `noproc` (after
//!    everything above, in the order the BEAM gives), and recycle the slot.

use super::{Control, Slot};
use crate::reason::Reason;
use crate::scheduler::worker::WorkerLocal;
use crate::scheduler::Scheduler;
use std::sync::atomic::Ordering;

/// Runs the exit procedure for the process in `slot` (owned by the caller,
/// whose coroutine is finished or was never started). `by_signal` tells
/// whether an exit signal killed it: such a process ran no code of its own
/// to fail, and (as in OTP) gets no crash report.
pub(crate) fn terminate(sched: &Scheduler, slot: &Slot, reason: Reason, by_signal: bool) {
    let pid = slot.pid(sched.node);
    // SAFETY: the caller owns the process and no other reference to its
    // `Local` is live (the coroutine has finished).
    let local = unsafe { slot.local() };
    let (links, monitors, monitored_by, name, inbox) = {
        let mut shared = slot.shared.lock();
        shared.alive = false;
        shared.controls = 0;
        (
            shared.links.take(),
            shared.monitors.take(),
            shared.monitored_by.take(),
            shared.name.take(),
            std::mem::take(&mut shared.inbox),
        )
    };
    slot.urgent.store(false, Ordering::Relaxed);
    slot.inbox_pending.store(false, Ordering::Relaxed);
    // Messages nobody will read; dropped outside the lock, their destructors
    // may do anything.
    drop_on_worker(inbox);
    drop_on_worker(std::mem::take(&mut local.mailbox));
    slot.mailbox_len.store(0, Ordering::Relaxed);
    // Sockets it still owns: released, or closed if its stack was abandoned.
    local.resources.on_exit(pid);
    local.exit_reason = None;
    local.returning_to_exit = false;
    local.hibernated = false;
    let on_exit = local.on_exit.take();

    if let Some(name) = &name {
        sched.names.release(name, pid);
    }
    for (monitor, (target, _)) in monitors {
        if let Some(t) = sched.slot(target) {
            let mut shared = t.shared.lock();
            if t.serial.load(Ordering::Relaxed) == target.serial {
                shared.monitored_by.remove(&monitor);
            }
        }
    }
    for (linked, ()) in links {
        crate::scheduler::deliver_anywhere(
            linked,
            Box::new(Control::Exit { from: pid, reason: reason.clone(), link: true }),
            true,
            true,
        );
    }
    for (monitor, watcher) in monitored_by {
        if watcher != pid {
            crate::scheduler::deliver_anywhere(
                watcher,
                Box::new(Control::Down { monitor, pid, reason: reason.clone() }),
                true,
                false,
            );
        }
    }
    if !reason.is_clean() && !by_signal {
        crash_report(pid, name.as_ref(), &reason);
    }
    if let Some(f) = on_exit {
        f(&reason);
    }

    // The pid dies here: senders compare serials under the slot lock. Links
    // and monitors made while the process was exiting (after step 1) are
    // answered now, with `noproc`, in the same critical section that retires
    // the pid: they reach their owners after every signal sent above, as the
    // BEAM orders an exiting process's answers after its exit signals.
    let (late_links, late_monitors) = {
        let mut shared = slot.shared.lock();
        slot.serial.store(slot.serial.load(Ordering::Relaxed).wrapping_add(1), Ordering::Release);
        (shared.links.take(), shared.monitored_by.take())
    };
    for (linked, ()) in late_links {
        crate::scheduler::deliver_anywhere(
            linked,
            Box::new(Control::Exit { from: pid, reason: Reason::NoProc, link: true }),
            true,
            true,
        );
    }
    for (monitor, watcher) in late_monitors {
        crate::scheduler::deliver_anywhere(
            watcher,
            Box::new(Control::Down { monitor, pid, reason: Reason::NoProc }),
            true,
            false,
        );
    }
    slot.trap_exit.store(false, Ordering::Relaxed);
    slot.hibernating.store(false, Ordering::Relaxed);
    slot.reductions.store(0, Ordering::Relaxed);
    slot.run.release();
    match WorkerLocal::current_of(sched) {
        Some(worker) => worker.give_slot(slot.index),
        None => sched.table.give_back([slot.index]),
    }
    let live = sched.table.live.fetch_sub(1, Ordering::AcqRel) - 1;
    if live == 0 && sched.shutting_down.load(Ordering::Acquire) {
        let _guard = sched.exited.0.lock();
        sched.exited.1.notify_all();
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
fn crash_report(pid: crate::Pid, name: Option<&crate::Name>, reason: &Reason) {
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
