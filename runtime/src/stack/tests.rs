//! Unit tests of the stack pool.

use super::*;
use corosensei::stack::STACK_ALIGNMENT;
use corosensei::{Coroutine, CoroutineResult};
use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Instant;

/// Environment variable telling the test binary it runs as the child of a
/// guard-page test, and which case to run.
const CHILD_ENV: &str = "EMBER_STACK_GUARD_CHILD";

/// Printed by the child right before it touches the guard page.
const CHILD_MARKER: &str = "ember-stack-guard-child: faulting now";

fn pool() -> StackPool {
    StackPool::new(StackConfig::default())
}

fn pool_with(guard: GuardMode) -> StackPool {
    StackPool::new(StackConfig { guard, mprotect_budget: None })
}

fn page() -> usize {
    page_size()
}

/// Whether this kernel supports `MADV_GUARD_INSTALL` (Linux 6.13+).
fn madvise_supported() -> bool {
    let pool = pool_with(GuardMode::Madvise);
    match pool.allocate(MIN_STACK) {
        Ok(stack) => {
            pool.release(stack);
            true
        }
        Err(StackError::GuardUnsupported) => false,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Lines of `/proc/self/maps`: the number of kernel memory maps.
fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

/// The `/proc/self/maps` entry containing `addr`: `(start, end, perms)`.
fn mapping_of(addr: usize) -> (usize, usize, String) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (range, perms) = (fields.next().unwrap(), fields.next().unwrap());
        let (start, end) = range.split_once('-').unwrap();
        let start = usize::from_str_radix(start, 16).unwrap();
        let end = usize::from_str_radix(end, 16).unwrap();
        if (start..end).contains(&addr) {
            return (start, end, perms.to_string());
        }
    }
    panic!("{addr:#x} is not mapped");
}

/// Resident pages in `addr..addr + len`, by `mincore`.
fn resident_pages(addr: usize, len: usize) -> usize {
    let mut vec = vec![0u8; len.div_ceil(page())];
    // SAFETY: `vec` has one byte per page of the range, which is mapped.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vec.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", io::Error::last_os_error());
    vec.iter().filter(|&&b| b & 1 != 0).count()
}

/// The usable range of a stack: `(low, len)`.
fn usable_range(stack: &PooledStack) -> (usize, usize) {
    (stack.limit().get() + page(), stack.usable())
}

/// Writes `byte` to every usable byte of `stack`.
fn fill(stack: &PooledStack, byte: u8) {
    let (low, len) = usable_range(stack);
    // SAFETY: the usable range of a stack we hold and nobody runs on.
    unsafe { std::ptr::write_bytes(low as *mut u8, byte, len) };
}

/// Whether every usable byte of `stack` is `byte`.
fn all_bytes_are(stack: &PooledStack, byte: u8) -> bool {
    let (low, len) = usable_range(stack);
    // SAFETY: the usable range of a stack we hold: mapped, readable, and not
    // written by anyone while we look.
    let bytes = unsafe { std::slice::from_raw_parts(low as *const u8, len) };
    bytes.iter().all(|&b| b == byte)
}

/// Uses some stack: `depth` frames of 256 bytes each.
#[inline(never)]
fn recurse(depth: usize) -> usize {
    let buf = black_box([depth as u8; 256]);
    if depth == 0 {
        return buf[0] as usize;
    }
    recurse(depth - 1) + black_box(buf[255]) as usize
}

#[test]
fn allocate_release_round_trip_is_lifo() {
    let pool = pool();
    let a = pool.allocate(MIN_STACK).unwrap();
    let b = pool.allocate(MIN_STACK).unwrap();
    let c = pool.allocate(MIN_STACK).unwrap();
    let (la, lb, lc) = (a.limit(), b.limit(), c.limit());
    assert!(la != lb && lb != lc && la != lc);
    pool.release(a);
    pool.release(b);
    // The last released comes back first.
    let b2 = pool.allocate(MIN_STACK).unwrap();
    assert_eq!(b2.limit(), lb);
    let a2 = pool.allocate(MIN_STACK).unwrap();
    assert_eq!(a2.limit(), la);
    // Free list empty: a fresh stack, next in the slab after `c`.
    let d = pool.allocate(MIN_STACK).unwrap();
    assert_eq!(d.limit().get(), lc.get() + page() + MIN_STACK);
    for s in [a2, b2, c, d] {
        pool.release(s);
    }
    assert_eq!(pool.stats().stacks_in_use, 0);
}

#[test]
fn size_classes() {
    let pool = pool();
    let k = 1024;
    for (request, class) in [
        (0, 16 * k),
        (1, 16 * k),
        (16 * k, 16 * k),
        (16 * k + 1, 32 * k),
        (100_000, 128 * k),
        (128 * k, 128 * k),
        (128 * k + 1, 256 * k),
        (MAX_STACK, MAX_STACK),
    ] {
        assert_eq!(pool.class_size(request).unwrap(), class.max(page()).next_power_of_two(), "{request}");
    }
    let err = pool.allocate(MAX_STACK + 1).unwrap_err();
    assert!(matches!(err, StackError::TooLarge { requested, max: MAX_STACK } if requested == MAX_STACK + 1));
    assert!(err.to_string().contains("stack_size"), "{err}");

    // Each class has its own free list.
    let small = pool.allocate(20 * k).unwrap();
    assert_eq!(small.usable(), 32 * k);
    let small_limit = small.limit();
    pool.release(small);
    let big = pool.allocate(100 * k).unwrap();
    assert_eq!(big.usable(), 128 * k);
    assert_ne!(big.limit(), small_limit);
    let small = pool.allocate(32 * k).unwrap();
    assert_eq!(small.limit(), small_limit);
    pool.release(small);
    pool.release(big);
    assert_eq!(pool.stats().slabs_mapped, 2);
}

#[test]
fn stats_are_exact() {
    let pool = pool();
    assert_eq!(pool.stats(), StackStats::default());
    let a = pool.allocate(MIN_STACK).unwrap();
    let b = pool.allocate(MIN_STACK).unwrap();
    let c = pool.allocate(MIN_STACK).unwrap();
    let d = pool.allocate(128 * 1024).unwrap();
    let s = pool.stats();
    let mode = if madvise_supported() { GuardMode::Madvise } else { GuardMode::Mprotect };
    let mprotect_guards = if mode == GuardMode::Mprotect { 4 } else { 0 };
    let bytes = 32 * (page() + MIN_STACK) + 32 * (page() + 128 * 1024);
    assert_eq!(
        s,
        StackStats {
            slabs_mapped: 2,
            bytes_mapped: bytes,
            stacks_carved: 4,
            stacks_free: 0,
            stacks_cold: 0,
            stacks_cached: 0,
            stacks_in_use: 4,
            guard_mode: mode,
            mprotect_guards,
            pool_locks: 8, // two per fresh stack: reserve, then record the guard
        }
    );
    pool.release(a);
    pool.release(d);
    let s = pool.stats();
    assert_eq!((s.stacks_carved, s.stacks_free, s.stacks_in_use, s.pool_locks), (4, 2, 2, 10));
    let a = pool.allocate(MIN_STACK).unwrap();
    let s = pool.stats();
    assert_eq!((s.stacks_carved, s.stacks_free, s.stacks_in_use, s.pool_locks), (4, 1, 3, 11));
    for st in [a, b, c] {
        pool.release(st);
    }
    let s = pool.stats();
    assert_eq!((s.slabs_mapped, s.bytes_mapped, s.stacks_free, s.stacks_in_use), (2, bytes, 4, 0));
}

#[test]
fn whole_usable_range_is_writable_and_aligned() {
    let pool = pool();
    for request in [MIN_STACK, 40 * 1024, 128 * 1024, 1 << 20] {
        let stack = pool.allocate(request).unwrap();
        let (base, limit) = (stack.base().get(), stack.limit().get());
        assert_eq!(base % STACK_ALIGNMENT, 0);
        assert_eq!(limit % STACK_ALIGNMENT, 0);
        assert_eq!(limit % page(), 0);
        assert_eq!(base - limit, stack.usable() + page());
        assert!(stack.usable() >= request);
        fill(&stack, 0x5a);
        assert!(all_bytes_are(&stack, 0x5a));
        pool.release(stack);
    }
}

#[test]
fn madvise_guards_keep_a_slab_one_mapping() {
    if !madvise_supported() {
        eprintln!("skipped: MADV_GUARD_INSTALL unsupported");
        return;
    }
    let pool = pool_with(GuardMode::Madvise);
    let stacks: Vec<_> = (0..slab::FIRST_SLAB_STACKS).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
    let (start, end, perms) = mapping_of(stacks[0].limit().get());
    assert_eq!(perms, "rw-p");
    for s in &stacks {
        assert!(start <= s.limit().get() && s.base().get() <= end, "the slab was split");
    }
    assert_eq!(pool.stats().mprotect_guards, 0);
    for s in stacks {
        pool.release(s);
    }
}

#[test]
fn mprotect_guards_split_the_slab() {
    let pool = pool_with(GuardMode::Mprotect);
    let stacks: Vec<_> = (0..4).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
    for s in &stacks {
        // The guard page is a PROT_NONE mapping of its own (possibly merged
        // with a PROT_NONE neighbour below it), followed by the usable bytes.
        let (start, end, perms) = mapping_of(s.limit().get());
        assert!(start <= s.limit().get() && end == s.limit().get() + page() && perms == "---p", "{perms}");
        let (start, _, perms) = mapping_of(s.limit().get() + page());
        assert_eq!((start, perms.as_str()), (s.limit().get() + page(), "rw-p"));
        fill(s, 1);
    }
    let s = pool.stats();
    assert_eq!((s.guard_mode, s.mprotect_guards, s.stacks_carved), (GuardMode::Mprotect, 4, 4));
    for s in stacks {
        pool.release(s);
    }
}

#[test]
fn mprotect_budget_exhaustion_is_an_error_and_reuse_still_works() {
    let pool = StackPool::new(StackConfig { guard: GuardMode::Mprotect, mprotect_budget: Some(3) });
    let a = pool.allocate(MIN_STACK).unwrap();
    let b = pool.allocate(MIN_STACK).unwrap();
    let c = pool.allocate(MIN_STACK).unwrap();
    let err = pool.allocate(MIN_STACK).unwrap_err();
    assert!(matches!(err, StackError::MapBudgetExhausted { mprotect_guards: 3, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("vm.max_map_count") && msg.contains("6.13"), "{msg}");
    // Consistent: the refused stack was not handed out nor counted.
    let s = pool.stats();
    assert_eq!((s.stacks_carved, s.stacks_in_use, s.stacks_free, s.mprotect_guards), (3, 3, 0, 3));
    // Reuse needs no new guard.
    let lb = b.limit();
    pool.release(b);
    let b = pool.allocate(MIN_STACK).unwrap();
    assert_eq!(b.limit(), lb);
    // Fresh stacks still fail, repeatedly, without leaking.
    for _ in 0..3 {
        assert!(matches!(pool.allocate(MIN_STACK), Err(StackError::MapBudgetExhausted { .. })));
    }
    let s = pool.stats();
    assert_eq!((s.stacks_carved, s.stacks_in_use, s.slabs_mapped), (3, 3, 1));
    for st in [a, b, c] {
        pool.release(st);
    }
    assert_eq!(pool.stats().stacks_free, 3);
}

#[test]
fn error_messages_are_actionable() {
    let msg = StackError::GuardUnsupported.to_string();
    assert!(msg.contains("MADV_GUARD_INSTALL") && msg.contains("6.13") && msg.contains("GuardMode::Auto"));
    let err = StackError::Mmap { bytes: 1 << 30, source: io::Error::from_raw_os_error(libc::ENOMEM) };
    assert!(err.to_string().contains("vm.max_map_count"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn coroutine_runs_on_a_pooled_stack() {
    let pool = pool();
    let stack = pool.allocate(64 * 1024).unwrap();
    let (low, high) = (stack.limit().get() + page(), stack.base().get());
    let mut co = Coroutine::with_stack(stack, |yielder, _input: usize| {
        let local = 0u8;
        let here = black_box(&local) as *const u8 as usize;
        let depth = yielder.suspend(here);
        let sum = recurse(depth);
        let again = yielder.suspend(sum);
        again * 2
    });
    let CoroutineResult::Yield(sp) = co.resume(0) else { panic!("returned early") };
    assert!((low..high).contains(&sp), "the coroutine did not run on the pooled stack");
    assert!(matches!(co.resume(100), CoroutineResult::Yield(_)));
    assert!(matches!(co.resume(21), CoroutineResult::Return(42)));
    pool.release(co.into_stack());
    let s = pool.stats();
    assert_eq!((s.stacks_in_use, s.stacks_free), (0, 1));
}

#[test]
fn a_hundred_thousand_suspended_coroutines_in_few_maps() {
    const N: usize = 100_000;
    let pool = pool();
    let probe = pool.allocate(MIN_STACK).unwrap();
    pool.release(probe);
    if pool.stats().guard_mode != GuardMode::Madvise {
        eprintln!("skipped: MADV_GUARD_INSTALL unsupported; mprotect guards cannot hold {N} stacks");
        return;
    }
    let maps_before = map_count();
    let started = Instant::now();
    let mut coroutines = Vec::with_capacity(N);
    for i in 0..N {
        let stack = pool.allocate(MIN_STACK).unwrap();
        let mut co = Coroutine::with_stack(stack, move |yielder, ()| {
            let x = recurse(8) + i;
            yielder.suspend(());
            x
        });
        assert!(matches!(co.resume(()), CoroutineResult::Yield(())));
        coroutines.push(co);
    }
    let spawned = started.elapsed();
    let maps_during = map_count();
    let s = pool.stats();
    assert_eq!((s.stacks_in_use, s.stacks_carved), (N, N));
    for (i, mut co) in coroutines.into_iter().enumerate() {
        let CoroutineResult::Return(x) = co.resume(()) else { panic!("coroutine {i} did not finish") };
        assert_eq!(x, recurse(8) + i);
        pool.release(co.into_stack());
    }
    eprintln!(
        "{N} coroutines: {} slabs, maps {maps_before} -> {maps_during}, {:.2} µs per allocate+first resume",
        s.slabs_mapped,
        spawned.as_secs_f64() * 1e6 / N as f64,
    );
    // DefaultStack would need 2 * N = 200,000 maps (and fail at 65,530). The
    // slack is for other tests of this binary mapping memory concurrently.
    assert!(s.slabs_mapped <= 16, "{} slabs", s.slabs_mapped);
    assert!(maps_during < maps_before + 500, "maps {maps_before} -> {maps_during}");
    let s = pool.stats();
    assert_eq!((s.stacks_in_use, s.stacks_free), (0, N));
}

#[test]
fn trim_returns_memory_and_stacks_stay_usable() {
    const N: usize = 8;
    let pool = pool();
    let stacks: Vec<_> = (0..N).map(|_| pool.allocate(64 * 1024).unwrap()).collect();
    let pages = 64 * 1024 / page();
    for s in &stacks {
        fill(s, 0xab);
        let (low, len) = usable_range(s);
        assert_eq!(resident_pages(low, len), pages);
    }
    let ranges: Vec<_> = stacks.iter().map(usable_range).collect();
    for s in stacks {
        pool.release(s);
    }
    // Keep the 2 most recently released warm; trim the 6 oldest.
    assert_eq!(pool.trim(2), N - 2);
    for (i, &(low, len)) in ranges.iter().enumerate() {
        let expected = if i < N - 2 { 0 } else { pages };
        assert_eq!(resident_pages(low, len), expected, "stack {i}");
    }
    let s = pool.stats();
    assert_eq!((s.stacks_free, s.stacks_cold), (N, N - 2));
    // Already trimmed stacks are not trimmed again.
    assert_eq!(pool.trim(2), 0);
    assert_eq!(pool.trim(0), 2);
    assert_eq!(pool.stats().stacks_cold, N);
    // Still usable: they come back LIFO, zero-filled, writable.
    let stacks: Vec<_> = (0..N).map(|_| pool.allocate(64 * 1024).unwrap()).collect();
    assert_eq!(pool.stats().stacks_cold, 0);
    assert_eq!(pool.stats().stacks_carved, N);
    for s in &stacks {
        assert!(all_bytes_are(s, 0));
        fill(s, 0xcd);
        assert!(all_bytes_are(s, 0xcd));
    }
    for s in stacks {
        pool.release(s);
    }
}

#[test]
fn trim_then_reuse_keeps_the_cold_mark_exact() {
    let pool = pool();
    let stacks: Vec<_> = (0..4).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
    for s in stacks {
        pool.release(s);
    }
    assert_eq!(pool.trim(0), 4);
    // Taking two cold stacks and putting them back makes them warm.
    let a = pool.allocate(MIN_STACK).unwrap();
    let b = pool.allocate(MIN_STACK).unwrap();
    assert_eq!(pool.stats().stacks_cold, 2);
    pool.release(a);
    pool.release(b);
    assert_eq!(pool.stats().stacks_cold, 2);
    assert_eq!(pool.trim(0), 2);
}

/// The background rule (`stack::trim`): only stacks that stayed on the free
/// list since the previous `trim_unused` are trimmed, so stacks a workload
/// keeps reusing stay warm, and a burst's leftovers go after one period.
#[test]
fn trim_unused_trims_only_what_a_whole_period_left_on_the_free_list() {
    let pool = pool();
    let stacks: Vec<_> = (0..6).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
    for s in stacks {
        pool.release(s);
    }
    // The first call starts the period: nothing was on the list for a whole one.
    assert_eq!(pool.trim_unused(0), 0);
    // During the period, a steady workload takes and gives back 2 stacks.
    for _ in 0..10 {
        let a = pool.allocate(MIN_STACK).unwrap();
        let b = pool.allocate(MIN_STACK).unwrap();
        pool.release(b);
        pool.release(a);
    }
    // The 4 stacks nobody took are trimmed; the 2 in use stay warm.
    assert_eq!(pool.trim_unused(0), 4);
    assert_eq!(pool.stats().stacks_cold, 4);
    // Next period, nobody takes anything: the 2 go too.
    assert_eq!(pool.trim_unused(0), 2);
    assert_eq!(pool.stats().stacks_cold, 6);
}

/// The stacks a burst leaves side by side go back in one system call per
/// run of neighbours (each call costs a TLB shootdown on every worker's
/// CPU), and every one of them loses its contents.
#[test]
fn trim_discards_neighbouring_stacks_in_one_call_per_run() {
    let pool = pool();
    let stacks: Vec<_> = (0..10).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
    let limits: Vec<usize> = stacks.iter().map(|s| s.limit().get()).collect();
    assert!(limits.windows(2).all(|w| w[1] == w[0] + MIN_STACK + page()), "carved back to back: {limits:?}");
    // Keep stacks 3 and 7 in use: three runs of free neighbours remain
    // (0-2, 4-6, 8-9), released in an order that is not the address order.
    let mut kept = Vec::new();
    for (i, s) in stacks.into_iter().enumerate().rev() {
        fill(&s, 7);
        if i == 3 || i == 7 {
            kept.push(s);
        } else {
            pool.release(s);
        }
    }
    assert_eq!(pool.trim_where(0, false), Trimmed { stacks: 8, calls: 3 });
    for s in kept {
        assert!(all_bytes_are(&s, 7), "a stack in use keeps its contents");
        pool.release(s);
    }
    let again: Vec<_> = (0..10).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
    let zeroed = again.iter().filter(|s| all_bytes_are(s, 0)).count();
    assert_eq!(zeroed, 8, "the trimmed stacks read as zero, the two kept ones do not");
    for s in again {
        pool.release(s);
    }
}

#[test]
fn stack_cache_takes_the_pool_lock_once_per_batch() {
    let pool = pool();
    let mut cache = StackCache::new(&pool);
    for _ in 0..100_000 {
        let stack = cache.get(&pool, MIN_STACK).unwrap();
        cache.put(&pool, stack);
    }
    // One fresh stack (two locks), then never the pool again.
    let s = pool.stats();
    assert_eq!((s.pool_locks, s.stacks_carved, s.stacks_cached, s.stacks_in_use), (2, 1, 1, 0));

    // A batch refill takes up to CACHE_BATCH warm stacks with one lock.
    let held: Vec<_> = (0..100).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
    for s in held {
        pool.release(s);
    }
    let before = pool.stats().pool_locks;
    let mut cache2 = StackCache::new(&pool);
    let got: Vec<_> = (0..CACHE_BATCH).map(|_| cache2.get(&pool, MIN_STACK).unwrap()).collect();
    assert_eq!(pool.stats().pool_locks, before + 1);
    for s in got {
        cache2.put(&pool, s);
    }
    cache.flush(&pool);
    cache2.flush(&pool);
    let s = pool.stats();
    assert_eq!((s.stacks_cached, s.stacks_in_use, s.stacks_free), (0, 0, s.stacks_carved));
}

#[test]
fn stack_cache_is_lifo_and_spills_its_oldest() {
    let pool = pool();
    let mut cache = StackCache::new(&pool);
    let stacks: Vec<_> = (0..200).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
    let limits: Vec<_> = stacks.iter().map(|s| s.limit()).collect();
    let locks = pool.stats().pool_locks;
    for s in stacks {
        cache.put(&pool, s);
    }
    // Spills at the 65th, 97th, 129th, 161st and 193rd put.
    let s = pool.stats();
    assert_eq!(s.pool_locks, locks + 5);
    assert_eq!((s.stacks_free, s.stacks_cached, s.stacks_in_use, cache.len()), (160, 40, 0, 40));
    // LIFO: the last put comes out first.
    let last = cache.get(&pool, MIN_STACK).unwrap();
    assert_eq!(last.limit(), limits[199]);
    cache.put(&pool, last);
    // The pool got the oldest ones, the most recent of them on top.
    let from_pool = pool.allocate(MIN_STACK).unwrap();
    assert_eq!(from_pool.limit(), limits[159]);
    pool.release(from_pool);
    // Different classes do not mix.
    let big = cache.get(&pool, 64 * 1024).unwrap();
    assert_eq!(big.usable(), 64 * 1024);
    cache.put(&pool, big);
    assert_eq!(pool.stats().stacks_cached, 41);
    cache.flush(&pool);
    assert!(cache.is_empty());
    let s = pool.stats();
    assert_eq!((s.stacks_free, s.stacks_cached, s.stacks_in_use), (201, 0, 0));
    drop(cache);
    assert_eq!(pool.stats().stacks_cached, 0);
}

#[test]
fn concurrent_caches_and_pool() {
    let pool = pool();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let pool = &pool;
            scope.spawn(move || {
                let mut cache = StackCache::new(pool);
                let mut held = Vec::new();
                for i in 0..20_000usize {
                    let size = if (i + t) % 7 == 0 { 64 * 1024 } else { MIN_STACK };
                    let stack = if i % 3 == 0 { pool.allocate(size) } else { cache.get(pool, size) }.unwrap();
                    // SAFETY: a stack we hold; its top word is ours to write.
                    unsafe { ((stack.base().get() - 8) as *mut usize).write_volatile(i) };
                    held.push(stack);
                    if held.len() > 50 || i % 2 == 0 {
                        let stack = held.swap_remove((i * 7) % held.len());
                        // SAFETY: as above; nobody else wrote it meanwhile.
                        let _ = unsafe { ((stack.base().get() - 8) as *const usize).read_volatile() };
                        if i % 5 == 0 {
                            pool.release(stack);
                        } else {
                            cache.put(pool, stack);
                        }
                    }
                }
                for stack in held {
                    cache.put(pool, stack);
                }
                cache.flush(pool);
            });
        }
    });
    let s = pool.stats();
    assert_eq!((s.stacks_in_use, s.stacks_cached, s.stacks_free), (0, 0, s.stacks_carved));
}

#[test]
fn drop_unmaps_only_when_every_stack_is_back() {
    let mut pool = pool();
    let a = pool.allocate(MIN_STACK).unwrap();
    let mut cache = StackCache::new(&pool);
    let b = cache.get(&pool, MIN_STACK).unwrap();
    cache.put(&pool, b);
    assert!(!pool.unmap_if_idle(), "a stack is out: slabs must stay");
    fill(&a, 3);
    pool.release(a);
    assert!(!pool.unmap_if_idle(), "a stack is in a cache: slabs must stay");
    cache.flush(&pool);
    assert!(pool.unmap_if_idle());
    let s = pool.stats();
    assert_eq!((s.slabs_mapped, s.bytes_mapped, s.stacks_free, s.stacks_carved), (0, 0, 0, 0));
}

#[test]
#[should_panic(expected = "did not allocate it")]
fn releasing_to_another_pool_panics() {
    let (p1, p2) = (pool(), pool());
    let stack = p1.allocate(MIN_STACK).unwrap();
    p2.release(stack);
}

#[test]
fn pool_and_stack_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<StackPool>();
    send::<PooledStack>();
    send::<StackCache>();
}

// Guard pages, checked in a child process (this test binary, re-run with
// CHILD_ENV set and an exact filter) that must die of SIGSEGV.

/// The child half: does what the case says and touches the guard page.
#[test]
fn guard_child() {
    let Ok(case) = std::env::var(CHILD_ENV) else { return };
    let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit reads the struct we pass; no core file for the crash.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
    let guard = match case.as_str() {
        "madvise" => GuardMode::Madvise,
        "mprotect" | "mprotect-overflow" | "mprotect-trimmed-neighbours" => GuardMode::Mprotect,
        _ => GuardMode::Auto,
    };
    let pool = pool_with(guard);
    let mut stack = pool.allocate(MIN_STACK).unwrap();
    if case.ends_with("trimmed-neighbours") {
        // Three neighbours trimmed in one call, whose range covers the
        // guards of the upper two: the middle one must still be guarded.
        let first = stack;
        let middle = pool.allocate(MIN_STACK).unwrap();
        let last = pool.allocate(MIN_STACK).unwrap();
        let limit = middle.limit();
        for s in [first, middle, last] {
            fill(&s, 1);
            pool.release(s);
        }
        assert_eq!(pool.trim_where(0, false), Trimmed { stacks: 3, calls: 1 });
        let taken: Vec<_> = (0..3).map(|_| pool.allocate(MIN_STACK).unwrap()).collect();
        stack = taken.into_iter().find(|s| s.limit() == limit).expect("the middle stack came back");
    }
    if case == "trimmed" {
        fill(&stack, 1);
        let limit = stack.limit();
        pool.release(stack);
        assert_eq!(pool.trim(0), 1);
        stack = pool.allocate(MIN_STACK).unwrap();
        assert_eq!(stack.limit(), limit);
    }
    // Everything below the marker must work: prove the stack is fine.
    fill(&stack, 2);
    eprintln!("{CHILD_MARKER}");
    if case.ends_with("overflow") {
        let mut co = Coroutine::with_stack(stack, |_: &corosensei::Yielder<(), ()>, ()| recurse(usize::MAX));
        let _ = co.resume(());
    } else {
        // The control case writes the lowest usable byte instead: no fault.
        let offset = if case == "control" { page() } else { page() - 1 };
        let target = (stack.limit().get() + offset) as *mut u8;
        // SAFETY: deliberately not safe: this must fault on the guard page
        // (except in the control case, where it is the first usable byte).
        unsafe { target.write_volatile(1) };
    }
    eprintln!("ember-stack-guard-child: no fault");
    std::process::exit(3);
}

/// Runs [`guard_child`] alone, with `case`, in a child process.
fn run_guard_child(case: &str) -> std::process::Output {
    // The test's name relative to the crate root, wherever this module lives.
    let path = module_path!();
    let test = format!("{}::guard_child", path.split_once("::").map_or(path, |(_, rest)| rest));
    Command::new(std::env::current_exe().unwrap())
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, case)
        .output()
        .unwrap()
}

/// Runs [`guard_child`] in a child process and asserts it died by SIGSEGV
/// (or SIGBUS) after printing its marker.
fn expect_guard_fault(case: &str) {
    let out = run_guard_child(case);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains(CHILD_MARKER), "case {case}: child did not reach the fault\n{stdout}\n{stderr}");
    assert!(
        matches!(out.status.signal(), Some(libc::SIGSEGV) | Some(libc::SIGBUS)),
        "case {case}: child exited with {:?}, not SIGSEGV\n{stderr}",
        out.status
    );
}

#[test]
fn guard_child_control_does_not_fault() {
    let out = run_guard_child("control");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn guard_page_faults_madvise() {
    if !madvise_supported() {
        eprintln!("skipped: MADV_GUARD_INSTALL unsupported");
        return;
    }
    expect_guard_fault("madvise");
}

#[test]
fn guard_page_faults_mprotect() {
    expect_guard_fault("mprotect");
}

#[test]
fn guard_page_faults_after_trim() {
    expect_guard_fault("trimmed");
}

/// A trim over neighbouring stacks is one `MADV_DONTNEED` whose range
/// includes the guard pages between them: they must stay guards.
#[test]
fn guard_pages_between_neighbours_trimmed_together_still_fault() {
    expect_guard_fault("trimmed-neighbours");
    expect_guard_fault("mprotect-trimmed-neighbours");
}

#[test]
fn coroutine_stack_overflow_hits_the_guard() {
    expect_guard_fault("overflow");
    expect_guard_fault("mprotect-overflow");
}

/// CPU time of the calling thread, in nanoseconds: unlike wall time, not
/// inflated when the machine is busy with other work.
fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we pass.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// Resident set size of this process, from `/proc/self/statm`.
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * page()
}

/// Scale check (about 4 GiB of RAM): `cargo test --release -- --ignored
/// --nocapture million`.
#[test]
#[ignore]
fn a_million_suspended_coroutines() {
    const N: usize = 1_000_000;
    let pool = pool();
    let (maps_before, rss_before) = (map_count(), rss_bytes());
    let (started, cpu) = (Instant::now(), thread_cpu_ns());
    let mut coroutines = Vec::with_capacity(N);
    for _ in 0..N {
        let stack = pool.allocate(128 * 1024).unwrap();
        let mut co = Coroutine::with_stack(stack, |yielder, ()| {
            yielder.suspend(());
        });
        assert!(matches!(co.resume(()), CoroutineResult::Yield(())));
        coroutines.push(co);
    }
    let (spawned, spawned_cpu) = (started.elapsed(), thread_cpu_ns() - cpu);
    let (maps, rss) = (map_count(), rss_bytes());
    let s = pool.stats();
    for mut co in coroutines {
        assert!(matches!(co.resume(()), CoroutineResult::Return(())));
        pool.release(co.into_stack());
    }
    eprintln!(
        "{N} coroutines on 128 KiB stacks: {} slabs, {} GiB mapped, maps {maps_before} -> {maps}, \
         RSS {:.0} bytes per coroutine, allocate+first resume {:.2} µs wall, {:.2} µs CPU",
        s.slabs_mapped,
        s.bytes_mapped >> 30,
        (rss - rss_before) as f64 / N as f64,
        spawned.as_secs_f64() * 1e6 / N as f64,
        spawned_cpu as f64 / 1e3 / N as f64,
    );
    assert!(maps < maps_before + 100);
}

/// Micro-benchmark: `cargo test --release -- --ignored --nocapture bench_`.
#[test]
#[ignore]
fn bench_allocate_release_warm() {
    const ITERS: u32 = 10_000_000;
    let pool = pool();
    let mut cache = StackCache::new(&pool);
    // Warm up: a stack in the pool and one in the cache.
    let s = pool.allocate(128 * 1024).unwrap();
    pool.release(s);
    let s = cache.get(&pool, 128 * 1024).unwrap();
    cache.put(&pool, s);

    let t = thread_cpu_ns();
    for _ in 0..ITERS {
        let s = pool.allocate(black_box(128 * 1024)).unwrap();
        pool.release(black_box(s));
    }
    let pool_ns = (thread_cpu_ns() - t) as f64 / f64::from(ITERS);

    let t = thread_cpu_ns();
    for _ in 0..ITERS {
        let s = cache.get(&pool, black_box(128 * 1024)).unwrap();
        cache.put(&pool, black_box(s));
    }
    let cache_ns = (thread_cpu_ns() - t) as f64 / f64::from(ITERS);

    // Two threads hammering the shared pool directly (lock contention), in
    // wall time.
    let t = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..ITERS / 10 {
                    let s = pool.allocate(black_box(128 * 1024)).unwrap();
                    pool.release(black_box(s));
                }
            });
        }
    });
    let contended_ns = t.elapsed().as_nanos() as f64 / f64::from(ITERS / 10);

    // Fresh stacks: guard install, no touch.
    const FRESH: u32 = 100_000;
    let fresh_pool = self::pool();
    let t = thread_cpu_ns();
    let held: Vec<_> = (0..FRESH).map(|_| fresh_pool.allocate(128 * 1024).unwrap()).collect();
    let fresh_ns = (thread_cpu_ns() - t) as f64 / f64::from(FRESH);
    // First touch of each: what the first resume of a new process pays.
    let t = thread_cpu_ns();
    for s in &held {
        // SAFETY: the top word of a stack we hold and nobody runs on.
        unsafe { ((s.base().get() - 8) as *mut usize).write_volatile(1) };
    }
    let touch_ns = (thread_cpu_ns() - t) as f64 / f64::from(FRESH);
    for s in held {
        fresh_pool.release(s);
    }
    cache.flush(&pool);
    eprintln!(
        "CPU time per op: warm pool allocate+release {pool_ns:.1} ns; StackCache get+put {cache_ns:.1} ns; \
         fresh stack (guard install) {fresh_ns:.0} ns; first touch {touch_ns:.0} ns. \
         Wall time, 2 threads on the pool: {contended_ns:.1} ns per allocate+release"
    );
}
