//! Mailboxes: sending, and selective receive.
//!
//! A process's mailbox has two parts. The **inbox** (in the slot's shared
//! part, behind its lock) is where senders append; the **private mailbox**
//! (owned by the process) is what `receive` scans. Each receive first moves
//! the whole inbox into the private mailbox — one lock, and an O(1) swap when
//! the private mailbox is empty and no control signal is waiting — then
//! scans. Messages a receive skips stay where they are, in order; a receive
//! that waits only scans messages that arrived after its last scan, so a
//! receive loop over a large mailbox stays linear, and taking the first
//! message of a type already in front is O(1).
//!
//! Both queues are ring buffers that grow with a burst. A queue left empty
//! with room for more than [`KEEP_ROOM`] letters gives that room back (see
//! [`give_back_room`]): the BEAM frees a message's memory once it is
//! received, and a process that once had a burst of a million messages
//! must not hold 24 MB for the rest of its life.

pub(crate) mod deliver;
pub(crate) mod drain;
pub(crate) mod receive;

pub use receive::{receive, receive_any, receive_any_timeout, receive_if, receive_if_timeout, receive_timeout, Select};

use crate::name::{Dest, NoProc};
use crate::pid::Pid;
use crate::process::current::{current, try_current, Current};
use crate::process::{Letter, Message};
use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;

/// Sends `msg` to `pid` (Erlang `Pid ! Msg`).
///
/// Works from a process or from any plain thread. Sending to a dead pid is a
/// silent no-op, as on the BEAM. Messages from one sender to one receiver
/// arrive in the order they were sent.
///
/// ```
/// use ember_runtime::{receive, self_pid, send};
/// ember_runtime::run(|| {
///     send(self_pid(), 1u8);
///     send(self_pid(), "two");
///     assert_eq!(receive::<&str>(), "two");
///     assert_eq!(receive::<u8>(), 1);
/// })
/// .unwrap();
/// ```
pub fn send<M: Any + Send>(pid: Pid, msg: M) {
    match try_current() {
        Some(cur) => {
            // Charge first: a process that is exiting must not send.
            cur.charge(1);
            if pid.node == cur.sched().node {
                cur.sched().deliver(pid, Box::new(msg), false, false);
            } else {
                crate::mailbox::deliver::deliver_anywhere(pid, Box::new(msg), false, false);
            }
        }
        None => {
            crate::mailbox::deliver::deliver_anywhere(pid, Box::new(msg), false, false);
        }
    }
}

/// Sends `msg` to the process registered under `name` (Erlang
/// `Name ! Msg`), or to any other [`Dest`]: a pid, a via name, or
/// `(name, node)` for a name registered on another node (Erlang
/// `{Name, Node} ! Msg`).
///
/// Unlike sending to a pid, sending to a local name nobody holds is an
/// error. A name on another node is resolved there: the send goes through
/// the runtime's distribution ([`crate::node::Distribution`], which
/// `ember_dist` provides), connecting to the node if needed, and never
/// fails here, as in OTP (a node that cannot be reached drops the message).
/// `(name, this_node)` is the local name; without a distribution, a message
/// for another node is dropped.
///
/// ```
/// use ember_runtime::{register, receive, self_pid, send_named};
/// ember_runtime::run(|| {
///     register("me", self_pid()).unwrap();
///     send_named("me", 5i32).unwrap();
///     assert_eq!(receive::<i32>(), 5);
///     assert!(send_named("nobody", 5i32).is_err());
///     // No distribution in this runtime: nowhere to go, no error.
///     assert!(send_named(("me", "elsewhere@localhost"), 6i32).is_ok());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn send_named<M: Any + Send>(dest: impl Into<Dest>, msg: M) -> Result<(), NoProc> {
    let cur = current();
    cur.charge(1);
    let dest = dest.into();
    match &*dest.local() {
        Dest::Name(name) => {
            let pid = cur.sched().names.whereis(name).ok_or_else(|| NoProc::Name(name.clone()))?;
            cur.sched().deliver(pid, Box::new(msg), false, false);
        }
        Dest::Pid(pid) => send(*pid, msg),
        Dest::Via(via) => via.send(Box::new(msg))?,
        Dest::Remote(name, node) => crate::node::send_named_remote(&cur, name, node, Box::new(msg)),
    }
    Ok(())
}

/// Appends a message to the caller's own mailbox (through the inbox, so it is
/// ordered after everything that already arrived).
pub(crate) fn send_to_self<M: Any + Send>(cur: &Current, msg: M) {
    let slot = cur.slot();
    let mut shared = slot.shared.lock();
    shared.push(Box::new(msg));
    slot.inbox_pending.store(true, Ordering::Relaxed);
}

/// The room, in letters, an empty queue keeps: a steady stream of messages
/// (a server with a few callers) never reallocates, and what a burst grows
/// beyond it is freed once the burst is consumed. 1,024 letters are 24 KiB.
pub(crate) const KEEP_ROOM: usize = 1024;

/// Frees the buffer of `queue` if it is empty and larger than
/// [`KEEP_ROOM`]. Called where a queue may have just been emptied: one
/// compare on the hot path, the rest out of line.
#[inline]
pub(crate) fn give_back_room(queue: &mut VecDeque<Letter>) {
    // Capacity first: it is rarely above the bar, so the common case is one
    // compare.
    if queue.capacity() > KEEP_ROOM && queue.is_empty() {
        free_room(queue);
    }
}

#[cold]
#[inline(never)]
fn free_room(queue: &mut VecDeque<Letter>) {
    *queue = VecDeque::new();
}

/// Removes the first message of the private mailbox matching `pred`;
/// returns whether one was removed.
pub(crate) fn remove_first(cur: &Current, mut pred: impl FnMut(&Message) -> bool) -> bool {
    // SAFETY: the process is running; the borrow ends within this function
    // and `pred` only inspects messages (callers pass plain closures).
    let local = unsafe { cur.local() };
    let Some(i) = local.mailbox.iter().position(|l| pred(&l.msg)) else { return false };
    let msg = local.mailbox.remove(i).expect("index found above").msg;
    give_back_room(&mut local.mailbox);
    local.mailbox_edits = local.mailbox_edits.wrapping_add(1);
    cur.slot().mailbox_len.store(local.mailbox.len(), Ordering::Relaxed);
    if local.matching {
        // A receive's matcher is running (this is a runtime call inside a
        // predicate) and may be looking at this very message: keep it alive
        // until the matcher returns.
        local.removed_while_matching.get_or_insert_with(Default::default).push(msg);
    } else {
        drop(msg);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::KEEP_ROOM;
    use crate::process::current::current;
    use crate::{receive, receive_timeout, self_pid, send};
    use std::time::Duration;

    /// The capacities of the caller's private mailbox and inbox.
    fn room() -> (usize, usize) {
        let cur = current();
        // SAFETY: the running process reads its own mailbox; short borrow.
        let mailbox = unsafe { cur.local() }.mailbox.capacity();
        let inbox = cur.slot().shared.lock().inbox.capacity();
        (mailbox, inbox)
    }

    #[test]
    fn a_mailbox_gives_back_the_room_of_a_consumed_burst() {
        crate::run(|| {
            for i in 0..10_000u32 {
                send(self_pid(), i);
            }
            assert!(room().1 > KEEP_ROOM, "the burst grew the inbox");
            for i in 0..10_000u32 {
                assert_eq!(receive::<u32>(), i);
            }
            let (mailbox, inbox) = room();
            assert!(mailbox <= KEEP_ROOM && inbox <= KEEP_ROOM, "room kept: mailbox {mailbox}, inbox {inbox}");
        })
        .unwrap();
    }

    #[test]
    fn an_inbox_appended_to_a_waiting_mailbox_gives_back_its_room() {
        crate::run(|| {
            // A message nobody receives yet stays in the private mailbox,
            // so the burst behind it is appended, not swapped in.
            send(self_pid(), 'x');
            assert_eq!(receive_timeout::<()>(Duration::ZERO), None);
            for i in 0..5_000u32 {
                send(self_pid(), i);
            }
            assert_eq!(receive::<u32>(), 0);
            let (mailbox, inbox) = room();
            assert!(mailbox > KEEP_ROOM, "the burst is in the mailbox");
            assert!(inbox <= KEEP_ROOM, "the emptied inbox kept {inbox} letters of room");
            for i in 1..5_000u32 {
                assert_eq!(receive::<u32>(), i);
            }
            assert!(room().0 > KEEP_ROOM, "not empty yet: the room stays");
            assert_eq!(receive::<char>(), 'x');
            assert!(room().0 <= KEEP_ROOM, "emptied: the room is given back");
        })
        .unwrap();
    }

    #[test]
    fn a_mailbox_emptied_by_a_flush_gives_back_its_room() {
        crate::run(|| {
            let (dead, first) = crate::spawn_monitor(|| {});
            crate::receive_if(|d: &crate::Down| d.monitor == first);
            for i in 0..5_000u32 {
                send(self_pid(), i);
            }
            // Monitoring a dead process queues its `Down` behind the burst.
            let late = crate::monitor(dead);
            for i in 0..5_000u32 {
                assert_eq!(receive::<u32>(), i);
            }
            assert!(room().0 > KEEP_ROOM, "the Down is left, and the burst's room");
            // `demonitor_flush` takes the Down out (`remove_first`).
            crate::demonitor_flush(late);
            assert!(room().0 <= KEEP_ROOM, "emptied by the flush: the room is given back");
        })
        .unwrap();
    }

    #[test]
    fn an_inbox_drained_of_signals_gives_back_its_room() {
        // One scheduler: the receiver does not run until the sender waits,
        // so everything below is in its inbox when it first drains.
        let rt = crate::Runtime::builder().schedulers(1).build().unwrap();
        rt.block_on(|| {
            let me = self_pid();
            let receiver = crate::spawn(move || {
                assert_eq!(receive::<u32>(), 0);
                send(me, room().1);
                for i in 1..1_500u32 {
                    assert_eq!(receive::<u32>(), i);
                }
            });
            // A control signal in front (an exit signal with reason normal,
            // which a process that does not trap ignores), so the drain takes
            // the slow path, letter by letter. 1,500 sends stay within one
            // slice's budget: the receiver cannot run in between.
            receiver.exit(crate::Reason::Normal);
            for i in 0..1_500u32 {
                send(receiver, i);
            }
            let inbox = receive::<usize>();
            assert!(inbox <= KEEP_ROOM, "the drained inbox kept {inbox} letters of room");
        })
        .unwrap();
    }

    #[test]
    fn a_small_queue_keeps_its_room() {
        crate::run(|| {
            for _ in 0..3 {
                for i in 0..100u32 {
                    send(self_pid(), i);
                }
                for _ in 0..100 {
                    receive::<u32>();
                }
            }
            let (mailbox, inbox) = room();
            assert!(mailbox.max(inbox) >= 100, "no reallocation for a steady queue: {mailbox}, {inbox}");
        })
        .unwrap();
    }
}
