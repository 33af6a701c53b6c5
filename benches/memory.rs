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
//! A process that cannot get a stack (e.g. the memory-map budget,
//! `vm.max_map_count`, is exhausted) never reports ready: after
//! `EMBER_BENCH_STALL_S` (default 30) without progress the bench prints the
//! runtime's counts, the map count and the exact exit reason of a probe
//! process, and exits with code 1.

mod common;

use common::cli::{self, report_mem, Ctx, Workload};
use common::mem_idle;

const WORKLOADS: &[Workload] = &[("mem_idle_100k", mem), ("mem_idle_1m", mem)];

fn mem(ctx: &Ctx, w: &str) {
    let n = if w == "mem_idle_1m" { ctx.sz(1_000_000) } else { ctx.sz(100_000) };
    let m = ctx.block_on(w, move || mem_idle(n as usize));
    report_mem(w, &m);
}

fn main() {
    cli::main(WORKLOADS);
}
