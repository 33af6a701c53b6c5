//! Parking an idle worker thread.
//!
//! A [`Parker`] is a one-token semaphore: `unpark` stores the token (once),
//! `park` consumes it or sleeps until it is stored or the deadline passes. A
//! token stored before `park` is not lost, so an unpark that races with the
//! decision to park never leaves the worker asleep.
//!
//! A worker that holds the reactor's poller role parks *in the poll* instead
//! ([`Parker::park_polling`]): it marks itself polling under the parker's
//! lock, then blocks in `epoll_wait`. `unpark` reads that mark under the same
//! lock and, for a polling worker, writes the reactor's waker instead of
//! signalling the condition variable. Either the unpark comes first (the
//! worker sees the token and does not poll) or it sees the mark (and the
//! waker makes the poll return; the waker is sticky, so a wake-up written
//! just before `epoll_wait` starts is not lost). Model-checked with loom.

use crate::sync::{Condvar, Mutex};
use std::time::Instant;

#[derive(Debug, Default)]
struct State {
    notified: bool,
    polling: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Parker {
    state: Mutex<State>,
    cond: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Parker { state: Mutex::new(State::default()), cond: Condvar::new() }
    }

    /// Sleeps until unparked or until `deadline`. Consumes the token.
    pub(crate) fn park(&self, deadline: Option<Instant>) {
        let mut state = self.state.lock();
        while !state.notified {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            state = self.cond.wait(state, deadline);
        }
        state.notified = false;
    }

    /// Sleeps in `poll` (the reactor's `epoll_wait`, which must return once
    /// the poller is woken — see [`Parker::unpark_with`]) unless a token is
    /// already there. Consumes the token.
    pub(crate) fn park_polling(&self, poll: impl FnOnce()) {
        {
            let mut state = self.state.lock();
            if state.notified {
                state.notified = false;
                return;
            }
            state.polling = true;
        }
        poll();
        let mut state = self.state.lock();
        state.polling = false;
        state.notified = false;
    }

    /// Wakes the parked thread, or makes its next `park` return at once.
    pub(crate) fn unpark(&self) {
        self.unpark_with(|| {
            if let Some(reactor) = crate::io::started() {
                reactor.wake_poller();
            }
        })
    }

    /// [`Parker::unpark`], with `wake_poller` making a thread parked in
    /// [`Parker::park_polling`] return from its poll.
    pub(crate) fn unpark_with(&self, wake_poller: impl FnOnce()) {
        let mut state = self.state.lock();
        if !state.notified {
            state.notified = true;
            let polling = state.polling;
            drop(state);
            if polling {
                wake_poller();
            } else {
                self.cond.notify_one();
            }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::Ordering;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;
    use loom::thread;

    /// A stand-in for the reactor: a sticky "eventfd" and a poll that blocks
    /// until it is written.
    struct FakePoll {
        written: Mutex<bool>,
        cond: Condvar,
    }

    impl FakePoll {
        fn wait(&self) {
            let mut w = self.written.lock();
            while !*w {
                w = self.cond.wait(w, None);
            }
            *w = false;
        }
        fn wake(&self) {
            *self.written.lock() = true;
            self.cond.notify_one();
        }
    }

    /// A producer unparks the worker while it decides to park in the poll:
    /// the worker never stays blocked in the poll (a lost wake-up shows up
    /// as a loom deadlock).
    #[test]
    fn unpark_racing_with_park_polling_is_never_lost() {
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let poll = Arc::new(FakePoll { written: Mutex::new(false), cond: Condvar::new() });
            let work = Arc::new(AtomicBool::new(false));
            let producer = {
                let (parker, poll, work) = (parker.clone(), poll.clone(), work.clone());
                thread::spawn(move || {
                    work.store(true, Ordering::SeqCst);
                    parker.unpark_with(|| poll.wake());
                })
            };
            if !work.load(Ordering::SeqCst) {
                parker.park_polling(|| poll.wait());
            }
            producer.join().unwrap();
            assert!(work.load(Ordering::SeqCst));
        });
    }

    /// A busy worker's non-blocking poll can take the waker's event meant
    /// for the poller (which waits for the poll lock, about to block in the
    /// poll). It must write the waker again while a poller holds its role,
    /// or the poller sleeps through its wake-up (the bug: a hang about one
    /// run in fifty of the echo test). Mirrors `Reactor::poll_locked`.
    #[test]
    fn a_non_blocking_poll_does_not_swallow_the_pollers_wake_up() {
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let poll = Arc::new(FakePoll { written: Mutex::new(false), cond: Condvar::new() });
            // The worker holds the poller role from before it parks.
            let poller_role = Arc::new(AtomicBool::new(true));
            let work = Arc::new(AtomicBool::new(false));
            let producer = {
                let (parker, poll, work) = (parker.clone(), poll.clone(), work.clone());
                thread::spawn(move || {
                    work.store(true, Ordering::SeqCst);
                    parker.unpark_with(|| poll.wake());
                })
            };
            let busy = {
                let (poll, role) = (poll.clone(), poller_role.clone());
                thread::spawn(move || {
                    // poll_now(): takes a pending waker event without blocking.
                    let took = std::mem::take(&mut *poll.written.lock());
                    if took && role.load(Ordering::SeqCst) {
                        poll.wake();
                    }
                })
            };
            if !work.load(Ordering::SeqCst) {
                parker.park_polling(|| poll.wait());
            }
            poller_role.store(false, Ordering::SeqCst);
            producer.join().unwrap();
            busy.join().unwrap();
            assert!(work.load(Ordering::SeqCst));
        });
    }
}
