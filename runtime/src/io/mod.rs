//! Ember's I/O: a reactor on `mio`, so that a process parks on a socket the
//! way it parks in `receive`.
//!
//! # The pieces
//!
//! * [`reactor`] — one edge-triggered `mio::Poll` for the OS process, polled
//!   by whichever worker runs out of work (the *poller role*), by busy
//!   workers every 64 picks, and by [`poll_now`] from any thread;
//! * [`readiness`] — per socket: the readiness the kernel reported and one
//!   waiter slot per direction; the register / re-check / suspend protocol
//!   that loses no wake-up (model-checked with loom);
//! * [`source`] — a socket owned by the runtime: the fd behind a use/close
//!   guard (so a socket closed from elsewhere never lets its fd number be
//!   reused under a live object), the wait loop with timeouts and kills;
//! * [`resource`] — the per-process resource table that closes the sockets
//!   of a process whose stack is abandoned.
//!
//! The sockets themselves (`TcpStream` and friends) are in `crate::net`.

pub(crate) mod reactor;
pub(crate) mod readiness;
pub(crate) mod resource;
pub(crate) mod source;

use crate::pid::Pid;
use crate::scheduler::Scheduler;
use reactor::Reactor;
use readiness::Waiter;
use std::io;
use std::sync::OnceLock;

static REACTOR: OnceLock<Reactor> = OnceLock::new();

/// The reactor, created on first use. Its epoll fd and eventfd live as
/// long as the OS process.
pub(crate) fn reactor() -> io::Result<&'static Reactor> {
    if let Some(r) = REACTOR.get() {
        return Ok(r);
    }
    let r = Reactor::new()?;
    Ok(REACTOR.get_or_init(|| r))
}

/// The reactor if some socket ever started it (workers of programs that do
/// no I/O never poll it).
#[inline]
pub(crate) fn started() -> Option<&'static Reactor> {
    REACTOR.get()
}

/// Polls the reactor once without blocking, from any thread, and wakes the
/// processes whose sockets became ready. Returns how many waiters were
/// woken; does nothing (returns 0) when another thread is polling or no
/// socket exists yet.
///
/// This is the hook for the sysmon: while every worker is busy or held, it
/// calls this every few milliseconds, so I/O still wakes processes.
pub(crate) fn poll_now() -> usize {
    let Some(r) = started() else { return 0 };
    if r.registered() == 0 {
        return 0;
    }
    let mut woken = Vec::new();
    if !r.poll_nonblocking(&mut woken) {
        return 0;
    }
    let n = woken.len();
    wake_all(&mut woken);
    n
}

/// Wakes what a poll collected (outside every reactor lock).
pub(crate) fn wake_all(woken: &mut Vec<Waiter>) {
    for waiter in woken.drain(..) {
        wake(waiter);
    }
}

pub(crate) fn wake(waiter: Waiter) {
    match waiter {
        Waiter::Process(pid) => wake_pid(pid),
        Waiter::Active(sink) => sink.on_ready(),
    }
}

/// Wakes a process of any runtime, from any thread.
pub(crate) fn wake_pid(pid: Pid) {
    if let Some(sched) = crate::scheduler::worker::current_scheduler() {
        // SAFETY: a worker's scheduler outlives the worker, and we run on it.
        let sched = unsafe { &*sched };
        if sched.node == pid.node {
            sched.wake(pid);
            return;
        }
    }
    if let Some(sched) = Scheduler::of_node(pid.node) {
        sched.wake(pid);
    }
}
