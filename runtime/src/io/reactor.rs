//! The reactor: one `mio::Poll` (epoll) for the whole OS process.
//!
//! Every socket Ember creates is registered here once, edge-triggered, for
//! both directions, under a token that names its slot in a slab *and* the
//! slot's generation — an event that was already in flight when its socket
//! was deregistered carries an old generation and is ignored, so a stale
//! event never reaches the socket that reuses the slot.
//!
//! **Who polls.** Nobody owns a thread for it. A worker that runs out of
//! work takes the *poller role* (at most one thread holds it, for all
//! runtimes of the OS process) and parks *in* `epoll_wait`, with its
//! runtime's next timer deadline as the timeout; the other idle workers
//! park on their condition variables. A producer that wakes the polling
//! worker writes the `mio::Waker` (an eventfd) instead of signalling a
//! condvar (`scheduler::park`). Busy workers poll without blocking every 64
//! picks, and [`super::poll_now`] lets any thread (the sysmon) do the same,
//! so I/O is seen even when no worker is idle. A poll that finds the poll
//! lock taken (someone else is polling) skips: one poll at a time is enough.
//!
//! An event sets the socket's readiness and takes its waiters
//! (`readiness`); the caller wakes them once it holds no reactor lock.

use super::readiness::{Readiness, Waiter, ERROR, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use parking_lot::Mutex;
use slab::Slab;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the reactor keeps of a registered socket.
pub(crate) trait Registered: Send + Sync {
    fn readiness(&self) -> &Readiness;
}

const WAKER: Token = Token(usize::MAX);
const EVENTS: usize = 1024;

struct Sources {
    slab: Slab<(u32, Arc<dyn Registered>)>,
    generation: u32,
}

/// See the module docs.
pub(crate) struct Reactor {
    poll: Mutex<(Poll, Events)>,
    registry: mio::Registry,
    waker: Waker,
    sources: Mutex<Sources>,
    /// A worker holds the poller role: it is (or is about to be) parked in
    /// `epoll_wait`.
    poller: AtomicBool,
    /// Sockets registered now (for stats and tests).
    registered: AtomicUsize,
}

fn token(key: usize, generation: u32) -> Token {
    Token(key | (generation as usize) << 32)
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        Ok(Reactor {
            poll: Mutex::new((poll, Events::with_capacity(EVENTS))),
            registry,
            waker,
            sources: Mutex::new(Sources { slab: Slab::new(), generation: 0 }),
            poller: AtomicBool::new(false),
            registered: AtomicUsize::new(0),
        })
    }

    /// Registers `fd` for both directions, edge-triggered. Returns the token
    /// to deregister it with.
    pub(crate) fn register(&self, fd: RawFd, source: Arc<dyn Registered>) -> io::Result<usize> {
        let tok = {
            let mut sources = self.sources.lock();
            sources.generation = sources.generation.wrapping_add(1);
            let generation = sources.generation;
            let key = sources.slab.insert((generation, source));
            token(key, generation)
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.registry.register(&mut SourceFd(&fd), tok, interest) {
            self.forget(tok);
            return Err(e);
        }
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(tok.0)
    }

    /// Deregisters `fd` (before it is closed: a closed fd number may already
    /// name another file).
    pub(crate) fn deregister(&self, fd: RawFd, tok: usize) {
        let _ = self.registry.deregister(&mut SourceFd(&fd));
        self.forget(Token(tok));
        self.registered.fetch_sub(1, Ordering::Relaxed);
    }

    fn forget(&self, tok: Token) {
        let (key, generation) = (tok.0 & 0xffff_ffff, (tok.0 >> 32) as u32);
        let mut sources = self.sources.lock();
        if sources.slab.get(key).is_some_and(|(g, _)| *g == generation) {
            let entry = sources.slab.remove(key);
            drop(sources);
            drop(entry);
        }
    }

    pub(crate) fn registered(&self) -> usize {
        self.registered.load(Ordering::Relaxed)
    }

    /// Takes the poller role if nobody holds it.
    pub(crate) fn try_take_poller(&self) -> bool {
        !self.poller.load(Ordering::Relaxed)
            && self.poller.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    pub(crate) fn release_poller(&self) {
        self.poller.store(false, Ordering::Release);
    }

    /// Makes a blocked (or the next) `epoll_wait` return.
    pub(crate) fn wake_poller(&self) {
        if let Err(e) = self.waker.wake() {
            tracing::error!(target: "ember::io", "cannot wake the reactor: {e}");
        }
    }

    /// Polls, waiting at most `timeout` (`None`: until an event or a
    /// wake-up), and collects the waiters of what became ready. Waits for
    /// the poll lock if another thread polls without blocking.
    pub(crate) fn poll_blocking(&self, timeout: Option<Duration>, woken: &mut Vec<Waiter>) {
        let mut guard = self.poll.lock();
        self.poll_locked(&mut guard, timeout, woken, true);
    }

    /// Polls without waiting; returns `false` (and does nothing) when
    /// another thread is polling.
    pub(crate) fn poll_nonblocking(&self, woken: &mut Vec<Waiter>) -> bool {
        let Some(mut guard) = self.poll.try_lock() else {
            return false;
        };
        self.poll_locked(&mut guard, Some(Duration::ZERO), woken, false);
        true
    }

    /// `blocking`: this is the poller's own poll. A non-blocking poll that
    /// takes the waker's event while a poller holds its role writes the
    /// waker again: the event was meant for the poller, which may be about
    /// to block in `epoll_wait` (it waited for the poll lock meanwhile), and
    /// would otherwise sleep through its wake-up.
    fn poll_locked(
        &self,
        guard: &mut (Poll, Events),
        timeout: Option<Duration>,
        woken: &mut Vec<Waiter>,
        blocking: bool,
    ) {
        let (poll, events) = guard;
        if let Err(e) = poll.poll(events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::error!(target: "ember::io", "epoll_wait failed: {e}");
            }
            return;
        }
        if events.is_empty() {
            return;
        }
        let sources = self.sources.lock();
        for event in events.iter() {
            let tok = event.token();
            if tok == WAKER {
                if !blocking && self.poller.load(Ordering::Acquire) {
                    self.wake_poller();
                }
                continue;
            }
            let (key, generation) = (tok.0 & 0xffff_ffff, (tok.0 >> 32) as u32);
            let Some((g, source)) = sources.slab.get(key) else { continue };
            if *g != generation {
                continue;
            }
            let mut ready = 0;
            if event.is_readable() {
                ready |= READABLE;
            }
            if event.is_writable() {
                ready |= WRITABLE;
            }
            if event.is_read_closed() {
                ready |= READ_CLOSED;
            }
            if event.is_write_closed() {
                ready |= WRITE_CLOSED;
            }
            if event.is_error() {
                ready |= ERROR;
            }
            source.readiness().set(ready, woken);
        }
    }
}
