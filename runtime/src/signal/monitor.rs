//! Monitors.

use super::link::lock_pair;
use super::Down;
use crate::mailbox::send_to_self;
use crate::name::Name;
use crate::pid::{Pid, Ref};
use crate::process::current::{current, Current};
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
    let me = cur.pid();
    if pid == me {
        // As the BEAM: a monitor of oneself is a fresh reference and nothing
        // else. Its `Down` could never be received, so none is kept.
        return monitor;
    }
    if pid.node != cur.sched().node && crate::node::is_remote(pid) {
        crate::node::monitor_remote(cur, pid, monitor, name);
        return monitor;
    }
    let target = super::link::other_slot(cur, pid);
    let active = match target {
        Some(target) => {
            let (mut mine, mut theirs) = lock_pair(cur.slot(), target);
            // A target that is exiting but not yet gone still takes the
            // monitor: its exit procedure answers it with `noproc` after its
            // own exit signals (see `process/exit.rs`).
            if target.serial.load(Ordering::Relaxed) == pid.serial {
                theirs.monitored_by.insert_new(monitor, me);
                mine.monitors.insert_new(monitor, (pid, name.clone()));
                true
            } else {
                false
            }
        }
        None => false,
    };
    if !active {
        send_to_self(cur, Down { monitor, pid, name, reason: Reason::NoProc });
    }
    monitor
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
    let removed = cur.slot().shared.lock().monitors.remove(&monitor);
    let Some((target, _)) = removed else {
        return false;
    };
    let sched = cur.sched();
    if target.node == sched.node {
        if let Some(slot) = sched.slot(target) {
            let mut theirs = slot.shared.lock();
            if slot.serial.load(Ordering::Relaxed) == target.serial && theirs.monitored_by.remove(&monitor).is_some() {
                crate::process::hibernation::removed_from(slot, &mut theirs.monitored_by);
            }
        }
    } else {
        crate::node::demonitor_remote(cur.pid(), target, monitor);
    }
    true
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
