//! Links, `trap_exit` and explicit exit signals.

use crate::mailbox::send_to_self;
use crate::pid::Pid;
use crate::process::current::{current, try_current, Current};
use crate::process::exit::die;
use crate::process::{Control, Slot};
use crate::reason::Reason;
use crate::signal::decision::{exit_signal_outcome, SignalOutcome};
use crate::signal::Exit;
use parking_lot::MutexGuard;
use std::fmt;
use std::sync::atomic::Ordering;

/// Why [`link`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// The process does not exist (Erlang's `noproc` error). Only returned
    /// when the caller does not trap exits; a trapping caller gets an
    /// [`Exit`] message with reason `NoProc` instead.
    NoProc(Pid),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::NoProc(pid) => write!(f, "noproc: cannot link to {pid}, it is not alive"),
        }
    }
}

impl std::error::Error for LinkError {}

/// The slot of `pid` when it is another slot of the caller's runtime than
/// the caller's own: what link, unlink and monitor lock together with the
/// caller's. A pid of the caller's own slot other than the caller's pid is an
/// older occupant of that slot (slots are reused last in, first out: a
/// restarted child often lands in its predecessor's slot), i.e. a process
/// that no longer exists — `None`, as for any dead pid, so that the slot is
/// never locked twice.
pub(crate) fn other_slot(cur: &Current, pid: Pid) -> Option<&Slot> {
    (pid.node == cur.sched().node).then(|| cur.sched().slot(pid)).flatten().filter(|t| t.index != cur.slot().index)
}

/// Locks two distinct slots of one runtime in index order (no deadlock
/// between two processes linking to each other at once). See [`other_slot`].
pub(crate) fn lock_pair<'a>(
    a: &'a Slot,
    b: &'a Slot,
) -> (MutexGuard<'a, crate::process::Shared>, MutexGuard<'a, crate::process::Shared>) {
    assert_ne!(a.index, b.index, "lock_pair of one slot: a self-deadlock");
    if a.index < b.index {
        let ga = a.shared.lock();
        (ga, b.shared.lock())
    } else {
        let gb = b.shared.lock();
        (a.shared.lock(), gb)
    }
}

/// Links the caller to `pid` (Erlang `link/1`).
///
/// Links are bidirectional and there is at most one per pair: linking twice
/// is a no-op, as is linking to oneself. If `pid` is not alive, the caller
/// gets [`LinkError::NoProc`] — unless it traps exits, in which case `link`
/// succeeds and an [`Exit`] message with reason [`Reason::NoProc`] arrives.
///
/// ```
/// use ember_runtime::{link, receive, spawn, trap_exit, Exit, Reason, LinkError};
/// ember_runtime::run(|| {
///     let pid = spawn(|| {});
///     let m = ember_runtime::monitor(pid);
///     let _: ember_runtime::Down = receive(); // now surely dead
///     assert_eq!(link(pid), Err(LinkError::NoProc(pid)));
///     trap_exit(true);
///     assert_eq!(link(pid), Ok(()));
///     let exit: Exit = receive();
///     assert_eq!((exit.from, exit.reason), (pid, Reason::NoProc));
///     let _ = m;
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn link(pid: Pid) -> Result<(), LinkError> {
    let cur = current();
    cur.charge(1);
    let me = cur.pid();
    if pid == me {
        return Ok(());
    }
    if pid.node != cur.sched().node && crate::node::is_remote(pid) {
        crate::node::link_remote(&cur, pid);
        return Ok(());
    }
    let trapping = cur.slot().trap_exit.load(Ordering::Relaxed);
    let linked = match other_slot(&cur, pid) {
        Some(target) => {
            let (mut mine, mut theirs) = lock_pair(cur.slot(), target);
            let same = target.serial.load(Ordering::Relaxed) == pid.serial;
            // A trapping caller linking to a process that is exiting but
            // not yet gone gets its `Exit { reason: NoProc }` from the
            // exit procedure, after the process's own signals (see
            // `process/exit.rs`); a non-trapping caller gets the error now.
            if same && (theirs.alive || trapping) {
                if mine.relations.make().links.insert(pid, ()) {
                    theirs.relations.make().links.insert(me, ());
                }
                true
            } else {
                false
            }
        }
        None => false,
    };
    if linked {
        Ok(())
    } else if trapping {
        send_to_self(&cur, Exit { from: pid, reason: Reason::NoProc });
        Ok(())
    } else {
        Err(LinkError::NoProc(pid))
    }
}

/// Removes the link between the caller and `pid`, if any (Erlang `unlink/1`).
///
/// Once `unlink` returns, the link has no further effect on the caller. An
/// [`Exit`] message from `pid` may already be in a trapping caller's mailbox;
/// receive it with a zero timeout to flush it, as OTP does.
///
/// ```
/// use ember_runtime::{link, unlink, spawn, receive, process_info, self_pid};
/// ember_runtime::run(|| {
///     let pid = spawn(|| { receive::<()>(); });
///     link(pid).unwrap();
///     assert_eq!(process_info(self_pid()).unwrap().links, vec![pid]);
///     unlink(pid);
///     assert!(process_info(self_pid()).unwrap().links.is_empty());
///     ember_runtime::send(pid, ());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn unlink(pid: Pid) {
    let cur = current();
    cur.charge(1);
    let me = cur.pid();
    if pid == me {
        return;
    }
    match other_slot(&cur, pid) {
        Some(target) => {
            let (mut mine, mut theirs) = lock_pair(cur.slot(), target);
            if mine.relations.remove_link(&pid)
                && target.serial.load(Ordering::Relaxed) == pid.serial
                && theirs.relations.remove_link(&me)
            {
                crate::process::hibernation::removed_from(target, &mut theirs.relations);
            }
        }
        None => {
            let removed = cur.slot().shared.lock().relations.remove_link(&pid);
            if removed && pid.node != cur.sched().node {
                crate::node::unlink_remote(me, pid);
            }
        }
    }
}

/// Sets whether the caller traps exits; returns the previous value (Erlang
/// `process_flag(trap_exit, Bool)`).
///
/// A trapping process receives exit signals (other than an explicit
/// `Reason::Kill`) as [`Exit`] messages at the end of its mailbox instead of
/// dying. The flag is read when a signal is received, so it can be toggled at
/// any time.
///
/// ```
/// use ember_runtime::trap_exit;
/// ember_runtime::run(|| {
///     assert!(!trap_exit(true));
///     assert!(trap_exit(false));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn trap_exit(on: bool) -> bool {
    let cur = current();
    cur.charge(1);
    cur.slot().trap_exit.swap(on, Ordering::AcqRel)
}

/// Sends an exit signal (see [`Pid::exit`]).
pub(crate) fn exit_signal(pid: Pid, reason: Reason) {
    let Some(cur) = try_current() else {
        crate::mailbox::deliver::send_control(pid, Control::Exit { from: Pid::UNDEFINED, reason, link: false }, true);
        return;
    };
    let me = cur.pid();
    if pid == me {
        // A signal to oneself is acted on at once: it is ordered before
        // anything the caller does next.
        let trapping = cur.slot().trap_exit.load(Ordering::Relaxed);
        match exit_signal_outcome(me, me, reason, false, trapping) {
            SignalOutcome::Ignore => {}
            SignalOutcome::Message(exit) => send_to_self(&cur, exit),
            // A process already dying (a destructor calling this) is not
            // unwound a second time: that would abort the OS process.
            SignalOutcome::Die(reason) => {
                if !cur.unwinding() {
                    die(&cur, reason, true)
                }
            }
            SignalOutcome::Kill => {
                cur.kill_identity();
                if !cur.unwinding() {
                    die(&cur, Reason::Killed, true)
                }
            }
        }
        return;
    }
    cur.charge(1);
    crate::mailbox::deliver::send_control(pid, Control::Exit { from: me, reason, link: false }, true);
}
