//! Per-process costs that do not depend on the clock: the instructions a
//! spawn or a message round trip executes, and the heap a hibernated
//! GenServer keeps. On a shared VM without hardware counters (`perf stat`
//! shows none here), wall time swings 2× between runs, while these stay put
//! to a few instructions.
//!
//! ```text
//! cargo bench --bench instructions -- spawn 100000      # spawn N, wait for N messages
//! cargo bench --bench instructions -- ping_pong 100000  # N round trips between two processes
//! cargo bench --bench instructions -- call 100000       # N GenServer calls from one client
//! cargo bench --bench instructions -- monitor_down 100000 # the peers' monitor_down: N idle processes, each monitored, stopped, Down
//! cargo bench --bench instructions -- exit_cascade 100000 # the peers' exit_cascade: a chain of N linked processes, the head killed
//! cargo bench --bench instructions -- hibernated 100000 # heap bytes per hibernated GenServer
//! ```
//!
//! The runtime has one scheduler and no spares, so every run interleaves the
//! same way. Instructions per operation are the difference between two
//! sizes under callgrind, counting every thread but the system monitor's
//! (whose work follows the clock, not the workload):
//!
//! ```text
//! B=$(ls target/release/deps/instructions-* | grep -v '\.d$')
//! for n in 100000 300000; do
//!   valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=cg.$n $B spawn $n
//!   grep -L run_monitor cg.$n-* | xargs grep -h '^summary:'   # add these up
//! done                                                       # (Ir(300k) - Ir(100k)) / 200k
//! ```
//!
//! Callgrind runs without the vDSO: a clock read there is a system call
//! whose instructions it does not count.
//!
//! `hibernated` prints `RESULT hibernated_genserver_heap ember <bytes>
//! bytes/proc`: the growth of malloc's bytes in use (`mallinfo2`) per
//! server, which leaves out the slot (the process table's segments are
//! mapped, not malloc'd); `mem_hibernated_genserver_1m` in `peers_behaviours`
//! measures the whole.

mod common;

use common::servers::{Counter, Hibernated};
use ember::gen_server::{self, StartOptions};
use ember::{receive, receive_timeout, self_pid, send, spawn, stats, Pid};
use std::time::Duration;

struct Done;
struct Ball(Pid);

fn spawn_n(n: usize) {
    let me = self_pid();
    for _ in 0..n {
        spawn(move || send(me, Done));
    }
    for _ in 0..n {
        receive::<Done>();
    }
}

fn ping_pong(n: usize) {
    let me = self_pid();
    let pong = spawn(move || loop {
        let Ball(from) = receive::<Ball>();
        if from != me {
            return;
        }
        send(from, Done);
    });
    for _ in 0..n {
        send(pong, Ball(me));
        receive::<Done>();
    }
    send(pong, Ball(pong));
}

fn call(n: usize) {
    let server = gen_server::start::<Counter>(0, StartOptions::new()).expect("start the counter");
    for _ in 0..n {
        server.call(()).expect("the counter replies");
    }
}

fn heap_in_use() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's counters.
    unsafe { libc::mallinfo2().uordblks }
}

fn hibernated(n: usize) {
    let before = heap_in_use();
    let stacks = stats().stacks_in_use;
    for i in 0..n as u64 {
        gen_server::start::<Hibernated>(i, StartOptions::new()).expect("start a hibernating server");
    }
    // Bounded: every server hibernates right after its init.
    for _ in 0..3_000 {
        if stats().stacks_in_use <= stacks {
            break;
        }
        let _ = receive_timeout::<()>(Duration::from_millis(10));
    }
    let per = (heap_in_use() as f64 - before as f64) / n as f64;
    println!("RESULT hibernated_genserver_heap ember {per:.1} bytes/proc");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let what = args.first().map_or("all", String::as_str).to_owned();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let rt = ember::Runtime::builder()
        .schedulers(1)
        .max_spare_schedulers(0)
        // Under callgrind the root runs ~50× slower: it must not count as held.
        .hold_threshold(Duration::from_secs(3600))
        .build()
        .expect("a runtime");
    rt.block_on(move || match what.as_str() {
        "spawn" => spawn_n(n),
        "ping_pong" => ping_pong(n),
        "call" => call(n),
        "monitor_down" => drop(common::monitor_down(n)),
        "exit_cascade" => drop(common::exit_cascade(n)),
        "hibernated" => hibernated(n),
        "all" => {
            spawn_n(n);
            ping_pong(n);
            call(n);
            common::monitor_down(n);
            common::exit_cascade(n);
            hibernated(n);
        }
        other => {
            eprintln!("unknown workload {other}: spawn, ping_pong, call, monitor_down, exit_cascade or hibernated")
        }
    })
    .expect("the workload ran");
}
