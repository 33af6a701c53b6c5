//! Criterion suite of the runtime-core workloads (the same definitions as
//! `benches/peers/` and `peers_ember.rs`):
//!
//! | group | benchmark | measured | throughput |
//! |---|---|---|---|
//! | `spawn` | `spawn_100k`, `spawn_1m` | first spawn → last message | processes |
//! | `skynet` | `skynet_1m` | top spawn → sum at the root (asserted) | – |
//! | `ping_pong` | `ping_pong_100k` | 100,000 round trips | round trips |
//! | `ring` | `ring_1000x1000`, `ring_10000x100` | one token, N × laps hops | hops |
//! | `exit_cascade` | `exit_cascade_100k` | `head.exit(Kill)` → the tail's `Down` | – |
//! | `monitor_down` | `monitor_down_100k` | monitor + stop + `Down`, × 100,000 | ops |
//!
//! Every benchmark gets a fresh `Runtime` (default settings), which serves
//! all its iterations — as the peers run every workload in a fresh VM: a
//! runtime that just ran skynet's 1.1M processes hands out recycled stacks
//! and slots scattered over its pools, which measurably slows the rings
//! (ring_1000: 6.5 → 4.2 M hops/s, ring_10000: 2.2 → 0.87 M hops/s on the
//! reference machine). Each criterion call builds its workload inside the
//! runtime (`rt.block_on`), and only the named part
//! is timed, with `Instant` inside the bench process (`iter_custom`). Rings are
//! built once per criterion call and re-used by its iterations; chains and the
//! 100,000 waiting processes of `monitor_down` are rebuilt (untimed) for
//! every iteration. The ring sizes are the peers'; the lap counts are 10×
//! smaller than the peers' so that one iteration takes ~0.1 s (throughput is
//! per hop either way).
//!
//! Crash reports are off (see `common::quiet_crash_reports`;
//! `EMBER_BENCH_CRASH_REPORTS=1` keeps them).
//!
//! ```text
//! cargo bench --bench runtime_core
//! cargo bench --bench runtime_core -- ring     # a filter
//! ```

mod common;

use common::*;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use ember::Runtime;
use std::sync::OnceLock;
use std::time::Duration;

/// A fresh runtime (default settings) for one workload, shared by all its
/// iterations.
fn runtime() -> Runtime {
    static QUIET: OnceLock<bool> = OnceLock::new();
    QUIET.get_or_init(quiet_crash_reports);
    Runtime::new().expect("start the runtime")
}

/// Runs `f` in a process of `rt`.
fn run<T: Send + 'static>(rt: &Runtime, f: impl FnOnce() -> T + Send + 'static) -> T {
    match rt.block_on(f) {
        Ok(v) => v,
        Err(reason) => panic!("bench process failed: {reason:?}"),
    }
}

fn group<'a>(c: &'a mut Criterion, name: &str, measurement: Duration) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measurement);
    g
}

/// `iters` runs of `workload`, each timed inside the bench process.
fn repeat(rt: &Runtime, iters: u64, workload: impl Fn() -> Duration + Send + 'static) -> Duration {
    run(rt, move || (0..iters).map(|_| workload()).sum())
}

fn spawn(c: &mut Criterion) {
    let mut g = group(c, "spawn", Duration::from_secs(3));
    for (name, n) in [("spawn_100k", 100_000u64), ("spawn_1m", 1_000_000)] {
        let rt = runtime();
        g.throughput(Throughput::Elements(n));
        g.bench_function(name, |b| b.iter_custom(|iters| repeat(&rt, iters, move || spawn_n(n as usize))));
    }
    g.finish();
}

fn skynet(c: &mut Criterion) {
    let rt = runtime();
    let mut g = group(c, "skynet", Duration::from_secs(8));
    g.bench_function("skynet_1m", |b| b.iter_custom(|iters| repeat(&rt, iters, || skynet_run(1_000_000))));
    g.finish();
}

fn ping_pong_bench(c: &mut Criterion) {
    let rt = runtime();
    let mut g = group(c, "ping_pong", Duration::from_secs(3));
    let n = 100_000u64;
    g.throughput(Throughput::Elements(n));
    g.bench_function("ping_pong_100k", |b| b.iter_custom(|iters| repeat(&rt, iters, move || ping_pong(n as usize))));
    g.finish();
}

fn ring_bench(c: &mut Criterion) {
    let mut g = group(c, "ring", Duration::from_secs(5));
    for (name, n, laps) in [("ring_1000x1000", 1_000usize, 1_000u64), ("ring_10000x100", 10_000, 100)] {
        let rt = runtime();
        let hops = n as u64 * laps;
        g.throughput(Throughput::Elements(hops));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                run(&rt, move || {
                    let keep = ember::stats().processes;
                    let ring = Ring::build(n);
                    let total = (0..iters).map(|_| ring.pass(hops)).sum();
                    ring.stop(keep);
                    total
                })
            })
        });
    }
    g.finish();
}

fn exit_cascade_bench(c: &mut Criterion) {
    let rt = runtime();
    let mut g = group(c, "exit_cascade", Duration::from_secs(5));
    g.bench_function("exit_cascade_100k", |b| b.iter_custom(|iters| repeat(&rt, iters, || exit_cascade(100_000))));
    g.finish();
}

fn monitor_down_bench(c: &mut Criterion) {
    let rt = runtime();
    let mut g = group(c, "monitor_down", Duration::from_secs(3));
    let n = 100_000u64;
    g.throughput(Throughput::Elements(n));
    g.bench_function("monitor_down_100k", |b| {
        b.iter_custom(|iters| repeat(&rt, iters, move || monitor_down(n as usize)))
    });
    g.finish();
}

criterion_group!(benches, spawn, skynet, ping_pong_bench, ring_bench, exit_cascade_bench, monitor_down_bench);
criterion_main!(benches);
