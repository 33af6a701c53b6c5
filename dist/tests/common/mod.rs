//! A real BEAM node for tests: `erl -sname NAME@localhost -setcookie C
//! -hidden`, on loopback, killed when dropped, and ended by its own watchdog
//! if the test process dies first.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// The failure bound of every wait in these tests.
pub const BOUND: Duration = Duration::from_secs(30);

/// Whether `erl` can be run. When it cannot, the caller prints why and
/// skips: CI installs Erlang (`.ci/run`), so a skip there is visible.
pub fn erlang_available() -> bool {
    let ok = Command::new("erl")
        .args(["-noshell", "-eval", "halt()."])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED: Erlang is not installed (`apt-get install -y erlang-base`); BEAM interop not tested");
    }
    ok
}

/// Starts EPMD on loopback if none runs (a running one is left as is), and
/// waits until it answers. `epmd -daemon` returns before the daemon listens
/// and gives no signal when it does, so this asks it, a bounded number of
/// times. Returns `false`, saying so, when none runs and the `epmd` program
/// (which comes with Erlang) is not installed: the caller skips, as the
/// BEAM tests do without `erl`. CI installs Erlang (`.ci/run`).
pub fn epmd_available() -> bool {
    let epmd = ember_dist::epmd::Epmd::localhost();
    if epmd.names().is_ok() {
        return true;
    }
    let started =
        Command::new("epmd").args(["-daemon", "-address", "127.0.0.1"]).env("ERL_EPMD_ADDRESS", "127.0.0.1").status();
    if let Err(e) = started {
        eprintln!("SKIPPED: no EPMD runs and `epmd` cannot be started ({e}; `apt-get install -y erlang-base`); Ember-to-Ember distribution not tested");
        return false;
    }
    for _ in 0..300 {
        if epmd.names().is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("EPMD did not start within 30 s");
}

/// [`epmd_available`], for tests that already checked that Erlang is
/// installed (so `epmd` is too).
pub fn ensure_epmd() {
    assert!(epmd_available(), "Erlang is installed but its `epmd` is not");
}

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}x{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub struct ErlNode {
    child: Child,
    pub alive: String,
    lines: Receiver<String>,
}

impl ErlNode {
    /// Starts `alive@localhost` running `eval`, an Erlang expression
    /// sequence (without the final full stop). It should print `ready` when
    /// it is ready; `start` waits for that line.
    pub fn start(alive: &str, cookie: &str, eval: &str) -> ErlNode {
        ensure_epmd();
        // The watchdog halts the node if the test never does.
        let script = format!("spawn(fun() -> receive after 60000 -> halt(3) end end), {eval}.");
        let mut child = Command::new("erl")
            .args(["-sname", &format!("{alive}@localhost"), "-setcookie", cookie, "-hidden", "-noshell", "-noinput"])
            .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
            .args(["-eval", &script])
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("erl starts");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("[erl] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut node = ErlNode { child, alive: alive.to_owned(), lines };
        node.expect_line("ready");
        node
    }

    pub fn name(&self) -> String {
        format!("{}@localhost", self.alive)
    }

    /// The next line the node prints, within [`BOUND`].
    pub fn line(&mut self) -> String {
        self.lines.recv_timeout(BOUND).unwrap_or_else(|_| panic!("{}: no output within {BOUND:?}", self.alive))
    }

    pub fn expect_line(&mut self, want: &str) {
        let got = self.line();
        assert_eq!(got, want, "{} printed {got:?}, expected {want:?}", self.alive);
    }
}

impl Drop for ErlNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
