//! The pinned inbox: how other threads hand a worker a process that only it
//! may run.
//!
//! A started process is pinned to the worker thread it runs on (see
//! `placement`): its stack may hold thread-bound state, so only that thread
//! may resume it. A waker on another thread therefore cannot put it on its
//! own run-next or on a stealable queue; it pushes the slot index onto the
//! home worker's [`PinnedInbox`] and, if that worker is asleep, unparks it.
//!
//! # Protocol
//!
//! The inbox is a multi-producer queue that only its worker pops. The
//! worker's `sleeping` flag closes the race between a producer's push and
//! the worker's decision to park:
//!
//! * **producer**: push, `SeqCst` fence, load `sleeping`; if set, unpark the
//!   worker;
//! * **worker**: store `sleeping = true`, `SeqCst` fence, look at the inbox;
//!   park only if it is empty; store `sleeping = false` once awake.
//!
//! Each side publishes, fences, then looks at the other's flag, so at least
//! one of them sees the other: either the producer sees `sleeping` (and
//! unparks — the parker keeps the token if the worker has not parked yet) or
//! the worker sees the pushed index (and does not park). Model-checked with
//! loom below.

use crate::sync::{fence, AtomicBool, Ordering};

/// The processes other threads handed to one worker. See the module docs.
pub(crate) struct PinnedInbox {
    queue: Queue,
    sleeping: AtomicBool,
}

/// The queue itself: crossbeam's lock-free injector. Loom cannot see inside
/// crossbeam's atomics, so the model uses a stand-in with the same
/// synchronisation as the injector where the protocol needs it: a push ends
/// with a `SeqCst` read-modify-write of the tail, and `is_empty` is two
/// `SeqCst` loads, with no lock between the two sides.
#[cfg(not(loom))]
type Queue = crossbeam_deque::Injector<u32>;
#[cfg(loom)]
#[derive(Default)]
struct Queue {
    items: crate::sync::Mutex<std::collections::VecDeque<u32>>,
    tail: loom::sync::atomic::AtomicUsize,
    head: loom::sync::atomic::AtomicUsize,
}

impl PinnedInbox {
    pub(crate) fn new() -> Self {
        #[cfg(not(loom))]
        let queue = Queue::new();
        #[cfg(loom)]
        let queue = Queue::default();
        PinnedInbox { queue, sleeping: AtomicBool::new(false) }
    }

    /// Producer: hands `index` to the worker. Returns `true` when the worker
    /// may be asleep and the caller must unpark it.
    pub(crate) fn push(&self, index: u32) -> bool {
        #[cfg(not(loom))]
        self.queue.push(index);
        #[cfg(loom)]
        {
            self.queue.items.lock().push_back(index);
            self.queue.tail.fetch_add(1, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        self.sleeping.load(Ordering::Relaxed)
    }

    /// Owner: the next handed-over process, if any.
    pub(crate) fn pop(&self) -> Option<u32> {
        #[cfg(loom)]
        {
            let index = self.queue.items.lock().pop_front()?;
            self.queue.head.fetch_add(1, Ordering::SeqCst);
            return Some(index);
        }
        #[cfg(not(loom))]
        loop {
            match self.queue.steal() {
                crossbeam_deque::Steal::Success(index) => return Some(index),
                crossbeam_deque::Steal::Empty => return None,
                crossbeam_deque::Steal::Retry => continue,
            }
        }
    }

    /// Processes waiting in the inbox (for introspection, from any thread).
    pub(crate) fn len(&self) -> usize {
        #[cfg(loom)]
        return self.queue.items.lock().len();
        #[cfg(not(loom))]
        self.queue.len()
    }

    /// Owner: whether anything waits (for the re-check before parking).
    pub(crate) fn is_empty(&self) -> bool {
        #[cfg(loom)]
        return self.queue.head.load(Ordering::SeqCst) == self.queue.tail.load(Ordering::SeqCst);
        #[cfg(not(loom))]
        self.queue.is_empty()
    }

    /// Owner, before its last look at the queues: from now on producers
    /// unpark it. Returns whether the inbox is empty, read after the fence
    /// (the worker may park only if it is).
    pub(crate) fn going_to_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.is_empty()
    }

    /// Whether the worker is parked or about to park (for the monitor).
    pub(crate) fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::Relaxed)
    }

    /// Owner, once awake (or after deciding not to park).
    pub(crate) fn awake(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::scheduler::park::Parker;
    use loom::sync::Arc;
    use loom::thread;

    /// A producer hands a pinned process to a worker that is deciding to
    /// park: the worker never sleeps with the process in its inbox (a lost
    /// wake-up shows up as a loom deadlock: the worker parked, nobody
    /// unparks it).
    #[test]
    fn a_pinned_wake_up_is_never_lost() {
        loom::model(|| {
            let inbox = Arc::new(PinnedInbox::new());
            let parker = Arc::new(Parker::new());
            let (i2, p2) = (inbox.clone(), parker.clone());
            let producer = thread::spawn(move || {
                if i2.push(7) {
                    p2.unpark();
                }
            });
            // The worker found nothing, and goes to sleep.
            if inbox.going_to_sleep() {
                parker.park(None);
            }
            inbox.awake();
            producer.join().unwrap();
            assert_eq!(inbox.pop(), Some(7));
        });
    }
}
