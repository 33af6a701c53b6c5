//! Reading result files: the `RESULT` contract of `benches/peers/README.md`
//! plus the `# ` comment lines the runners print.
//!
//! ```text
//! RESULT <workload> <impl> <value> <unit>              a measurement (value may be NaN)
//! # meta <key>: <value>                                set by benches/compare
//! # machine: nproc=2 model="..." kernel=... mem=...    run-peers.sh header
//! # erlang: OTP ...  /  # elixir: ...  /  # go: ...    run-peers.sh header (versions)
//! # ember: schedulers=... stack_size=...               Ember bench banner
//! # <run> <impl> run <r>: <text>                       a runner's note on one run
//! # <run> <impl>: <text>                               a program's detail line
//! # <run>: <text>                                      a program's detail line (impl unknown)
//! # discarded (...): RESULT ...                        a run repeated because the machine was busy
//! ```
//!
//! Anything else is ignored.

use std::collections::BTreeMap;

/// The implementations whose lines are understood, in table order.
pub const IMPLS: &[&str] = &["ember", "erlang", "elixir", "go", "tokio"];

/// One `RESULT` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Result id (`spawn_1m`, `restart_latency_p99`, ...).
    pub workload: String,
    /// `ember`, `erlang`, `elixir` or `go`.
    pub implementation: String,
    /// The value; NaN when the run hit its bound.
    pub value: f64,
    /// The unit (`procs/s`, `ms`, `bytes/proc`, ...).
    pub unit: String,
}

/// A comment about a workload: a runner's note on one run, or a program's
/// detail line.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// The run name as the runner spells it (`restart_latency`, not
    /// `restart_latency_median`).
    pub run_name: String,
    /// The implementation, when the line names one.
    pub implementation: Option<String>,
    /// The run number for a runner's note (`... run 2: ...`).
    pub run: Option<u32>,
    /// Everything after the first `": "`.
    pub text: String,
}

impl Note {
    /// Whether this note concerns result id `workload` (the run name itself,
    /// or one of the extra lines it prints: `restart_latency_median` for
    /// `restart_latency`).
    pub fn concerns(&self, workload: &str) -> bool {
        workload == self.run_name
            || (workload.starts_with(&self.run_name) && workload[self.run_name.len()..].starts_with('_'))
    }

    /// A runner's note that says the run was killed, failed, or hit its bound.
    pub fn is_failure(&self) -> bool {
        self.run.is_some()
            && (self.text.contains("killed after") || self.text.contains("FAILED") || self.text.contains("bound"))
    }

    /// A runner's note that says the kept run was disturbed by other processes.
    pub fn is_contended(&self) -> bool {
        self.run.is_some() && self.text.contains("contended")
    }
}

/// Everything read from one or more result files.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// The measurements, in file order.
    pub samples: Vec<Sample>,
    /// Runner notes and detail lines.
    pub notes: Vec<Note>,
    /// `# meta key: value` lines (the first of each key wins), plus
    /// `machine`, `version_<impl>` from the runners' headers.
    pub meta: BTreeMap<String, String>,
    /// Discarded (re-run) measurements per (workload, impl).
    pub discarded: BTreeMap<(String, String), usize>,
}

impl Results {
    /// Parses the text of a result file and adds it.
    pub fn add_text(&mut self, text: &str) {
        for line in text.lines() {
            self.add_line(line.trim_end());
        }
    }

    /// Parses one line.
    pub fn add_line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("RESULT ") {
            if let Some(s) = parse_result(rest) {
                self.samples.push(s);
            }
            return;
        }
        let Some(comment) = line.strip_prefix('#') else { return };
        let comment = comment.trim_start();
        if let Some(rest) = comment.strip_prefix("discarded") {
            if let Some(i) = rest.find("RESULT ") {
                if let Some(s) = parse_result(&rest[i + "RESULT ".len()..]) {
                    *self.discarded.entry((s.workload, s.implementation)).or_default() += 1;
                }
            }
            return;
        }
        if let Some(rest) = comment.strip_prefix("meta ") {
            if let Some((k, v)) = rest.split_once(':') {
                self.set_meta(k.trim(), v.trim());
            }
            return;
        }
        let Some((head, text)) = comment.split_once(": ").or_else(|| comment.split_once(':')) else { return };
        let text = text.trim();
        let head_tokens: Vec<&str> = head.split_whitespace().collect();
        match head_tokens[..] {
            ["machine"] => self.set_meta("machine", text),
            [imp] if IMPLS.contains(&imp) => self.set_meta(&format!("version_{imp}"), text),
            [run, imp, "run", r] if IMPLS.contains(&imp) => self.notes.push(Note {
                run_name: run.to_string(),
                implementation: Some(imp.to_string()),
                run: r.parse().ok(),
                text: text.to_string(),
            }),
            [run, imp] if IMPLS.contains(&imp) => self.notes.push(Note {
                run_name: run.to_string(),
                implementation: Some(imp.to_string()),
                run: None,
                text: text.to_string(),
            }),
            [run] if is_workload_name(run) => self.notes.push(Note {
                run_name: run.to_string(),
                implementation: None,
                run: None,
                text: text.to_string(),
            }),
            _ => {}
        }
    }

    fn set_meta(&mut self, key: &str, value: &str) {
        self.meta.entry(key.to_string()).or_insert_with(|| value.to_string());
    }

    /// The finite and NaN values of one (workload, impl), in file order.
    pub fn values(&self, workload: &str, implementation: &str) -> Vec<f64> {
        self.samples
            .iter()
            .filter(|s| s.workload == workload && s.implementation == implementation)
            .map(|s| s.value)
            .collect()
    }

    /// The unit of a workload (from its first sample).
    pub fn unit(&self, workload: &str) -> Option<&str> {
        self.samples.iter().find(|s| s.workload == workload).map(|s| s.unit.as_str())
    }

    /// Result ids in order of first appearance.
    pub fn workloads(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for s in &self.samples {
            if !seen.contains(&s.workload) {
                seen.push(s.workload.clone());
            }
        }
        seen
    }

    /// Notes that concern one (workload, impl); `impl = None` notes are
    /// included for every impl.
    pub fn notes_for<'a>(&'a self, workload: &'a str, implementation: &'a str) -> impl Iterator<Item = &'a Note> + 'a {
        self.notes
            .iter()
            .filter(move |n| n.concerns(workload) && n.implementation.as_deref().is_none_or(|i| i == implementation))
    }

    /// A `key=value` field of the `machine` header (`nproc`, `model`,
    /// `kernel`, `mem`).
    pub fn machine_field(&self, key: &str) -> Option<String> {
        let machine = self.meta.get("machine")?;
        let mut rest = machine.as_str();
        while let Some(eq) = rest.find('=') {
            let k = rest[..eq].trim();
            let after = &rest[eq + 1..];
            let (v, next) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
            } else {
                let end = after.find(' ').unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            if k == key {
                return Some(v.to_string());
            }
            rest = next;
        }
        None
    }
}

/// Workload-like tokens: lowercase, digits and underscores, with an
/// underscore (so `# warning: ...` is not taken for one).
fn is_workload_name(s: &str) -> bool {
    s.contains('_') && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn parse_result(rest: &str) -> Option<Sample> {
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let [workload, implementation, value, unit] = fields[..] else { return None };
    let value = if value.eq_ignore_ascii_case("nan") { f64::NAN } else { value.parse().ok()? };
    Some(Sample { workload: workload.into(), implementation: implementation.into(), value, unit: unit.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# ember peers run 2026-11-23T07:53:20Z runs=3 quick=0 impls=erlang elixir go
# machine: nproc=2 model="AMD EPYC 7B13" kernel=6.18.44 mem=23.5GiB
# erlang: OTP 25.2.3 erts-13.1.5 schedulers=2; flags: erl -noshell +P 5000000
# go: go1.19.8 linux/amd64; GOMAXPROCS default
RESULT spawn_1m erlang 503513 procs/s
# discarded (other processes used ~41% CPU): RESULT spawn_1m go 1331223 procs/s
RESULT spawn_1m go 2846490 procs/s
RESULT restart_latency_median erlang 79.298 us
# restart_latency erlang: first 1000 restarts median 10.034 us p99 33.519 us
# dynsup_shutdown_1m: DynamicSupervisor.stop/1 with 1000000 children did not finish within 600 s (bound); reporting NaN
RESULT dynsup_shutdown_1m elixir NaN ms
# dynsup_shutdown_1m elixir run 1: exceeded its bound (NaN); no further runs of it
# ring_10000x1000 elixir run 1: contended (other processes used ~33% CPU) on all 3 attempts; keeping the last
# warning: machine still 99% busy with other processes after waiting 300s; running anyway
# meta rustc: rustc 1.91.0
# meta rustc: ignored, the first wins
RESULT broken line
"#;

    fn parsed() -> Results {
        let mut r = Results::default();
        r.add_text(SAMPLE);
        r
    }

    #[test]
    fn result_lines() {
        let r = parsed();
        assert_eq!(r.samples.len(), 4);
        assert_eq!(
            r.samples[0],
            Sample {
                workload: "spawn_1m".into(),
                implementation: "erlang".into(),
                value: 503513.0,
                unit: "procs/s".into()
            }
        );
        assert_eq!(r.values("spawn_1m", "go"), vec![2846490.0], "the discarded run is not a sample");
        assert!(r.values("dynsup_shutdown_1m", "elixir")[0].is_nan());
        assert_eq!(r.unit("restart_latency_median"), Some("us"));
        assert_eq!(r.workloads(), ["spawn_1m", "restart_latency_median", "dynsup_shutdown_1m"]);
        assert_eq!(r.discarded[&("spawn_1m".to_string(), "go".to_string())], 1);
    }

    #[test]
    fn header_and_meta() {
        let r = parsed();
        assert_eq!(r.machine_field("nproc").as_deref(), Some("2"));
        assert_eq!(r.machine_field("model").as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(r.machine_field("kernel").as_deref(), Some("6.18.44"));
        assert_eq!(r.machine_field("mem").as_deref(), Some("23.5GiB"));
        assert_eq!(r.machine_field("nothing"), None);
        assert!(r.meta["version_erlang"].starts_with("OTP 25.2.3"));
        assert!(r.meta["version_go"].starts_with("go1.19.8"));
        assert_eq!(r.meta["rustc"], "rustc 1.91.0");
        assert!(!r.meta.contains_key("warning"));
    }

    #[test]
    fn notes() {
        let r = parsed();
        let bound: Vec<&Note> = r.notes_for("dynsup_shutdown_1m", "elixir").collect();
        assert_eq!(bound.len(), 2);
        assert!(bound.iter().any(|n| n.is_failure()));
        assert!(bound.iter().any(|n| n.implementation.is_none() && n.text.contains("600 s")));
        let detail: Vec<&Note> = r.notes_for("restart_latency_median", "erlang").collect();
        assert_eq!(detail.len(), 1, "a run name's note concerns its extra lines");
        assert_eq!(r.notes_for("restart_latency_median", "elixir").count(), 0);
        let contended: Vec<&Note> = r.notes_for("ring_10000x1000", "elixir").collect();
        assert!(contended[0].is_contended() && !contended[0].is_failure());
        assert_eq!(contended[0].run, Some(1));
        assert_eq!(r.notes.len(), 4, "the warning line is not a note");
    }

    #[test]
    fn note_prefixes_do_not_overlap() {
        let n = Note { run_name: "ring_1000x10000".into(), implementation: None, run: None, text: String::new() };
        assert!(n.concerns("ring_1000x10000"));
        assert!(!n.concerns("ring_10000x1000"));
        let n = Note { run_name: "mem_idle_1m".into(), implementation: None, run: None, text: String::new() };
        assert!(n.concerns("mem_idle_1m_vm"));
        assert!(!n.concerns("mem_idle_100k"));
    }
}
