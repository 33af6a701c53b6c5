//! Unit tests of the timer wheel. All times are synthetic
//! (`start + Duration::from_millis(x)`); nothing sleeps.

use super::wheel::{slot_size, LEVELS};
use super::{TimerKey, TimerWheel};
use std::collections::{BTreeSet, HashMap};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The instant `ms` milliseconds after `start`.
fn at(start: Instant, ms: u64) -> Instant {
    start + Duration::from_millis(ms)
}

/// Whole ms from `start` to `t`.
fn ms_of(start: Instant, t: Instant) -> u64 {
    t.duration_since(start).as_millis() as u64
}

/// Advances `wheel` to `ms` and returns what fired, sorted.
fn advance_sorted<T: Ord>(wheel: &mut TimerWheel<T>, start: Instant, ms: u64) -> Vec<T> {
    let mut fired = Vec::new();
    wheel.advance(at(start, ms), &mut fired);
    fired.sort();
    fired
}

/// Tiny xorshift64* PRNG, deterministic across runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Deadlines around every level boundary, and beyond the wheel's span;
/// sorted.
const BOUNDARIES: &[u64] = &[
    1,
    2,
    63,
    64,
    65,
    127,
    128,
    4095,
    4096,
    4097,
    (1 << 18) - 1,
    1 << 18,
    (1 << 18) + 1,
    (1 << 24) - 1,
    1 << 24,
    (1 << 24) + 1,
    (1 << 30) - 1,
    1 << 30,
    (1 << 30) + 1,
    (1 << 36) - 1,
    1 << 36,
    (1 << 36) + 1,
    (1 << 36) + (1 << 30) + 7,
    3 * (1 << 36) + 12_345,
    1 << 40,
];

#[test]
fn fires_exactly_at_deadline_never_early() {
    let start = Instant::now();
    for &offset in &[0u64, 1, 37, 63, 4000, (1 << 36) - 3] {
        for &delta in BOUNDARIES {
            let mut wheel = TimerWheel::new(start);
            assert!(advance_sorted(&mut wheel, start, offset).is_empty());
            let deadline = offset + delta;
            wheel.insert(at(start, deadline), deadline);
            assert_eq!(wheel.len(), 1);
            let next = ms_of(start, wheel.next_deadline().unwrap());
            assert!(next <= deadline && next > offset, "next {next} deadline {deadline}");
            assert!(advance_sorted(&mut wheel, start, deadline - 1).is_empty(), "early: {deadline}");
            wheel.check_invariants();
            assert_eq!(advance_sorted(&mut wheel, start, deadline), vec![deadline]);
            assert!(wheel.is_empty());
            assert_eq!(wheel.next_deadline(), None);
            wheel.check_invariants();
        }
    }
}

#[test]
fn sub_millisecond_deadlines_round_up() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    wheel.insert(start + Duration::from_micros(10_500), "a");
    wheel.insert(start + Duration::from_micros(10_001), "b");
    wheel.insert(start + Duration::from_micros(11_000), "c");
    let mut fired = Vec::new();
    wheel.advance(start + Duration::from_micros(10_999), &mut fired);
    assert!(fired.is_empty());
    assert_eq!(wheel.next_deadline(), Some(at(start, 11)));
    wheel.advance(at(start, 11), &mut fired);
    fired.sort();
    assert_eq!(fired, ["a", "b", "c"]);
}

#[test]
fn deadline_in_the_past_fires_on_next_advance() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    assert!(advance_sorted(&mut wheel, start, 100).is_empty());
    wheel.insert(at(start, 50), 50);
    wheel.insert(at(start, 100), 100);
    wheel.insert(at(start, 0), 0);
    if let Some(before) = start.checked_sub(Duration::from_secs(1)) {
        wheel.insert(before, 1);
    }
    wheel.insert(at(start, 101), 101);
    wheel.check_invariants();
    assert!(wheel.next_deadline().unwrap() <= at(start, 100));
    let mut expected = vec![0, 50, 100];
    if start.checked_sub(Duration::from_secs(1)).is_some() {
        expected.insert(1, 1);
    }
    // Same `now` as before: the expired ones fire, the future one does not.
    assert_eq!(advance_sorted(&mut wheel, start, 100), expected);
    assert_eq!(wheel.len(), 1);
    assert_eq!(wheel.next_deadline(), Some(at(start, 101)));
    assert_eq!(advance_sorted(&mut wheel, start, 101), vec![101]);
}

#[test]
fn insert_at_now_before_any_advance_fires_at_zero() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    wheel.insert(start, 7);
    assert_eq!(wheel.next_deadline(), Some(start));
    assert_eq!(advance_sorted(&mut wheel, start, 0), vec![7]);
}

#[test]
fn now_going_backwards_never_fires_early() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    advance_sorted(&mut wheel, start, 100);
    wheel.insert(at(start, 90), 90);
    wheel.insert(at(start, 99), 99);
    wheel.insert(at(start, 150), 150);
    // A stale `now` (95) earlier than the clock (100).
    assert_eq!(advance_sorted(&mut wheel, start, 95), vec![90]);
    wheel.check_invariants();
    assert_eq!(advance_sorted(&mut wheel, start, 100), vec![99]);
    assert!(advance_sorted(&mut wheel, start, 149).is_empty());
    assert_eq!(advance_sorted(&mut wheel, start, 150), vec![150]);
}

#[test]
fn many_timers_in_the_same_ms() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    for i in 0..10_000 {
        wheel.insert(at(start, 77), i);
    }
    assert!(advance_sorted(&mut wheel, start, 76).is_empty());
    assert_eq!(advance_sorted(&mut wheel, start, 77), (0..10_000).collect::<Vec<_>>());
    assert!(wheel.is_empty());
}

#[test]
fn cancel_before_fire() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    let a = wheel.insert(at(start, 10), "a");
    let b = wheel.insert(at(start, 10), "b");
    let c = wheel.insert(at(start, 5000), "c");
    assert_eq!(wheel.cancel(b), Some("b"));
    assert_eq!(wheel.cancel(b), None);
    assert_eq!(wheel.len(), 2);
    assert_eq!(wheel.cancel(c), Some("c"));
    wheel.check_invariants();
    assert_eq!(wheel.next_deadline(), Some(at(start, 10)));
    assert_eq!(advance_sorted(&mut wheel, start, 10_000), vec!["a"]);
    assert_eq!(wheel.cancel(a), None);
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn cancel_every_position_of_a_list() {
    let start = Instant::now();
    for victim in 0..3 {
        let mut wheel = TimerWheel::new(start);
        let keys: Vec<TimerKey> = (0..3).map(|i| wheel.insert(at(start, 3), i)).collect();
        assert_eq!(wheel.cancel(keys[victim]), Some(victim));
        wheel.check_invariants();
        let rest: Vec<usize> = (0..3).filter(|&i| i != victim).collect();
        assert_eq!(advance_sorted(&mut wheel, start, 3), rest);
    }
    // Cancelling the last timer of a slot clears the slot.
    let mut wheel = TimerWheel::new(start);
    let k = wheel.insert(at(start, 3), 0);
    wheel.insert(at(start, 9), 1);
    assert_eq!(wheel.cancel(k), Some(0));
    assert_eq!(wheel.next_deadline(), Some(at(start, 9)));
    wheel.check_invariants();
    // And an expired-list entry can be cancelled too.
    advance_sorted(&mut wheel, start, 5);
    let k = wheel.insert(at(start, 1), 2);
    assert_eq!(wheel.cancel(k), Some(2));
    assert_eq!(wheel.next_deadline(), Some(at(start, 9)));
    wheel.check_invariants();
}

#[test]
fn cancel_after_fire_is_none() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    let k = wheel.insert(at(start, 1), 1);
    assert_eq!(advance_sorted(&mut wheel, start, 1), vec![1]);
    assert_eq!(wheel.cancel(k), None);
}

#[test]
fn stale_key_after_slot_reuse() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    // Reuse after cancel.
    let old = wheel.insert(at(start, 10), 1);
    assert_eq!(wheel.cancel(old), Some(1));
    let new = wheel.insert(at(start, 10), 2);
    assert_ne!(old, new);
    assert_eq!(wheel.cancel(old), None);
    assert_eq!(wheel.len(), 1);
    // Reuse after fire.
    assert_eq!(advance_sorted(&mut wheel, start, 10), vec![2]);
    let newer = wheel.insert(at(start, 20), 3);
    assert_eq!(wheel.cancel(new), None);
    assert_eq!(wheel.cancel(old), None);
    assert_eq!(wheel.len(), 1);
    assert_eq!(advance_sorted(&mut wheel, start, 20), vec![3]);
    assert_eq!(wheel.cancel(newer), None);
}

#[test]
fn cascades_across_every_level_boundary() {
    assert!(BOUNDARIES.windows(2).all(|w| w[0] < w[1]));
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    for &d in BOUNDARIES {
        wheel.insert(at(start, d), d);
    }
    wheel.check_invariants();
    for &d in BOUNDARIES {
        assert!(ms_of(start, wheel.next_deadline().unwrap()) <= d);
        assert!(advance_sorted(&mut wheel, start, d - 1).is_empty(), "{d} fired early");
        wheel.check_invariants();
        assert_eq!(advance_sorted(&mut wheel, start, d), vec![d]);
        wheel.check_invariants();
    }
    assert!(wheel.is_empty());
}

#[test]
fn one_big_jump_fires_everything_due() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    for &d in BOUNDARIES {
        wheel.insert(at(start, d), d);
    }
    let last = *BOUNDARIES.last().unwrap();
    let mut expected: Vec<u64> = BOUNDARIES.iter().copied().filter(|&d| d <= 1 << 30).collect();
    expected.sort();
    assert_eq!(advance_sorted(&mut wheel, start, 1 << 30), expected);
    wheel.check_invariants();
    let mut expected: Vec<u64> = BOUNDARIES.iter().copied().filter(|&d| d > 1 << 30).collect();
    expected.sort();
    assert_eq!(advance_sorted(&mut wheel, start, last), expected);
    assert!(wheel.is_empty());
}

#[test]
fn far_future_deadlines() {
    let start = Instant::now();
    let mut wheel = TimerWheel::new(start);
    // ~31,700 years: far beyond the wheel's span.
    let Some(far) = start.checked_add(Duration::from_secs(1 << 40)) else {
        return;
    };
    let k = wheel.insert(far, "far");
    wheel.insert(at(start, 5), "near");
    wheel.check_invariants();
    assert_eq!(advance_sorted(&mut wheel, start, 5), vec!["near"]);
    // Cross many top-level rotations; the far timer keeps being re-filed.
    assert!(advance_sorted(&mut wheel, start, 10 * (1 << 36)).is_empty());
    wheel.check_invariants();
    assert!(wheel.next_deadline().unwrap() <= far);
    assert_eq!(wheel.cancel(k), Some("far"));
    assert!(wheel.is_empty());
}

#[test]
fn big_jumps_and_single_steps_fire_the_same_sets() {
    let start = Instant::now();
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let horizon = 300_000; // crosses the level-2/level-3 boundary (2^18 ms)
    let mut stepped = TimerWheel::new(start);
    let mut jumped = TimerWheel::new(start);
    let mut deadline_of = Vec::new();
    for id in 0..20_000u64 {
        let d = match rng.below(4) {
            0 => rng.below(200),
            1 => rng.below(5_000),
            _ => rng.below(horizon),
        };
        deadline_of.push(d);
        stepped.insert(at(start, d), id);
        jumped.insert(at(start, d), id);
    }
    // Single steps: each timer fires exactly in its own ms.
    let mut fired_at = vec![u64::MAX; deadline_of.len()];
    let mut fired = Vec::new();
    for ms in 0..=horizon {
        stepped.advance(at(start, ms), &mut fired);
        for id in fired.drain(..) {
            assert_eq!(fired_at[id as usize], u64::MAX);
            fired_at[id as usize] = ms;
        }
    }
    assert_eq!(fired_at, deadline_of);
    // Random jumps: each batch is exactly the timers due in the window.
    let mut now = 0;
    let mut previous = None;
    while now <= horizon {
        let batch = advance_sorted(&mut jumped, start, now);
        let expected: Vec<u64> = (0..deadline_of.len() as u64)
            .filter(|&id| {
                let d = deadline_of[id as usize];
                d <= now && previous.is_none_or(|p| d > p)
            })
            .collect();
        assert_eq!(batch, expected, "window ({previous:?}, {now}]");
        previous = Some(now);
        let range = if rng.below(4) == 0 { 50_000 } else { 700 };
        now += 1 + rng.below(range);
    }
    advance_sorted(&mut jumped, start, horizon);
    assert!(stepped.is_empty() && jumped.is_empty());
}

#[test]
fn next_deadline_drives_every_timer_in_order() {
    let start = Instant::now();
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    let mut wheel = TimerWheel::new(start);
    let mut live = BTreeSet::new();
    let n = 3_000u64;
    for id in 0..n {
        let level = rng.below(8) as u32; // up to 2^42 ms: beyond the span too
        let d = 1 + rng.below(1u64 << (6 * level.min(7)).max(1));
        wheel.insert(at(start, d), (d, id));
        live.insert((d, id));
    }
    let mut iterations = 0u64;
    let mut last_fired = 0;
    let mut fired = Vec::new();
    while let Some(next) = wheel.next_deadline() {
        iterations += 1;
        let next = ms_of(start, next);
        let earliest = live.first().unwrap().0;
        assert!(next <= earliest, "next_deadline {next} after earliest {earliest}");
        let elapsed_before = wheel.elapsed_ms();
        fired.clear();
        wheel.advance(at(start, next), &mut fired);
        // Progress: something fired, or the clock moved (a cascade happened).
        assert!(!fired.is_empty() || wheel.elapsed_ms() > elapsed_before);
        fired.sort();
        let expected: Vec<(u64, u64)> = live.iter().copied().take_while(|&(d, _)| d <= next).collect();
        assert_eq!(fired, expected);
        for entry in &fired {
            assert!(entry.0 >= last_fired);
            last_fired = entry.0;
            live.remove(entry);
        }
    }
    assert!(live.is_empty() && wheel.is_empty());
    // Each timer needs at most one wake-up per level, plus one per top-level
    // rotation for deadlines beyond the span (at most 2^42 / 2^36 = 64).
    assert!(iterations <= n * (LEVELS as u64 + 64), "{iterations} iterations");
    println!("{n} timers driven by next_deadline in {iterations} advances");
}

/// A random deadline relative to `now`, spread over all levels (and past).
fn random_deadline(rng: &mut Rng, now: u64) -> u64 {
    match rng.below(10) {
        0 => now - rng.below(now.min(100) + 1),
        1 => now + rng.below(2),
        _ => {
            let level = rng.below(7) as u32; // up to 2^36 ahead: all levels
            let width = 1u64 << (6 * level).max(2);
            now + 1 + rng.below(width + (width >> 2))
        }
    }
}

#[test]
fn randomized_against_btreemap_model() {
    let start = Instant::now();
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let mut wheel = TimerWheel::new(start);
    let mut by_deadline: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut deadline_of: HashMap<u64, u64> = HashMap::new();
    let mut keys: Vec<(TimerKey, u64)> = Vec::new();
    let mut now = 0u64;
    let mut next_id = 0u64;
    let (mut fired_total, mut cancelled, mut stale) = (0usize, 0usize, 0usize);
    for op in 0..100_000u32 {
        match rng.below(100) {
            0..=49 => {
                let d = random_deadline(&mut rng, now);
                let id = next_id;
                next_id += 1;
                let key = wheel.insert(at(start, d), id);
                by_deadline.insert((d, id));
                deadline_of.insert(id, d);
                keys.push((key, id));
            }
            50..=74 if !keys.is_empty() => {
                // Recent keys are more likely live; old ones mostly stale.
                let pick = if rng.below(2) == 0 {
                    keys.len() - 1 - rng.below(keys.len().min(64) as u64) as usize
                } else {
                    rng.below(keys.len() as u64) as usize
                };
                let (key, id) = keys[pick];
                let expected = deadline_of.remove(&id).map(|d| {
                    by_deadline.remove(&(d, id));
                    id
                });
                let got = wheel.cancel(key);
                assert_eq!(got, expected, "op {op}: cancel");
                if got.is_some() {
                    cancelled += 1;
                } else {
                    stale += 1;
                }
            }
            _ => {
                now += match rng.below(20) {
                    0..=11 => rng.below(4),
                    12..=16 => rng.below(300),
                    17 | 18 => rng.below(70_000),
                    _ => rng.below(1 << 31),
                };
                let got = advance_sorted(&mut wheel, start, now);
                let rest = by_deadline.split_off(&(now + 1, 0));
                let due = std::mem::replace(&mut by_deadline, rest);
                let mut expected: Vec<u64> = due.into_iter().map(|(_, id)| id).collect();
                expected.sort();
                for id in &expected {
                    deadline_of.remove(id);
                }
                assert_eq!(got, expected, "op {op}: advance to {now}");
                fired_total += got.len();
            }
        }
        assert_eq!(wheel.len(), by_deadline.len(), "op {op}: len");
        if op % 997 == 0 {
            wheel.check_invariants();
            match (wheel.next_deadline(), by_deadline.first()) {
                (None, None) => {}
                (Some(next), Some(&(earliest, _))) => assert!(ms_of(start, next) <= earliest.max(now)),
                (next, earliest) => panic!("op {op}: next_deadline {next:?}, earliest {earliest:?}"),
            }
        }
    }
    wheel.check_invariants();
    println!(
        "model: {next_id} inserted, {fired_total} fired, {cancelled} cancelled, {stale} stale cancels, {} pending",
        wheel.len()
    );
    assert!(fired_total > 10_000 && cancelled > 2_000 && stale > 5_000);
}

/// Inserts `n` timers spread over an hour, cancels every other one, then
/// advances past all of them.
fn insert_cancel_half_fire_rest(n: u64) {
    let start = Instant::now();
    let mut rng = Rng(0xABCD_EF01_2345_6789);
    let mut wheel = TimerWheel::new(start);
    let mut keys = Vec::with_capacity(n as usize);
    for id in 0..n {
        keys.push(wheel.insert(at(start, 1 + rng.below(3_600_000)), id));
    }
    assert_eq!(wheel.len(), n as usize);
    let mut cancelled = 0;
    for key in keys.iter().step_by(2) {
        cancelled += usize::from(wheel.cancel(*key).is_some());
    }
    assert_eq!(cancelled, n.div_ceil(2) as usize);
    assert_eq!(wheel.len(), (n / 2) as usize);
    let mut fired = Vec::new();
    wheel.advance(at(start, 1_800_000), &mut fired);
    wheel.advance(at(start, 3_600_000), &mut fired);
    assert_eq!(fired.len(), (n / 2) as usize);
    assert!(fired.iter().all(|id| id % 2 == 1));
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn hundred_thousand_pending_timers() {
    insert_cancel_half_fire_rest(100_000);
}

#[test]
fn million_pending_timers() {
    insert_cancel_half_fire_rest(1_000_000);
}

#[test]
fn memory_per_timer() {
    println!("slab slot for T = ():        {} bytes", slot_size::<()>());
    println!("slab slot for T = u64:       {} bytes", slot_size::<u64>());
    println!("slab slot for T = [u64; 2]:  {} bytes", slot_size::<[u64; 2]>());
    println!("slab slot for T = [u64; 6]:  {} bytes", slot_size::<[u64; 6]>());
    println!("TimerKey: {} bytes, Option<TimerKey>: {} bytes", size_of::<TimerKey>(), size_of::<Option<TimerKey>>());
    println!("TimerWheel<T> (fixed part): {} bytes", size_of::<TimerWheel<u64>>());
    assert_eq!(slot_size::<()>(), 32);
    assert_eq!(slot_size::<[u64; 2]>(), 48);
    assert_eq!(size_of::<Option<TimerKey>>(), 16);
}

/// Run with `cargo test --release -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn bench_insert_cancel_and_fire() {
    const PENDING: u64 = 1_000_000;
    let start = Instant::now();
    let mut rng = Rng(0x5EED);
    let mut wheel = TimerWheel::new(start);

    let t = Instant::now();
    for id in 0..PENDING {
        wheel.insert(at(start, 1 + rng.below(3_600_000)), id);
    }
    let insert_ns = t.elapsed().as_nanos() as f64 / PENDING as f64;
    println!("insert (growing to {PENDING} pending, spread over 1 h): {insert_ns:.1} ns/insert");
    println!(
        "memory: {} slab slots x {} bytes = {:.1} MiB ({:.1} bytes/pending timer incl. slab slack)",
        wheel.capacity(),
        slot_size::<u64>(),
        (wheel.capacity() * slot_size::<u64>()) as f64 / (1 << 20) as f64,
        (wheel.capacity() * slot_size::<u64>()) as f64 / PENDING as f64
    );

    // The GenServer-call pattern: arm a 5 s timeout, cancel it right away.
    const PAIRS: u64 = 20_000_000;
    let base = 10; // advance a little so the wheel's clock is not zero
    let mut fired = Vec::new();
    wheel.advance(at(start, base), &mut fired);
    let t = Instant::now();
    for i in 0..PAIRS {
        let key = wheel.insert(black_box(at(start, base + 5_000 + (i & 1023))), i);
        black_box(wheel.cancel(black_box(key)));
    }
    let pair_ns = t.elapsed().as_nanos() as f64 / PAIRS as f64;
    println!("insert+cancel with {} pending: {pair_ns:.1} ns/pair", wheel.len());

    // Interleaved: cancel a random older timer while inserting, so the
    // touched entries are not all in cache.
    let mut keys: Vec<TimerKey> = Vec::with_capacity(1 << 16);
    for i in 0..(1 << 16) {
        keys.push(wheel.insert(at(start, base + 5_000 + i), i));
    }
    let t = Instant::now();
    for i in 0..PAIRS {
        let slot = (rng.next() as usize) & ((1 << 16) - 1);
        black_box(wheel.cancel(keys[slot]));
        keys[slot] = wheel.insert(at(start, base + 5_000 + (i & 4095)), i);
    }
    let mixed_ns = t.elapsed().as_nanos() as f64 / PAIRS as f64;
    println!("insert+cancel of a random one of 65536 recent timers: {mixed_ns:.1} ns/pair");
    for key in keys {
        wheel.cancel(key);
    }

    let t = Instant::now();
    let mut calls = 0u64;
    let mut fired_count = 0usize;
    for ms in (base..=3_600_000).step_by(1) {
        fired.clear();
        wheel.advance(at(start, ms), &mut fired);
        fired_count += fired.len();
        calls += 1;
    }
    let total = t.elapsed().as_nanos() as f64;
    println!(
        "fire in 1 ms steps: {fired_count} fired over {calls} advances: {:.1} ns/fired timer (incl. {:.1} ns per advance call)",
        total / fired_count as f64,
        total / calls as f64
    );
    assert!(wheel.is_empty());

    for id in 0..PENDING {
        wheel.insert(at(start, 3_600_001 + rng.below(3_600_000)), id);
    }
    let t = Instant::now();
    fired.clear();
    wheel.advance(at(start, 7_200_000), &mut fired);
    let jump_ns = t.elapsed().as_nanos() as f64 / fired.len() as f64;
    println!("fire in one 1 h jump: {} fired, {jump_ns:.1} ns/fired timer", fired.len());

    // Firing with a working set that fits in cache: 10k timers over 10 s.
    let mut cache_fired = 0usize;
    let mut cache_ns = 0u128;
    let mut now = 7_200_000;
    for _round in 0..100 {
        for id in 0..10_000 {
            wheel.insert(at(start, now + 1 + rng.below(10_000)), id);
        }
        let t = Instant::now();
        for _ in 0..10_000 {
            now += 1;
            fired.clear();
            wheel.advance(at(start, now), &mut fired);
            cache_fired += fired.len();
        }
        cache_ns += t.elapsed().as_nanos();
    }
    println!(
        "fire in 1 ms steps, 10k timers over 10 s (in cache): {:.1} ns/fired timer (incl. advance calls)",
        cache_ns as f64 / cache_fired as f64
    );

    // The cost of an advance call that fires nothing (one far timer pending).
    wheel.insert(at(start, 1 << 40), 0);
    let t = Instant::now();
    for _ in 0..10_000_000 {
        now += 1;
        fired.clear();
        wheel.advance(black_box(at(start, now)), &mut fired);
    }
    println!("advance by 1 ms, nothing due: {:.1} ns/call", t.elapsed().as_nanos() as f64 / 1e7);
    let now_before = now;

    // next_deadline, as the worker calls it after every insert.
    for id in 0..PENDING {
        wheel.insert(at(start, now_before + 1 + rng.below(3_600_000)), id);
    }
    let t = Instant::now();
    let mut acc = 0u64;
    for _ in 0..10_000_000 {
        acc = acc.wrapping_add(ms_of(start, black_box(&wheel).next_deadline().unwrap()));
    }
    black_box(acc);
    println!("next_deadline: {:.1} ns/call", t.elapsed().as_nanos() as f64 / 1e7);
}
