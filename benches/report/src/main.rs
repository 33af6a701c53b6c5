//! `ember-bench-report`: reads result files and writes the report.
//!
//! ```text
//! ember-bench-report [--out docs/BENCHMARKS.md] [--svg-dir docs/bench] [--svg-rel bench]
//!                    [--raw-rel bench/results.txt] [--command "benches/compare --runs 3"]
//!                    FILE...
//! ```
//!
//! Every FILE holds `RESULT` and `# ` comment lines (Ember's bench binaries,
//! `benches/peers/run-peers.sh`, and `# meta key: value` lines written by
//! `benches/compare`). Prints the issue targets' verdicts on stdout.

use ember_bench_report::parse::Results;
use ember_bench_report::report::{self, Options, Verdict};
use std::path::PathBuf;

/// The line of `docs/BENCHMARKS.md` below which the text is hand-written and
/// kept across reports.
const HAND_WRITTEN: &str = "<!-- hand-written below this line: kept when the report is generated again -->";

fn main() {
    if let Err(e) = run() {
        eprintln!("ember-bench-report: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut out = PathBuf::from("docs/BENCHMARKS.md");
    let mut svg_dir: Option<PathBuf> = None;
    let mut opts = Options { command: "benches/compare".into(), svg_rel: "bench".into(), raw_rel: None };
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--out" => out = PathBuf::from(value("--out")?),
            "--svg-dir" => svg_dir = Some(PathBuf::from(value("--svg-dir")?)),
            "--svg-rel" => opts.svg_rel = value("--svg-rel")?,
            "--raw-rel" => opts.raw_rel = Some(value("--raw-rel")?),
            "--command" => opts.command = value("--command")?,
            "-h" | "--help" => {
                println!("usage: ember-bench-report [--out MD] [--svg-dir DIR] [--svg-rel REL] [--raw-rel REL] [--command CMD] FILE...");
                return Ok(());
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s => files.push(PathBuf::from(s)),
        }
    }
    if files.is_empty() {
        return Err("no result file given".into());
    }
    let mut results = Results::default();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        results.add_text(&text);
    }
    let svg_dir = svg_dir.unwrap_or_else(|| out.parent().unwrap_or(std::path::Path::new(".")).join(&opts.svg_rel));
    let rep = report::build(&results, &opts)?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::create_dir_all(&svg_dir).map_err(|e| format!("{}: {e}", svg_dir.display()))?;
    for (id, svg) in &rep.charts {
        let path = svg_dir.join(format!("{id}.svg"));
        std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    // Figures measured outside a sitting (targeted benches such as
    // `containment` or `memory -- mem_deep_burst_*`) are written by hand
    // below a marker line; a new report keeps them.
    let kept = std::fs::read_to_string(&out)
        .ok()
        .and_then(|old| old.find(HAND_WRITTEN).map(|at| old[at..].to_string()))
        .unwrap_or_default();
    let markdown = if kept.is_empty() { rep.markdown.clone() } else { format!("{}\n{kept}", rep.markdown) };
    std::fs::write(&out, markdown).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {} and {} chart(s) in {}", out.display(), rep.charts.len(), svg_dir.display());
    for (t, v) in report::evaluate_targets(&results) {
        let (word, fig) = match &v {
            Verdict::Met(f) => ("met", f),
            Verdict::Missed(f) => ("MISSED", f),
            Verdict::NotEvaluated(f) => ("not evaluated", f),
        };
        let stretch = if t.stretch { " (stretch)" } else { "" };
        println!("  #{} {:<28} {:<55} {word}{stretch}: {fig}", t.issue, t.workload, t.text);
    }
    Ok(())
}
