//! A socket owned by the runtime: its fd, registered with the reactor,
//! behind a use/close guard; the wait loop every blocking-style call runs.
//!
//! # The use/close guard (I/O safety)
//!
//! A socket may be closed by someone other than the holder of its object:
//! the resource table closes the sockets of a process whose stack was
//! abandoned, and such a socket may also sit in a mailbox or in another
//! process. Closing the fd then must never let its *number* be reused while
//! a live object could still pass it to a system call. So no object holds
//! the raw fd: every system call goes through [`Shared::with`], which counts
//! itself in (one atomic word: users × 4 | `DONE` | `CLOSED`). Closing sets
//! `CLOSED`; whoever brings the count to zero with `CLOSED` set (the closer,
//! or the last user) wins a compare-and-swap to `DONE`, deregisters the fd
//! from the reactor and closes it. A call that finds `CLOSED` fails with
//! `NotConnected` and never touches the fd.
//!
//! # Waiting
//!
//! [`Shared::io`] runs a non-blocking system call; on `WouldBlock` it clears
//! the readiness and parks the process on the socket (`readiness` has the
//! protocol), with a timer when the call has a timeout. A wake-up may be
//! spurious: it retries. An exit signal is acted on after every wake-up, so
//! a process blocked in I/O stays killable: it unwinds, its sockets drop and
//! close. Outside a process the call blocks the thread in `poll(2)` instead
//! — plain threads (tests, clients, `main` before `ember::run`) get std's
//! blocking behaviour.

use super::reactor::Registered;
use super::readiness::{Direction, Readiness, Waiter};
use super::resource::Resource;
use crate::pid::Pid;
use crate::process::current::{try_current, Current};
use crate::scheduler::Suspend;
use std::cell::UnsafeCell;
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

const CLOSED: usize = 1;
const DONE: usize = 2;
const USER: usize = 4;

/// No timeout (the timeout fields hold nanoseconds).
const NO_TIMEOUT: u64 = 0;
/// No owner (the owner field holds `index << 32 | serial`, plus the node).
const NO_OWNER: u64 = u64::MAX;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The error of a call on a socket the runtime closed under its object.
pub(crate) fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "ember: the socket was closed by the runtime (the process that owned it lost its stack)",
    )
}

pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "ember: the I/O call timed out")
}

/// The state shared by a socket object, the reactor (while registered) and
/// resource tables (weakly).
pub(crate) struct Shared<S: AsRawFd + Send + Sync + 'static> {
    guard: AtomicUsize,
    io: UnsafeCell<ManuallyDrop<S>>,
    fd: RawFd,
    token: AtomicUsize,
    pub(crate) readiness: Readiness,
    owner_key: AtomicU64,
    owner_node: AtomicU32,
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
    id: u64,
    /// Where active-mode messages go, if armed (see `net::active`).
    pub(crate) active: parking_lot::Mutex<Option<Pid>>,
}

// SAFETY: `io` is only reached through `with` (shared references, counted
// in by the guard, `S: Sync`) and dropped once by the thread that wins the
// guard's `DONE` transition, when no user is counted in. Everything else is
// atomics or a mutex.
unsafe impl<S: AsRawFd + Send + Sync + 'static> Sync for Shared<S> {}
// SAFETY: as above; `S: Send`.
unsafe impl<S: AsRawFd + Send + Sync + 'static> Send for Shared<S> {}

impl<S: AsRawFd + Send + Sync + 'static> Registered for Shared<S> {
    fn readiness(&self) -> &Readiness {
        &self.readiness
    }
}

impl<S: AsRawFd + Send + Sync + 'static> Shared<S> {
    /// Wraps a non-blocking socket and registers it with the reactor; the
    /// calling process (if any) becomes its owner.
    pub(crate) fn new(io: S) -> io::Result<Arc<Shared<S>>> {
        let reactor = super::reactor()?;
        let fd = io.as_raw_fd();
        let shared = Arc::new(Shared {
            guard: AtomicUsize::new(0),
            io: UnsafeCell::new(ManuallyDrop::new(io)),
            fd,
            token: AtomicUsize::new(usize::MAX),
            readiness: Readiness::new(),
            owner_key: AtomicU64::new(NO_OWNER),
            owner_node: AtomicU32::new(u32::MAX),
            read_timeout: AtomicU64::new(NO_TIMEOUT),
            write_timeout: AtomicU64::new(NO_TIMEOUT),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            active: parking_lot::Mutex::new(None),
        });
        match reactor.register(fd, shared.clone()) {
            Ok(token) => shared.token.store(token, Ordering::Release),
            Err(e) => {
                // Not registered: close without deregistering.
                shared.close();
                return Err(e);
            }
        }
        if let Some(cur) = try_current() {
            shared.claim(&cur);
        }
        Ok(shared)
    }

    /// A number unique to this socket within the OS process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Runs `f` on the socket, counted in by the guard; fails without
    /// touching the fd if the socket was closed.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&S) -> io::Result<T>) -> io::Result<T> {
        let prev = self.guard.fetch_add(USER, Ordering::Acquire);
        if prev & CLOSED != 0 {
            self.leave();
            return Err(closed_error());
        }
        struct Leave<'a, S: AsRawFd + Send + Sync + 'static>(&'a Shared<S>);
        impl<S: AsRawFd + Send + Sync + 'static> Drop for Leave<'_, S> {
            fn drop(&mut self) {
                self.0.leave();
            }
        }
        let _leave = Leave(self);
        // SAFETY: counted in with `CLOSED` unset: `finish` cannot run until
        // we leave (see the module docs), so the value is alive.
        f(unsafe { &**self.io.get() })
    }

    fn leave(&self) {
        let prev = self.guard.fetch_sub(USER, Ordering::AcqRel);
        if prev & (CLOSED | DONE) == CLOSED && prev / USER == 1 {
            self.finish();
        }
    }

    /// Closes the socket: now if nobody is in a system call on it, else as
    /// soon as the last one leaves. Wakes every waiter (they see it closed).
    pub(crate) fn close(&self) {
        let prev = self.guard.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & CLOSED != 0 {
            return;
        }
        *self.active.lock() = None;
        let mut woken = Vec::new();
        self.readiness.take_all(&mut woken);
        if prev / USER == 0 {
            self.finish();
        }
        super::wake_all(&mut woken);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.guard.load(Ordering::Acquire) & CLOSED != 0
    }

    fn finish(&self) {
        if self.guard.compare_exchange(CLOSED, CLOSED | DONE, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return;
        }
        let token = self.token.load(Ordering::Acquire);
        if token != usize::MAX {
            if let Some(reactor) = super::started() {
                reactor.deregister(self.fd, token);
            }
        }
        // SAFETY: we won the transition to DONE with no user counted in, and
        // users that come later fail on CLOSED without touching `io`; this
        // is the only drop.
        unsafe { ManuallyDrop::drop(&mut *self.io.get()) };
    }

    /// Makes the running process the owner (it is added to its resource
    /// table) unless it already is.
    pub(crate) fn claim(self: &Arc<Self>, cur: &Current) {
        let pid = cur.pid();
        let key = owner_key(pid);
        if self.owner_key.load(Ordering::Relaxed) == key && self.owner_node.load(Ordering::Relaxed) == pid.node {
            return;
        }
        self.owner_node.store(pid.node, Ordering::Relaxed);
        self.owner_key.store(key, Ordering::Relaxed);
        let weak: Weak<dyn Resource> = Arc::downgrade(self) as Weak<dyn Resource>;
        // SAFETY: the process is running on this thread; short borrow.
        unsafe { cur.local().resources.add(weak) };
    }

    pub(crate) fn timeout(&self, dir: Direction) -> Option<Duration> {
        let nanos = match dir {
            Direction::Read => self.read_timeout.load(Ordering::Relaxed),
            Direction::Write => self.write_timeout.load(Ordering::Relaxed),
        };
        (nanos != NO_TIMEOUT).then(|| Duration::from_nanos(nanos))
    }

    /// Sets a direction's timeout; a zero duration is an error, as in std.
    pub(crate) fn set_timeout(&self, dir: Direction, timeout: Option<Duration>) -> io::Result<()> {
        let nanos = match timeout {
            Some(d) if d.is_zero() => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"))
            }
            Some(d) => d.as_nanos().clamp(1, u64::MAX as u128 - 1) as u64,
            None => NO_TIMEOUT,
        };
        match dir {
            Direction::Read => self.read_timeout.store(nanos, Ordering::Relaxed),
            Direction::Write => self.write_timeout.store(nanos, Ordering::Relaxed),
        }
        Ok(())
    }

    /// Runs the non-blocking call `f` until it does not say `WouldBlock`,
    /// waiting for the direction's readiness in between (see the module
    /// docs), at most `timeout` in all.
    pub(crate) fn io<T>(
        self: &Arc<Self>,
        dir: Direction,
        timeout: Option<Duration>,
        mut f: impl FnMut(&S) -> io::Result<T>,
    ) -> io::Result<T> {
        let cur = try_current();
        if let Some(cur) = &cur {
            cur.charge(1);
            self.claim(cur);
        }
        let mut deadline: Option<Instant> = None;
        loop {
            let snap = self.readiness.snapshot();
            match self.with(&mut f) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return result,
            }
            self.readiness.clear(snap, dir);
            // (deadline, now) of a timed wait.
            let timed = timeout.map(|t| {
                let now = Instant::now();
                let d = *deadline.get_or_insert_with(|| now.checked_add(t).unwrap_or_else(far_future));
                (d, now)
            });
            if timed.is_some_and(|(d, now)| now >= d) {
                return Err(timed_out());
            }
            match &cur {
                None => self.wait_thread(dir, deadline)?,
                Some(cur) => {
                    if let Some((d, now)) = timed {
                        // Kept pending after the wait (see `PendingWake`).
                        crate::time::wake_by(cur, d, now);
                    }
                    self.wait_process(cur, dir);
                }
            }
        }
    }

    /// Parks the current process until the direction may be ready (or a
    /// spurious wake-up, a timer, a signal); acts on exit signals.
    fn wait_process(&self, cur: &Current, dir: Direction) {
        let mut displaced = None;
        if !self.readiness.wait_or_ready(dir, Waiter::Process(cur.pid()), &mut displaced) {
            if let Some(w) = displaced {
                super::wake(w);
            }
            if self.is_closed() {
                // Closed meanwhile: the close took the waiters before we
                // registered; do not wait for a wake-up that will not come.
                return;
            }
            cur.suspend(Suspend::Wait);
        }
        cur.check_signals();
    }

    /// Blocks the calling plain thread in `poll(2)` until the direction is
    /// ready or the deadline passes.
    fn wait_thread(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
        let events = match dir {
            Direction::Read => libc::POLLIN,
            Direction::Write => libc::POLLOUT,
        };
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => d.saturating_duration_since(Instant::now()).as_millis().clamp(1, i32::MAX as u128) as i32,
        };
        self.with(|_| {
            let mut pfd = libc::pollfd { fd: self.fd, events, revents: 0 };
            // SAFETY: `pfd` is a valid pollfd for the duration of the call,
            // and the fd is alive (we are counted in by the guard).
            let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            Ok(())
        })
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(1 << 32)
}

fn owner_key(pid: Pid) -> u64 {
    (pid.index as u64) << 32 | pid.serial as u64
}

impl<S: AsRawFd + Send + Sync + 'static> Resource for Shared<S> {
    fn owned_by(&self, pid: Pid) -> bool {
        self.owner_key.load(Ordering::Relaxed) == owner_key(pid) && self.owner_node.load(Ordering::Relaxed) == pid.node
    }

    fn disown(&self, pid: Pid) {
        if self.owned_by(pid) {
            self.owner_key.store(NO_OWNER, Ordering::Relaxed);
        }
    }

    fn force_close(&self) {
        self.close();
    }
}

impl<S: AsRawFd + Send + Sync + 'static> Drop for Shared<S> {
    fn drop(&mut self) {
        // Every owner closes before letting go; this covers a value built
        // but never handed out.
        if *self.guard.get_mut() & DONE == 0 {
            *self.guard.get_mut() = CLOSED | DONE;
            // SAFETY: `&mut self`: nobody else can reach `io`, and DONE was
            // not set, so it was not dropped yet.
            unsafe { ManuallyDrop::drop(self.io.get_mut()) };
        }
    }
}

/// Sends on a stream socket without ever raising SIGPIPE (`MSG_NOSIGNAL`):
/// a write to a closed peer is an `ErrorKind::BrokenPipe` error.
pub(crate) fn send_nosignal(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes; the fd is alive (the
    // caller is counted in by the guard).
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Receives from a stream socket (flags: 0 or `MSG_PEEK`).
pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: i32) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; the fd is
    // alive (the caller is counted in by the guard).
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
