//! The markdown report (`docs/BENCHMARKS.md`) and the list of charts to
//! write beside it.

use crate::catalog::{self, display, Goal, Workload, QUOTES, TARGETS};
use crate::chart::{self, Bar};
use crate::parse::{Results, IMPLS};
use crate::stats::{advantage, fmt_num, fmt_ratio, fmt_summary, higher_is_better, Summary};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The peers, in column order.
pub const PEERS: &[&str] = &["erlang", "elixir", "go", "tokio"];

/// How the report refers to its surroundings.
#[derive(Clone, Debug)]
pub struct Options {
    /// The command that produced the results (shown in the header).
    pub command: String,
    /// Path of the chart directory relative to the markdown file (`bench`).
    pub svg_rel: String,
    /// Path of the raw results relative to the markdown file, if kept.
    pub raw_rel: Option<String>,
}

/// A rendered report: the markdown and one SVG per charted workload.
#[derive(Clone, Debug)]
pub struct Report {
    /// The markdown text.
    pub markdown: String,
    /// `(workload id, svg text)`; the file is `<svg_rel>/<id>.svg`.
    pub charts: Vec<(String, String)>,
}

/// The outcome of one target.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Met, with the figure that shows it.
    Met(String),
    /// Missed, with the figure.
    Missed(String),
    /// Not evaluated (Ember or the reference was not measured), and why.
    NotEvaluated(String),
}

/// A row of the report: one result id.
struct Row {
    id: String,
    group: String,
    unit: String,
    primary: bool,
    peers: Vec<String>,
    what: String,
}

/// Whether result id `id` was asked for: `# meta selection: a b ...` lists
/// run names or result ids (absent or empty: everything).
fn selected(results: &Results, id: &str) -> bool {
    let Some(sel) = results.meta.get("selection") else { return true };
    let mut names = sel.split_whitespace().peekable();
    if names.peek().is_none() {
        return true;
    }
    names.any(|q| id == q || (id.starts_with(q) && id[q.len()..].starts_with('_')))
}

fn rows(results: &Results) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let present: BTreeSet<String> = results.workloads().into_iter().collect();
    for w in catalog::WORKLOADS {
        if (!w.primary && !present.contains(w.id)) || !selected(results, w.id) {
            continue;
        }
        rows.push(row_of(w, results));
    }
    for id in results.workloads() {
        if catalog::find(&id).is_none() {
            rows.push(Row {
                unit: results.unit(&id).unwrap_or("").to_string(),
                peers: PEERS.iter().filter(|p| !results.values(&id, p).is_empty()).map(|p| p.to_string()).collect(),
                group: "Other".into(),
                primary: true,
                what: String::new(),
                id,
            });
        }
    }
    rows
}

fn row_of(w: &Workload, results: &Results) -> Row {
    Row {
        id: w.id.into(),
        group: w.group.into(),
        unit: results.unit(w.id).unwrap_or(w.unit).to_string(),
        primary: w.primary,
        peers: w.peers.iter().map(|p| p.to_string()).collect(),
        what: w.what.into(),
    }
}

/// Summaries and reasons for one report.
struct Ctx<'a> {
    results: &'a Results,
    missing: Vec<String>,
}

impl Ctx<'_> {
    fn summary(&self, id: &str, imp: &str) -> Option<Summary> {
        Summary::of(&self.results.values(id, imp))
    }

    /// Whether `imp` produced anything at all (a result or a runner note).
    fn ran(&self, imp: &str) -> bool {
        imp == "ember"
            || self.results.samples.iter().any(|s| s.implementation == imp)
            || self.results.notes.iter().any(|n| n.implementation.as_deref() == Some(imp))
    }

    /// Whether the toolchain of `imp` was missing in the sitting.
    fn toolchain_missing(&self, imp: &str) -> bool {
        let tool = match imp {
            "erlang" => "erl",
            other => other,
        };
        self.missing.iter().any(|m| m == tool || m == imp)
    }

    /// Why (id, imp) has no figure, if it was expected to have one.
    fn not_measured_reason(&self, id: &str, imp: &str) -> Option<String> {
        let values = self.results.values(id, imp);
        let failures: Vec<String> =
            self.results.notes_for(id, imp).filter(|n| n.is_failure()).map(|n| n.text.clone()).collect();
        let bounds: Vec<String> = self
            .results
            .notes_for(id, imp)
            .filter(|n| n.run.is_none() && n.implementation.is_none() && n.text.contains("bound"))
            .map(|n| n.text.clone())
            .collect();
        if !values.is_empty() && values.iter().all(|v| v.is_nan()) {
            let mut why = format!("all {} run(s) hit their bound (NaN)", values.len());
            if let Some(b) = bounds.first() {
                let _ = write!(why, ": {b}");
            }
            return Some(why);
        }
        if values.is_empty() {
            if let Some(f) = failures.first() {
                return Some(f.clone());
            }
            if self.toolchain_missing(imp) {
                return Some(format!("{} not installed ({})", display(imp), catalog::install_hint(imp)));
            }
            return Some("not run in this sitting".into());
        }
        None
    }

    fn contended(&self, id: &str, imp: &str) -> bool {
        self.results.notes_for(id, imp).any(|n| n.is_contended())
    }

    /// Whether `imp` is expected to print this row: the peers listed for
    /// it, and Ember for every main workload; an extra line (`_vm`, `_pte`)
    /// exists only for the implementations that printed it.
    fn expected(&self, row: &Row, imp: &str) -> bool {
        if !row.primary {
            return !self.results.values(&row.id, imp).is_empty();
        }
        imp == "ember" || row.peers.iter().any(|p| p == imp)
    }

    fn cell(&self, row: &Row, imp: &str) -> String {
        if !self.expected(row, imp) {
            return "–".into();
        }
        match self.summary(&row.id, imp) {
            Some(s) => {
                let mut c = fmt_summary(&s);
                let nan = self.results.values(&row.id, imp).iter().filter(|v| v.is_nan()).count();
                if nan > 0 {
                    let _ = write!(c, " ({nan} run(s) over bound)");
                }
                if self.contended(&row.id, imp) {
                    c.push_str(" †");
                }
                c
            }
            None if self.toolchain_missing(imp) => "not installed".into(),
            None if !self.ran(imp) => "not run".into(),
            None => "not measured ‡".into(),
        }
    }

    fn ratio_cell(&self, row: &Row, peer: &str) -> String {
        match (self.summary(&row.id, "ember"), self.summary(&row.id, peer)) {
            (Some(e), Some(p)) => fmt_ratio(advantage(&row.unit, e.median, p.median)),
            _ => "–".into(),
        }
    }

    fn evaluate(&self, target: &catalog::Target, unit: &str) -> Verdict {
        let Some(e) = self.summary(target.workload, "ember") else {
            let why = self.not_measured_reason(target.workload, "ember").unwrap_or_default();
            return Verdict::NotEvaluated(format!("Ember not measured: {why}"));
        };
        let fig = |v: f64| format!("{} {unit}", fmt_num(v));
        let verdict = |ok: bool, text: String| if ok { Verdict::Met(text) } else { Verdict::Missed(text) };
        match target.goal {
            Goal::AtLeast(x) => verdict(e.median >= x, format!("{} (target ≥ {})", fig(e.median), fmt_num(x))),
            Goal::AtMost(x) => verdict(e.median <= x, format!("{} (target ≤ {})", fig(e.median), fmt_num(x))),
            Goal::Below(x) => verdict(e.median < x, format!("{} (target < {})", fig(e.median), fmt_num(x))),
            Goal::Works => Verdict::Met(format!("measured: {}", fig(e.median))),
            Goal::Peer { peer, factor, quoted } => {
                let (reference, label) = match (self.summary(target.workload, peer), quoted) {
                    (Some(p), _) => (p.median, format!("{} {} (same sitting)", display(peer), fig(p.median))),
                    (None, Some(q)) => {
                        (q, format!("{} {} (quoted from the issue, not re-measured)", display(peer), fig(q)))
                    }
                    (None, None) => {
                        let why = self.not_measured_reason(target.workload, peer).unwrap_or_default();
                        return Verdict::NotEvaluated(format!(
                            "{} vs {}: {} not measured ({why})",
                            fig(e.median),
                            display(peer),
                            display(peer)
                        ));
                    }
                };
                let r = advantage(unit, e.median, reference);
                let ok = if factor > 1.0 { r >= factor } else { r > factor };
                verdict(ok, format!("{} vs {label}: {}", fig(e.median), fmt_ratio(r)))
            }
            Goal::Quoted { who, value } => {
                let r = advantage(unit, e.median, value);
                verdict(
                    r > 1.0,
                    format!(
                        "{} vs {who} {} (quoted from the issue, not re-measured): {}",
                        fig(e.median),
                        fig(value),
                        fmt_ratio(r)
                    ),
                )
            }
        }
    }

    /// Bars of a workload's chart: measured implementations, then quoted
    /// figures of tokio and of peers not measured in this sitting.
    fn bars(&self, row: &Row) -> Vec<Bar> {
        let mut bars = Vec::new();
        for imp in IMPLS {
            if let Some(s) = self.summary(&row.id, imp) {
                bars.push(Bar { label: display(imp).into(), key: imp.to_string(), summary: s, quoted: false });
            }
        }
        for q in self.quotes(&row.id) {
            bars.push(Bar {
                label: format!("{} (quoted)", display(q.who)),
                key: q.who.to_string(),
                summary: Summary { n: 1, median: q.value, min: q.value, max: q.value },
                quoted: true,
            });
        }
        bars
    }

    /// The quotes shown for a workload: tokio's always, a peer's only when
    /// that peer was not measured.
    fn quotes(&self, id: &str) -> Vec<&'static catalog::Quote> {
        QUOTES.iter().filter(|q| q.workload == id && (q.who == "tokio" || self.summary(id, q.who).is_none())).collect()
    }
}

fn verdict_cell(v: &Verdict, stretch: bool) -> (String, String) {
    let prefix = if stretch { "stretch " } else { "" };
    match v {
        Verdict::Met(f) => (format!("{prefix}met"), f.clone()),
        Verdict::Missed(f) => (format!("**{prefix}missed**"), f.clone()),
        Verdict::NotEvaluated(f) => ("not evaluated".into(), f.clone()),
    }
}

/// The `missing` toolchains recorded by the compare script
/// (`# meta missing: erl go`).
fn missing(results: &Results) -> Vec<String> {
    results.meta.get("missing").map(|m| m.split_whitespace().map(String::from).collect()).unwrap_or_default()
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Evaluates every target against the results: `(target, unit, verdict)`.
///
/// With `--quick` results (`# meta quick: 1`) nothing is evaluated: the
/// sizes are 10× smaller than the ones the targets are about.
pub fn evaluate_targets(results: &Results) -> Vec<(&'static catalog::Target, Verdict)> {
    let ctx = Ctx { results, missing: missing(results) };
    let quick = results.meta.get("quick").is_some_and(|q| q == "1");
    TARGETS
        .iter()
        .filter(|t| selected(results, t.workload))
        .map(|t| {
            let unit = results.unit(t.workload).or(catalog::find(t.workload).map(|w| w.unit)).unwrap_or("");
            let v = match ctx.evaluate(t, unit) {
                Verdict::Met(f) | Verdict::Missed(f) if quick => {
                    Verdict::NotEvaluated(format!("--quick (10× smaller sizes): {f}"))
                }
                v => v,
            };
            (t, v)
        })
        .collect()
}

/// Builds the report.
pub fn build(results: &Results, opts: &Options) -> Result<Report, String> {
    let ctx = Ctx { results, missing: missing(results) };
    let rows = rows(results);
    let meta = |k: &str| results.meta.get(k).cloned();
    let mut md = String::new();
    let runs = meta("runs").unwrap_or_else(|| "?".into());

    // ------------------------------------------------------------ header
    md.push_str("# Benchmarks: Ember side by side with Erlang, Elixir and Go\n\n");
    let _ = writeln!(
        md,
        "Generated by `{}`{}. Do not edit by hand: run the script again.\n",
        opts.command,
        meta("date").map(|d| format!(" on {d}")).unwrap_or_default()
    );
    if meta("quick").as_deref() == Some("1") {
        md.push_str("> **Smoke test (`--quick`)**: 10× smaller sizes, one run; the figures are not comparable with the targets.\n\n");
    }
    let _ = writeln!(
        md,
        "Every figure is the **median of {runs} run{}** with the **[min–max]** range; every run is a fresh OS \
         process (Ember) or a fresh VM (Erlang, Elixir) or process (Go), run one after the other on the same \
         machine in one sitting. The workloads and their clocks are defined in \
         [`benches/peers/README.md`](../benches/peers/README.md); Ember's side is in `benches/*.rs`.\n",
        if runs == "1" { "" } else { "s" }
    );
    md.push_str(
        "The **ratio** columns are Ember's advantage, oriented so that **> 1 means Ember is better**: \
         Ember ÷ peer for rates (`/s`, higher is better), peer ÷ Ember for times and sizes \
         (`s`, `ms`, `us`, `bytes`, `MiB`, lower is better).\n\n",
    );

    // ------------------------------------------------------------ machine
    md.push_str("## Machine and sitting\n\n| | |\n|---|---|\n");
    let machine = |k: &str| results.machine_field(k).unwrap_or_else(|| "?".into());
    let _ = writeln!(md, "| CPUs (nproc) | {} |", machine("nproc"));
    let _ = writeln!(md, "| CPU model | {} |", md_escape(&machine("model")));
    let _ = writeln!(md, "| kernel | {} |", machine("kernel"));
    let _ = writeln!(md, "| RAM | {} |", machine("mem"));
    if let Some(s) = meta("started") {
        let _ = writeln!(md, "| sitting | {} → {} |", s, meta("finished").unwrap_or_else(|| "?".into()));
    }
    for (key, label) in [
        ("load_start", "load average (1, 5, 15 min) at the start"),
        ("load_after_ember", "load average after Ember's side"),
        ("load_end", "load average at the end"),
    ] {
        if let Some(v) = meta(key) {
            let _ = writeln!(md, "| {label} | {v} |");
        }
    }
    if let Some(v) = meta("rustc") {
        let _ = writeln!(md, "| rustc | {} |", md_escape(&v));
    }
    for imp in IMPLS {
        let label = match *imp {
            "ember" => "Ember runtime settings",
            "erlang" => "Erlang/OTP",
            "elixir" => "Elixir",
            _ => "Go",
        };
        let v = meta(&format!("version_{imp}")).unwrap_or_else(|| {
            if ctx.toolchain_missing(imp) {
                format!("not installed ({})", catalog::install_hint(imp))
            } else {
                "?".into()
            }
        });
        let _ = writeln!(md, "| {label} | {} |", md_escape(&v));
    }
    if let Some(p) = meta("peers_source") {
        let _ = writeln!(md, "| peers' results | {} |", md_escape(&p));
    }
    md.push('\n');
    if !ctx.missing.is_empty() {
        let _ = writeln!(
            md,
            "> **Missing toolchains: {}.** Their columns are empty. Install with `apt-get install erlang elixir golang-go` \
             and run the script again.\n",
            ctx.missing.join(", ")
        );
    }
    md.push_str(
        "The machine may be shared: before every run the runners wait (bounded) until other processes use at most \
         15% of the CPU, and a run during which other processes used more than 10% is discarded and repeated (up to \
         2 times). A figure marked **†** kept a run that was disturbed on every attempt.\n\n",
    );

    // ------------------------------------------------------------ targets
    md.push_str("## Issue targets\n\n");
    md.push_str("| issue | workload | target | verdict | figure |\n|---|---|---|---|---|\n");
    let evaluated = evaluate_targets(results);
    let (mut met, mut missed, mut open) = (0, 0, 0);
    for (t, v) in &evaluated {
        let (verdict, figure) = verdict_cell(v, t.stretch);
        if !t.stretch {
            match v {
                Verdict::Met(_) => met += 1,
                Verdict::Missed(_) => missed += 1,
                Verdict::NotEvaluated(_) => open += 1,
            }
        }
        let _ = writeln!(
            md,
            "| #{} | [`{}`](#{}) | {} | {} | {} |",
            t.issue,
            t.workload,
            t.workload,
            md_escape(t.text),
            verdict,
            md_escape(&figure)
        );
    }
    let _ = writeln!(md, "\n**{met} met, {missed} missed, {open} not evaluated** (stretch goals not counted).\n");
    if missed > 0 {
        // Hand-written (this file is generated): what limits each missed
        // target, with the profiles behind it.
        let _ =
            writeln!(md, "What limits the missed targets, and what was tried: [performance notes](performance.md).\n");
    }

    // ------------------------------------------------------------ table
    md.push_str("## Results\n\n");
    md.push_str(
        "| workload | unit | Ember | Erlang | Elixir | Go | tokio | Ember vs Erlang | vs Elixir | vs Go | vs tokio |\n",
    );
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for row in &rows {
        let name = if row.primary { format!("[`{}`](#{})", row.id, row.id) } else { format!("↳ `{}`", row.id) };
        let better = if higher_is_better(&row.unit) { "↑" } else { "↓" };
        let _ = writeln!(
            md,
            "| {name} | {} {better} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.unit,
            ctx.cell(row, "ember"),
            ctx.cell(row, "erlang"),
            ctx.cell(row, "elixir"),
            ctx.cell(row, "go"),
            ctx.cell(row, "tokio"),
            ctx.ratio_cell(row, "erlang"),
            ctx.ratio_cell(row, "elixir"),
            ctx.ratio_cell(row, "go"),
            ctx.ratio_cell(row, "tokio"),
        );
    }
    md.push_str(
        "\n↑ higher is better, ↓ lower is better. – : no implementation (the peers implement the registry and \
         partition workloads in Elixir only, Go only the process core and the network, tokio only the network). † : a kept run was disturbed by other \
         processes. ‡ : see *Not measured* below. ↳ : an extra line printed beside the workload above it \
         (`_vm`: the BEAM's own accounting of process memory; `_pte`: Ember's page tables, which VmRSS does not \
         include; `_total`: the whole RSS delta).\n\n",
    );

    // ------------------------------------------------------------ not measured
    let mut not_measured: Vec<String> = Vec::new();
    for row in &rows {
        for imp in IMPLS {
            if !ctx.expected(row, imp) || !ctx.ran(imp) {
                continue;
            }
            let values = results.values(&row.id, imp);
            let all_nan = !values.is_empty() && values.iter().all(|v| v.is_nan());
            let some_nan = values.iter().any(|v| v.is_nan());
            if values.is_empty() || all_nan {
                if let Some(why) = ctx.not_measured_reason(&row.id, imp) {
                    not_measured.push(format!("- `{}` {}: {}", row.id, display(imp), why));
                }
            } else if some_nan {
                let bound = results
                    .notes_for(&row.id, imp)
                    .find(|n| n.text.contains("bound"))
                    .map(|n| n.text.clone())
                    .unwrap_or_default();
                not_measured.push(format!("- `{}` {}: some runs hit their bound. {bound}", row.id, display(imp)));
            }
        }
    }
    for imp in PEERS {
        if !ctx.ran(imp) {
            let why = if ctx.toolchain_missing(imp) {
                format!("not installed ({})", catalog::install_hint(imp))
            } else {
                meta("peers_source").unwrap_or_else(|| "produced no result in this sitting".into())
            };
            not_measured.insert(0, format!("- {} (every workload): {why}", display(imp)));
        }
    }
    if !not_measured.is_empty() {
        md.push_str("## Not measured\n\n");
        md.push_str(&not_measured.join("\n"));
        md.push_str("\n\n");
    }

    // ------------------------------------------------------------ sections
    md.push_str("## Workloads\n\n");
    let mut charts = Vec::new();
    let mut group = String::new();
    for row in rows.iter().filter(|r| r.primary) {
        if row.group != group {
            group = row.group.clone();
            let _ = writeln!(md, "### {group}\n");
        }
        let better = if higher_is_better(&row.unit) { "higher is better" } else { "lower is better" };
        let _ = writeln!(md, "#### {}\n\n`{}`, {better}. {}\n", row.id, row.unit, row.what);
        let bars = ctx.bars(row);
        if bars.iter().any(|b| !b.quoted) {
            charts.push((row.id.clone(), chart::render(&row.id, &row.unit, &bars)?));
            let _ = writeln!(md, "![]({}/{}.svg)\n", opts.svg_rel, row.id);
        }
        let mut bullets: Vec<String> = Vec::new();
        for (t, v) in evaluated.iter().filter(|(t, _)| t.workload == row.id) {
            let (verdict, figure) = verdict_cell(v, t.stretch);
            bullets.push(format!("Target (issue #{}): {} — {verdict}: {figure}", t.issue, t.text));
        }
        for q in ctx.quotes(&row.id) {
            bullets.push(format!(
                "{}: {} {} (issue #{}; quoted from the issue, not re-measured)",
                display(q.who),
                fmt_num(q.value),
                row.unit,
                q.issue
            ));
        }
        if row.id == "partition_start_child_2x2" {
            for imp in IMPLS {
                if let (Some(p), Some(d)) =
                    (ctx.summary("partition_start_child_2x2", imp), ctx.summary("dynsup_start_child_2callers", imp))
                {
                    bullets.push(format!(
                        "{}: PartitionSupervisor (2 partitions) ÷ one DynamicSupervisor, 2 callers: {}",
                        display(imp),
                        fmt_ratio(p.median / d.median)
                    ));
                }
            }
        }
        for imp in IMPLS {
            let runs: Vec<String> = results
                .notes_for(&row.id, imp)
                .filter(|n| n.run.is_some() && n.implementation.as_deref() == Some(*imp))
                .map(|n| format!("{} run {}: {}", display(imp), n.run.unwrap_or(0), n.text))
                .collect();
            bullets.extend(runs);
            if let Some(d) = results.discarded.get(&(row.id.clone(), imp.to_string())) {
                bullets.push(format!("{}: {d} run(s) discarded and repeated (machine busy)", display(imp)));
            }
        }
        for b in &bullets {
            let _ = writeln!(md, "- {b}");
        }
        if !bullets.is_empty() {
            md.push('\n');
        }
        let mut details: Vec<String> = Vec::new();
        for n in results.notes.iter().filter(|n| n.run.is_none() && n.concerns(&row.id)) {
            let line = match &n.implementation {
                Some(i) => format!("{} {}: {}", n.run_name, i, n.text),
                None => format!("{}: {}", n.run_name, n.text),
            };
            if !details.contains(&line) {
                details.push(line);
            }
        }
        if !details.is_empty() {
            md.push_str("<details><summary>details printed by the runs</summary>\n\n```text\n");
            for d in details {
                let _ = writeln!(md, "{d}");
            }
            md.push_str("```\n\n</details>\n\n");
        }
    }

    // ------------------------------------------------------------ reproduce
    md.push_str("## Reproduce\n\n```sh\n");
    md.push_str("apt-get install erlang elixir golang-go   # the peers' toolchains (Debian/Ubuntu)\n");
    md.push_str("benches/compare --runs 5                  # both sides, then this file and docs/bench/*.svg\n");
    md.push_str("benches/compare --quick                   # smoke test: 10x smaller sizes, 1 run\n");
    md.push_str("```\n\n");
    md.push_str(
        "Ember's side alone: `cargo bench --bench peers_ember`, `--bench peers_behaviours`, `--bench registry_peers`, \
         `--bench dynamic_workloads` (each prints `RESULT` lines); the peers alone: \
         `benches/peers/run-peers.sh --runs N`. The criterion suites (`cargo bench`) measure the same workloads \
         at smaller sizes for regression tracking.\n",
    );
    if let Some(raw) = &opts.raw_rel {
        let _ = writeln!(md, "\nEvery `RESULT` and comment line of this sitting: [`{raw}`]({raw}).");
    }
    Ok(Report { markdown: md, charts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(text: &str) -> Results {
        let mut r = Results::default();
        r.add_text(text);
        r
    }

    fn verdict_of<'a>(v: &'a [(&'static catalog::Target, Verdict)], workload: &str, text: &str) -> &'a Verdict {
        &v.iter().find(|(t, _)| t.workload == workload && t.text.contains(text)).unwrap().1
    }

    #[test]
    fn targets_are_oriented_by_unit() {
        let r = results(
            "RESULT spawn_1m ember 4000000 procs/s\n\
             RESULT spawn_1m erlang 1000000 procs/s\n\
             RESULT spawn_1m go 5000000 procs/s\n\
             RESULT skynet_1m ember 0.5 s\n\
             RESULT skynet_1m erlang 3.0 s\n\
             RESULT restart_latency_median ember 2.4 us\n\
             RESULT restart_latency_p99 ember 31 us\n\
             RESULT dynsup_shutdown_1m ember 2000 ms\n",
        );
        let v = evaluate_targets(&r);
        assert!(matches!(verdict_of(&v, "spawn_1m", "3×"), Verdict::Met(f) if f.contains("4.00×")));
        assert!(matches!(verdict_of(&v, "spawn_1m", "Go"), Verdict::Missed(f) if f.contains("same sitting")));
        assert!(matches!(verdict_of(&v, "spawn_1m", "tokio"), Verdict::Met(f) if f.contains("not re-measured")));
        assert!(matches!(verdict_of(&v, "spawn_1m", "stretch"), Verdict::Missed(_)));
        // lower is better: 3.0 s / 0.5 s = 6x better
        assert!(matches!(verdict_of(&v, "skynet_1m", "BEAM"), Verdict::Met(f) if f.contains("6.00×")));
        // Go not measured: the quoted 0.90 s stands in, labelled.
        assert!(matches!(verdict_of(&v, "skynet_1m", "Go"), Verdict::Met(f) if f.contains("quoted from the issue")));
        assert!(matches!(verdict_of(&v, "restart_latency_median", "median"), Verdict::Met(_)));
        assert!(matches!(verdict_of(&v, "restart_latency_p99", "p99"), Verdict::Missed(_)));
        assert!(matches!(verdict_of(&v, "dynsup_shutdown_1m", "2 s"), Verdict::Missed(_)), "strictly below");
        assert!(matches!(verdict_of(&v, "genserver_call_1", "Elixir"), Verdict::NotEvaluated(_)));
    }

    #[test]
    fn a_selection_limits_rows_and_targets() {
        let r = results("# meta selection: restart_latency ping_pong\nRESULT ping_pong ember 9000000 roundtrips/s\n");
        let v = evaluate_targets(&r);
        let ids: Vec<&str> = v.iter().map(|(t, _)| t.workload).collect();
        assert_eq!(ids, ["ping_pong", "restart_latency_median", "restart_latency_p99"]);
        let ids: Vec<String> = rows(&r).into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["ping_pong", "restart_latency_median", "restart_latency_p99"]);
        assert!(selected(&results("# meta selection:\n"), "spawn_1m"), "empty: everything");
    }

    #[test]
    fn quick_results_are_not_evaluated() {
        let r = results("# meta quick: 1\nRESULT ping_pong ember 9000000 roundtrips/s\n");
        let v = evaluate_targets(&r);
        assert!(matches!(verdict_of(&v, "ping_pong", "5M"), Verdict::NotEvaluated(f) if f.starts_with("--quick")));
    }

    #[test]
    fn report_has_table_ratios_charts_and_reasons() {
        let r = results(
            "# meta date: 2026-11-23\n# meta runs: 3\n# meta missing: go\n\
             # machine: nproc=2 model=\"AMD EPYC\" kernel=6.18 mem=23.5GiB\n\
             RESULT genserver_call_1 ember 3000000 calls/s\n\
             RESULT genserver_call_1 ember 2000000 calls/s\n\
             RESULT genserver_call_1 ember 4000000 calls/s\n\
             RESULT genserver_call_1 elixir 750000 calls/s\n\
             RESULT dynsup_shutdown_1m erlang 20000 ms\n\
             RESULT dynsup_shutdown_1m ember 500 ms\n\
             # dynsup_shutdown_1m: DynamicSupervisor.stop/1 with 1000000 children did not finish within 600 s (bound); reporting NaN\n\
             RESULT dynsup_shutdown_1m elixir NaN ms\n\
             # dynsup_shutdown_1m elixir run 1: exceeded its bound (NaN); no further runs of it\n",
        );
        let rep = build(
            &r,
            &Options {
                command: "benches/compare".into(),
                svg_rel: "bench".into(),
                raw_rel: Some("bench/results.txt".into()),
            },
        )
        .unwrap();
        let md = &rep.markdown;
        assert!(md.contains("| CPUs (nproc) | 2 |"));
        assert!(md.contains("median of 3 runs"));
        assert!(md.contains("3.00M [2.00M–4.00M]"), "median [min–max]");
        assert!(md.contains("4.00×"), "3M / 750K calls/s");
        assert!(md.contains("40.0×"), "20 s / 500 ms, lower is better");
        assert!(md.contains("all 1 run(s) hit their bound (NaN)"));
        assert!(md.contains("600 s (bound)"));
        assert!(md.contains("Go (every workload): not installed (apt-get install golang-go)"));
        assert!(md.contains("| not installed |"), "the Go cells");
        assert!(md.contains("![](bench/genserver_call_1.svg)"));
        assert!(md.contains("tokio: 1.55M procs/s (issue #3; quoted from the issue, not re-measured)"));
        assert!(md.contains("bench/results.txt"));
        assert!(rep.charts.iter().any(|(id, svg)| id == "genserver_call_1" && svg.contains("<svg")));
        assert!(!rep.charts.iter().any(|(id, _)| id == "spawn_1m"), "quoted figures alone make no chart");
        assert!(!rep.charts.iter().any(|(id, _)| id == "via_call"), "nothing to draw");
    }
}
