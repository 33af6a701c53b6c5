//! DynamicSupervisor and PartitionSupervisor workloads, printed as the
//! peers print theirs (`benches/peers/README.md`, "Supervisors"):
//! `RESULT <workload> ember <value> <unit>`, everything else a `# ` comment.
//!
//! ```sh
//! cargo bench --bench dynamic_workloads                       # all, 5 runs each
//! cargo bench --bench dynamic_workloads -- --runs 3 dynsup_shutdown_1m
//! cargo bench --bench dynamic_workloads -- --quick            # 10x smaller
//! ```
//!
//! Every run of a workload is a fresh OS process (this binary re-executed
//! with `--child`), so memory figures start from a clean process. At the
//! end, one `# median <workload> ember <median> <unit> n=<runs> min=.. max=..`
//! line per workload.
//!
//! | workload | what | unit |
//! |---|---|---|
//! | `dynsup_start_child_100k` | 100,000 `start_child` of a GenServer, one caller | children/s |
//! | `dynsup_idle_1m_rss` (+ `_total`) | RSS of 1,000,000 hibernated GenServer children under one supervisor | bytes/child (MiB) |
//! | `dynsup_shutdown_100k`, `dynsup_shutdown_1m` | `DynamicSupervisor::stop` with that many hibernated children | ms |
//! | `partition_start_child_2x2` | 2 callers × 50,000 `start_child` through a 2-partition PartitionSupervisor, caller k with key k | children/s |
//! | `dynsup_start_child_2callers` | the same 2 × 50,000 against one DynamicSupervisor | children/s |
//!
//! Children are plain GenServers (the peers' `Worker`) for the start
//! workloads — unless a child cannot get a stack (the placeholder stack pool
//! holds ~32K live stacks under the default `vm.max_map_count`): then the
//! run says so in a comment and is repeated with hibernated children, which
//! hold no stack.

mod common;

use common::cli::{comment, result};
use common::servers::{Counter, Hibernated};
use common::{proc_status_bytes, rate};
use ember::gen_server::{self, StartOptions};
use ember::supervisor::{
    via_partition, ChildSpec, DynamicSupervisor, DynamicSupervisorOptions, PartitionSupervisor,
    PartitionSupervisorOptions, StartChildError,
};
use ember::{receive, self_pid, send, spawn, Dest, Pid, Reason, Runtime};
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

const WORKLOADS: &[&str] = &[
    "dynsup_start_child_100k",
    "dynsup_idle_1m_rss",
    "dynsup_shutdown_100k",
    "dynsup_shutdown_1m",
    "partition_start_child_2x2",
    "dynsup_start_child_2callers",
];

/// Exit code of a child run whose children could not get a stack.
const NO_STACK: i32 = 3;

// ---------------------------------------------------------------- children

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Plain,
    Hibernated,
}

fn spec(kind: Kind) -> ChildSpec {
    match kind {
        Kind::Plain => ChildSpec::new("worker", || gen_server::start_link::<Counter>(0, StartOptions::new())),
        Kind::Hibernated => ChildSpec::new("worker", || gen_server::start_link::<Hibernated>(0, StartOptions::new())),
    }
}

/// `n` start_child calls; exits the OS process with [`NO_STACK`] when a
/// child could not get a stack.
fn start_n(sup: &Dest, spec: &ChildSpec, n: u64) {
    for _ in 0..n {
        match DynamicSupervisor::start_child(sup.clone(), spec.clone()) {
            Ok(_) => {}
            Err(StartChildError::Failed(reason)) if format!("{reason:?}").contains("system_limit") => {
                comment(&format!("a child could not get a stack: {reason:?}"));
                std::process::exit(NO_STACK);
            }
            Err(e) => panic!("start_child failed: {e}"),
        }
    }
}

// ---------------------------------------------------------------- helpers

/// Waits until every child has hibernated (no stack held but the bench's
/// and the supervisor's) and things stay quiet for 200 ms.
fn quiesce() {
    loop {
        let s = ember::stats();
        if s.stacks_in_use <= 4 {
            ember::sleep(Duration::from_millis(200));
            if ember::stats().stacks_in_use <= 4 {
                return;
            }
        }
        ember::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------- workloads

fn dynsup_start_child_100k(quick: bool, kind: Kind) {
    let n = if quick { 10_000 } else { 100_000 };
    let sup: Dest = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap().into();
    let spec = spec(kind);
    let t0 = Instant::now();
    start_n(&sup, &spec, n);
    let elapsed = t0.elapsed();
    result("dynsup_start_child_100k", rate(n, elapsed), "children/s");
    // For the record (not a RESULT): the same again once process slots and
    // stacks are warm, and with hibernated children (no stack kept).
    DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
    for (what, kind) in [("warm", kind), ("warm, hibernated children", Kind::Hibernated)] {
        let sup: Dest = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap().into();
        let spec = self::spec(kind);
        let t0 = Instant::now();
        start_n(&sup, &spec, n);
        comment(&format!("dynsup_start_child_100k ({what}): {:.0} children/s", rate(n, t0.elapsed())));
        DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
    }
}

fn dynsup_idle_1m_rss(quick: bool) {
    let n = if quick { 100_000 } else { 1_000_000 };
    quiesce();
    let rss0 = proc_status_bytes("VmRSS");
    let sup: Dest = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap().into();
    start_n(&sup, &spec(Kind::Hibernated), n);
    quiesce();
    let rss1 = proc_status_bytes("VmRSS");
    let delta = rss1.saturating_sub(rss0) as f64;
    comment(&format!("rss before {} MiB, after {} MiB, {:?}", rss0 >> 20, rss1 >> 20, ember::stats()));
    result("dynsup_idle_1m_rss", delta / n as f64, "bytes/child");
    result("dynsup_idle_1m_rss_total", delta / (1024.0 * 1024.0), "MiB");
}

fn dynsup_shutdown(workload: &str, n: u64) {
    let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
    start_n(&sup.into(), &spec(Kind::Hibernated), n);
    quiesce();
    let t0 = Instant::now();
    DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
    let elapsed = t0.elapsed();
    assert_eq!(ember::stats().processes, 1, "every child has exited");
    result(workload, elapsed.as_secs_f64() * 1000.0, "ms");
}

/// Starts `per` children from each of `targets.len()` concurrent callers
/// (caller i uses `targets[i]`); returns the time until all are done.
fn concurrent_start(targets: Vec<Dest>, per: u64, kind: Kind) -> Duration {
    struct Go;
    struct CallerDone;
    let root = self_pid();
    let callers: Vec<Pid> = targets
        .into_iter()
        .map(|target| {
            spawn(move || {
                let spec = spec(kind);
                let Go = receive();
                start_n(&target, &spec, per);
                send(root, CallerDone);
            })
        })
        .collect();
    let t0 = Instant::now();
    for &c in &callers {
        send(c, Go);
    }
    for _ in &callers {
        let CallerDone = receive();
    }
    t0.elapsed()
}

fn partition_start_child_2x2(quick: bool, kind: Kind) {
    let per = if quick { 5_000 } else { 50_000 };
    let name = "EmberPeers.Partitions";
    let dynsup = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new());
    PartitionSupervisor::start_link(PartitionSupervisorOptions::new(name, dynsup).partitions(2)).unwrap();
    // Caller k uses routing key k, so the two callers hit different partitions.
    let targets = (0..2).map(|k| via_partition(name, k)).collect();
    let elapsed = concurrent_start(targets, per, kind);
    result("partition_start_child_2x2", rate(2 * per, elapsed), "children/s");
}

fn dynsup_start_child_2callers(quick: bool, kind: Kind) {
    let per = if quick { 5_000 } else { 50_000 };
    let sup: Dest = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap().into();
    let elapsed = concurrent_start(vec![sup.clone(), sup], per, kind);
    result("dynsup_start_child_2callers", rate(2 * per, elapsed), "children/s");
}

fn run_child(workload: &str, quick: bool, kind: Kind) {
    let rt = Runtime::new().expect("a runtime");
    let workload = workload.to_string();
    let outcome = rt.block_on(move || match workload.as_str() {
        "dynsup_start_child_100k" => dynsup_start_child_100k(quick, kind),
        "dynsup_idle_1m_rss" => dynsup_idle_1m_rss(quick),
        "dynsup_shutdown_100k" => dynsup_shutdown("dynsup_shutdown_100k", if quick { 10_000 } else { 100_000 }),
        "dynsup_shutdown_1m" => dynsup_shutdown("dynsup_shutdown_1m", if quick { 100_000 } else { 1_000_000 }),
        "partition_start_child_2x2" => partition_start_child_2x2(quick, kind),
        "dynsup_start_child_2callers" => dynsup_start_child_2callers(quick, kind),
        other => panic!("unknown workload {other}"),
    });
    if let Err(reason) = outcome {
        comment(&format!("the workload failed: {reason:?}"));
        std::process::exit(1);
    }
    // Exit without shutting the runtime down: a million processes would
    // take a while, and this process is done.
    std::process::exit(0);
}

// ---------------------------------------------------------------- driver

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let kind = if args.iter().any(|a| a == "--hibernated") { Kind::Hibernated } else { Kind::Plain };
        run_child(&args[i + 1], quick, kind);
        return;
    }
    let runs: usize =
        args.iter().position(|a| a == "--runs").and_then(|i| args.get(i + 1)).and_then(|n| n.parse().ok()).unwrap_or(5);
    let chosen: Vec<&str> = WORKLOADS.iter().copied().filter(|w| args.iter().any(|a| a == w)).collect();
    let chosen = if chosen.is_empty() { WORKLOADS.to_vec() } else { chosen };

    comment(&format!(
        "ember dynamic_workloads runs={runs} quick={quick} nproc={} vm.max_map_count={}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap_or_default().trim()
    ));
    let exe = std::env::current_exe().expect("the bench binary");
    let mut collected: Vec<(String, String, Vec<f64>)> = Vec::new();
    for run in 1..=runs {
        for &workload in &chosen {
            let mut hibernated = false;
            loop {
                let mut cmd = Command::new(&exe);
                cmd.arg("--child").arg(workload);
                if quick {
                    cmd.arg("--quick");
                }
                if hibernated {
                    cmd.arg("--hibernated");
                }
                let out = cmd.output().expect("run a workload");
                let stdout = String::from_utf8_lossy(&out.stdout);
                if out.status.code() == Some(NO_STACK) && !hibernated {
                    comment(&format!(
                        "{workload} run {run}: plain GenServer children ran out of stacks; repeating with hibernated children"
                    ));
                    hibernated = true;
                    continue;
                }
                for line in stdout.lines() {
                    println!("{line}");
                    if let Some(rest) = line.strip_prefix("RESULT ") {
                        let fields: Vec<&str> = rest.split_whitespace().collect();
                        if let [name, "ember", value, unit] = fields[..] {
                            let value: f64 = value.parse().unwrap_or(f64::NAN);
                            match collected.iter_mut().find(|(n, _, _)| n == name) {
                                Some((_, _, values)) => values.push(value),
                                None => collected.push((name.to_string(), unit.to_string(), vec![value])),
                            }
                        }
                    }
                }
                if !out.status.success() {
                    comment(&format!("{workload} run {run} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
                }
                let _ = std::io::stdout().flush();
                break;
            }
        }
    }
    for (name, unit, values) in &mut collected {
        let n = values.len();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let med = median(values);
        println!("# median {name} ember {med:.1} {unit} n={n} min={min:.1} max={max:.1}");
    }
}
