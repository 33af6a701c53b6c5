//! Delivery: appending a message or control signal to a process's inbox and
//! waking it.
//!
//! Everything another process does to this one goes through the inbox under
//! the slot lock, in one order per slot: that single order is what makes
//! signals between a pair of processes arrive in the order they were sent
//! (SEMANTICS.md §2.1). The `pending` flag raised here lets a receive skip
//! the lock when nothing arrived (see `mailbox::drain`).

use crate::pid::Pid;
use crate::process::{Control, Message};
use crate::scheduler::Scheduler;
use std::sync::atomic::Ordering;

impl Scheduler {
    /// Delivers a message or control signal to `pid` and wakes it. Returns
    /// false when the pid is dead (the message is dropped).
    #[inline]
    pub(crate) fn deliver(&self, pid: Pid, msg: Message, control: bool, urgent: bool) -> bool {
        self.deliver_with(pid, msg, control, urgent, |_| {})
    }

    /// [`deliver`](Self::deliver), running `accepted` on the target's locked
    /// state just before the message is queued, if it is (a call records its
    /// monitor there: `signal::monitor`).
    #[inline]
    pub(crate) fn deliver_with(
        &self,
        pid: Pid,
        msg: Message,
        control: bool,
        urgent: bool,
        accepted: impl FnOnce(&mut crate::process::Shared),
    ) -> bool {
        let Some(slot) = self.slot(pid) else {
            drop_refused(msg);
            return false;
        };
        let long_queue = self.system_monitor.queue_threshold();
        let queued = {
            let mut shared = slot.shared.lock();
            if !shared.alive || slot.serial.load(Ordering::Relaxed) != pid.serial {
                drop(shared);
                drop_refused(msg);
                return false;
            }
            accepted(&mut shared);
            shared.push(msg);
            slot.inbox_pending.store(true, Ordering::Relaxed);
            if control {
                shared.controls += 1;
                if urgent {
                    slot.urgent.store(true, Ordering::Release);
                }
            }
            // Only while a system monitor asks for long queues.
            (long_queue != 0)
                .then(|| slot.mailbox_len.load(Ordering::Relaxed) + shared.inbox.len() - shared.controls as usize)
        };
        if slot.run.wake() {
            self.schedule_woken(slot.index);
        }
        if let Some(len) = queued.filter(|&len| len >= long_queue) {
            self.system_monitor.queue_long(self, slot, pid, len);
        }
        true
    }

    /// Delivers a reply to a call: only while the caller still holds the
    /// monitor `tag` on the server (it is removed when the call returns or
    /// times out), so a late reply never lands in the caller's mailbox — the
    /// role process aliases play in OTP. `ends_monitor`: the reply is the
    /// call's only answer and takes the caller's side of the monitor with it
    /// (OTP's `reply_demonitor` alias), so a second reply is dropped too and
    /// the caller has only the server's side left to remove.
    pub(crate) fn deliver_reply(&self, pid: Pid, tag: crate::Ref, msg: Message, ends_monitor: bool) -> bool {
        let Some(slot) = self.slot(pid) else {
            drop_refused(msg);
            return false;
        };
        {
            let mut shared = slot.shared.lock();
            let caller = shared.alive && slot.serial.load(Ordering::Relaxed) == pid.serial;
            // Only the caller's own monitors are looked at (or taken).
            let holds = caller
                && if ends_monitor {
                    shared.relations.remove_monitor(&tag).is_some()
                } else {
                    shared.relations.has_monitor(&tag)
                };
            if !holds {
                drop(shared);
                drop_refused(msg);
                return false;
            }
            shared.push(msg);
            slot.inbox_pending.store(true, Ordering::Relaxed);
        }
        if slot.run.wake() {
            self.schedule_woken(slot.index);
        }
        true
    }
}

/// Drops a message nobody will receive: in the sending process (its own
/// code, so its destructor may use the runtime), or, on a thread that runs no
/// process (a worker firing a timer, the monitor, a reactor poll), through
/// `drop_on_worker`, so that a destructor that panics or asks for
/// `self_pid()` cannot take the thread down. Never under a lock.
fn drop_refused(msg: Message) {
    if crate::process::current::try_current().is_some() {
        drop(msg);
    } else {
        crate::process::exit::drop_on_worker(msg);
    }
}

/// Delivers to a pid of any runtime, from any thread.
pub(crate) fn deliver_anywhere(pid: Pid, msg: Message, control: bool, urgent: bool) -> bool {
    if let Some(cur) = crate::process::current::try_current() {
        if cur.sched().node == pid.node {
            return cur.sched().deliver(pid, msg, control, urgent);
        }
    }
    match Scheduler::of_node(pid.node) {
        Some(sched) => sched.deliver(pid, msg, control, urgent),
        None => crate::node::deliver_remote(pid, msg, control),
    }
}

/// Sends `msg` to a pid of any runtime. Returns false if it is dead.
pub(crate) fn send_message(pid: Pid, msg: Message) -> bool {
    deliver_anywhere(pid, msg, false, false)
}

/// Delivers a control signal to a pid of any runtime.
pub(crate) fn send_control(pid: Pid, control: Control, urgent: bool) -> bool {
    deliver_anywhere(pid, Box::new(control), true, urgent)
}
