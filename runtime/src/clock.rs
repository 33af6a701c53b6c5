//! A millisecond clock that costs one load to read: milliseconds since the
//! runtime started, as the system monitor last saw them.
//!
//! Every spawn records its start time, so reading the time must cost less
//! than the spawn notices: even a coarse `clock_gettime` through the vDSO is
//! a few dozen instructions and a read of the kernel's shared page. The
//! system monitor already reads the clock every millisecond while any worker
//! is awake (see `scheduler::sysmon`); it stores what it read here, and a
//! spawn loads it.
//!
//! While the monitor sleeps (every worker parked) or has not started, the
//! stored time is stale: [`CoarseClock::now_ms`] then reads the clock itself.
//! The time it returns never goes backwards, whichever way it was found, so a
//! child never starts before its parent.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// See the module docs.
pub(crate) struct CoarseClock {
    /// The last time stored, in ms since `start`; only grows.
    ms: CachePadded<AtomicU64>,
    /// The monitor is awake and stores the time about every millisecond.
    ticking: AtomicBool,
}

impl CoarseClock {
    pub(crate) fn new() -> Self {
        CoarseClock { ms: CachePadded::new(AtomicU64::new(0)), ticking: AtomicBool::new(false) }
    }

    /// Milliseconds since `start`, to about a millisecond while the monitor
    /// runs (more when the OS does not run it on time).
    #[inline]
    pub(crate) fn now_ms(&self, start: Instant) -> u64 {
        if self.ticking.load(Ordering::Relaxed) {
            return self.ms.load(Ordering::Relaxed);
        }
        self.store(start.elapsed().as_millis() as u64)
    }

    /// The monitor: the time it just read.
    #[inline]
    pub(crate) fn tick(&self, now: Instant, start: Instant) {
        self.store(now.saturating_duration_since(start).as_millis() as u64);
        self.ticking.store(true, Ordering::Relaxed);
    }

    /// The monitor: about to sleep for longer than a tick; readers read the
    /// clock themselves until it ticks again.
    pub(crate) fn pause(&self) {
        self.ticking.store(false, Ordering::Relaxed);
    }

    /// Stores `ms` unless a later time is stored; returns the later of both.
    fn store(&self, ms: u64) -> u64 {
        self.ms.fetch_max(ms, Ordering::Relaxed).max(ms)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reads_the_clock_until_it_ticks_and_never_goes_backwards() {
        let start = Instant::now() - Duration::from_millis(500);
        let clock = CoarseClock::new();
        let fresh = clock.now_ms(start);
        assert!(fresh >= 500, "not ticking: reads the clock ({fresh})");
        // A tick from an older reading does not move it back.
        clock.tick(start + Duration::from_millis(100), start);
        assert_eq!(clock.now_ms(start), fresh, "ticking: the stored time, which never decreases");
        clock.tick(start + Duration::from_millis(10_000), start);
        assert_eq!(clock.now_ms(start), 10_000, "ticking: one load, no clock read");
        clock.pause();
        assert!(clock.now_ms(start) >= 10_000, "paused: reads the clock, and keeps the later time");
    }
}
