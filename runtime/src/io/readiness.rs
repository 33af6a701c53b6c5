//! The readiness of one registered fd, and the processes waiting on it.
//!
//! # Protocol
//!
//! The reactor is edge-triggered: the kernel reports a change once, so what
//! it reported is kept here until a process learns, from a system call that
//! says `WouldBlock`, that it is used up. One atomic word holds the
//! readiness bits (readable, writable, read/write closed, error) and a
//! 16-bit *tick* that every event moves on. Each direction (read, write) has
//! one waiter slot, behind a small mutex.
//!
//! A process that wants to read:
//!
//! 1. takes a [`Snapshot`] of the word;
//! 2. tries the system call; if it does not say `WouldBlock`, done;
//! 3. [`Readiness::clear`]s the direction's bit, *only if the tick is the
//!    snapshot's*: an event that arrived after the snapshot may have been
//!    missed by the system call, so it is kept;
//! 4. [`Readiness::wait_or_ready`]: under the waiter lock, re-reads the word;
//!    if the direction is ready, it goes back to 1 without waiting; otherwise
//!    it leaves its pid in the direction's slot and suspends.
//!
//! The reactor, for every event, first [`Readiness::set`]s the bits (and
//! moves the tick), then takes the waiters of the directions that became
//! ready under the same lock, and wakes them through the run-state protocol
//! (`scheduler::state`). The lock orders step 4 against the reactor: either
//! the process's re-read sees the new bits, or the reactor finds the pid in
//! the slot. A wake-up that races with the process's suspension is turned
//! into a re-run by the run state. No readiness is ever lost; wake-ups may
//! be spurious (every wait loops back to the system call). The loom models
//! below check it.
//!
//! A slot holds one waiter. A second process that waits in the same
//! direction of the same socket displaces the first, which is woken at once
//! (it retries and waits again): sharing one direction of a socket between
//! processes works, but costs wake-ups.

use crate::pid::Pid;
use crate::sync::{AtomicU32, Mutex, Ordering};
use std::sync::Arc;

pub(crate) const READABLE: u32 = 1;
pub(crate) const WRITABLE: u32 = 1 << 1;
pub(crate) const READ_CLOSED: u32 = 1 << 2;
pub(crate) const WRITE_CLOSED: u32 = 1 << 3;
pub(crate) const ERROR: u32 = 1 << 4;
const BITS: u32 = 0xffff;
const TICK_ONE: u32 = 1 << 16;

/// Which half of a socket an operation waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bits that make this direction ready (a closed half or an error
    /// are final: the system call then returns at once).
    fn ready_mask(self) -> u32 {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    /// The bit a `WouldBlock` clears.
    fn clear_mask(self) -> u32 {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }
}

/// Something the reactor does for a socket in active mode: read what is
/// there and deliver it to the owner as a message (`net::active`).
pub(crate) trait ActiveSink: Send + Sync {
    /// The read direction became ready. Runs on the polling thread, outside
    /// every reactor lock.
    fn on_ready(self: Arc<Self>);
}

/// Who waits in a direction.
pub(crate) enum Waiter {
    /// A process suspended in an I/O call: woken through its run state.
    Process(Pid),
    /// A socket in active mode: the reactor reads and sends a message.
    Active(Arc<dyn ActiveSink>),
}

impl Waiter {
    fn same(&self, other: &Waiter) -> bool {
        match (self, other) {
            (Waiter::Process(a), Waiter::Process(b)) => a == b,
            (Waiter::Active(a), Waiter::Active(b)) => std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)),
            _ => false,
        }
    }
}

#[derive(Default)]
struct Slots {
    read: Option<Waiter>,
    write: Option<Waiter>,
}

/// A value of the readiness word, taken before a system call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot(u32);

impl Snapshot {
    #[cfg(test)]
    pub(crate) fn is_ready(self, dir: Direction) -> bool {
        self.0 & dir.ready_mask() != 0
    }
}

/// See the module docs.
pub(crate) struct Readiness {
    word: AtomicU32,
    slots: Mutex<Slots>,
}

impl Readiness {
    pub(crate) fn new() -> Self {
        Readiness { word: AtomicU32::new(0), slots: Mutex::new(Slots::default()) }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot(self.word.load(Ordering::Acquire))
    }

    /// Reactor: the kernel reported `ready` (bits). Moves the tick, then
    /// takes the waiters of the directions now ready.
    pub(crate) fn set(&self, ready: u32, woken: &mut Vec<Waiter>) {
        let mut cur = self.word.load(Ordering::Relaxed);
        loop {
            let next = (cur & !BITS).wrapping_add(TICK_ONE) | ((cur | ready) & BITS);
            match self.word.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        let mut slots = self.slots.lock();
        if ready & Direction::Read.ready_mask() != 0 {
            woken.extend(slots.read.take());
        }
        if ready & Direction::Write.ready_mask() != 0 {
            woken.extend(slots.write.take());
        }
    }

    /// A system call said `WouldBlock` after `snap` was taken: clears the
    /// direction's bit unless an event arrived since (the tick moved).
    pub(crate) fn clear(&self, snap: Snapshot, dir: Direction) {
        let next = snap.0 & !dir.clear_mask();
        let _ = self.word.compare_exchange(snap.0, next, Ordering::AcqRel, Ordering::Relaxed);
    }

    /// Leaves `waiter` in the direction's slot unless the direction is ready
    /// (then returns `true` and keeps nothing: the caller retries at once).
    /// A different waiter already in the slot is displaced into `displaced`
    /// (the caller wakes it: it retries and waits again).
    pub(crate) fn wait_or_ready(&self, dir: Direction, waiter: Waiter, displaced: &mut Option<Waiter>) -> bool {
        let mut slots = self.slots.lock();
        if self.word.load(Ordering::Acquire) & dir.ready_mask() != 0 {
            return true;
        }
        let slot = match dir {
            Direction::Read => &mut slots.read,
            Direction::Write => &mut slots.write,
        };
        match slot.replace(waiter) {
            Some(old) if !old.same(slot.as_ref().expect("just stored")) => *displaced = Some(old),
            _ => {}
        }
        false
    }

    /// Empties both slots (the socket is closing: every waiter is woken to
    /// see it).
    pub(crate) fn take_all(&self, woken: &mut Vec<Waiter>) {
        let mut slots = self.slots.lock();
        woken.extend(slots.read.take());
        woken.extend(slots.write.take());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::scheduler::state::RunState;
    use loom::sync::atomic::AtomicBool;
    use loom::thread;

    const PID: Pid = Pid::new(0, 1, 0);

    /// The park-on-fd race: a process reads (finds nothing), clears the
    /// readiness, registers and suspends, while the "kernel" makes data
    /// available and the reactor reports the edge and wakes the waiters.
    /// The process either sees the data, or is enqueued again by exactly
    /// one party (the reactor's wake, or the worker whose suspend failed).
    #[test]
    fn readiness_racing_with_park_on_fd_is_never_lost() {
        loom::model(|| {
            let io = Arc::new(Readiness::new());
            let data = Arc::new(AtomicBool::new(false));
            let state = Arc::new(RunState::new());
            state.spawned();
            state.start_running();

            let reactor = {
                let (io, data, state) = (io.clone(), data.clone(), state.clone());
                thread::spawn(move || {
                    data.store(true, Ordering::Release); // bytes arrive
                    let mut woken = Vec::new();
                    io.set(READABLE, &mut woken); // the edge is reported
                    woken.into_iter().any(|w| matches!(w, Waiter::Process(_)) && state.wake())
                })
            };

            // The process's read loop, once round.
            let snap = io.snapshot();
            let saw_data = data.load(Ordering::Acquire);
            let mut accounted = saw_data;
            if !saw_data {
                io.clear(snap, Direction::Read);
                let mut displaced = None;
                let ready = io.wait_or_ready(Direction::Read, Waiter::Process(PID), &mut displaced);
                assert!(displaced.is_none());
                if ready {
                    // Retried at once: the data must be there by now.
                    assert!(data.load(Ordering::Acquire), "ready without data");
                    accounted = true;
                } else {
                    accounted = state.suspend();
                }
            }
            let enqueued_by_reactor = reactor.join().unwrap();
            assert!(accounted || enqueued_by_reactor, "readiness lost: the process waits for an edge that came");
            if enqueued_by_reactor || (accounted && !saw_data) {
                // Whoever re-runs the process sees the data.
                assert!(data.load(Ordering::Acquire));
            }
        });
    }

    /// An edge that arrives between the snapshot and the clear is kept: the
    /// clear does nothing when the tick moved.
    #[test]
    fn clear_keeps_an_edge_that_arrived_after_the_snapshot() {
        loom::model(|| {
            let io = Arc::new(Readiness::new());
            let snap = io.snapshot();
            let reactor = {
                let io = io.clone();
                thread::spawn(move || io.set(READABLE, &mut Vec::new()))
            };
            io.clear(snap, Direction::Read);
            reactor.join().unwrap();
            assert!(io.snapshot().is_ready(Direction::Read), "the edge was cleared");
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn set_clear_and_slots() {
        let io = Readiness::new();
        let snap = io.snapshot();
        assert!(!snap.is_ready(Direction::Read));
        let mut displaced = None;
        assert!(!io.wait_or_ready(Direction::Read, Waiter::Process(Pid::new(0, 1, 0)), &mut displaced));
        assert!(!io.wait_or_ready(Direction::Read, Waiter::Process(Pid::new(0, 1, 0)), &mut displaced));
        assert!(displaced.is_none(), "the same pid is not displaced");
        assert!(!io.wait_or_ready(Direction::Read, Waiter::Process(Pid::new(0, 2, 0)), &mut displaced));
        assert!(matches!(displaced, Some(Waiter::Process(p)) if p == Pid::new(0, 1, 0)));
        let mut woken = Vec::new();
        io.set(WRITABLE, &mut woken);
        assert!(woken.is_empty(), "only the ready direction's waiters are taken");
        io.set(READABLE, &mut woken);
        assert_eq!(woken.len(), 1);
        let snap = io.snapshot();
        assert!(snap.is_ready(Direction::Read) && snap.is_ready(Direction::Write));
        io.clear(snap, Direction::Read);
        let after = io.snapshot();
        assert!(!after.is_ready(Direction::Read) && after.is_ready(Direction::Write));
        let stale = after;
        io.set(READABLE, &mut woken);
        io.clear(stale, Direction::Read);
        assert!(io.snapshot().is_ready(Direction::Read), "a stale snapshot clears nothing");
        io.set(READ_CLOSED, &mut woken);
        let snap = io.snapshot();
        io.clear(snap, Direction::Read);
        assert!(io.snapshot().is_ready(Direction::Read), "a closed half stays ready");
    }
}
