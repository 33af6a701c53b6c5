//! Parking an idle worker thread.
//!
//! A [`Parker`] is a one-token semaphore: `unpark` stores the token (once),
//! `park` consumes it or sleeps until it is stored or the deadline passes. A
//! token stored before `park` is not lost, so an unpark that races with the
//! decision to park never leaves the worker asleep.

use crate::sync::{Condvar, Mutex};
use std::time::Instant;

#[derive(Debug, Default)]
pub(crate) struct Parker {
    notified: Mutex<bool>,
    cond: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Parker { notified: Mutex::new(false), cond: Condvar::new() }
    }

    /// Sleeps until unparked or until `deadline`. Consumes the token.
    pub(crate) fn park(&self, deadline: Option<Instant>) {
        let mut notified = self.notified.lock();
        while !*notified {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            notified = self.cond.wait(notified, deadline);
        }
        *notified = false;
    }

    /// Wakes the parked thread, or makes its next `park` return at once.
    pub(crate) fn unpark(&self) {
        let mut notified = self.notified.lock();
        if !*notified {
            *notified = true;
            drop(notified);
            self.cond.notify_one();
        }
    }
}
