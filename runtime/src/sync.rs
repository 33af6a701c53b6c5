//! Synchronisation primitives of the lock-free protocols, swappable for
//! loom's model-checked versions (`RUSTFLAGS="--cfg loom"`).
//!
//! Only the modules whose protocol is model-checked (the process run state and
//! the idle-worker bookkeeping) use this shim; everything else uses std and
//! parking_lot directly.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};

/// A mutex whose `lock` returns the guard directly (parking_lot style).
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(#[cfg(loom)] loom::sync::Mutex<T>, #[cfg(not(loom))] parking_lot::Mutex<T>);

#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        #[cfg(loom)]
        return Mutex(loom::sync::Mutex::new(value));
        #[cfg(not(loom))]
        Mutex(parking_lot::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(loom)]
        return self.0.lock().unwrap();
        #[cfg(not(loom))]
        self.0.lock()
    }
}

/// A condition variable paired with [`Mutex`].
#[derive(Debug, Default)]
pub(crate) struct Condvar(#[cfg(loom)] loom::sync::Condvar, #[cfg(not(loom))] parking_lot::Condvar);

impl Condvar {
    pub(crate) fn new() -> Self {
        #[cfg(loom)]
        return Condvar(loom::sync::Condvar::new());
        #[cfg(not(loom))]
        Condvar(parking_lot::Condvar::new())
    }

    /// Blocks until notified or, with a deadline, until it passes. Returns the
    /// guard; spurious wake-ups are possible, callers re-check their condition.
    pub(crate) fn wait<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<std::time::Instant>,
    ) -> MutexGuard<'a, T> {
        #[cfg(loom)]
        {
            let _ = deadline;
            self.0.wait(guard).unwrap()
        }
        #[cfg(not(loom))]
        {
            let mut guard = guard;
            match deadline {
                Some(d) => {
                    self.0.wait_until(&mut guard, d);
                }
                None => self.0.wait(&mut guard),
            }
            guard
        }
    }

    pub(crate) fn notify_one(&self) {
        #[cfg(loom)]
        self.0.notify_one();
        #[cfg(not(loom))]
        {
            self.0.notify_one();
        }
    }
}
