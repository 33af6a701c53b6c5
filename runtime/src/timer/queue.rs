//! One worker's timers: a [`TimerWheel`] behind a mutex that only its owner
//! takes in the common case, and the earliest deadline published as an
//! atomic so that idle workers can see what is due without the lock.

use super::{TimerKey, TimerWheel};
use crate::pid::Pid;
use crate::process::Message;
use crate::scheduler::Scheduler;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a timer does when it fires.
pub(crate) enum TimerAction {
    /// Wake the process (it re-checks its deadline).
    Wake(Pid),
    /// Deliver a message.
    Send(Pid, Message),
}

pub(crate) struct TimerEntry {
    pub(crate) deadline: Instant,
    action: TimerAction,
}

impl TimerEntry {
    /// The process a message timer delivers to.
    pub(crate) fn message_target(&self) -> Option<Pid> {
        match self.action {
            TimerAction::Send(pid, _) => Some(pid),
            TimerAction::Wake(_) => None,
        }
    }
}

/// The timers of one worker.
pub(crate) struct TimerQueue {
    wheel: Mutex<TimerWheel<TimerEntry>>,
    /// Earliest possible deadline, in ns since the runtime started
    /// (`u64::MAX`: none). May be earlier than the true one, never later.
    next: AtomicU64,
}

const NONE: u64 = u64::MAX;

fn nanos_since(start: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(start).as_nanos().min(NONE as u128 - 1) as u64
}

impl TimerQueue {
    pub(crate) fn new(start: Instant) -> Self {
        TimerQueue { wheel: Mutex::new(TimerWheel::new(start)), next: AtomicU64::new(NONE) }
    }

    pub(crate) fn insert(&self, start: Instant, deadline: Instant, action: TimerAction) -> TimerKey {
        let mut wheel = self.wheel.lock();
        let key = wheel.insert(deadline, TimerEntry { deadline, action });
        self.publish_next(&wheel, start);
        key
    }

    pub(crate) fn cancel(&self, key: TimerKey) -> Option<TimerEntry> {
        self.wheel.lock().cancel(key)
    }

    fn publish_next(&self, wheel: &TimerWheel<TimerEntry>, start: Instant) {
        let next = wheel.next_deadline().map_or(NONE, |d| nanos_since(start, d));
        self.next.store(next, Ordering::Release);
    }

    /// Timers not yet fired (takes the wheel's lock briefly).
    pub(crate) fn len(&self) -> usize {
        self.wheel.lock().len()
    }

    pub(crate) fn has_timers(&self) -> bool {
        self.next.load(Ordering::Acquire) != NONE
    }

    pub(crate) fn is_due(&self, start: Instant, now: Instant) -> bool {
        let next = self.next.load(Ordering::Acquire);
        next != NONE && next <= nanos_since(start, now)
    }

    pub(crate) fn next_deadline(&self, start: Instant) -> Option<Instant> {
        let next = self.next.load(Ordering::Acquire);
        (next != NONE).then(|| start + Duration::from_nanos(next))
    }

    /// Fires the timers due at `now` (skips if another thread is at it).
    pub(crate) fn fire(&self, sched: &Scheduler, now: Instant) {
        if !self.is_due(sched.start, now) {
            return;
        }
        let mut fired = Vec::new();
        {
            let Some(mut wheel) = self.wheel.try_lock() else {
                return;
            };
            wheel.advance(now, &mut fired);
            self.publish_next(&wheel, sched.start);
        }
        for entry in fired {
            match entry.action {
                TimerAction::Wake(pid) => sched.wake(pid),
                TimerAction::Send(pid, msg) => {
                    sched.deliver(pid, msg, false, false);
                }
            }
        }
    }
}
