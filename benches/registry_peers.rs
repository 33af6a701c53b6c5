//! Ember's side of the registry workloads of the peer comparison
//! (`benches/peers/README.md`, "Registry"), printing the peers' output
//! contract:
//!
//! ```text
//! RESULT <workload> ember <value> <unit>
//! ```
//!
//! ```text
//! cargo bench --bench registry_peers                      # all workloads
//! cargo bench --bench registry_peers -- via_call pid_call # some
//! cargo bench --bench registry_peers -- --quick           # 10x smaller sizes
//! ```
//!
//! As on the Elixir side: a unique registry with 1 partition; 10,000
//! processes each holding one key; 1 or 2 processes each doing 1,000,000
//! lookups of random keys from a pre-generated table; 1,000,000 register +
//! unregister of fresh keys by one process; 1,000,000 calls to a GenServer
//! through its via name, or through its pid. Lines starting with `# ` are
//! comments (the 8-partition variant of the lookups, for information).

mod common;
mod registry_workloads;

use common::cli::{self, comment, result, Ctx, Workload};
use common::rate;
use registry_workloads::*;

const WORKLOADS: &[Workload] = &[
    ("registry_lookup_1core", lookup_w),
    ("registry_lookup_2cores", lookup_w),
    ("registry_register_unregister", register_unregister_w),
    ("via_call", call_w),
    ("pid_call", call_w),
];

fn lookup_w(ctx: &Ctx, w: &str) {
    let lookers = if w == "registry_lookup_1core" { 1 } else { 2 };
    let n = ctx.sz(1_000_000);
    let (d, d8) = ctx.block_on(w, move || {
        let fixture = populate("BenchReg", 1);
        let d = lookups(&fixture.reg, lookers, n);
        teardown(fixture);
        let fixture = populate("BenchReg8", 8);
        let d8 = lookups(&fixture.reg, lookers, n);
        teardown(fixture);
        (d, d8)
    });
    comment(&format!("{w} ember: 8 partitions: {:.0} lookups/s", rate(lookers as u64 * n, d8)));
    result(w, rate(lookers as u64 * n, d), "lookups/s");
}

fn register_unregister_w(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let d = ctx.block_on(w, move || {
        let fixture = start_registry::<u64, ()>(ember::registry::Options::unique("BenchReg"));
        let d = register_unregister(&fixture.reg, n);
        teardown(fixture);
        d
    });
    result(w, rate(n, d), "ops/s");
}

fn call_w(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let by_via = w == "via_call";
    let d = ctx.block_on(w, move || {
        let (fixture, by_pid) = call_setup("BenchReg");
        let server = if by_via {
            ember::gen_server::Server::<Counter>::new(fixture.reg.via("server"))
        } else {
            ember::gen_server::Server::<Counter>::new(by_pid.pid().expect("running"))
        };
        let d = calls(&server, n);
        call_teardown(fixture, by_pid);
        d
    });
    result(w, rate(n, d), "calls/s");
}

fn main() {
    let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default());
    cli::main(WORKLOADS);
}
