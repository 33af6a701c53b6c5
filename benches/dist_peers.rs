//! Erlang distribution between nodes on one machine: small-message
//! round trips and throughput, Ember↔BEAM both ways, Ember↔Ember, and
//! BEAM↔BEAM beside them (issue 17's benchmark), printing the peers'
//! output contract (`benches/peers/README.md`):
//!
//! ```text
//! RESULT <workload> <impl> <value> <unit>
//! ```
//!
//! ```text
//! cargo bench --bench dist_peers              # needs erl and epmd (apt-get install erlang-base)
//! cargo bench --bench dist_peers -- --quick   # 10x fewer messages
//! benches/compare dist                        # in a sitting, into docs/BENCHMARKS.md
//! ```
//!
//! | workload | unit | what |
//! |---|---|---|
//! | `dist_roundtrip` | roundtrips/s | a client sends `{Self, I}` to the registered `echo` of the other node (REG_SEND), which sends `I` back; 20,000 in sequence after 1,000 warm-up |
//! | `dist_throughput` | msgs/s | a client sends 200,000 `{Self, I}` to the registered `sink` of the other node, then `{done, Self}`; the clock stops when the sink's `{count, N}` comes back |
//!
//! The pairs are `client_server`: `ember_beam` (an Ember client, a BEAM
//! server), `beam_ember`, `ember_ember` (two runtimes of this OS process, over
//! loopback TCP like the others) and `beam_beam` (two `erl` nodes). Every node
//! is hidden, on 127.0.0.1, with the same cookie; the BEAM nodes run with
//! default flags. The BEAM clients time themselves with
//! `erlang:monotonic_time`.
//!
//! For `benches/compare`'s report (rows of Ember beside Erlang) each pair
//! becomes a workload and an implementation; `beam_beam`, the baseline of
//! every row, is printed once per row:
//!
//! | pair | RESULT id | impl |
//! |---|---|---|
//! | `ember_ember` | `dist_roundtrip`, `dist_throughput` | `ember` |
//! | `ember_beam` | `dist_roundtrip_to_beam`, `dist_throughput_to_beam` | `ember` |
//! | `beam_ember` | `dist_roundtrip_from_beam`, `dist_throughput_from_beam` | `ember` |
//! | `beam_beam` | each of the six | `erlang` |
//!
//! A `# dist_peers <pair>: ...` comment line beside each keeps the pair's
//! own figure readable.

#[path = "../dist/tests/common/mod.rs"]
mod erl;

use ember::dist::node::Node;
use ember::dist::{Cookie, Term};
use ember::{receive, receive_if, register, self_pid, send, spawn};
use erl::{unique, ErlNode};
use std::time::Instant;

const COOKIE: &str = "ember_bench_cookie";

/// The BEAM servers: `echo` and `sink`, the same protocol as Ember's.
const BEAM_SERVERS: &str = "register(echo, spawn(fun Echo() -> receive {From, T} -> From ! T, Echo() end end)), \
    register(sink, spawn(fun() -> (fun S(K) -> receive {done, From} -> From ! {count, K}, S(0); _ -> S(K + 1) end end)(0) end)), \
    io:format(\"ready~n\"), receive stop -> ok end";

#[derive(Clone, Copy)]
struct Sizes {
    roundtrips: u64,
    messages: u64,
}

fn beam_client(server: &str, sizes: &Sizes, pair: &str) -> String {
    format!(
        "S = '{server}', pong = net_adm:ping(S), io:format(\"ready~n\"), E = {{echo, S}}, K = {{sink, S}}, \
         RT = fun R(0) -> ok; R(I) -> E ! {{self(), I}}, receive I -> R(I - 1) end end, \
         RT(1000), T0 = erlang:monotonic_time(microsecond), RT({rt}), T1 = erlang:monotonic_time(microsecond), \
         io:format(\"FIGURE dist_roundtrip {pair} ~.1f roundtrips/s~n\", [{rt} * 1.0e6 / (T1 - T0)]), \
         TP = fun F(0) -> ok; F(I) -> K ! {{self(), I}}, F(I - 1) end, \
         T2 = erlang:monotonic_time(microsecond), TP({m}), K ! {{done, self()}}, \
         receive {{count, {m}}} -> ok end, T3 = erlang:monotonic_time(microsecond), \
         io:format(\"FIGURE dist_throughput {pair} ~.1f msgs/s~n\", [{m} * 1.0e6 / (T3 - T2)]), \
         io:format(\"done~n\"), receive stop -> ok end",
        rt = sizes.roundtrips,
        m = sizes.messages,
    )
}

/// Ember's servers, registered in the caller's runtime.
fn ember_servers() {
    let echo = spawn(|| loop {
        let msg: Term = receive();
        if let Some([Term::Pid(from), t]) = msg.as_tuple() {
            let node = Node::current().expect("a node");
            send(node.pid(from), t.clone());
        }
    });
    register("echo", echo).unwrap();
    let sink = spawn(|| {
        let node = Node::current().expect("a node");
        let mut k = 0i64;
        loop {
            let msg: Term = receive();
            match msg.as_tuple() {
                Some([done, Term::Pid(from)]) if done.as_atom() == Some("done") => {
                    send(node.pid(from), Term::tuple(vec![Term::atom("count"), Term::Int(k)]));
                    k = 0;
                }
                _ => k += 1,
            }
        }
    });
    register("sink", sink).unwrap();
}

/// The Ember client against `server`.
fn ember_client(node: &Node, server: &str, sizes: &Sizes, pair: &str) {
    let me = Term::Pid(node.dist_pid(self_pid()).unwrap());
    let roundtrips = |n: u64| {
        for i in 0..n {
            node.send_named("echo", server, Term::tuple(vec![me.clone(), Term::Int(i as i64)])).unwrap();
            let want = Term::Int(i as i64);
            receive_if::<Term>(|t| *t == want);
        }
    };
    roundtrips(1000);
    let t0 = Instant::now();
    roundtrips(sizes.roundtrips);
    let rate = sizes.roundtrips as f64 / t0.elapsed().as_secs_f64();
    result("dist_roundtrip", pair, rate, "roundtrips/s");
    let t0 = Instant::now();
    for i in 0..sizes.messages {
        node.send_named("sink", server, Term::tuple(vec![me.clone(), Term::Int(i as i64)])).unwrap();
    }
    node.send_named("sink", server, Term::tuple(vec![Term::atom("done"), me.clone()])).unwrap();
    let want = Term::tuple(vec![Term::atom("count"), Term::Int(sizes.messages as i64)]);
    receive_if::<Term>(|t| *t == want);
    let rate = sizes.messages as f64 / t0.elapsed().as_secs_f64();
    result("dist_throughput", pair, rate, "msgs/s");
}

fn node_name(prefix: &str) -> String {
    format!("{}@localhost", unique(prefix))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes { roundtrips: 2_000, messages: 20_000 }
    } else {
        Sizes { roundtrips: 20_000, messages: 200_000 }
    };
    if !erl::erlang_available() {
        println!("# SKIPPED: erl is not installed");
        return;
    }
    erl::ensure_epmd();
    println!("# dist_peers: {} roundtrips, {} messages per pair", sizes.roundtrips, sizes.messages);

    // BEAM <-> BEAM.
    {
        let server = ErlNode::start(&unique("beamsrv"), COOKIE, BEAM_SERVERS);
        let mut client = ErlNode::start(&unique("beamcli"), COOKIE, &beam_client(&server.name(), &sizes, "beam_beam"));
        print_until_done(&mut client);
    }
    // Ember client -> BEAM servers.
    {
        let server = ErlNode::start(&unique("beamsrv"), COOKIE, BEAM_SERVERS);
        let name = server.name();
        let s = sizes;
        ember::run(move || {
            let node = Node::start(&node_name("embercli"), Cookie::new(COOKIE)).unwrap();
            ember_client(&node, &name, &s, "ember_beam");
            node.stop();
        })
        .unwrap();
        drop(server);
    }
    // BEAM client -> Ember servers.
    {
        let name = node_name("embersrv");
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let server_name = name.clone();
        let server = std::thread::spawn(move || {
            ember::run(move || {
                let node = Node::start(&server_name, Cookie::new(COOKIE)).unwrap();
                ember_servers();
                tx.send(()).unwrap();
                let _ = ember::blocking(move || stop_rx.recv());
                node.stop();
            })
            .unwrap();
        });
        rx.recv().unwrap();
        let mut client = ErlNode::start(&unique("beamcli"), COOKIE, &beam_client(&name, &sizes, "beam_ember"));
        print_until_done(&mut client);
        drop(client);
        let _ = stop_tx.send(());
        server.join().unwrap();
    }
    // Ember <-> Ember (two runtimes of this process).
    {
        let name = node_name("embersrv");
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let server_name = name.clone();
        let server = std::thread::spawn(move || {
            ember::run(move || {
                let node = Node::start(&server_name, Cookie::new(COOKIE)).unwrap();
                ember_servers();
                tx.send(()).unwrap();
                let _ = ember::blocking(move || stop_rx.recv());
                node.stop();
            })
            .unwrap();
        });
        rx.recv().unwrap();
        let s = sizes;
        ember::run(move || {
            let node = Node::start(&node_name("embercli"), Cookie::new(COOKIE)).unwrap();
            ember_client(&node, &name, &s, "ember_ember");
            node.stop();
        })
        .unwrap();
        let _ = stop_tx.send(());
        server.join().unwrap();
    }
}

/// Prints the figure of `pair` on `workload` (`dist_roundtrip` or
/// `dist_throughput`) as the report's rows (see the module's table).
fn result(workload: &str, pair: &str, value: f64, unit: &str) {
    println!("# dist_peers {pair}: {workload} {value:.1} {unit}");
    let rows: &[(&str, &str)] = match pair {
        "ember_ember" => &[("", "ember")],
        "ember_beam" => &[("_to_beam", "ember")],
        "beam_ember" => &[("_from_beam", "ember")],
        "beam_beam" => &[("", "erlang"), ("_to_beam", "erlang"), ("_from_beam", "erlang")],
        _ => &[],
    };
    for (suffix, implementation) in rows {
        println!("RESULT {workload}{suffix} {implementation} {value:.1} {unit}");
    }
}

/// Prints the BEAM client's figures (its `FIGURE <workload> <pair> <value>
/// <unit>` lines) until it says `done`.
fn print_until_done(client: &mut ErlNode) {
    loop {
        let line = client.line();
        if line == "done" {
            return;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let ["FIGURE", workload, pair, value, unit] = parts[..] {
            if let Ok(value) = value.parse::<f64>() {
                result(workload, pair, value, unit);
            }
        }
    }
}
