//! The per-worker timer wheel: pending receive timeouts, `sleep`s and
//! `send_after`s.
//!
//! Each scheduler worker owns one [`TimerWheel`] (behind a mutex that only it
//! takes in the common case). The wheel is a plain single-threaded data
//! structure, generic over the payload `T` stored with each timer; it knows
//! nothing about processes.
//!
//! # Guarantees
//!
//! Time is counted in whole milliseconds since the `start` instant given to
//! [`TimerWheel::new`]. A deadline is rounded *up* to a whole ms, and the `now`
//! passed to [`TimerWheel::advance`] is rounded *down*, so:
//!
//! * **never early**: a timer fires only from an `advance(now)` with
//!   `now >= deadline`;
//! * **never skipped**: a timer fires on the *first* `advance(now)` whose
//!   `now`, rounded down to a ms, reaches its deadline rounded up to a ms (with
//!   ms-aligned deadlines: the first `advance(now)` with `now >= deadline`). A
//!   deadline at or before the wheel's clock (the latest `now` seen) fires on
//!   the next `advance`. Timers due in the same ms fire in unspecified order,
//!   timers due in different ms of one `advance` too (`advance` returns a
//!   batch, not a sequence);
//! * **exactly once**: a timer is handed back exactly once, either by
//!   `advance` or by [`TimerWheel::cancel`]; a [`TimerKey`] whose timer was
//!   handed back is stale and `cancel` ignores it (`None`), even if its
//!   storage slot was reused by a newer timer;
//! * [`TimerWheel::next_deadline`] is never *later* than the earliest pending
//!   deadline; it may be earlier (the start of the coarse slot holding the
//!   earliest timer), but advancing to it always makes progress, so a worker
//!   that parks until `next_deadline()` and then advances wakes up at most
//!   about once per level per timer before that timer fires.
//!
//! No user code runs inside the wheel (payloads are only moved in and out, and
//! allocation failure aborts), so no operation can leave it half-updated.
//! Dropping the wheel drops the payloads of the timers still pending. The
//! wheel is `Send`/`Sync` when `T` is, and does no locking itself.
//!
//! Costs: `insert` and `cancel` are O(1) (no allocation except when the
//! entry storage grows); `next_deadline` is O(levels) = a few bit operations;
//! `advance` is O(fired timers + non-empty slots crossed + cascaded timers),
//! and each timer is cascaded at most once per level.
//!
//! # Structure
//!
//! A hierarchical hashed wheel of 6 levels × 64 slots. A slot at level `l`
//! covers `64^l` ms: level 0 has 1 ms slots (64 ms in all), level 1 has
//! 64 ms slots (~4 s), level 2 4.096 s slots (~4.4 min), level 3 ~4.4 min
//! slots (~4.7 h), level 4 ~4.7 h slots (~12.4 days) and level 5 ~12.4 day
//! slots (2^36 ms, ~2.2 years).
//!
//! Times are read as 6-bit digits. A timer due at `d` while the wheel's clock
//! reads `e < d` is filed at the level of the most significant digit in which
//! `d` and `e` differ, in the slot given by `d`'s digit at that level. Every
//! non-empty slot therefore lies strictly after the clock, and each level's
//! slots lie within the current slot of the level above, so the earliest
//! non-empty slot is the first set bit, after the clock's digit, of the
//! lowest level with any set bit in its occupancy bitmap (one `u64` per level;
//! a rotate and `trailing_zeros`, no scan). When the clock reaches the start
//! of a slot at level `l > 0`, its timers are either due (fired) or re-filed
//! ("cascaded") at a lower level, since they now share more digits with the
//! clock. Deadlines 2^36 ms or more ahead go into the top level by their
//! level-5 digit; the slot is reached at most 2^36 ms early and its timers
//! are then re-filed, so they never fire early either. Deadlines that had
//! already passed at insertion go into a separate *expired* list that the
//! next `advance` drains.
//!
//! Timers live in a [`slab::Slab`]; each slot's timers form an intrusive
//! doubly linked list threaded through the slab by `u32` indices, so `cancel`
//! unlinks in O(1) without unsafe code. Each timer carries a unique 64-bit
//! generation, repeated in its [`TimerKey`], so stale keys are detected.
//!
//! Memory: one slab slot per timer, 32 bytes of bookkeeping plus `T` (rounded
//! up to 8-byte alignment), e.g. 32 bytes for `T = ()` and 48 bytes for a
//! 16-byte payload; the slab is a `Vec` that grows by doubling and never
//! shrinks, so its capacity follows the peak number of pending timers. The
//! fixed part of the wheel (list heads and bitmaps) is about 1.6 KiB.

mod queue;
mod wheel;

pub(crate) use queue::{TimerAction, TimerQueue};
pub(crate) use wheel::{TimerKey, TimerWheel};

#[cfg(test)]
mod tests;
