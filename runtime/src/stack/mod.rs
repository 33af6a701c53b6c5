//! The stack pool: where process stacks come from.
//!
//! Every started process runs on its own stack (a corosensei coroutine). An
//! Erlang-style program keeps hundreds of thousands to millions of processes
//! alive and spawns millions per second, so stacks must be cheap to hold,
//! cheap to hand out, and must not run into the kernel's limits. corosensei's
//! `DefaultStack` fails all three: it is one `mmap` plus one `mprotect` per
//! stack (about 9 µs), and because the guard page splits the mapping, every
//! stack costs two entries against `vm.max_map_count` (65,530 by default), so
//! the 32,751st concurrent stack fails with `ENOMEM`.
//!
//! # Slabs
//!
//! Stacks are carved out of large anonymous mappings, the *slabs* (see
//! [`slab`]). A slab holds stacks of one *size class* back to back, each laid
//! out as one guard page followed by the usable bytes. Size classes are powers
//! of two from 16 KiB ([`MIN_STACK`]) to 1 GiB ([`MAX_STACK`]); a request is
//! rounded up to a page multiple and then to a power of two, so all the
//! per-spawn sizes of a program share a few classes, each with its own slabs
//! and free list.
//!
//! Slabs are mapped `MAP_NORESERVE` (they are mostly address space that is
//! never touched) and grow geometrically: the first slab of a class holds 32
//! stacks, each next one twice as many, up to 32 Ki stacks. A small program
//! maps little; a million 128 KiB stacks take about forty mappings. Only the
//! pages a process actually touches are ever backed by memory, typically one
//! or two per stack.
//!
//! A slab hands out never-used stacks lazily, from a bump index. Slabs are
//! never unmapped while the pool lives: a stack address may be held by a
//! coroutine anywhere. Dropping the pool unmaps them, provided every stack has
//! come back (see [`StackPool`]'s `Drop`).
//!
//! # Guard pages
//!
//! A stack is never handed out without a guard page below it (see [`guard`]).
//! The guard is installed the first time a stack is handed out and stays for
//! the life of the slab, so reuse costs nothing. On Linux 6.13+ the guard is a
//! page-table marker installed with `madvise(MADV_GUARD_INSTALL)` (about 1 µs):
//! it creates no kernel memory map, so a slab of 32 Ki guarded stacks is
//! still one map. On older kernels ([`GuardMode::Auto`] detects `EINVAL` once)
//! the pool falls back for good to `mprotect(PROT_NONE)`, which splits the
//! slab's mapping at every guard and thus spends the map budget like
//! `DefaultStack` does. When the kernel refuses another split, allocation
//! returns [`StackError::MapBudgetExhausted`], leaving the pool consistent:
//! the stack is kept aside and retried on the next allocation, and released
//! stacks (already guarded) keep being reused.
//!
//! # Warm reuse
//!
//! Released stacks go onto their class's free list and the most recently
//! released one is handed out first (LIFO): its pages are still resident and
//! probably in cache, so the new process does not pay a page fault (1.6–7 µs)
//! per stack page it touches. A recycled stack costs a lock and a `Vec` pop.
//!
//! The pool lock is shared by all workers, so each worker keeps a
//! [`StackCache`] in front of it: a small per-class LIFO of its own that
//! refills from and spills to the pool in batches of [`CACHE_BATCH`], so most
//! spawns and exits take no lock at all.
//!
//! # Trimming
//!
//! A released stack keeps its resident pages, which is what makes reuse warm
//! but also means a burst of processes leaves its peak memory behind.
//! [`StackPool::trim`] hands the pages of the coldest free stacks (those
//! beyond the `keep` most recently released per class) back to the kernel
//! with `MADV_DONTNEED`, one call per run of neighbouring free stacks (the
//! stacks of a burst sit side by side, and each call costs a TLB shootdown on
//! every CPU running a worker). Trimmed stacks stay in the pool and remain usable;
//! their next user just faults in fresh zero pages. The guard page is left
//! alone. Stacks sitting in [`StackCache`]s are not trimmed. When the
//! runtime trims on its own, and what it leaves, is the policy of [`trim`].
//!
//! # Ownership
//!
//! A [`PooledStack`] does not borrow its pool: it is a plain handle that a
//! coroutine owns and the runtime gives back with [`StackPool::release`] or
//! [`StackCache::put`] once the coroutine is done. Giving it to another pool
//! panics. Dropping it leaks it (it stays mapped). A [`StackCache`] must be
//! [flushed](StackCache::flush) before it is dropped, or its stacks leak the
//! same way. Dropping the pool unmaps the slabs only when every stack is back,
//! so no handle can ever point at unmapped memory.
//!
//! Locking: each size class has its own lock, held for a few instructions per
//! allocation or release, and across `mmap` only when a new slab is mapped.
//! Guard installation, a system call, runs outside the lock.

// The runtime uses only part of this API outside of tests.

pub(crate) mod depth;
mod guard;
pub(crate) mod overflow;
mod slab;
pub(crate) mod trim;

use corosensei::stack::{Stack, StackPointer};
use parking_lot::{Mutex, MutexGuard};
use slab::Carver;
use std::cell::Cell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// Usable bytes of the smallest size class.
pub(crate) const MIN_STACK: usize = 16 * 1024;

/// `log2(MIN_STACK)`.
const MIN_SHIFT: u32 = MIN_STACK.trailing_zeros();

/// Number of size classes: 16 KiB, 32 KiB, ..., 1 GiB.
pub(crate) const NUM_CLASSES: usize = 17;

/// Usable bytes of the largest size class.
pub(crate) const MAX_STACK: usize = MIN_STACK << (NUM_CLASSES - 1);

/// Stacks a [`StackCache`] holds per size class before spilling to the pool.
pub(crate) const CACHE_CAP: usize = 64;

/// Stacks a [`StackCache`] moves to or from the pool at a time.
pub(crate) const CACHE_BATCH: usize = 32;

/// Stacks [`StackPool::trim`] discards per acquisition of a class's lock.
const TRIM_BATCH: usize = 64;

/// What one trim did: stacks whose memory went back, in how many
/// `MADV_DONTNEED` calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Trimmed {
    stacks: usize,
    calls: usize,
}

/// How guard pages are installed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum GuardMode {
    /// Try `madvise(MADV_GUARD_INSTALL)` and fall back to `mprotect` for good
    /// if the kernel does not know it (before Linux 6.13). In
    /// [`StackStats::guard_mode`]: not decided yet (no guard installed).
    #[default]
    Auto,
    /// Only `madvise(MADV_GUARD_INSTALL)`; allocation fails with
    /// [`StackError::GuardUnsupported`] on kernels older than 6.13.
    Madvise,
    /// Only `mprotect(PROT_NONE)`: each guard costs two kernel memory maps.
    Mprotect,
}

/// Configuration of a [`StackPool`].
#[derive(Clone, Debug, Default)]
pub(crate) struct StackConfig {
    /// How guard pages are installed.
    pub guard: GuardMode,
    /// Test hook simulating the kernel's map limit: after this many `mprotect`
    /// guards, fail as `ENOMEM` from the kernel would. `None` in production.
    pub mprotect_budget: Option<usize>,
}

/// Why a stack could not be allocated.
#[derive(Debug)]
pub(crate) enum StackError {
    /// The requested size is above the largest size class.
    TooLarge {
        /// Usable bytes requested.
        requested: usize,
        /// The largest usable size the pool supports.
        max: usize,
    },
    /// Mapping a new slab failed.
    Mmap {
        /// Size of the slab that could not be mapped.
        bytes: usize,
        /// The error from `mmap`.
        source: io::Error,
    },
    /// `mprotect` guards only: the kernel refused to split another mapping
    /// (`vm.max_map_count` reached). Released stacks are still reused, so a
    /// later allocation may succeed.
    MapBudgetExhausted {
        /// `mprotect` guards installed so far by this pool.
        mprotect_guards: usize,
        /// The current `vm.max_map_count`, if readable.
        max_map_count: Option<usize>,
    },
    /// [`GuardMode::Madvise`] was forced but the kernel does not support
    /// `MADV_GUARD_INSTALL`.
    GuardUnsupported,
    /// Installing a guard page failed for another reason.
    Guard(io::Error),
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::TooLarge { requested, max } => write!(
                f,
                "process stack of {requested} bytes requested, but the largest supported stack is {max} bytes; \
                 ask for a smaller stack_size"
            ),
            StackError::Mmap { bytes, source } => write!(
                f,
                "could not map {bytes} bytes of address space for process stacks: {source}; \
                 check the address-space limit (ulimit -v), vm.overcommit_memory, and vm.max_map_count"
            ),
            StackError::MapBudgetExhausted { mprotect_guards, max_map_count } => {
                let limit = match max_map_count {
                    Some(n) => n.to_string(),
                    None => "unknown".to_string(),
                };
                write!(
                    f,
                    "cannot guard a new process stack: the kernel's memory-map limit is reached \
                     (vm.max_map_count = {limit}, {mprotect_guards} mprotect guard pages installed). Guard pages \
                     are installed with mprotect, because the kernel lacks MADV_GUARD_INSTALL (it needs Linux 6.13 \
                     or later) or GuardMode::Mprotect was chosen, so every stack guard costs two memory maps. Raise \
                     the limit (e.g. `sysctl -w vm.max_map_count=2097152`), run on Linux 6.13+ with GuardMode::Auto, \
                     or keep fewer processes alive at once; stacks of exited processes are reused without new maps"
                )
            }
            StackError::GuardUnsupported => f.write_str(
                "madvise(MADV_GUARD_INSTALL) is not supported by this kernel (needs Linux 6.13 or later); \
                 use GuardMode::Auto or GuardMode::Mprotect",
            ),
            StackError::Guard(e) => write!(f, "could not install a guard page below a process stack: {e}"),
        }
    }
}

impl std::error::Error for StackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StackError::Mmap { source, .. } => Some(source),
            StackError::Guard(e) => Some(e),
            _ => None,
        }
    }
}

/// A snapshot of a pool's counters. Exact when no allocation, release or
/// cache operation is running concurrently.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StackStats {
    /// Slab mappings (kernel memory maps, unless the kernel merged adjacent
    /// ones; `mprotect` guards split them further).
    pub slabs_mapped: usize,
    /// Address space mapped by slabs, in bytes (virtual, not resident).
    pub bytes_mapped: usize,
    /// Stacks that have been handed out at least once (and have a guard).
    pub stacks_carved: usize,
    /// Stacks on the pool's free lists.
    pub stacks_free: usize,
    /// Of `stacks_free`, the stacks whose memory [`StackPool::trim`] returned.
    pub stacks_cold: usize,
    /// Stacks held in [`StackCache`]s.
    pub stacks_cached: usize,
    /// Stacks held by their users (neither in the pool nor in a cache).
    pub stacks_in_use: usize,
    /// The guard mechanism in effect ([`GuardMode::Auto`]: not decided yet).
    pub guard_mode: GuardMode,
    /// Guards installed with `mprotect` (each costs two kernel memory maps).
    pub mprotect_guards: usize,
    /// Times a size-class lock was taken by `allocate`, `release` or a cache
    /// refill or spill (not by `stats` or `trim`).
    pub pool_locks: u64,
}

/// Source of pool ids, which tie stacks and caches to their pool.
static NEXT_POOL_ID: AtomicU32 = AtomicU32::new(1);

/// The state of one size class.
#[derive(Debug)]
struct Class {
    /// Guarded free stacks, by low address. The last one is the most recently
    /// released (warmest).
    free: Vec<StackPointer>,
    /// `free[..cold]` have been trimmed; always `cold <= free.len()`.
    cold: usize,
    /// `free[..untouched]` have stayed on the list since the last
    /// [`StackPool::trim_unused`] (the list's low-water mark since then);
    /// always `untouched <= free.len()`.
    untouched: usize,
    /// Carved stacks whose guard could not be installed: retried first.
    unguarded: Vec<StackPointer>,
    /// The slabs, and the never-used stacks in them.
    carver: Carver,
    /// Stacks with a guard, ever handed out.
    carved: usize,
    /// Lock acquisitions counted in [`StackStats::pool_locks`].
    locks: u64,
}

impl Class {
    /// Pops the warmest free stack.
    fn pop_free(&mut self) -> Option<StackPointer> {
        let addr = self.free.pop()?;
        self.cold = self.cold.min(self.free.len());
        self.untouched = self.untouched.min(self.free.len());
        Some(addr)
    }
}

/// A size class's lock on its own cache lines, so that workers spawning with
/// different sizes do not contend on the same line.
#[repr(align(128))]
struct Padded(Mutex<Class>);

/// The shared pool of process stacks; see the [module docs](self).
///
/// `Send + Sync`, shared by all workers. Workers should go through a
/// [`StackCache`] for the common case.
///
/// # Drop
///
/// Dropping the pool unmaps every slab if every stack carved from it is back
/// on its free lists. If a stack is still out (held by a coroutine, leaked,
/// or sitting in a [`StackCache`] that was not [flushed](StackCache::flush)),
/// the slabs are leaked instead, so the outstanding stack stays valid memory.
pub(crate) struct StackPool {
    /// Identifies the pool's stacks and caches.
    id: u32,
    /// The system page size (one guard page per stack).
    page: usize,
    /// Guard installation and the mode in effect.
    guards: guard::Guards,
    /// Per-class state, indexed by class.
    classes: [Padded; NUM_CLASSES],
    /// Stack counts of the caches attached to this pool.
    caches: Mutex<Vec<Weak<AtomicUsize>>>,
}

impl fmt::Debug for StackPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StackPool").field("id", &self.id).field("stats", &self.stats()).finish()
    }
}

impl StackPool {
    /// An empty pool; maps nothing until the first allocation.
    pub(crate) fn new(config: StackConfig) -> Self {
        let page = page_size();
        StackPool {
            // Ids never wrap around, so a stack is never mistaken for another
            // pool's.
            id: NEXT_POOL_ID
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |id| id.checked_add(1))
                .expect("too many stack pools created"),
            page,
            guards: guard::Guards::new(config.guard, config.mprotect_budget, page),
            classes: std::array::from_fn(|class| {
                let stride = page + (MIN_STACK << class);
                Padded(Mutex::new(Class {
                    free: Vec::new(),
                    cold: 0,
                    untouched: 0,
                    unguarded: Vec::new(),
                    carver: Carver::new(stride),
                    carved: 0,
                    locks: 0,
                }))
            }),
            caches: Mutex::new(Vec::new()),
        }
    }

    /// The usable size of the class that a request for `usable_bytes` falls
    /// in: rounded up to a page multiple, then to a power of two, at least
    /// [`MIN_STACK`].
    #[cfg_attr(not(test), allow(dead_code))] // used by tests and the single-stack paths
    pub(crate) fn class_size(&self, usable_bytes: usize) -> Result<usize, StackError> {
        Ok(MIN_STACK << self.class_of(usable_bytes)?)
    }

    /// A stack with at least `usable_bytes` usable bytes (rounded up to its
    /// size class): the most recently released one of the class, else a
    /// fresh one (guarded on the way out).
    #[cfg_attr(not(test), allow(dead_code))] // used by tests and the single-stack paths
    pub(crate) fn allocate(&self, usable_bytes: usize) -> Result<PooledStack, StackError> {
        let class = self.class_of(usable_bytes)?;
        let fresh = {
            let mut c = self.lock(class);
            if let Some(addr) = c.pop_free() {
                return Ok(self.stack(class, addr));
            }
            Self::reserve_fresh(&mut c)?
        };
        let addr = self.guard_fresh(class, fresh)?;
        Ok(self.stack(class, addr))
    }

    /// Returns a stack to its class's free list, on top: it is the next one
    /// handed out. Its memory stays resident (warm).
    ///
    /// # Panics
    ///
    /// If the stack was allocated by another pool.
    #[cfg_attr(not(test), allow(dead_code))] // used by tests and the single-stack paths
    pub(crate) fn release(&self, stack: PooledStack) {
        assert_eq!(stack.pool, self.id, "stack released to a pool that did not allocate it");
        self.lock(stack.class as usize).free.push(stack.limit);
    }

    /// Returns the memory of the free stacks beyond the `keep_per_class` most
    /// recently released of each class to the kernel (`MADV_DONTNEED` on their
    /// usable bytes), and returns how many stacks were trimmed. Stacks trimmed
    /// by an earlier call are not counted again.
    ///
    /// The stacks stay in the pool, guarded and usable; their next user faults
    /// in zero pages. Allocations of a class wait while it is being trimmed.
    /// Stacks in [`StackCache`]s are not reached: flush the caches first to
    /// include them.
    pub(crate) fn trim(&self, keep_per_class: usize) -> usize {
        self.trim_where(keep_per_class, false).stacks
    }

    /// [`StackPool::trim`], limited to the free stacks that nobody took since
    /// the previous call of this function (the background policy of
    /// [`trim`]: memory that a steady workload keeps reusing stays warm).
    pub(crate) fn trim_unused(&self, keep_per_class: usize) -> usize {
        self.trim_where(keep_per_class, true).stacks
    }

    fn trim_where(&self, keep_per_class: usize, only_untouched: bool) -> Trimmed {
        let mut trimmed = Trimmed { stacks: 0, calls: 0 };
        for (class, padded) in self.classes.iter().enumerate() {
            let usable = MIN_STACK << class;
            // In batches, so that a spawn waiting for this class's lock waits
            // for a few dozen system calls, not for thousands.
            loop {
                let mut c = padded.0.lock();
                let limit = if only_untouched { c.untouched } else { c.free.len() };
                let end = c.free.len().saturating_sub(keep_per_class).min(limit).min(c.cold + TRIM_BATCH);
                if end <= c.cold {
                    if only_untouched {
                        // A new period starts: what is on the list now.
                        c.untouched = c.free.len();
                    }
                    break;
                }
                trimmed.stacks += end - c.cold;
                trimmed.calls += Self::discard_free(&c, end, self.page, usable);
                c.cold = end;
            }
        }
        trimmed
    }

    /// Discards the usable bytes of `c.free[c.cold..end]`, one system call
    /// per run of neighbours in a slab: each `MADV_DONTNEED` costs a TLB
    /// shootdown on every CPU that runs a worker, and the stacks of a burst
    /// that ended sit side by side. Returns the number of calls.
    ///
    /// A range over several stacks includes the guard pages between them.
    /// `MADV_DONTNEED` leaves them guards: a guard marker
    /// (`MADV_GUARD_INSTALL`) survives it by the kernel's contract, and an
    /// `mprotect`ed page has no contents to drop and keeps its protection.
    fn discard_free(c: &Class, end: usize, page: usize, usable: usize) -> usize {
        let stride = page + usable;
        let mut limits: Vec<usize> = c.free[c.cold..end].iter().map(|a| a.get()).collect();
        limits.sort_unstable();
        let mut calls = 0;
        let mut i = 0;
        while i < limits.len() {
            let mut j = i + 1;
            while j < limits.len() && limits[j] == limits[j - 1] + stride {
                j += 1;
            }
            let len = (j - i) * stride - page;
            // SAFETY: each limit in `limits[i..j]` is the previous one plus a
            // guard page and a stack, so the range holds, in order, the
            // usable bytes of each of these free stacks and the guard page
            // of the next one (left a guard, see above), and nothing else.
            // Page-aligned and unused: the stacks are on the free list and
            // the caller holds the class lock, so nobody can take one
            // meanwhile. The guard page below the first is not part of it.
            let ok = unsafe { slab::discard(limits[i] + page, len) };
            debug_assert!(ok, "MADV_DONTNEED failed on free stacks");
            calls += 1;
            i = j;
        }
        calls
    }

    /// The size of a guard page (the system page size).
    pub(crate) fn page_size(&self) -> usize {
        self.page
    }

    /// A snapshot of the pool's counters.
    pub(crate) fn stats(&self) -> StackStats {
        let mut s = StackStats {
            guard_mode: self.guards.mode(),
            mprotect_guards: self.guards.mprotect_guards(),
            ..StackStats::default()
        };
        let mut out = 0;
        for padded in &self.classes {
            let c = padded.0.lock();
            s.slabs_mapped += c.carver.slabs();
            s.bytes_mapped += c.carver.mapped_bytes();
            s.stacks_carved += c.carved;
            s.stacks_free += c.free.len();
            s.stacks_cold += c.cold;
            s.pool_locks += c.locks;
            out += c.carved - c.free.len();
        }
        let mut caches = self.caches.lock();
        caches.retain(|count| count.strong_count() > 0);
        s.stacks_cached = caches.iter().filter_map(Weak::upgrade).map(|count| count.load(Ordering::Relaxed)).sum();
        s.stacks_in_use = out.saturating_sub(s.stacks_cached);
        s
    }

    /// The size class of a request for `usable` bytes.
    fn class_of(&self, usable: usize) -> Result<usize, StackError> {
        let too_large = StackError::TooLarge { requested: usable, max: MAX_STACK };
        if usable > MAX_STACK {
            return Err(too_large);
        }
        // No overflow: usable <= 1 GiB and the page size is a power of two.
        let rounded = (usable.max(MIN_STACK) + self.page - 1) & !(self.page - 1);
        let class = (rounded.next_power_of_two().trailing_zeros() - MIN_SHIFT) as usize;
        if class >= NUM_CLASSES {
            return Err(too_large);
        }
        Ok(class)
    }

    /// Locks a class, counting the acquisition.
    #[inline]
    fn lock(&self, class: usize) -> MutexGuard<'_, Class> {
        let mut c = self.classes[class].0.lock();
        c.locks += 1;
        c
    }

    /// The handle for the stack of `class` whose guard page is at `limit`.
    #[inline]
    fn stack(&self, class: usize, limit: StackPointer) -> PooledStack {
        let base = limit.saturating_add(self.page + (MIN_STACK << class));
        PooledStack { base, limit, class: class as u8, pool: self.id }
    }

    /// A stack without a guard yet: one whose guard failed before, else a
    /// never-used one from the slabs.
    fn reserve_fresh(c: &mut Class) -> Result<StackPointer, StackError> {
        if let Some(addr) = c.unguarded.pop() {
            return Ok(addr);
        }
        let addr = c.carver.carve()?;
        Ok(StackPointer::new(addr).expect("mmap does not return address 0"))
    }

    /// Installs the guard of a reserved stack (without holding the class
    /// lock: it is a system call) and records the result: the stack counts as
    /// carved, or goes back to the unguarded list.
    #[cold]
    fn guard_fresh(&self, class: usize, addr: StackPointer) -> Result<StackPointer, StackError> {
        // SAFETY: `addr` is the page-aligned low end of a stack in one of our
        // slabs (slabs live as long as the pool), reserved by the caller under
        // the class lock, so it is on no list and nobody else can use it.
        let result = unsafe { self.guards.install(addr.get()) };
        let mut c = self.lock(class);
        match result {
            Ok(()) => {
                c.carved += 1;
                Ok(addr)
            }
            Err(e) => {
                c.unguarded.push(addr);
                Err(e)
            }
        }
    }

    /// Takes the warmest free stack of `class` and moves up to `n - 1` of the
    /// next warmest to the top of `out`, in order (the warmer, the later).
    /// With no free stack, carves a fresh one and leaves `out` alone.
    fn refill(&self, class: usize, out: &mut Vec<StackPointer>, n: usize) -> Result<StackPointer, StackError> {
        let fresh = {
            let mut c = self.lock(class);
            if let Some(top) = c.pop_free() {
                let start = c.free.len().saturating_sub(n.saturating_sub(1));
                c.cold = c.cold.min(start);
                c.untouched = c.untouched.min(start);
                out.extend(c.free.drain(start..));
                return Ok(top);
            }
            Self::reserve_fresh(&mut c)?
        };
        self.guard_fresh(class, fresh)
    }

    /// Puts stacks of `class` back on its free list, in order (the last one
    /// becomes the warmest).
    fn spill(&self, class: usize, stacks: impl Iterator<Item = StackPointer>) {
        self.lock(class).free.extend(stacks);
    }

    /// Unmaps every slab if no stack is out; returns whether it did.
    fn unmap_if_idle(&mut self) -> bool {
        let out: usize = self
            .classes
            .iter_mut()
            .map(|padded| {
                let c = padded.0.get_mut();
                c.carved - c.free.len()
            })
            .sum();
        if out != 0 {
            return false;
        }
        for padded in &mut self.classes {
            let c = padded.0.get_mut();
            c.free.clear();
            c.unguarded.clear();
            c.cold = 0;
            c.untouched = 0;
            c.carved = 0;
            // SAFETY: every carved stack is on the free list (none is held
            // by a coroutine or a cache), unguarded ones were never handed
            // out, and the lists were just cleared, so no stack of these slabs
            // can be used again.
            unsafe { c.carver.unmap_all() };
        }
        true
    }
}

impl Drop for StackPool {
    fn drop(&mut self) {
        // If a stack is still out, leak the slabs: it must stay valid memory.
        self.unmap_if_idle();
    }
}

/// A stack handed out by a [`StackPool`], usable by a corosensei coroutine.
///
/// Give it back with [`StackPool::release`] or [`StackCache::put`]. Dropping
/// it instead leaks it (its memory stays mapped until the pool is dropped, and
/// then for good).
#[derive(Debug)]
pub(crate) struct PooledStack {
    /// High end of the stack.
    base: StackPointer,
    /// Low end of the stack, including its guard page.
    limit: StackPointer,
    /// Size class index.
    class: u8,
    /// Id of the pool it came from.
    pool: u32,
}

impl PooledStack {
    /// Takes the stack out of circulation for good: it stays mapped, as it
    /// is, and is never handed out again (an overflowed process's frames are
    /// abandoned on it, and other threads may still point into them).
    pub(crate) fn quarantine(self) {
        let _kept_mapped = self;
    }

    /// Lowest usable address (the guard page is the page below).
    #[inline]
    pub(crate) fn usable_limit(&self) -> usize {
        self.base.get() - self.usable()
    }

    /// Usable bytes (the size class), excluding the guard page.
    #[inline]
    pub(crate) fn usable(&self) -> usize {
        MIN_STACK << self.class
    }
}

// SAFETY: a pooled stack always has a guard page at its low end (installed
// before it is first handed out and never removed while its slab is mapped,
// see `StackPool::guard_fresh`), `limit` includes that guard page, and there
// are at least `MIN_STACK` = 16 KiB >= `MIN_STACK_SIZE` usable bytes above it.
// Both ends are page-aligned, hence aligned to `STACK_ALIGNMENT`. The memory
// stays mapped while the handle exists: slabs are only unmapped when every
// stack is back in the pool.
unsafe impl Stack for PooledStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.base
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.limit
    }
}

/// A worker's private front cache of stacks, in front of the shared
/// [`StackPool`].
///
/// `get` and `put` work on a small per-class LIFO (up to [`CACHE_CAP`] stacks
/// each) and only take the pool lock to refill or spill [`CACHE_BATCH`]
/// stacks at a time. The cache does not hold a reference to its pool: every
/// call takes it, and it must be the pool given to [`StackCache::new`].
///
/// Call [`StackCache::flush`] before dropping a cache: stacks still in it are
/// leaked, and keep the pool from unmapping its slabs when it is dropped.
pub(crate) struct StackCache {
    /// Id of the pool this cache belongs to.
    pool: u32,
    /// Per-class LIFOs of free stacks, by low address.
    classes: [Vec<StackPointer>; NUM_CLASSES],
    /// Stacks in `classes`.
    len: usize,
    /// Stacks in `classes`, published for [`StackPool::stats`].
    count: Arc<AtomicUsize>,
    /// One worker's cache: `&mut` access only, not meant to be shared.
    _not_sync: PhantomData<Cell<()>>,
}

impl fmt::Debug for StackCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StackCache").field("pool", &self.pool).field("len", &self.len()).finish()
    }
}

impl StackCache {
    /// An empty cache in front of `pool`.
    pub(crate) fn new(pool: &StackPool) -> Self {
        let count = Arc::new(AtomicUsize::new(0));
        pool.caches.lock().push(Arc::downgrade(&count));
        StackCache { pool: pool.id, classes: Default::default(), len: 0, count, _not_sync: PhantomData }
    }

    /// A stack with at least `usable_bytes` usable bytes, like
    /// [`StackPool::allocate`]: the most recently put one of its class, else
    /// the warmest of a batch taken from the pool, else a fresh one.
    #[inline]
    pub(crate) fn get(&mut self, pool: &StackPool, usable_bytes: usize) -> Result<PooledStack, StackError> {
        self.check(pool);
        let class = pool.class_of(usable_bytes)?;
        let local = &mut self.classes[class];
        let addr = match local.pop() {
            Some(addr) => {
                self.len -= 1;
                addr
            }
            None => {
                let addr = pool.refill(class, local, CACHE_BATCH)?;
                self.len += local.len();
                addr
            }
        };
        self.publish();
        Ok(pool.stack(class, addr))
    }

    /// Keeps a stack for the next [`get`](StackCache::get) of its class; if the
    /// class's LIFO is full, first gives its oldest [`CACHE_BATCH`] stacks back
    /// to the pool.
    ///
    /// # Panics
    ///
    /// If the stack or the cache belongs to another pool.
    #[inline]
    pub(crate) fn put(&mut self, pool: &StackPool, stack: PooledStack) {
        self.check(pool);
        assert_eq!(stack.pool, self.pool, "stack put into the cache of a pool that did not allocate it");
        let class = stack.class as usize;
        let local = &mut self.classes[class];
        if local.len() >= CACHE_CAP {
            pool.spill(class, local.drain(..CACHE_BATCH));
            self.len -= CACHE_BATCH;
        }
        local.push(stack.limit);
        self.len += 1;
        self.publish();
    }

    /// Gives every cached stack back to the pool.
    pub(crate) fn flush(&mut self, pool: &StackPool) {
        self.check(pool);
        for (class, local) in self.classes.iter_mut().enumerate() {
            if !local.is_empty() {
                pool.spill(class, local.drain(..));
            }
        }
        self.len = 0;
        self.publish();
    }

    /// Stacks held, over all classes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the cache holds no stack.
    #[cfg_attr(not(test), allow(dead_code))] // used by tests and the single-stack paths
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Publishes the count for [`StackPool::stats`]: a plain store to a line
    /// only this cache writes.
    #[inline]
    fn publish(&self) {
        self.count.store(self.len, Ordering::Relaxed);
    }

    /// Asserts that `pool` is this cache's pool.
    #[inline]
    fn check(&self, pool: &StackPool) {
        assert_eq!(pool.id, self.pool, "stack cache used with a pool it was not created for");
    }
}

/// The system page size.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = usize::try_from(page).expect("sysconf(_SC_PAGESIZE) failed");
    assert!(page.is_power_of_two(), "page size {page} is not a power of two");
    page
}

#[cfg(test)]
mod tests;
