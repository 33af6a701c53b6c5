//! What the Rust peers (tokio, may, ractor) share: the command line and the
//! output contract of every peer in `benches/peers/` (see its README).
//!
//! ```text
//! ember_peers_<impl> [--quick] all | list | WORKLOAD...
//! ```
//!
//! Output on stdout: `RESULT <workload> <impl> <value> <unit>` per
//! measurement, everything else a `# ` comment. A panic anywhere (a task, a
//! coroutine, an actor handler) fails the whole run: the hook prints
//! `# <workload> <impl>: FAILED: <message>` and exits with code 1, so a
//! workload whose part died is never left waiting for the runner's timeout.

use std::io::Write;
use std::sync::Mutex;

// The output contract and the /proc readings, the same file as Ember's side.
#[path = "../../../../common/contract.rs"]
mod contract;
pub use contract::{fmt_value, map_count, max_map_count, percentile, proc_status_bytes, rate};

#[cfg(feature = "tokio")]
mod runtime;
#[cfg(feature = "tokio")]
pub use runtime::on_runtime;

/// What a workload gets.
pub struct Ctx {
    /// `--quick`: 10× smaller sizes.
    pub quick: bool,
    /// The implementation name printed in `RESULT` lines.
    pub implementation: &'static str,
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

    /// Prints one result line.
    pub fn result(&self, workload: &str, value: f64, unit: &str) {
        println!("RESULT {workload} {} {} {unit}", self.implementation, fmt_value(value));
        let _ = std::io::stdout().flush();
    }

    /// Prints a `# <workload> <impl>: <text>` detail line.
    pub fn detail(&self, workload: &str, text: &str) {
        comment(&format!("{workload} {}: {text}", self.implementation));
    }
}

/// A workload: its name (as every peer spells it) and its body.
pub type Workload = (&'static str, fn(&Ctx, &str));

/// Prints a `# ` comment line.
pub fn comment(text: &str) {
    println!("# {text}");
    let _ = std::io::stdout().flush();
}

/// VmRSS and VmPTE, for a memory workload's before/after snapshots.
#[derive(Clone, Copy, Debug)]
pub struct MemSnapshot {
    /// Resident set size in bytes.
    pub rss: u64,
    /// Page tables in bytes (not part of VmRSS).
    pub pte: u64,
}

impl MemSnapshot {
    /// Reads both now.
    pub fn now() -> MemSnapshot {
        MemSnapshot { rss: proc_status_bytes("VmRSS"), pte: proc_status_bytes("VmPTE") }
    }
}

/// Prints a memory workload's lines: `RESULT <w>` (VmRSS delta / n), `RESULT
/// <w>_pte` (VmPTE delta / n), and a detail line with the totals.
pub fn report_mem(ctx: &Ctx, w: &str, n: u64, before: MemSnapshot, after: MemSnapshot, extra: &str) {
    let per = |a: u64, b: u64| (b as f64 - a as f64) / n as f64;
    ctx.detail(
        w,
        &format!(
            "n={n} VmRSS {} -> {} KiB, VmPTE {} -> {} KiB, memory maps {}{extra}",
            before.rss >> 10,
            after.rss >> 10,
            before.pte >> 10,
            after.pte >> 10,
            map_count()
        ),
    );
    ctx.result(w, per(before.rss, after.rss), "bytes/proc");
    ctx.result(&format!("{w}_pte"), per(before.pte, after.pte), "bytes/proc");
}

/// Prints the `restart_latency` lines of `lat` (µs, in restart order): the
/// median and p99 over all, and a detail line with the first and last 1,000
/// (the peers' split, which shows a supervisor whose restarts slow down).
pub fn report_restart_latency(ctx: &Ctx, w: &str, lat: &[f64]) {
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let n = lat.len();
    let all = sorted(lat);
    let k = 1000.min(n);
    let (first, last) = (sorted(&lat[..k]), sorted(&lat[n - k..]));
    ctx.detail(
        w,
        &format!(
            "first {k} restarts median {} us p99 {} us; last {k} median {} us p99 {} us; max {} us",
            fmt_value(percentile(&first, 0.5)),
            fmt_value(percentile(&first, 0.99)),
            fmt_value(percentile(&last, 0.5)),
            fmt_value(percentile(&last, 0.99)),
            fmt_value(all[n - 1])
        ),
    );
    ctx.result(&format!("{w}_median"), percentile(&all, 0.5), "us");
    ctx.result(&format!("{w}_p99"), percentile(&all, 0.99), "us");
}

/// A source path as a reader wants it: a dependency's path from its crate
/// directory on (`generator-0.8.12/src/stack/mod.rs`), not cargo's registry.
fn short_path(file: &str) -> &str {
    match file.split_once("/registry/src/") {
        Some((_, rest)) => rest.split_once('/').map_or(rest, |(_index, path)| path),
        None => file,
    }
}

/// The workload now running, for the panic hook.
static CURRENT: Mutex<String> = Mutex::new(String::new());

/// Parses the command line and runs the selected workloads one after the
/// other in this process (the runner starts a fresh process per workload).
/// `banner` is printed first as `# <impl>: <banner>`; `hint` is appended to
/// the failure line of a panic (what to check, e.g. `vm.max_map_count`).
pub fn main(implementation: &'static str, workloads: &[Workload], banner: &str, hint: fn() -> String) {
    let mut quick = false;
    let mut names: Vec<&'static str> = Vec::new();
    let mut list = false;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--quick" => quick = true,
            "list" => list = true,
            "all" => names.extend(workloads.iter().map(|w| w.0)),
            name => match workloads.iter().find(|w| w.0 == name) {
                Some(w) => names.push(w.0),
                None => {
                    let known: Vec<&str> = workloads.iter().map(|w| w.0).collect();
                    eprintln!("unknown workload: {name} (known: {})", known.join(" "));
                    std::process::exit(2);
                }
            },
        }
    }
    if list {
        for w in workloads {
            println!("{}", w.0);
        }
        return;
    }
    if names.is_empty() {
        eprintln!("usage: ember_peers_{implementation} [--quick] all | list | WORKLOAD...");
        std::process::exit(2);
    }
    std::panic::set_hook(Box::new(move |info| {
        let w = CURRENT.lock().map(|c| c.clone()).unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic whose payload is not a string".into());
        let at = info.location().map(|l| format!(" at {}:{}", short_path(l.file()), l.line())).unwrap_or_default();
        let why = format!("{w} {implementation}: FAILED: panicked{at}: {msg}{}", hint());
        comment(&why);
        eprintln!("!! {why}");
        std::process::exit(1);
    }));
    comment(&format!("{implementation}: {banner} quick={quick}"));
    let ctx = Ctx { quick, implementation };
    for name in names {
        if let Ok(mut c) = CURRENT.lock() {
            *c = name.to_string();
        }
        let body = workloads.iter().find(|w| w.0 == name).map(|w| w.1).expect("a known workload");
        body(&ctx, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_formatted_like_the_other_peers() {
        assert_eq!(fmt_value(1_234_567.4), "1234567");
        assert_eq!(fmt_value(1000.0), "1000");
        assert_eq!(fmt_value(0.64219), "0.6422");
        assert_eq!(fmt_value(4.5), "4.5");
        assert_eq!(fmt_value(3.0), "3.0");
        assert_eq!(fmt_value(f64::NAN), "NaN");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn dependency_paths_are_shortened() {
        assert_eq!(
            short_path("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/generator-0.8.12/src/stack/mod.rs"),
            "generator-0.8.12/src/stack/mod.rs"
        );
        assert_eq!(short_path("may/src/main.rs"), "may/src/main.rs");
    }

    #[test]
    fn proc_status_fields_are_read_in_bytes() {
        assert!(proc_status_bytes("VmRSS") > 0);
        assert_eq!(proc_status_bytes("NoSuchField"), 0);
        assert!(map_count() > 0);
    }
}
