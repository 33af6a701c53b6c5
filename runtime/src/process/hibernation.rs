//! What hibernating gives back besides the stack.
//!
//! A hibernating process is expected to wait long and cost little (OTP's
//! `hibernate` garbage-collects and shrinks the heap to fit). Here its queues
//! and sets keep whatever capacity they grew to: a GenServer started with
//! `gen_server::start` keeps the vector its starter's monitor was in, empty
//! since the start protocol ended, which is about as much as the rest of
//! the hibernated server. Hibernation shrinks them to fit, freeing the empty
//! ones; the next message or monitor allocates again, which a process that
//! hibernates can afford (it has just given its stack back).

use super::sets::Relations;
use super::Slot;
use std::sync::atomic::Ordering;

/// Shrinks the process's queues and sets to fit (called by the process, on
/// its way out of the coroutine to hibernate).
///
/// # Safety
///
/// The caller must be the process in `slot`, running (see [`Slot::local`]).
pub(crate) unsafe fn shrink_to_fit(slot: &Slot) {
    {
        // SAFETY: the caller is the running process; short borrow.
        let local = unsafe { slot.local() };
        local.mailbox.shrink_to_fit();
    }
    // Only buffers are freed under the lock (no message is dropped here):
    // no user code runs while it is held.
    let mut shared = slot.shared.lock();
    shared.inbox.shrink_to_fit();
    shared.relations.shrink_to_fit();
}

/// Called, under the lock of the process in `slot`, after another process
/// removed an entry from one of its sets (a demonitor, an unlink): if the
/// process hibernates, shrinks its sets to fit again (freeing an emptied
/// one, and the sets' box once all three are empty). The starter of a
/// GenServer demonitors it only after the server has gone to sleep.
///
/// The flag is read without ordering: a process that has just woken keeps
/// an empty set's capacity a little longer, one that is falling asleep may
/// lose it. Neither changes what the set holds.
pub(crate) fn removed_from(slot: &Slot, relations: &mut Relations) {
    if slot.hibernating.load(Ordering::Relaxed) {
        relations.shrink_to_fit();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::process::current::current;
    use crate::process::sets::{Sets, SmallMap};
    use crate::process::Shared;
    use crate::{demonitor, hibernate, link, monitor, process_info, receive, send, spawn, yield_now, Status};

    fn capacity<K, V>(map: &SmallMap<K, V>) -> usize {
        match map {
            SmallMap::Small(v) => v.capacity(),
            SmallMap::Large(m) => m.capacity(),
        }
    }

    /// The capacity of one of the process's sets (0 when they were freed).
    fn capacity_of<K, V>(shared: &Shared, set: impl Fn(&Sets) -> &SmallMap<K, V>) -> usize {
        shared.relations.get().map_or(0, |sets| capacity(set(sets)))
    }

    #[test]
    fn a_hibernating_process_keeps_no_spare_capacity() {
        crate::run(|| {
            let me = crate::self_pid();
            let pid = spawn(move || {
                link(me).expect("the test process is alive");
                send(me, ());
                // Waits for the monitor below to come and go.
                receive::<()>();
                hibernate(|| {
                    receive::<()>();
                })
            });
            receive::<()>();
            let watch = monitor(pid);
            assert!(demonitor(watch));
            send(pid, ());
            let mut rounds = 0;
            while process_info(pid).map(|i| i.status) != Some(Status::Hibernating) {
                assert!(rounds < 1_000_000, "the process never hibernated");
                rounds += 1;
                yield_now();
            }
            let cur = current();
            let slot = cur.sched().slot(pid).expect("its slot");
            {
                let shared = slot.shared.lock();
                assert_eq!(capacity_of(&shared, |s| &s.monitored_by), 0, "the monitor's room is freed once it is gone");
                assert_eq!(capacity_of(&shared, |s| &s.links), 1, "room for its one link only");
                assert_eq!(shared.inbox.capacity(), 0);
            }
            // Monitored while asleep, then demonitored (as a GenServer's
            // starter does): the emptied set is freed at once.
            let watch = monitor(pid);
            assert_eq!(capacity_of(&slot.shared.lock(), |s| &s.monitored_by), 4, "a vector's first growth");
            assert!(demonitor(watch));
            assert_eq!(
                capacity_of(&slot.shared.lock(), |s| &s.monitored_by),
                0,
                "freed when emptied while it hibernates"
            );
            send(pid, ());
        })
        .unwrap();
    }

    #[test]
    fn a_hibernating_process_without_links_or_monitors_frees_their_box() {
        crate::run(|| {
            let me = crate::self_pid();
            let pid = spawn(move || {
                // Monitored and demonitored by the test below before it
                // sleeps: its sets' box is allocated, then empty.
                receive::<()>();
                send(me, ());
                hibernate(|| {
                    receive::<()>();
                })
            });
            let watch = monitor(pid);
            assert!(demonitor(watch));
            let cur = current();
            let slot = cur.sched().slot(pid).expect("its slot");
            assert!(slot.shared.lock().relations.is_allocated(), "a monitor allocates the box");
            send(pid, ());
            receive::<()>();
            let mut rounds = 0;
            while process_info(pid).map(|i| i.status) != Some(Status::Hibernating) {
                assert!(rounds < 1_000_000, "the process never hibernated");
                rounds += 1;
                yield_now();
            }
            assert!(!slot.shared.lock().relations.is_allocated(), "an empty box is freed by hibernating");
            send(pid, ());
        })
        .unwrap();
    }
}
