//! `ember-top --once` against the demo node (`examples/observed.rs`), over
//! a Unix socket: a known process with a known mailbox length is listed,
//! and the text frame shows the process table and the tree.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(60);

/// The demo node, killed when dropped.
struct Demo {
    child: Child,
    addr: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example_binary() -> PathBuf {
    // `cargo test --test ember_top` alone does not build examples: build it
    // (a no-op when it is fresh).
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "ember-observer", "--example", "observed"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the demo builds");
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/PROFILE/deps/TEST");
    profile_dir.join("examples").join("observed")
}

fn start_demo(name: &str) -> Demo {
    let path = std::env::temp_dir().join(format!("ember-top-test-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut child = Command::new(example_binary())
        .arg(format!("unix:{}", path.display()))
        .args(["--for", "120"]) // a bound, should the test die without killing it
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(BOUND).expect("the demo says where it listens");
    let addr = line.trim().strip_prefix("observer on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Demo { child, addr: addr.to_string() }
}

fn ember_top(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ember-top"));
    command.args(args);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    rx.recv_timeout(BOUND).expect("ember-top finished in time").expect("ember-top runs")
}

/// `ember-top --once --json` until `ready` holds of its output: the demo's
/// processes label themselves when they first run, which may be just after
/// it starts listening. Bounded by [`BOUND`].
fn snapshot_when(addr: &str, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + BOUND;
    loop {
        let out = ember_top(&["--once", "--json", addr]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        if ready(&json) {
            return json;
        }
        assert!(std::time::Instant::now() < deadline, "the demo never showed its processes: {json}");
    }
}

fn has_labels(json: &serde_json::Value, labels: &[&str]) -> bool {
    let processes = json["processes"].as_array().into_iter().flatten();
    let present: Vec<&str> = processes.filter_map(|p| p["label"].as_str()).collect();
    labels.iter().all(|l| present.contains(l))
}

#[test]
fn once_json_lists_a_known_process_with_its_known_mailbox() {
    let demo = start_demo("json");
    let json = snapshot_when(&demo.addr, |j| has_labels(j, &["parked", "growing", "crash_loop"]));
    let processes = json["processes"].as_array().expect("processes");
    for p in processes {
        for key in ["pid", "label", "status", "mailbox_len", "reductions", "memory"] {
            assert!(p.get(key).is_some(), "{key} missing in {p}");
        }
    }
    let labelled = |label: &str| processes.iter().find(|p| p["label"] == label).cloned();
    let parked = labelled("parked").expect("the parked process is listed");
    assert_eq!(parked["mailbox_len"], 7, "{parked}");
    assert!(labelled("growing").is_some() && labelled("crash_loop").is_some());
    let workers = json["workers"].as_array().expect("workers");
    assert!(!workers.is_empty());
    assert!(workers.iter().all(|w| w["busy_ratio"].as_f64().is_some_and(|r| (0.0..=1.0).contains(&r))));
}

#[test]
fn once_prints_the_process_table_and_the_tree() {
    let demo = start_demo("text");
    snapshot_when(&demo.addr, |j| has_labels(j, &["parked", "ticker"]));
    let out = ember_top(&["--once", "--width", "120", "--height", "30", &demo.addr]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("processes, by reductions"), "{text}");
    assert!(text.contains("MAILBOX") && text.contains("parked"), "{text}");
    assert!(text.contains("supervision tree"), "{text}");
    // The supervisor's children are indented under it.
    assert!(text.lines().any(|l| l.contains("    <0.") && l.contains("ticker")), "{text}");
}

#[test]
fn bad_addresses_and_arguments_are_errors_not_panics() {
    let out = ember_top(&["--once", "--json", "0.0.0.0:1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    let out = ember_top(&["--once", "--json", "/nonexistent/ember.sock"]);
    assert!(!out.status.success());
    let out = ember_top(&["--json"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ember_top(&["--interval", "0", "x.sock"]);
    assert_eq!(out.status.code(), Some(2));
}
