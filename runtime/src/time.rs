//! Timers: `sleep`, `send_after` / `cancel_timer`, and receive timeouts.
//!
//! Each worker owns a [`TimerQueue`] (a hierarchical timer wheel behind a
//! mutex that only its owner takes in the common case, see `timer`), and one
//! more queue takes timers armed from plain threads. A process arms timers on
//! the queue of the worker it runs on; cancelling one from another worker
//! takes that queue's lock. Busy workers fire their own due timers every 64
//! picks; idle workers fire everyone's and park no longer than the earliest
//! deadline. Timer resolution is one millisecond; a timer never fires early.

use crate::pid::Pid;
use crate::process::current::{current, try_current, Current};
use crate::process::info::alive_in;
use crate::scheduler::worker::WorkerLocal;
use crate::scheduler::{Scheduler, Suspend};
use crate::timer::{TimerAction, TimerKey};
use std::any::Any;
use std::time::{Duration, Instant};

/// Arms a timer on the caller's worker queue (the external one off-worker).
fn arm(sched: &Scheduler, deadline: Instant, action: TimerAction) -> TimerRef {
    let queue = match WorkerLocal::current_of(sched) {
        Some(worker) => worker.index,
        None => sched.timers.len() - 1,
    };
    let key = sched.timers[queue].insert(sched.start, deadline, action);
    if WorkerLocal::current_of(sched).is_none() {
        // Parked workers must learn about the new deadline.
        sched.unpark_all();
    }
    TimerRef { node: sched.node, queue: queue as u32, key: Some(key), deadline }
}

/// A pending timer started by [`send_after`]; pass it to [`cancel_timer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerRef {
    node: u32,
    queue: u32,
    key: Option<TimerKey>,
    deadline: Instant,
}

impl TimerRef {
    /// When the timer is (or was) due.
    ///
    /// ```
    /// use std::time::Duration;
    /// ember_runtime::run(|| {
    ///     let t = ember_runtime::send_after(ember_runtime::self_pid(), (), Duration::from_secs(60));
    ///     assert!(t.deadline() > std::time::Instant::now());
    ///     ember_runtime::cancel_timer(t);
    /// })
    /// .unwrap();
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// Sends `msg` to `pid` after `delay` (Erlang `erlang:send_after/3`). Works
/// from a process or a plain thread; the timer survives the caller.
///
/// ```
/// use ember_runtime::{receive, self_pid, send_after};
/// use std::time::Duration;
/// ember_runtime::run(|| {
///     send_after(self_pid(), "tick", Duration::from_millis(5));
///     assert_eq!(receive::<&str>(), "tick");
/// })
/// .unwrap();
/// ```
pub fn send_after<M: Any + Send>(pid: Pid, msg: M, delay: Duration) -> TimerRef {
    let deadline = Instant::now().checked_add(delay).unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 32));
    let action = TimerAction::Send(pid, Box::new(msg));
    match try_current() {
        Some(cur) if cur.sched().node == pid.node => {
            cur.charge(1);
            arm(cur.sched(), deadline, action)
        }
        _ => {
            let sched = match Scheduler::of_node(pid.node) {
                Some(s) => s,
                // A pid of a runtime that is gone: the message could never be
                // delivered; hand back a timer that cancels as "already fired".
                None => return TimerRef { node: pid.node, queue: u32::MAX, key: None, deadline },
            };
            arm(&sched, deadline, action)
        }
    }
}

/// Cancels a timer from [`send_after`]. Returns the time that was left, or
/// `None` if it had already fired or was cancelled, or if its target has
/// exited (Erlang `erlang:cancel_timer/1`; the BEAM cancels a process's
/// timers when it exits). Once this returns, the message is not sent.
///
/// ```
/// use ember_runtime::{cancel_timer, receive_timeout, self_pid, send_after};
/// use std::time::Duration;
/// ember_runtime::run(|| {
///     let t = send_after(self_pid(), 1u8, Duration::from_secs(10));
///     assert!(cancel_timer(t).is_some());
///     assert!(cancel_timer(t).is_none());
///     assert_eq!(receive_timeout::<u8>(Duration::from_millis(20)), None);
/// })
/// .unwrap();
/// ```
pub fn cancel_timer(timer: TimerRef) -> Option<Duration> {
    let sched = Scheduler::of_node(timer.node)?;
    let entry = sched.timers.get(timer.queue as usize)?.cancel(timer.key?)?;
    // The BEAM cancels a process's timers when it exits. Ember forgets them
    // instead of finding them on the exit path (which would cost every
    // `send_after` a registration with its target): a timer whose target has
    // exited is dropped when it fires, and counts as cancelled already.
    if entry.message_target().is_some_and(|pid| !alive_in(&sched, pid)) {
        return None;
    }
    Some(entry.deadline.saturating_duration_since(Instant::now()))
}

/// Suspends the calling process for `duration` (Erlang `timer:sleep/1`).
/// Messages keep arriving meanwhile; exit signals are acted on.
///
/// ```
/// use std::time::{Duration, Instant};
/// ember_runtime::run(|| {
///     let t = Instant::now();
///     ember_runtime::sleep(Duration::from_millis(3));
///     assert!(t.elapsed() >= Duration::from_millis(3));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn sleep(duration: Duration) {
    let cur = current();
    cur.charge(1);
    let Some(deadline) = Instant::now().checked_add(duration) else {
        loop {
            cur.suspend(Suspend::Wait);
            cur.check_signals();
        }
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        wake_by(&cur, deadline, now);
        cur.suspend(Suspend::Wait);
        cur.check_signals();
    }
}

/// The wake-up a process keeps pending across its timed waits.
///
/// Arming a timer for each timed wait and cancelling it when the wait is
/// answered costs two locked wheel operations per wait, and a
/// `Server::call`, whose 5 s timeout almost never fires, is such a wait. So
/// a process keeps one pending wake of its own, and a wait that ends does
/// not cancel it:
///
/// * a wait whose deadline is at or after the pending wake's leaves it as it
///   is: the process is woken early, finds its own deadline not reached, and
///   arms a wake for it then;
/// * a wait that needs an earlier wake cancels the pending one and arms its
///   own;
/// * a wake whose deadline has passed has fired, or is about to: it is
///   forgotten, not cancelled.
///
/// A loop of calls thus arms one timer per 5 s instead of one per call.
///
/// The price is spurious wake-ups. A wake fires after the wait that armed it
/// has ended, and wakes the process in whatever it waits on then (once per
/// timer armed). Every wait of the runtime already tolerates that, since a
/// message that another receive will take wakes it the same way, and
/// re-checks its own condition. The pending wake is cancelled when the
/// process exits, so a process leaves no timer behind.
///
/// Packed into 24 bytes (it lives in every process's slot).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingWake {
    generation: std::num::NonZeroU64,
    /// The deadline, in ns since the scheduler's start.
    due: u64,
    index: u32,
    queue: u32,
}

/// Makes sure the running process is woken at or before `deadline`. `now` is
/// a clock reading taken before the call (the caller has just compared it
/// with `deadline`).
pub(crate) fn wake_by(cur: &Current, deadline: Instant, now: Instant) {
    let sched = cur.sched();
    let due = nanos_since(sched.start, deadline);
    // SAFETY: the running process, short borrow.
    if let Some(pending) = unsafe { cur.local() }.wake {
        // A timer fires only once the clock has reached its deadline
        // (`timer`'s guarantees), so one due after `now` has not fired yet.
        if pending.due > nanos_since(sched.start, now) {
            if pending.due <= due {
                return;
            }
            cancel_wake(sched, pending);
        }
    }
    let timer = arm(sched, deadline, TimerAction::Wake(cur.pid()));
    let (index, generation) = timer.key.expect("a timer armed by a process has a key").into_parts();
    let wake = PendingWake { generation, due, index, queue: timer.queue };
    // SAFETY: as above.
    unsafe { cur.local() }.wake = Some(wake);
}

/// Cancels a process's pending wake (at its exit, or when a wait needs an
/// earlier one). A wake that has fired meanwhile is left alone.
pub(crate) fn cancel_wake(sched: &Scheduler, wake: PendingWake) {
    if let Some(queue) = sched.timers.get(wake.queue as usize) {
        queue.cancel(TimerKey::from_parts(wake.index, wake.generation));
    }
}

fn nanos_since(start: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(start).as_nanos().min(u64::MAX as u128) as u64
}
