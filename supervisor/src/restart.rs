//! Restart intensity: at most `max_restarts` restarts within `max_seconds`
//! (SEMANTICS.md §4.6).
//!
//! Every restart *attempt* counts, including each retry of a failed restart.
//! Time is counted in whole seconds of a monotonic clock, as OTP does: a
//! restart at second `t` is forgotten once `t < now - period`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The default intensity: 3 restarts…
pub const DEFAULT_MAX_RESTARTS: u32 = 3;
/// …within 5 seconds.
pub const DEFAULT_MAX_SECONDS: u64 = 5;

/// A restart history.
///
/// ```
/// use ember_supervisor::{Intensity, DEFAULT_MAX_RESTARTS, DEFAULT_MAX_SECONDS};
/// let mut history = Intensity::new(DEFAULT_MAX_RESTARTS, DEFAULT_MAX_SECONDS);
/// // Three restarts in a row are allowed; the fourth within 5 s is one too many.
/// assert!((0..3).all(|_| history.add_restart()));
/// assert!(!history.add_restart());
/// ```
#[derive(Debug)]
pub struct Intensity {
    max_restarts: u32,
    period: u64,
    epoch: Instant,
    /// Seconds (since `epoch`) of the restarts still in the window, oldest first.
    restarts: VecDeque<u64>,
}

impl Intensity {
    /// A history allowing `max_restarts` within `max_seconds` (at least 1).
    ///
    /// ```
    /// let mut i = ember_supervisor::Intensity::new(1, 5);
    /// assert!(i.add_restart());
    /// assert!(!i.add_restart());
    /// ```
    pub fn new(max_restarts: u32, max_seconds: u64) -> Self {
        Intensity { max_restarts, period: max_seconds.max(1), epoch: Instant::now(), restarts: VecDeque::new() }
    }

    /// Records a restart now. Returns `false` when the intensity is
    /// exceeded (the supervisor must then give up).
    ///
    /// ```
    /// let mut history = ember_supervisor::Intensity::new(0, 5);
    /// assert!(!history.add_restart()); // zero restarts allowed: give up at the first
    /// ```
    pub fn add_restart(&mut self) -> bool {
        self.add_restart_at(Instant::now())
    }

    /// [`Intensity::add_restart`] at a given instant (for tests).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut i = ember_supervisor::Intensity::new(1, 2);
    /// let t = Instant::now();
    /// assert!(i.add_restart_at(t));
    /// assert!(i.add_restart_at(t + Duration::from_secs(3)), "the first one left the window");
    /// ```
    pub fn add_restart_at(&mut self, now: Instant) -> bool {
        let now = now.saturating_duration_since(self.epoch).as_secs();
        let oldest_kept = now.saturating_sub(self.period);
        while self.restarts.front().is_some_and(|&t| t < oldest_kept) {
            self.restarts.pop_front();
        }
        self.restarts.push_back(now);
        self.restarts.len() as u64 <= self.max_restarts as u64
    }

    /// The configured period.
    ///
    /// ```
    /// use ember_supervisor::Intensity;
    /// use std::time::Duration;
    /// assert_eq!(Intensity::new(3, 10).period(), Duration::from_secs(10));
    /// assert_eq!(Intensity::new(3, 0).period(), Duration::from_secs(1)); // at least one second
    /// ```
    pub fn period(&self) -> Duration {
        Duration::from_secs(self.period)
    }
}
