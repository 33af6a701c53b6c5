//! How deep a process's stack has gone.
//!
//! Nothing in hardware tells the runtime how much of a stack a process has
//! touched, and asking the kernel (`mincore`) costs a system call. Instead the
//! depth is *sampled*: every runtime call already computes its stack pointer
//! for the red-zone check (`scheduler::budget`), and every suspension for
//! `process_info`, so both also keep the deepest depth seen in the process's
//! own state (`Local::stack_deepest`, one compare and a store). The figure is
//! a lower bound on the true high-water mark: a frame that goes deeper
//! between two runtime calls, and returns before the next one, is not seen.
//!
//! The owner publishes both figures at each suspension in one relaxed store
//! to [`StackDepth`], for readers on other threads (`process_info`); the
//! trimming policy ([`super::trim`]) reads the owner's own copy when the
//! process gives its stack back.

use std::sync::atomic::{AtomicU64, Ordering};

/// A process's stack depth, as last published by its owner: the bytes in use
/// at its last suspension and the deepest sampled so far, both in bytes below
/// the stack's base (each fits in 32 bits: stacks are at most 1 GiB).
#[derive(Debug, Default)]
pub(crate) struct StackDepth(AtomicU64);

impl StackDepth {
    /// Publishes `current` and `deepest` (one relaxed store).
    #[inline]
    pub(crate) fn publish(&self, current: usize, deepest: u32) {
        let current = current.min(u32::MAX as usize) as u64;
        self.0.store(current | (deepest as u64) << 32, Ordering::Relaxed);
    }

    /// The process holds no stack any more.
    #[inline]
    pub(crate) fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    /// `(current, deepest)`, as last published.
    pub(crate) fn load(&self) -> (usize, usize) {
        let packed = self.0.load(Ordering::Relaxed);
        ((packed & u32::MAX as u64) as usize, (packed >> 32) as usize)
    }
}

/// The depth of `sp` below `base`, saturated to 32 bits.
#[inline]
pub(crate) fn depth_of(base: usize, sp: usize) -> u32 {
    base.saturating_sub(sp).min(u32::MAX as usize) as u32
}
