//! Ember's side of the behaviour workloads of the peer comparison
//! (`benches/peers/README.md`, "gen_server / GenServer", "Memory" and
//! "Supervisors"), printing the peers' output contract:
//!
//! ```text
//! RESULT <workload> ember <value> <unit>
//! ```
//!
//! ```text
//! cargo bench --bench peers_behaviours                           # all workloads
//! cargo bench --bench peers_behaviours -- restart_latency        # some
//! cargo bench --bench peers_behaviours -- --quick                # 10x smaller sizes
//! cargo bench --bench peers_behaviours -- list                   # names
//! ```
//!
//! | workload | RESULT lines | what |
//! |---|---|---|
//! | `genserver_call_1` | calls/s | one GenServer (`handle_call(get) -> reply n, n + 1`), one caller, 1,000,000 calls |
//! | `genserver_call_100` | calls/s | the same server, 100 callers × 10,000 calls; clock: before spawning the callers → all done |
//! | `call_with_backlog` | `_empty`, `_1m` in ns/call | OTP's `call_with_huge_message_queue`: 200 calls with an empty mailbox, then 200 with 1,000,000 unrelated messages queued in the caller's mailbox; the ratio is a comment line (target ≤ 2×) |
//! | `mem_hibernated_genserver_1m` | bytes/proc (+ `_pte`) | 1,000,000 GenServers started with `gen_server::start` whose `init` hibernates; VmRSS delta / N |
//! | `restart_latency` | `_median`, `_p99` in µs | one_for_one Supervisor (1,000,000 restarts per 1 s allowed), one named GenServer child whose `init` tells the bench; 10,000 × (t0, kill, receive the new child's message, t1) |
//! | `sup_static_10k` | `_start`, `_shutdown` in ms | `Supervisor::start_link` with 10,000 static GenServer children (until it returns), then `Supervisor::stop` (until it returns) |
//! | `sup_static_100k` | `_start`, `_shutdown`, `_start_child`, `_terminate_child` in ms | the same with 100,000 children; then OTP's `scale_start_stop_many_children` pattern on an empty supervisor: 100,000 × `start_child`, then 100,000 × `terminate_child` by id in start order (a comment line gives the 1,000-child figures of the same run and the ratios; OTP allows 1000× for 100× the children) |
//!
//! Every workload runs in a fresh runtime with default settings, in a fresh
//! OS process when several are selected; crash reports are off (the peers
//! run with logging off). The criterion versions of the supervisor
//! workloads are `supervisor_restart.rs` and `supervisor_static.rs`.

mod common;

use common::cli::{self, comment, result, Ctx, Workload};
use common::contract::percentile;
use common::servers::{Counter, Hibernated};
use common::{proc_status_bytes, rate, Never};
use ember::gen_server::{self, GenServer, Init, Server, StartOptions};
use ember::supervisor::{ChildSpec, Supervisor, SupervisorOptions};
use ember::{receive, receive_timeout, self_pid, send, spawn, stats, trap_exit, whereis, Pid, Reason};
use std::time::{Duration, Instant};

const WORKLOADS: &[Workload] = &[
    ("genserver_call_1", genserver_call_1),
    ("genserver_call_100", genserver_call_100),
    ("call_with_backlog", call_with_backlog),
    ("mem_hibernated_genserver_1m", mem_hibernated_w),
    ("restart_latency", restart_latency_w),
    ("sup_static_10k", sup_static_w),
    ("sup_static_100k", sup_static_100k_w),
];

// ---------------------------------------------------------------- servers

/// The supervised child of `restart_latency`: `init` sends `Started(self)`
/// to the bench process (after its name is registered), then it waits.
struct RestartChild;

/// `{started, Pid}`
struct Started(Pid);

impl GenServer for RestartChild {
    type Arg = Pid;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(observer: Pid) -> Init<Self> {
        send(observer, Started(self_pid()));
        Init::Ok(RestartChild)
    }
}

/// A static child of `sup_static_10k` (the peers' `Worker`).
struct Worker;

impl GenServer for Worker {
    type Arg = u64;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(_: u64) -> Init<Self> {
        Init::Ok(Worker)
    }
}

// ---------------------------------------------------------------- calls

fn call_n(server: &Server<Counter>, n: u64) {
    for _ in 0..n {
        server.call(()).expect("a call to the counter");
    }
}

fn genserver_call_1(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let d = ctx.block_on(w, move || {
        let server = gen_server::start::<Counter>(0, StartOptions::new()).expect("start the counter");
        let t0 = Instant::now();
        call_n(&server, n);
        let d = t0.elapsed();
        server.stop(Reason::Normal, None).expect("stop the counter");
        d
    });
    result(w, rate(n, d), "calls/s");
}

fn call_with_backlog(ctx: &Ctx, w: &str) {
    const CALLS: u64 = 200;
    let backlog = ctx.sz(1_000_000);
    let (empty, full) = ctx.block_on(w, move || {
        let server = gen_server::start::<Counter>(0, StartOptions::new()).expect("start the counter");
        call_n(&server, CALLS); // warm up
        let t0 = Instant::now();
        call_n(&server, CALLS);
        let empty = t0.elapsed();
        let me = self_pid();
        for i in 0..backlog {
            send(me, i);
        }
        // Draw the backlog into the private mailbox first, as a process that
        // had received (and skipped) it would have.
        assert!(receive_timeout::<Never>(Duration::ZERO).is_none());
        let t1 = Instant::now();
        call_n(&server, CALLS);
        let full = t1.elapsed();
        server.stop(Reason::Normal, None).expect("stop the counter");
        (empty, full)
    });
    let per = |d: Duration| d.as_nanos() as f64 / CALLS as f64;
    result(&format!("{w}_empty"), per(empty), "ns/call");
    result(&format!("{w}_1m"), per(full), "ns/call");
    comment(&format!("{w} ember: {backlog} queued: {:.2}x the empty-mailbox cost per call", per(full) / per(empty)));
}

fn genserver_call_100(ctx: &Ctx, w: &str) {
    const CALLERS: u64 = 100;
    let per_caller = ctx.sz(10_000);
    struct CallerDone;
    let d = ctx.block_on(w, move || {
        let server = gen_server::start::<Counter>(0, StartOptions::new()).expect("start the counter");
        let root = self_pid();
        let t0 = Instant::now();
        for _ in 0..CALLERS {
            let server = server.clone();
            spawn(move || {
                call_n(&server, per_caller);
                send(root, CallerDone);
            });
        }
        for _ in 0..CALLERS {
            receive::<CallerDone>();
        }
        let d = t0.elapsed();
        server.stop(Reason::Normal, None).expect("stop the counter");
        d
    });
    result(w, rate(CALLERS * per_caller, d), "calls/s");
}

// ---------------------------------------------------------------- memory

/// 200 ms for the last processes to suspend and the machine to settle.
fn settle() {
    let _ = receive_timeout::<Never>(Duration::from_millis(200));
}

fn mem_hibernated_w(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let (before, after, st0, st1, start_time) = ctx.block_on(w, move || {
        settle();
        let st0 = stats();
        let before = (proc_status_bytes("VmRSS"), proc_status_bytes("VmPTE"));
        let t0 = Instant::now();
        for i in 0..n {
            // The handle is dropped: as in the peers, the bench keeps no pids.
            gen_server::start::<Hibernated>(i, StartOptions::new()).expect("start a hibernated server");
        }
        let start_time = t0.elapsed();
        // Every server hibernates right after its init: wait until none but
        // the ones held before (the bench's own) has a stack, then settle.
        let t1 = Instant::now();
        while stats().stacks_in_use > st0.stacks_in_use && t1.elapsed() < common::stall() {
            let _ = receive_timeout::<Never>(Duration::from_millis(20));
        }
        settle();
        let st1 = stats();
        let after = (proc_status_bytes("VmRSS"), proc_status_bytes("VmPTE"));
        (before, after, st0, st1, start_time)
    });
    comment(&format!(
        "{w} ember: n={n} VmRSS {} -> {} KiB, VmPTE {} -> {} KiB, start {:.1} ms ({:.0} servers/s)",
        before.0 >> 10,
        after.0 >> 10,
        before.1 >> 10,
        after.1 >> 10,
        start_time.as_secs_f64() * 1e3,
        rate(n, start_time)
    ));
    comment(&format!("{w} ember: stats before {st0:?}"));
    comment(&format!("{w} ember: stats after  {st1:?}"));
    let per = |a: u64, b: u64| (b as f64 - a as f64) / n as f64;
    result(w, per(before.0, after.0), "bytes/proc");
    result(&format!("{w}_pte"), per(before.1, after.1), "bytes/proc");
    // The servers are not stopped: the process exits now.
}

// ---------------------------------------------------------------- supervisors

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn restart_latency_w(ctx: &Ctx, w: &str) {
    const NAME: &str = "restart_latency_child";
    let n = ctx.sz(10_000) as usize;
    let lat = ctx.block_on(w, move || {
        let me = self_pid();
        let spec = ChildSpec::gen_server_opts::<RestartChild>(me, StartOptions::new().name(NAME));
        let sup =
            Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one().max_restarts(1_000_000).max_seconds(1))
                .expect("start the supervisor");
        let Started(mut child) = receive();
        let mut lat = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            child.exit(Reason::Kill);
            let Started(new) = receive();
            lat.push(t0.elapsed().as_secs_f64() * 1e6);
            child = new;
        }
        assert_eq!(whereis(NAME), Some(child), "the last child is registered under its name");
        trap_exit(true);
        sup.stop(Reason::Shutdown, None).expect("stop the supervisor");
        lat
    });
    let all = sorted(lat.clone());
    let k = 1000.min(n);
    let first = sorted(lat[..k].to_vec());
    let last = sorted(lat[n - k..].to_vec());
    comment(&format!(
        "{w} ember: first {k} restarts median {:.3} us p99 {:.3} us; last {k} median {:.3} us p99 {:.3} us; max {:.3} us",
        percentile(&first, 0.5),
        percentile(&first, 0.99),
        percentile(&last, 0.5),
        percentile(&last, 0.99),
        all[n - 1]
    ));
    result(&format!("{w}_median"), percentile(&all, 0.5), "us");
    result(&format!("{w}_p99"), percentile(&all, 0.99), "us");
}

fn sup_static_w(ctx: &Ctx, w: &str) {
    let (start, shutdown) = static_start_stop(ctx, w, ctx.sz(10_000));
    result(&format!("{w}_start"), start.as_secs_f64() * 1e3, "ms");
    result(&format!("{w}_shutdown"), shutdown.as_secs_f64() * 1e3, "ms");
}

/// `Supervisor::start_link` with `n` static GenServer children, then
/// `Supervisor::stop`: (start time, shutdown time).
fn static_start_stop(ctx: &Ctx, w: &str, n: u64) -> (Duration, Duration) {
    ctx.block_on(w, move || {
        let children: Vec<ChildSpec> =
            (0..n as usize).map(|i| ChildSpec::gen_server::<Worker>(i as u64).id_as(i)).collect();
        let t0 = Instant::now();
        let sup = Supervisor::start_link(children, SupervisorOptions::one_for_one().max_restarts(1).max_seconds(5))
            .expect("start the supervisor");
        let start = t0.elapsed();
        assert_eq!(sup.which_children().expect("which_children").len() as u64, n);
        let t1 = Instant::now();
        sup.stop(Reason::Normal, None).expect("stop the supervisor");
        let shutdown = t1.elapsed();
        assert_eq!(stats().processes, 1, "every child is gone");
        (start, shutdown)
    })
}

/// OTP's `scale_start_stop_many_children`: `n` × `start_child` on an empty
/// supervisor, then `n` × `terminate_child` by id, in start order:
/// (start_child time, terminate_child time).
fn start_child_terminate_child(ctx: &Ctx, w: &str, n: u64) -> (Duration, Duration) {
    ctx.block_on(w, move || {
        let specs: Vec<ChildSpec> =
            (0..n as usize).map(|i| ChildSpec::gen_server::<Worker>(i as u64).id_as(i)).collect();
        let sup = Supervisor::start_link(vec![], SupervisorOptions::one_for_one().max_restarts(2).max_seconds(3600))
            .expect("start the supervisor");
        let t0 = Instant::now();
        for spec in specs {
            sup.start_child(spec).expect("start_child");
        }
        let start = t0.elapsed();
        let t1 = Instant::now();
        for i in 0..n as usize {
            sup.terminate_child(i).expect("terminate_child");
        }
        let terminate = t1.elapsed();
        assert_eq!(sup.count_children().expect("count_children").active, 0);
        sup.stop(Reason::Normal, None).expect("stop the supervisor");
        (start, terminate)
    })
}

fn sup_static_100k_w(ctx: &Ctx, w: &str) {
    let n = ctx.sz(100_000);
    let (start, shutdown) = static_start_stop(ctx, w, n);
    let small = (n / 100).max(1);
    let (start_small, terminate_small) = start_child_terminate_child(ctx, w, small);
    let (start_child, terminate_child) = start_child_terminate_child(ctx, w, n);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    comment(&format!(
        "{w} ember: scale_start_stop_many_children: {small} children start_child {:.1} ms, terminate_child {:.1} ms; \
         {n} children {:.1} ms, {:.1} ms; ratios {:.0}x and {:.0}x for {}x the children (OTP allows {}x)",
        ms(start_small),
        ms(terminate_small),
        ms(start_child),
        ms(terminate_child),
        start_child.as_secs_f64() / start_small.as_secs_f64(),
        terminate_child.as_secs_f64() / terminate_small.as_secs_f64(),
        n / small,
        n / small * 10,
    ));
    result(&format!("{w}_start"), ms(start), "ms");
    result(&format!("{w}_shutdown"), ms(shutdown), "ms");
    result(&format!("{w}_start_child"), ms(start_child), "ms");
    result(&format!("{w}_terminate_child"), ms(terminate_child), "ms");
}

fn main() {
    cli::main(WORKLOADS);
}
