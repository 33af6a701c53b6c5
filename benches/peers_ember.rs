//! Ember's side of the peer comparison: every runtime-core workload of
//! `benches/peers/` once, at full size, without criterion, printing the
//! peers' output contract:
//!
//! ```text
//! RESULT <workload> ember <value> <unit>
//! ```
//!
//! ```text
//! cargo bench --bench peers_ember                          # all workloads
//! cargo bench --bench peers_ember -- spawn_1m ping_pong    # some
//! cargo bench --bench peers_ember -- --quick               # 10x smaller sizes
//! cargo bench --bench peers_ember -- list                  # names
//! ```
//!
//! Definitions, clocks and units are those of `benches/peers/README.md`
//! ("Process core", "Memory", "Links, monitors, exits"). Every workload runs
//! in a fresh runtime with default settings, in a fresh OS process when
//! several are selected. Lines starting with `# ` are comments (details,
//! runtime counts, failures). Exit code 1 when a workload failed.
//!
//! Environment: `EMBER_BENCH_STALL_S` (a set-up phase with no progress for
//! that long is reported as stuck, default 30), `EMBER_BENCH_TIMEOUT_S`
//! (watchdog per workload, default 600).

mod common;

use common::cli::{self, report_mem, result, Ctx, Workload};
use common::*;

const WORKLOADS: &[Workload] = &[
    ("spawn_1m", spawn_1m),
    ("skynet_1m", skynet_1m),
    ("ping_pong", ping_pong_w),
    ("ring_1000x10000", ring_w),
    ("ring_10000x1000", ring_w),
    ("mem_idle_100k", mem_idle_w),
    ("mem_idle_1m", mem_idle_w),
    ("exit_cascade_100k", exit_cascade_w),
    ("monitor_down", monitor_down_w),
];

fn spawn_1m(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let d = ctx.block_on(w, move || spawn_n(n as usize));
    result(w, rate(n, d), "procs/s");
}

fn skynet_1m(ctx: &Ctx, w: &str) {
    let size = ctx.sz(1_000_000);
    let d = ctx.block_on(w, move || skynet_run(size));
    result(w, d.as_secs_f64(), "s");
}

fn ping_pong_w(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let d = ctx.block_on(w, move || ping_pong(n as usize));
    result(w, rate(n, d), "roundtrips/s");
}

fn ring_w(ctx: &Ctx, w: &str) {
    let (n, laps) = match w {
        "ring_1000x10000" => (1_000, ctx.sz(10_000)),
        _ => (10_000, ctx.sz(1_000)),
    };
    let d = ctx.block_on(w, move || ring(n, laps));
    result(w, rate(n as u64 * laps, d), "hops/s");
}

fn mem_idle_w(ctx: &Ctx, w: &str) {
    let n = if w == "mem_idle_1m" { ctx.sz(1_000_000) } else { ctx.sz(100_000) };
    let m = ctx.block_on(w, move || mem_idle(n as usize));
    report_mem(w, &m);
}

fn exit_cascade_w(ctx: &Ctx, w: &str) {
    let n = ctx.sz(100_000);
    let d = ctx.block_on(w, move || exit_cascade(n as usize));
    result(w, d.as_secs_f64() * 1e3, "ms");
}

fn monitor_down_w(ctx: &Ctx, w: &str) {
    let n = ctx.sz(100_000);
    let d = ctx.block_on(w, move || monitor_down(n as usize));
    result(w, rate(n, d), "ops/s");
}

fn main() {
    cli::main(WORKLOADS);
}
