//! Which workers are searching for work and which are asleep.
//!
//! # Protocol
//!
//! One atomic word counts the *searching* workers (awake, out of local work,
//! stealing) and the *sleeping* ones (registered in the sleeper list, parked
//! or about to park). The rules:
//!
//! * **Producers** (anyone who pushed work where another worker can take it:
//!   the injector or a stealable local queue) call [`Idle::worker_to_notify`]
//!   after the push. It wakes one sleeper only if nobody is searching — a
//!   searcher will find the work — so a burst of spawns or messages costs one
//!   atomic load each, not a futex wake each. The woken worker is counted as
//!   searching *before* it runs, so concurrent producers do not wake a second
//!   one for the same work.
//! * **A searcher that finds work** leaves the searching state; if it was the
//!   last searcher it wakes another sleeper (there may be more work, and now
//!   nobody is looking).
//! * **A worker going to sleep** registers as a sleeper (leaving the searching
//!   state in the same atomic step), then re-checks every queue before it
//!   parks. Producer and sleeper each do "publish, SeqCst fence, check the
//!   other side", so at least one of them sees the other: either the producer
//!   sees the sleeper (and wakes it) or the sleeper sees the work (and does not
//!   park). A producer that skipped the wake-up because someone was searching
//!   is covered the same way: that searcher re-checks after it stops searching.
//!
//! The protocol is model-checked with loom (`RUSTFLAGS="--cfg loom" cargo test
//! -p ember-runtime --lib --release loom`).

use crate::sync::{fence, AtomicU32, Mutex, Ordering};

const SEARCHING_ONE: u32 = 1;
const SLEEPING_ONE: u32 = 1 << 16;
const MASK: u32 = 0xffff;

fn searching(state: u32) -> u32 {
    state & MASK
}

fn sleeping(state: u32) -> u32 {
    state >> 16
}

#[derive(Debug)]
pub(crate) struct Idle {
    state: AtomicU32,
    sleepers: Mutex<Vec<usize>>,
    max_searching: u32,
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Self {
        Idle {
            state: AtomicU32::new(0),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            // At most half of the workers search at once (at least one).
            max_searching: (workers as u32).div_ceil(2).max(1),
        }
    }

    /// After publishing work: the worker to unpark, if one must be woken.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        fence(Ordering::SeqCst);
        let state = self.state.load(Ordering::SeqCst);
        if searching(state) != 0 || sleeping(state) == 0 {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        let state = self.state.load(Ordering::SeqCst);
        if searching(state) != 0 || sleeping(state) == 0 {
            return None;
        }
        let worker = sleepers.pop()?;
        // The woken worker searches as soon as it runs.
        self.state.fetch_add(SEARCHING_ONE.wrapping_sub(SLEEPING_ONE), Ordering::SeqCst);
        Some(worker)
    }

    /// A worker ran out of local work. Returns whether it may search (steal);
    /// when too many already search it goes straight to sleep.
    pub(crate) fn start_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if searching(state) >= self.max_searching {
            return false;
        }
        self.state.fetch_add(SEARCHING_ONE, Ordering::SeqCst);
        true
    }

    /// A searcher found work. Returns `true` when it was the last searcher:
    /// the caller then notifies another worker ([`Idle::worker_to_notify`]).
    pub(crate) fn stop_searching(&self) -> bool {
        let prev = self.state.fetch_sub(SEARCHING_ONE, Ordering::SeqCst);
        searching(prev) == 1
    }

    /// The worker registers as a sleeper, leaving the searching state if it
    /// was in it. It must re-check every queue afterwards, before parking.
    ///
    /// A worker about to park in the reactor's poll (`polling`) goes to the
    /// far end of the list: producers wake the workers parked on their
    /// condition variables first, so the poll goes on while there is anyone
    /// else to run the work.
    pub(crate) fn sleep(&self, worker: usize, was_searching: bool, polling: bool) {
        let mut sleepers = self.sleepers.lock();
        if polling {
            sleepers.insert(0, worker);
        } else {
            sleepers.push(worker);
        }
        let delta = if was_searching { SLEEPING_ONE.wrapping_sub(SEARCHING_ONE) } else { SLEEPING_ONE };
        self.state.fetch_add(delta, Ordering::SeqCst);
        drop(sleepers);
        fence(Ordering::SeqCst);
    }

    /// The worker is awake again (found work in its re-check, timed out, or
    /// was unparked). Returns `true` when a producer picked it (it is then
    /// already counted as searching); `false` when it removed itself from the
    /// sleepers (it is then neither searching nor sleeping).
    pub(crate) fn wake_up(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_sub(SLEEPING_ONE, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn counts(&self) -> (u32, u32) {
        let s = self.state.load(Ordering::SeqCst);
        (searching(s), sleeping(s))
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::scheduler::park::Parker;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use loom::thread;

    struct Model {
        idle: Idle,
        queue: AtomicUsize,
        parkers: [Parker; 2],
    }

    /// Worker 1 runs out of work and goes to sleep while worker 0 publishes a
    /// unit of work: worker 1 must not end up parked with work queued and
    /// nobody searching. (A lost wake-up shows up as a loom deadlock.)
    #[test]
    fn producer_and_sleeper_never_lose_work() {
        loom::model(|| {
            let m = Arc::new(Model {
                idle: Idle::new(2),
                queue: AtomicUsize::new(0),
                parkers: [Parker::new(), Parker::new()],
            });
            let m1 = m.clone();
            let sleeper = thread::spawn(move || {
                let m = m1;
                let searching = m.idle.start_searching();
                if m.queue.load(Ordering::SeqCst) > 0 {
                    return true;
                }
                m.idle.sleep(1, searching, false);
                if m.queue.load(Ordering::SeqCst) > 0 {
                    m.idle.wake_up(1);
                    return true;
                }
                m.parkers[1].park(None);
                m.idle.wake_up(1);
                m.queue.load(Ordering::SeqCst) > 0
            });
            m.queue.fetch_add(1, Ordering::SeqCst);
            if let Some(w) = m.idle.worker_to_notify() {
                m.parkers[w].unpark();
            }
            assert!(sleeper.join().unwrap(), "the sleeper must see the work");
        });
    }

    /// A searcher that finds nothing while a producer skips the wake-up
    /// (because someone is searching) still sees the work before parking.
    #[test]
    fn skipped_notification_is_covered_by_the_searcher() {
        loom::model(|| {
            let m = Arc::new(Model {
                idle: Idle::new(2),
                queue: AtomicUsize::new(0),
                parkers: [Parker::new(), Parker::new()],
            });
            assert!(m.idle.start_searching());
            let m1 = m.clone();
            let producer = thread::spawn(move || {
                m1.queue.fetch_add(1, Ordering::SeqCst);
                if let Some(w) = m1.idle.worker_to_notify() {
                    m1.parkers[w].unpark();
                }
            });
            // The searcher looked before the push and found nothing...
            m.idle.sleep(0, true, false);
            if m.queue.load(Ordering::SeqCst) == 0 {
                m.parkers[0].park(None);
            }
            m.idle.wake_up(0);
            producer.join().unwrap();
            assert_eq!(m.queue.load(Ordering::SeqCst), 1);
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn notify_only_when_nobody_searches() {
        let idle = Idle::new(2);
        assert_eq!(idle.worker_to_notify(), None, "nobody sleeps");
        idle.sleep(1, false, false);
        assert_eq!(idle.counts(), (0, 1));
        assert!(idle.start_searching());
        assert_eq!(idle.worker_to_notify(), None, "a searcher will find it");
        assert!(idle.stop_searching());
        assert_eq!(idle.worker_to_notify(), Some(1));
        assert_eq!(idle.counts(), (1, 0), "the woken worker counts as searching");
        assert!(idle.wake_up(1), "it was picked by a producer");
        assert!(idle.stop_searching());
        idle.sleep(1, false, false);
        assert!(!idle.wake_up(1), "timed out: removes itself");
        assert_eq!(idle.counts(), (0, 0));
    }

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.start_searching());
        assert!(idle.start_searching());
        assert!(!idle.start_searching());
    }
}
