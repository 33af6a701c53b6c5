//! The command line shared by the `harness = false` bench binaries
//! (`peers_ember`, `memory`): workload selection, `--quick`, one fresh OS
//! process per workload, a watchdog, and the peers' `RESULT` output contract
//! (`RESULT <workload> ember <value> <unit>`, everything else a `# ` comment).
#![allow(dead_code)]

use super::{fmt_value, map_count, max_map_count, MemIdle};
use ember::{Reason, Runtime};
use std::io::Write;
use std::process::Command;
use std::time::Duration;

/// What a workload gets.
pub struct Ctx {
    /// The runtime the workload runs in (fresh, default settings, leaked so
    /// that the watchdog can read its counts and a failure can exit without
    /// shutting it down).
    pub rt: &'static Runtime,
    /// `--quick`: 10× smaller sizes.
    pub quick: bool,
}

impl Ctx {
    /// A full-size count, or a tenth of it with `--quick`.
    pub fn sz(&self, n: u64) -> u64 {
        if self.quick {
            n / 10
        } else {
            n
        }
    }

    /// Runs `f` as a process of the runtime; a process that ends abnormally
    /// (a panic, e.g. a stuck set-up) ends the whole binary with exit code 1.
    pub fn block_on<T: Send + 'static>(&self, name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (v, (steals, parks)) = match self.rt.block_on(|| {
            let before = scheduler_counts();
            let v = f();
            let after = scheduler_counts();
            (v, (after.0 - before.0, after.1 - before.1))
        }) {
            Ok(v) => v,
            Err(reason) => fail(name, &describe(&reason)),
        };
        comment(&format!("{name} ember: the workers stole {steals} times and parked {parks} times"));
        v
    }
}

/// Steals and parks of all workers so far (where the scheduler's time goes
/// on cross-worker workloads).
fn scheduler_counts() -> (u64, u64) {
    let workers = ember::snapshot().workers;
    (workers.iter().map(|w| w.steals).sum(), workers.iter().map(|w| w.parks).sum())
}

/// A workload: its name (as the peers spell it) and its body, which prints
/// its own `RESULT` lines with [`result`].
pub type Workload = (&'static str, fn(&Ctx, &str));

/// Prints one result line in the peers' format.
pub fn result(workload: &str, value: f64, unit: &str) {
    println!("RESULT {workload} ember {} {unit}", fmt_value(value));
    let _ = std::io::stdout().flush();
}

/// Prints a `# ` comment line.
pub fn comment(text: &str) {
    println!("# {text}");
    let _ = std::io::stdout().flush();
}

fn describe(reason: &Reason) -> String {
    match reason {
        Reason::Panic { message, location } => match location {
            Some(l) => format!("panicked at {l}: {message}"),
            None => format!("panicked: {message}"),
        },
        other => format!("exited with {other:?}"),
    }
}

/// Reports a failed workload and ends the process at once (the runtime is not
/// shut down: it may be wedged).
pub fn fail(workload: &str, why: &str) -> ! {
    comment(&format!("{workload} ember: FAILED: {why}"));
    eprintln!("!! {workload} ember: FAILED: {why}");
    std::process::exit(1)
}

struct Args {
    quick: bool,
    child: bool,
    list: bool,
    names: Vec<String>,
}

fn parse_args(workloads: &[Workload]) -> Args {
    let mut args = Args { quick: false, child: false, list: false, names: Vec::new() };
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--child" => args.child = true,
            "list" => args.list = true,
            "all" => args.names.extend(workloads.iter().map(|w| w.0.to_string())),
            // `cargo bench` passes `--bench`, and criterion options may come
            // along when several bench targets are run together: ignore them.
            s if s.starts_with('-') => {}
            s => {
                if workloads.iter().any(|w| w.0 == s) {
                    args.names.push(s.to_string());
                } else {
                    // Not a name: a filter, like criterion's (`cargo bench -- ring`).
                    let matching: Vec<String> =
                        workloads.iter().filter(|w| w.0.contains(s)).map(|w| w.0.to_string()).collect();
                    if matching.is_empty() {
                        eprintln!("# no workload matches {s:?} (known: {})", names(workloads));
                    }
                    args.names.extend(matching);
                }
            }
        }
    }
    args
}

fn names(workloads: &[Workload]) -> String {
    workloads.iter().map(|w| w.0).collect::<Vec<_>>().join(" ")
}

/// The banner: what ran where (nproc, CPU, kernel, runtime settings).
pub fn banner(quick: bool, reports: bool) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    comment(&format!(
        "ember: schedulers={nproc} (default) stack_size={} budget={} quick={quick} nproc={nproc} model=\"{cpu}\" kernel={} vm.max_map_count={} crash_reports={}",
        ember::DEFAULT_STACK_SIZE,
        ember::DEFAULT_BUDGET,
        kernel.trim(),
        max_map_count(),
        if reports { "stderr" } else { "off" }
    ));
}

/// Runs the selected workloads. With one workload (or `--child`) it runs in
/// this process; with several, every workload runs in a fresh OS process (this
/// binary again, with `--child`), as the peers run every workload in a fresh
/// VM — pools, heaps and RSS of one workload do not leak into the next.
/// No workload named: all of them.
pub fn main(workloads: &[Workload]) {
    let reports = super::quiet_crash_reports();
    let args = parse_args(workloads);
    if args.list {
        for w in workloads {
            println!("{}", w.0);
        }
        return;
    }
    let selected: Vec<String> = if args.names.is_empty() && !std::env::args().skip(1).any(|a| !a.starts_with('-')) {
        workloads.iter().map(|w| w.0.to_string()).collect()
    } else {
        args.names.clone()
    };
    if selected.is_empty() {
        return;
    }
    if !args.child {
        banner(args.quick, reports);
    }
    if args.child || selected.len() == 1 {
        for name in &selected {
            run_here(workloads, name, args.quick);
        }
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut failed = 0;
    for name in &selected {
        let mut cmd = Command::new(&exe);
        cmd.arg("--child");
        if args.quick {
            cmd.arg("--quick");
        }
        cmd.arg(name);
        let _ = std::io::stdout().flush();
        match cmd.status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                failed += 1;
                comment(&format!("{name} ember: FAILED ({s})"));
            }
            Err(e) => {
                failed += 1;
                comment(&format!("{name} ember: could not start: {e}"));
            }
        }
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

fn run_here(workloads: &[Workload], name: &str, quick: bool) {
    let (_, body) = *workloads.iter().find(|w| w.0 == name).expect("a selected workload exists");
    // Before the runtime starts: how far apart the two vCPUs are right now.
    if let Some(ns) = super::cache_line_round_trip_ns(100_000) {
        comment(&format!(
            "{name} ember: cache-line round trip between two threads before the run {ns:.0} ns \
             (vCPU placement; varies between and during runs on a VM)"
        ));
    }
    let rt: &'static Runtime = match Runtime::new() {
        Ok(rt) => Box::leak(Box::new(rt)),
        Err(e) => fail(name, &format!("cannot start the runtime: {e}")),
    };
    watchdog(rt, name.to_string());
    let ctx = Ctx { rt, quick };
    body(&ctx, name);
    if let Some(ns) = super::cache_line_round_trip_ns(100_000) {
        comment(&format!(
            "{name} ember: cache-line round trip after the run {ns:.0} ns (reference machine: ~65 ns fast vCPU \
             placement, 150-350 ns slow, when cross-worker workloads such as spawn_1m run ~3x slower)"
        ));
    }
    if std::env::var_os("EMBER_BENCH_MARKS").is_some() {
        for (a, b) in super::marks() {
            comment(&format!("{name} ember: timed window CLOCK_MONOTONIC {a:.6} {b:.6}"));
        }
    }
}

/// Ends the process with diagnostics when a workload runs longer than
/// `EMBER_BENCH_TIMEOUT_S` (default 600 s): a deadlock must not hang the
/// side-by-side script.
fn watchdog(rt: &'static Runtime, name: String) {
    let secs = std::env::var("EMBER_BENCH_TIMEOUT_S").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(600);
    std::thread::Builder::new()
        .name("bench-watchdog".into())
        .spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            fail(
                &name,
                &format!(
                    "still running after {secs}s (EMBER_BENCH_TIMEOUT_S): stats {:?}, memory maps {}, VmRSS {} MiB",
                    rt.stats(),
                    map_count(),
                    super::proc_status_bytes("VmRSS") >> 20
                ),
            );
        })
        .expect("watchdog thread");
}

/// Prints the memory figures: the RSS delta per process as the `RESULT`, the
/// page-table delta per process as an extra `<workload>_pte` result (page
/// tables are not part of VmRSS), and the details as comments.
pub fn report_mem(w: &str, m: &MemIdle) {
    comment(&format!(
        "{w} ember: n={} VmRSS {} -> {} KiB (delta {:.1} MiB), VmPTE {} -> {} KiB, memory maps {} -> {}",
        m.n,
        m.rss_before >> 10,
        m.rss_after >> 10,
        (m.rss_after as f64 - m.rss_before as f64) / 1048576.0,
        m.pte_before >> 10,
        m.pte_after >> 10,
        m.maps_before,
        m.maps_after
    ));
    comment(&format!("{w} ember: stats before {:?}", m.stats_before));
    comment(&format!("{w} ember: stats after  {:?}", m.stats_after));
    comment(&format!(
        "{w} ember: spawn+ready {:.1} ms; release (stop all, until gone) {:.1} ms; VmRSS after release {} KiB",
        m.spawn_time.as_secs_f64() * 1e3,
        m.release_time.as_secs_f64() * 1e3,
        m.rss_released >> 10
    ));
    comment(&format!("{w} ember: RSS+PTE {:.0} bytes/proc", m.rss_per_proc() + m.pte_per_proc()));
    result(w, m.rss_per_proc(), "bytes/proc");
    result(&format!("{w}_pte"), m.pte_per_proc(), "bytes/proc");
}
