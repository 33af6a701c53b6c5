//! 16 processes registering, unregistering, looking up and dying at random
//! (killed from outside at arbitrary points too), while a checker asserts:
//!
//! * **no dead entry survives past cleanup**: once the checker has seen a
//!   worker's `Down` and synced the registry, no entry of that worker is
//!   left — and none ever comes back;
//! * **no live entry is lost**: every worker checks, between its own
//!   operations, that each key it holds looks up to itself with its value,
//!   that it never finds itself under a key it does not hold, and that
//!   `keys(self)` is exactly what it holds; at the end, with every worker
//!   paused, the whole table is exactly the union of what they hold.
//!
//! The interleavings vary from run to run; the invariants hold for all.

mod common;

use common::{run, BOUND};
use ember_registry::{Clause, Keys, Options, Registry, RegistryError, Spec};
use ember_runtime::{receive_timeout, self_pid, send, spawn_monitor, yield_now, Down, Pid, Reason, Ref, Select};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

type Reg = Registry<u32, u64>;

const WORKERS: usize = 16;
const LIVES: usize = 400;
const KEYS: u32 = 48;

/// A small xorshift generator (deterministic per seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Checker → worker: report what you hold, then wait for `Stop`.
struct ReportReq(Pid);
/// Worker → checker: what it holds.
struct Report(Pid, Vec<(u32, u64)>);
/// Checker → worker: exit now.
struct Stop;

/// A worker's life: random operations with local invariants, then death.
fn worker(reg: Reg, seed: u64, unique: bool) {
    let me = self_pid();
    let mut rng = Rng(seed | 1);
    // What this worker holds: key → values.
    let mut mine: HashMap<u32, Vec<u64>> = HashMap::new();
    let ops = 20 + rng.below(200);
    let mut serial = seed << 20;
    for _ in 0..ops {
        if let Some(ReportReq(checker)) = receive_timeout::<ReportReq>(Duration::ZERO) {
            let mut held = Vec::new();
            for (k, vs) in &mine {
                held.extend(vs.iter().map(|v| (*k, *v)));
            }
            send(checker, Report(me, held));
            ember_runtime::receive::<Stop>();
            return;
        }
        let key = rng.below(KEYS as u64) as u32;
        match rng.below(10) {
            0..=3 => {
                serial += 1;
                match reg.register(key, serial) {
                    Ok(_) => {
                        if unique {
                            assert!(!mine.contains_key(&key), "registered a key it already held");
                        }
                        mine.entry(key).or_default().push(serial);
                    }
                    Err(RegistryError::AlreadyRegistered(holder)) => {
                        assert!(unique, "duplicate registries always register");
                        assert_eq!(holder == me, mine.contains_key(&key), "holder {holder} of key {key}");
                    }
                    Err(e) => panic!("register failed: {e}"),
                }
            }
            4..=5 => {
                reg.unregister(&key).unwrap();
                mine.remove(&key);
            }
            6..=8 => {
                let found = reg.lookup(&key).unwrap();
                let mut own: Vec<u64> = found.iter().filter(|(p, _)| *p == me).map(|(_, v)| *v).collect();
                own.sort();
                let mut expected = mine.get(&key).cloned().unwrap_or_default();
                expected.sort();
                assert_eq!(own, expected, "lookup of key {key}");
                if unique {
                    assert!(found.len() <= 1);
                }
            }
            _ => {
                let mut keys = reg.keys(me).unwrap();
                keys.sort();
                let mut expected: Vec<u32> = mine
                    .iter()
                    .flat_map(|(k, vs)| std::iter::repeat_n(*k, if unique { 1 } else { vs.len() }))
                    .collect();
                expected.sort();
                assert_eq!(keys, expected, "keys of self");
                for (k, vs) in &mine {
                    let mut values = reg.values(k, me).unwrap();
                    values.sort();
                    let mut vs = vs.clone();
                    vs.sort();
                    assert_eq!(values, vs, "values of key {k}");
                }
            }
        }
        if rng.below(4) == 0 {
            yield_now();
        }
    }
    // Die, one way or another.
    match rng.below(4) {
        0 => {}
        1 => panic!("intentional"),
        2 => ember_runtime::exit(Reason::custom("intentional")),
        _ => ember_runtime::exit(Reason::Kill),
    }
}

fn acceptable(reason: &Reason) -> bool {
    match reason {
        Reason::Panic { message, .. } => &**message == "intentional",
        Reason::Custom(_) => *reason == Reason::custom("intentional"),
        Reason::Normal | Reason::Kill | Reason::Killed => true,
        _ => false,
    }
}

fn entries_of(reg: &Reg, dead: &HashSet<Pid>) -> usize {
    let spec: Spec<u32, u64, ()> = Spec::new().clause(Clause::new().pid(|p| dead.contains(&p)));
    reg.count_select(&spec).unwrap()
}

fn storm(keys: Keys, partitions: usize) {
    run(move || {
        let reg = Reg::start_link(Options::new("Storm", keys).partitions(partitions)).unwrap();
        let unique = keys.is_unique();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ partitions as u64);
        let mut live: HashMap<Ref, Pid> = HashMap::new();
        let mut dead: HashSet<Pid> = HashSet::new();
        let mut spawned = 0u64;
        let start = |spawned: &mut u64, live: &mut HashMap<Ref, Pid>| {
            *spawned += 1;
            let (r, seed) = (reg.clone(), *spawned);
            let (pid, m) = spawn_monitor(move || worker(r, seed, unique));
            live.insert(m, pid);
        };
        for _ in 0..WORKERS {
            start(&mut spawned, &mut live);
        }
        while (spawned as usize) < LIVES {
            let down: Down = ember_runtime::receive_if_timeout(|d: &Down| live.contains_key(&d.monitor), BOUND)
                .expect("a worker died in time");
            live.remove(&down.monitor);
            assert!(acceptable(&down.reason), "worker {} failed: {:?}", down.pid, down.reason);
            dead.insert(down.pid);
            // Cleanup is done once the partitions have read the exit signal.
            reg.sync().unwrap();
            assert!(reg.keys(down.pid).unwrap().is_empty(), "keys of a dead worker");
            assert_eq!(entries_of(&reg, &dead), 0, "entries of dead workers after cleanup");
            // Kill someone at an arbitrary point, now and then.
            if rng.below(2) == 0 && !live.is_empty() {
                let victims: Vec<Pid> = live.values().copied().collect();
                let victim = victims[rng.below(victims.len() as u64) as usize];
                victim.exit(if rng.below(2) == 0 { Reason::Kill } else { Reason::custom("intentional") });
            }
            start(&mut spawned, &mut live);
        }
        // The end: pause every worker still alive and compare the whole table.
        for pid in live.values() {
            send(*pid, ReportReq(self_pid()));
        }
        let mut held: Vec<(u32, Pid, u64)> = Vec::new();
        let mut paused = Vec::new();
        while !live.is_empty() {
            let got = Select::new()
                .on(|Report(pid, entries): Report| Ok((pid, entries)))
                .on_if(|d: &Down| live.contains_key(&d.monitor), Err)
                .after(BOUND, || panic!("workers did not report"))
                .wait();
            match got {
                Ok((pid, entries)) => {
                    live.retain(|_, p| *p != pid);
                    held.extend(entries.into_iter().map(|(k, v)| (k, pid, v)));
                    paused.push(pid);
                }
                Err(down) => {
                    live.remove(&down.monitor);
                    assert!(acceptable(&down.reason), "worker {} failed: {:?}", down.pid, down.reason);
                    dead.insert(down.pid);
                }
            }
        }
        reg.sync().unwrap();
        assert_eq!(entries_of(&reg, &dead), 0);
        let mut table = reg.select(&Spec::all(|k: &u32, pid, v: &u64| (*k, pid, *v))).unwrap();
        table.sort();
        held.sort();
        assert_eq!(table, held, "the table is exactly what the live workers hold");
        assert_eq!(reg.count().unwrap(), held.len());
        for pid in paused {
            send(pid, Stop);
        }
    })
}

#[test]
fn unique_p1() {
    storm(Keys::Unique, 1)
}

#[test]
fn unique_p8() {
    storm(Keys::Unique, 8)
}

#[test]
fn duplicate_p8() {
    storm(Keys::duplicate(), 8)
}

#[test]
fn duplicate_by_key_p8() {
    storm(Keys::Duplicate(ember_registry::PartitionBy::Key), 8)
}
