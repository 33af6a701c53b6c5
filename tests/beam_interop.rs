//! `examples/beam_interop.rs` checked the way its doc says Erlang uses it:
//! a real `erl` node pings it, gets its echo, crashes the echo (a monitor
//! sees the panic, the supervisor brings `echo` back under the same name),
//! and calls the counter. Skipped, with a message, without Erlang.

#[path = "../dist/tests/common/mod.rs"]
mod common;

use common::{erlang_available, unique, ErlNode};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const COOKIE: &str = "beam_interop_test_cookie";

/// The example binary, (re)built now: `cargo test --test beam_interop`
/// alone does not build examples.
fn example() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().unwrap().parent().unwrap().ends_with("release");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--example", "beam_interop"])
        .args(release.then_some("--release"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the example builds");
    let debug = exe.parent().unwrap().parent().unwrap();
    debug.join("examples").join("beam_interop")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn erlang_talks_to_the_example() {
    if !erlang_available() {
        return;
    }
    common::ensure_epmd();
    let name = format!("{}@localhost", unique("interop"));
    let mut child = Command::new(example())
        .args([&name, COOKIE])
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the example is built by cargo test");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let child = Killed(child);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // The client: echo, crash under a monitor, echo again once restarted
    // (a bounded number of tries: the restart is asynchronous), counter.
    let script = format!(
        "N = '{name}', pong = net_adm:ping(N), io:format(\"ready~n\"), \
         {{echo, N}} ! {{self(), hello}}, \
         receive {{echo, P, hello}} when node(P) =:= N -> io:format(\"echo ok~n\") after 20000 -> io:format(\"no echo~n\") end, \
         M = erlang:monitor(process, {{echo, N}}), {{echo, N}} ! {{self(), crash}}, \
         receive {{'DOWN', M, process, _, R}} when R =/= normal -> io:format(\"crashed~n\") after 20000 -> io:format(\"no down~n\") end, \
         Again = fun F(0) -> io:format(\"not restarted~n\"); F(K) -> {{echo, N}} ! {{self(), again}}, \
           receive {{echo, _, again}} -> io:format(\"restarted~n\") after 100 -> F(K - 1) end end, Again(200), \
         io:format(\"~p ~p~n\", [gen_server:call({{counter, N}}, increment), gen_server:call({{counter, N}}, increment)]), \
         receive stop -> ok end"
    );
    let mut erl = ErlNode::start(&unique("client"), COOKIE, &script);
    assert_eq!(erl.line(), "echo ok");
    assert_eq!(erl.line(), "crashed");
    assert_eq!(erl.line(), "restarted");
    assert_eq!(erl.line(), "1 2");
    drop(child);
}
