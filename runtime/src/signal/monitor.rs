//! Monitors.

use super::Down;
use crate::mailbox::receive::Marker;
use crate::mailbox::send_to_self;
use crate::name::Name;
use crate::pid::{Pid, Ref};
use crate::process::current::{current, Current};
use crate::process::Message;
use crate::reason::Reason;
use std::sync::atomic::Ordering;

/// Monitors `pid` (Erlang `monitor(process, Pid)`): when it exits, the caller
/// receives exactly one [`Down`] message carrying the returned reference and
/// the exit reason. If `pid` is not alive, the `Down` arrives at once with
/// reason [`Reason::NoProc`].
///
/// Monitors are one-way and independent: monitoring the same process twice
/// gives two references and two `Down` messages. The target learns nothing.
///
/// Monitoring oneself (by pid or by one's own name) returns a fresh
/// reference and creates no monitor, as in OTP: nothing is listed in
/// [`process_info`](crate::process_info) and [`demonitor`] returns `false`.
///
/// ```
/// use ember_runtime::{monitor, receive, spawn, Down, Reason, Pid};
/// ember_runtime::run(|| {
///     let pid = spawn(|| { ember_runtime::receive::<()>(); });
///     let m = monitor(pid);
///     pid.exit(Reason::custom("stop"));
///     let down: Down = receive();
///     assert_eq!((down.monitor, down.pid, down.reason), (m, pid, Reason::custom("stop")));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn monitor(pid: Pid) -> Ref {
    let cur = current();
    cur.charge(1);
    monitor_pid(&cur, pid, None)
}

fn monitor_pid(cur: &Current, pid: Pid, name: Option<Name>) -> Ref {
    let monitor = Ref::new();
    if pid == cur.pid() {
        // As the BEAM: a monitor of oneself is a fresh reference and nothing
        // else. Its `Down` could never be received, so none is kept.
        return monitor;
    }
    if pid.node != cur.sched().node && crate::node::is_remote(pid) {
        crate::node::monitor_remote(cur, pid, monitor, name);
        return monitor;
    }
    monitor_local(cur, pid, monitor, name, None);
    monitor
}

/// A call's monitor of its server and its request, together: the caller's
/// side of the monitor is recorded where the caller's mailbox end is read,
/// and the server's side in the critical section that delivers the request.
/// One lock of each process instead of `marker`, `monitor` and `send`'s four.
/// Returns the caller's mailbox end before the monitor: the reply and the
/// `Down` can only be newer. `pid` is another process of this runtime.
pub(crate) fn monitor_with_request(cur: &Current, pid: Pid, monitor: Ref, request: Message) -> Marker {
    debug_assert!(pid != cur.pid() && pid.node == cur.sched().node);
    monitor_local(cur, pid, monitor, None, Some(request))
}

/// The local monitor of `pid`: the watcher's side first, then the target's.
/// The watcher's side must exist before the target's, so that a `Down` finds
/// it; nothing needs the two at once (a target that exits between the two
/// steps refuses the second, and the watcher takes its `NoProc` itself).
///
/// A target that is exiting but not yet gone still takes a plain monitor:
/// its exit procedure answers it with `noproc` after its own exit signals
/// (see `process/exit.rs`). With a `request`, the target's side is recorded
/// in the request's delivery, which an exiting target refuses: the call
/// then gets its `NoProc` here.
fn monitor_local(cur: &Current, pid: Pid, monitor: Ref, name: Option<Name>, request: Option<Message>) -> Marker {
    let me = cur.pid();
    let target = super::link::other_slot(cur, pid);
    let mark = {
        let mut mine = cur.slot().shared.lock();
        if target.is_some() {
            mine.relations.make().monitors.insert_new(monitor, (pid, name.clone()));
        }
        Marker::at(mine.next_seq)
    };
    let record = |theirs: &mut crate::process::Shared| theirs.relations.make().monitored_by.insert_new(monitor, me);
    let active = match (target, request) {
        (None, _) => false,
        (Some(_), Some(request)) => cur.sched().deliver_with(pid, request, false, false, record),
        (Some(target), None) => {
            let mut theirs = target.shared.lock();
            let same = target.serial.load(Ordering::Relaxed) == pid.serial;
            if same {
                record(&mut theirs);
            }
            same
        }
    };
    if !active {
        if target.is_some() {
            cur.slot().shared.lock().relations.remove_monitor(&monitor);
        }
        send_to_self(cur, Down { monitor, pid, name, reason: Reason::NoProc });
    }
    mark
}

/// Monitors the process registered under `name` (Erlang
/// `monitor(process, Name)`). The name is resolved once, now; the [`Down`]
/// carries the name. If nothing is registered under it, the `Down` arrives at
/// once with reason `NoProc` and pid [`Pid::UNDEFINED`].
///
/// ```
/// use ember_runtime::{monitor_name, receive, Down, Reason, Pid};
/// ember_runtime::run(|| {
///     let m = monitor_name("nobody");
///     let down: Down = receive();
///     assert_eq!((down.monitor, down.pid, down.reason), (m, Pid::UNDEFINED, Reason::NoProc));
///     assert_eq!(down.name.unwrap().as_str(), "nobody");
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn monitor_name(name: impl Into<Name>) -> Ref {
    let cur = current();
    cur.charge(1);
    let name = name.into();
    match cur.sched().names.whereis(&name) {
        Some(pid) => monitor_pid(&cur, pid, Some(name)),
        None => {
            let monitor = Ref::new();
            send_to_self(&cur, Down { monitor, pid: Pid::UNDEFINED, name: Some(name), reason: Reason::NoProc });
            monitor
        }
    }
}

/// Removes a monitor the caller holds. Returns `true` when the monitor was
/// active and is now removed, so no [`Down`] for it was or will be delivered
/// (Erlang `demonitor(Ref, [info])`); `false` when it had already fired (its
/// `Down` may be in the mailbox: see [`demonitor_flush`]), was removed
/// before, or is not the caller's.
///
/// After `demonitor` returns, no `Down` for `monitor` is added to the mailbox.
///
/// ```
/// use ember_runtime::{demonitor, monitor, spawn, receive};
/// ember_runtime::run(|| {
///     let pid = spawn(|| { receive::<()>(); });
///     let m = monitor(pid);
///     assert!(demonitor(m));
///     assert!(!demonitor(m));
///     ember_runtime::send(pid, ());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn demonitor(monitor: Ref) -> bool {
    let cur = current();
    cur.charge(1);
    remove_monitor(&cur, monitor)
}

fn remove_monitor(cur: &Current, monitor: Ref) -> bool {
    let removed = cur.slot().shared.lock().relations.remove_monitor(&monitor);
    let Some((target, _)) = removed else {
        return false;
    };
    if target.node == cur.sched().node {
        remove_target_side(cur, target, monitor);
    } else {
        crate::node::demonitor_remote(cur.pid(), target, monitor);
    }
    true
}

/// Removes the target's side of a local monitor whose watcher's side is
/// gone: by a demonitor, or with a call's reply
/// (`Scheduler::deliver_reply`). Nothing if the target has exited.
pub(crate) fn remove_target_side(cur: &Current, target: Pid, monitor: Ref) {
    if let Some(slot) = cur.sched().slot(target) {
        let mut theirs = slot.shared.lock();
        if slot.serial.load(Ordering::Relaxed) == target.serial && theirs.relations.remove_monitored_by(&monitor) {
            crate::process::hibernation::removed_from(slot, &mut theirs.relations);
        }
    }
}

/// [`demonitor`], and also removes the monitor's `Down` message if it is
/// already in the mailbox (Erlang `demonitor(Ref, [flush, info])`). Returns
/// whether the monitor was still active.
///
/// ```
/// use ember_runtime::{demonitor_flush, monitor, receive_timeout, spawn, Down};
/// use std::time::Duration;
/// ember_runtime::run(|| {
///     let pid = spawn(|| {});
///     let m = monitor(pid);
///     ember_runtime::sleep(Duration::from_millis(10));
///     demonitor_flush(m);
///     assert!(receive_timeout::<Down>(Duration::ZERO).is_none());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn demonitor_flush(monitor: Ref) -> bool {
    let cur = current();
    cur.charge(1);
    let was_active = remove_monitor(&cur, monitor);
    if !was_active {
        // Its Down may be waiting: in the private mailbox, or still in the
        // inbox (where draining now drops it, the monitor being gone).
        cur.drain_or_die();
        crate::mailbox::remove_first(&cur, |m| m.downcast_ref::<Down>().is_some_and(|d| d.monitor == monitor));
    }
    was_active
}
