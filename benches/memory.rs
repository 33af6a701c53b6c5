//! Memory of idle processes: N processes blocked in `receive`, for
//! N = 100,000 and 1,000,000.
//!
//! For each N, in a fresh OS process and a fresh runtime with default
//! settings: VmRSS, VmPTE (page tables, which VmRSS does not include — stacks
//! are separate mappings) and the number of memory maps are read from
//! `/proc/self` before spawning; every process sends `Ready` just before it
//! blocks in `receive`; once the bench has all N readies (plus 200 ms to
//! settle) the figures are read again, with `stats()`. Then the processes are
//! released (each is sent `Stop`; the release is timed). Output follows the
//! peers' contract:
//!
//! ```text
//! RESULT mem_idle_100k ember <RSS delta / N> bytes/proc
//! RESULT mem_idle_100k_pte ember <VmPTE delta / N> bytes/proc
//! ```
//!
//! plus `# ` comment lines with the details.
//!
//! ```text
//! cargo bench --bench memory                    # both sizes
//! cargo bench --bench memory -- mem_idle_1m     # one
//! cargo bench --bench memory -- --quick         # 10k and 100k
//! ```
//!
//! `mem_deep_burst` measures the stack pool's trimming policy (issue 12.8,
//! `runtime/src/stack/trim.rs`): 20,000 processes each touch 100 KiB of
//! stack at once, then exit; resident memory is read at the peak, right
//! after the exits, and 2.5 s later; then 20,000 idle processes are spawned
//! on the recycled stacks and measured like `mem_idle`. Two shapes of depth:
//! `sampled` (the process waits in `receive` at the bottom of a recursion,
//! so the runtime sees its depth) and `unsampled` (one 100 KiB frame between
//! two runtime calls):
//!
//! ```text
//! RESULT mem_deep_burst_sampled_exit ember <MiB still resident right after the exits> MiB
//! RESULT mem_deep_burst_sampled_2s ember <MiB still resident 2.5 s later> MiB
//! RESULT mem_deep_burst_sampled_reuse ember <RSS delta / N of the idle processes> bytes/proc
//! ```
//!
//! `deep_churn_20k` times the other side of that policy: processes that each
//! go 100 KiB deep, one after another, so that every one of them gets a
//! stack that was trimmed when its predecessor exited (ns per process).
//!
//! A process that cannot get a stack (e.g. the memory-map budget,
//! `vm.max_map_count`, is exhausted) never reports ready: after
//! `EMBER_BENCH_STALL_S` (default 30) without progress the bench prints the
//! runtime's counts, the map count and the exact exit reason of a probe
//! process, and exits with code 1.

mod common;

use common::cli::{self, comment, report_mem, result, Ctx, Workload};
use common::{collect, mem_idle, proc_status_bytes, stop_all, Never, Ready, Stop};
use ember::{receive, receive_timeout, self_pid, send, spawn, stats, Pid};
use std::hint::black_box;
use std::time::Duration;

const WORKLOADS: &[Workload] = &[
    ("mem_idle_100k", mem),
    ("mem_idle_1m", mem),
    ("mem_deep_burst_sampled", deep_burst),
    ("mem_deep_burst_unsampled", deep_burst),
    ("deep_churn_20k", deep_churn),
];

/// The cost of trimming deep stacks at exit: 20,000 processes, two at a
/// time, each going `DEEP` bytes deep with a runtime call at the bottom
/// (so its stack is trimmed when it exits) and exiting. Time per process.
fn deep_churn(ctx: &Ctx, w: &str) {
    let n = ctx.sz(20_000) as usize;
    let elapsed = ctx.block_on(w, move || {
        let me = self_pid();
        let t0 = std::time::Instant::now();
        for _ in 0..n / 2 {
            for _ in 0..2 {
                spawn(move || descend(DEEP / 1024, &mut || send(me, Ready)));
            }
            collect::<Ready>(2, "deep_churn: waiting for the readies");
        }
        t0.elapsed()
    });
    result(w, elapsed.as_secs_f64() * 1e9 / n as f64, "ns/proc");
}

/// Stack bytes each process of a deep burst touches.
const DEEP: usize = 100 * 1024;

/// Recurses `levels` frames of 1 KiB (written, so resident), then runs
/// `at_bottom`.
#[inline(never)]
fn descend(levels: usize, at_bottom: &mut dyn FnMut()) {
    let frame = black_box([levels as u8; 1024]);
    if levels == 0 {
        at_bottom();
    } else {
        descend(levels - 1, at_bottom);
    }
    black_box(&frame);
}

/// One `DEEP`-byte frame, with no runtime call inside.
#[inline(never)]
fn one_large_frame() {
    black_box(&black_box([7u8; DEEP]));
}

fn deep_burst(ctx: &Ctx, w: &str) {
    let n = ctx.sz(20_000) as usize;
    let sampled = w.ends_with("_sampled");
    let (peak, exit, later, base) = ctx.block_on(w, move || {
        let keep = stats().processes;
        let base = proc_status_bytes("VmRSS");
        let me = self_pid();
        let pids: Vec<Pid> = (0..n)
            .map(|_| {
                spawn(move || {
                    if sampled {
                        descend(DEEP / 1024, &mut || {
                            send(me, Ready);
                            receive::<Stop>();
                        });
                    } else {
                        one_large_frame();
                        send(me, Ready);
                        receive::<Stop>();
                    }
                })
            })
            .collect();
        collect::<Ready>(n, "mem_deep_burst: waiting for the readies");
        let peak = proc_status_bytes("VmRSS");
        stop_all(&pids, keep);
        let exit = proc_status_bytes("VmRSS");
        let _ = receive_timeout::<Never>(Duration::from_millis(2500));
        let later = proc_status_bytes("VmRSS");
        (peak, exit, later, base)
    });
    let mib = |b: u64| b.saturating_sub(base) as f64 / 1048576.0;
    comment(&format!(
        "{w} ember: n={n}, {} KiB each; VmRSS above the start: {:.1} MiB at the peak, {:.1} MiB right after the exits,          {:.1} MiB 2.5 s later",
        DEEP >> 10,
        mib(peak),
        mib(exit),
        mib(later)
    ));
    result(&format!("{w}_exit"), mib(exit), "MiB");
    result(&format!("{w}_2s"), mib(later), "MiB");
    // The idle processes that come next get the recycled stacks.
    let m = ctx.block_on(w, move || mem_idle(n));
    report_mem(&format!("{w}_reuse"), &m);
}

fn mem(ctx: &Ctx, w: &str) {
    let n = if w == "mem_idle_1m" { ctx.sz(1_000_000) } else { ctx.sz(100_000) };
    let m = ctx.block_on(w, move || mem_idle(n as usize));
    report_mem(w, &m);
}

fn main() {
    cli::main(WORKLOADS);
}
