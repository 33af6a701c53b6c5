//! When pooled stacks give their memory back to the kernel.
//!
//! Stacks are recycled warm (see the pool's docs): the next process on a
//! stack finds its pages resident and pays no page faults. The price is that
//! a stack keeps every page it was ever pushed to. Without a policy, 20,000
//! processes that each went 100 KiB deep leave 2 GB resident for good, and
//! each later idle process that inherits one of those stacks costs 104 KiB
//! instead of one page.
//!
//! # The policy: trim what a period did not reuse
//!
//! Once a [`PERIOD`], busy or idle, the system monitor trims the free stacks
//! that stayed on the pool's free lists for the whole period, keeping the
//! [`KEEP_FREE`] most recently released of each size class
//! ([`StackPool::trim_unused`](super::StackPool::trim_unused)): their pages
//! go back with `MADV_DONTNEED`, and their next user faults in fresh zero
//! pages. Free lists are LIFO, so "stayed for the whole period" is the
//! prefix below the list's low-water mark since the last trim, kept under the
//! class lock the pool already takes. The trim runs on the monitor's thread,
//! in batches of a few dozen stacks per lock hold.
//!
//! * A steady workload that keeps reusing its stacks (spawn-heavy
//!   benchmarks, a process per request) never has them trimmed: it pays no
//!   page faults and no system calls for this policy.
//! * The memory of a burst that has passed goes back within one to two
//!   periods, whether or not the runtime saw how deep its processes went.
//!
//! # What was measured, and rejected
//!
//! Trimming a stack when its process exits, if its sampled depth
//! ([`super::depth`]) went past 64 KiB, gives a burst's memory back at once,
//! but a workload whose processes keep going deep then pays for every one of
//! them: `cargo bench --bench memory -- deep_churn_20k` went from 4.3 µs to
//! 50–70 µs per process (one `MADV_DONTNEED` with its TLB shootdown, and
//! about 25 page faults for the next user). The period rule costs such a
//! workload nothing. Figures in `docs/BENCHMARKS.md`.
//!
//! # What it leaves
//!
//! Stacks in the workers' caches (at most [`CACHE_CAP`](super::CACHE_CAP)
//! per size class and worker) stay warm, trimmed or not. A user who wants
//! every other byte back at once calls `ember::trim_stacks(0)` (or
//! `Runtime::trim_stacks(0)`).

use super::CACHE_BATCH;
use std::time::Duration;

/// Free stacks per size class that the background trim leaves warm.
pub(crate) const KEEP_FREE: usize = CACHE_BATCH;

/// How long a free stack must stay unused before the background trim gives
/// its memory back.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);
