//! The runtime-core workloads, shared by the criterion suite
//! (`runtime_core.rs`), the peer-comparison binary (`peers_ember.rs`) and
//! the memory harness (`memory.rs`).
//!
//! Every workload function runs *inside* a process (call it from
//! `Runtime::block_on`), builds its processes, and returns the time of the
//! measured part only, taken with `Instant` inside the bench process — the
//! same clock points as the Erlang/Elixir/Go peers in `benches/peers/`
//! (see `benches/peers/README.md`, "Workloads").
//!
//! Set-up phases (waiting for a tree, a chain or N idle processes to be
//! ready) wait with a stall timeout (`EMBER_BENCH_STALL_S`, default 30 s
//! without any progress): a process that cannot start (for example because
//! no stack could be allocated) never reports, and instead of hanging the
//! bench panics with the runtime's counts, the number of memory maps and the
//! exit reason of a probe process spawned at that moment.
#![allow(dead_code)]

pub mod cli;
pub mod contract;
pub mod servers;

// Every bench binary includes this module and uses a different part of it.
#[allow(unused_imports)]
pub use contract::{fmt_value, map_count, max_map_count, proc_status_bytes, rate};

use ember::{
    monitor, receive, receive_if, receive_if_timeout, receive_timeout, self_pid, send, spawn, spawn_link,
    spawn_monitor, stats, Down, Pid, Reason, Select,
};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ messages

/// `done` of spawn_1m.
pub struct Done;
/// `{sum, S}` of skynet.
pub struct Sum(pub u64);
/// `ready`: a pre-spawned process is about to block in receive.
pub struct Ready;
/// `stop`: a waiting process should return.
pub struct Stop;
/// `{tail, Pid}` of exit_cascade.
pub struct Tail(pub Pid);

/// What the pong process of ping_pong receives (Erlang: `{ping, From}` or `stop`).
pub enum PongMsg {
    /// `{ping, From}`
    Ping(Pid),
    /// `stop`
    Stop,
}
/// `pong`
pub struct Pong;

/// What a ring node receives.
pub enum RingMsg {
    /// `{next, Pid}`: closes the ring (sent to the first node).
    Next(Pid),
    /// `{token, HopsLeft}`
    Token(u64),
    /// Tear-down (not part of the measured workload).
    Stop,
}
/// `ring_ready`
pub struct RingReady;
/// `ring_done`
pub struct RingDone;

// ------------------------------------------------------------------ helpers

/// Turns the runtime's crash reports off, unless `EMBER_BENCH_CRASH_REPORTS=1`.
///
/// Without a `tracing` subscriber the runtime prints one line to stderr for
/// every process that exits with a non-clean reason — including every one of
/// the 100,000 processes of `exit_cascade_100k` that dies from the `killed`
/// link signal. The peers log nothing there (the BEAM never reports a process
/// killed by an exit signal), so the benches install a subscriber that
/// discards everything. Returns whether reports are on.
pub fn quiet_crash_reports() -> bool {
    if std::env::var("EMBER_BENCH_CRASH_REPORTS").is_ok_and(|v| v == "1") {
        return true;
    }
    let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default());
    false
}

/// How long a set-up phase may make no progress before it is declared stuck.
pub fn stall() -> Duration {
    let secs = std::env::var("EMBER_BENCH_STALL_S").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(30);
    Duration::from_secs(secs)
}

/// Called in a bench process when a set-up phase is stuck: panics with
/// everything that helps to see why (runtime counts, memory maps, and the
/// exit reason of a probe process spawned now — a failed stack allocation
/// shows up there as `system_limit: ...`).
pub fn stuck(what: &str) -> ! {
    let st = stats();
    let maps = map_count();
    let (_, probe) = spawn_monitor(|| {});
    let probe_reason = receive_if_timeout(|d: &Down| d.monitor == probe, Duration::from_secs(5)).map(|d| d.reason);
    panic!(
        "{what}: no progress for {:?}; stats: {st:?}; memory maps: {maps} (vm.max_map_count {}); \
         a probe process spawned now exited with {probe_reason:?}",
        stall(),
        max_map_count()
    )
}

/// Receives `n` messages of type `M`, declaring the phase stuck when none
/// arrives for [`stall`] (not for timed loops: a timeout arms a timer).
pub fn collect<M: Send + 'static>(n: usize, what: &str) {
    let limit = stall();
    for i in 0..n {
        if receive_timeout::<M>(limit).is_none() {
            stuck(&format!("{what}: got {i} of {n}"));
        }
    }
}

/// Spawns `n` processes that report [`Ready`] and then wait for [`Stop`],
/// pushing their pids into `pids` (which should have the capacity), and
/// waits until all of them are ready.
pub fn spawn_idle(n: usize, pids: &mut Vec<Pid>, what: &str) {
    let me = self_pid();
    for _ in 0..n {
        pids.push(spawn(move || {
            send(me, Ready);
            receive::<Stop>();
        }));
    }
    collect::<Ready>(n, what);
}

/// Sends [`Stop`] to every pid and waits until only `keep` processes are left
/// in the runtime.
pub fn stop_all(pids: &[Pid], keep: usize) {
    for &p in pids {
        send(p, Stop);
    }
    wait_processes(keep);
}

/// Waits (polling) until the runtime holds at most `keep` processes.
pub fn wait_processes(keep: usize) {
    let t0 = Instant::now();
    let mut last = usize::MAX;
    let mut last_change = Instant::now();
    loop {
        let live = stats().processes;
        if live <= keep {
            return;
        }
        if live != last {
            last = live;
            last_change = Instant::now();
        } else if last_change.elapsed() > stall() {
            stuck(&format!("waiting for processes to exit: {live} live, want {keep} (waited {:?})", t0.elapsed()));
        }
        // Sleeping would arm a timer; a receive of a type nobody sends with
        // a short timeout is the same thing.
        let _ = receive_timeout::<Never>(Duration::from_millis(1));
    }
}

/// Start and end of every timed window, for profilers (see [`marks`]).
static MARKS: std::sync::Mutex<Vec<(Instant, Instant)>> = std::sync::Mutex::new(Vec::new());

/// Records a timed window and returns its length.
pub fn timed(t0: Instant) -> Duration {
    let t1 = Instant::now();
    if let Ok(mut m) = MARKS.lock() {
        if m.len() < 10_000 {
            m.push((t0, t1));
        }
    }
    t1 - t0
}

/// The timed windows so far, as CLOCK_MONOTONIC seconds (what `Instant` is
/// on Linux; `perf record -k CLOCK_MONOTONIC` + `perf report --time a,b`
/// restricts a profile to them).
pub fn marks() -> Vec<(f64, f64)> {
    fn secs(i: Instant) -> f64 {
        // `Instant`'s Debug shows the timespec on Linux: `Instant { tv_sec: S, tv_nsec: N }`.
        let d = format!("{i:?}");
        let num = |key: &str| -> f64 {
            d.split(key)
                .nth(1)
                .and_then(|r| r.trim_start_matches([':', ' ']).split([',', ' ', '}']).next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        num("tv_sec") + num("tv_nsec") * 1e-9
    }
    MARKS.lock().map(|m| m.iter().map(|&(a, b)| (secs(a), secs(b))).collect()).unwrap_or_default()
}

/// Round-trip time in ns of one cache line bounced between two spinning
/// threads (up to `rounds` round trips, at most ~200 ms). On a VM the host's
/// placement of the vCPUs (SMT siblings, same or different core complex)
/// changes this several-fold from one run to the next — and during a run —
/// and every cross-worker workload with it. `None` when disabled with
/// `EMBER_BENCH_C2C=0` (e.g. under valgrind, which serialises the threads)
/// or when the other thread did not answer in time.
pub fn cache_line_round_trip_ns(rounds: u64) -> Option<f64> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    if std::env::var("EMBER_BENCH_C2C").is_ok_and(|v| v == "0") {
        return None;
    }
    let a = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (b, stop2) = (a.clone(), stop.clone());
    let t = std::thread::spawn(move || {
        let mut i = 1;
        while i < 2 * rounds {
            while b.load(Ordering::Acquire) != i {
                if stop2.load(Ordering::Relaxed) {
                    return;
                }
                std::hint::spin_loop();
            }
            b.store(i + 1, Ordering::Release);
            i += 2;
        }
    });
    let limit = Duration::from_millis(200);
    let t0 = Instant::now();
    let mut i = 0;
    let mut done = 0;
    'outer: while i < 2 * rounds {
        a.store(i + 1, Ordering::Release);
        let mut spins = 0u32;
        while a.load(Ordering::Acquire) != i + 2 {
            spins = spins.wrapping_add(1);
            if spins % 4096 == 0 && t0.elapsed() > limit {
                break 'outer;
            }
            std::hint::spin_loop();
        }
        done += 1;
        i += 2;
    }
    let d = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = t.join();
    (done >= 1000).then(|| d.as_nanos() as f64 / done as f64)
}

/// A message type nobody sends.
pub struct Never;

// ------------------------------------------------------------------ workloads

/// spawn_1m: the root spawns `n` processes; each sends one message to the
/// root and exits; the root receives all `n`. Clock: before the first spawn →
/// after the last message.
pub fn spawn_n(n: usize) -> Duration {
    let me = self_pid();
    let t0 = Instant::now();
    for _ in 0..n {
        spawn(move || send(me, Done));
    }
    for _ in 0..n {
        receive::<Done>();
    }
    timed(t0)
}

fn skynet(parent: Pid, num: u64, size: u64) {
    if size == 1 {
        send(parent, Sum(num));
        return;
    }
    let me = self_pid();
    let sub = size / 10;
    for i in 0..10 {
        spawn(move || skynet(me, num + i * sub, sub));
    }
    let mut acc = 0;
    for _ in 0..10 {
        acc += receive::<Sum>().0;
    }
    send(parent, Sum(acc));
}

/// skynet: a tree of processes, 10 children per node, `size` leaves (a power
/// of 10); leaf i sends i up, every node sums its 10 children. Asserts the
/// sum. Clock: before spawning the top process → the root has the sum.
pub fn skynet_run(size: u64) -> Duration {
    let me = self_pid();
    let expected = size * (size - 1) / 2;
    let t0 = Instant::now();
    spawn(move || skynet(me, 0, size));
    let sum = match receive_timeout::<Sum>(stall()) {
        Some(Sum(s)) => s,
        None => stuck(&format!("skynet({size}): no sum")),
    };
    let elapsed = timed(t0);
    assert_eq!(sum, expected, "skynet({size}) computed a wrong sum");
    elapsed
}

/// ping_pong: the bench process sends `Ping(self)` to B, B answers `Pong`;
/// `n` round trips. Clock: the `n` round trips (B is spawned before).
pub fn ping_pong(n: usize) -> Duration {
    let b = spawn(|| loop {
        match receive::<PongMsg>() {
            PongMsg::Ping(from) => send(from, Pong),
            PongMsg::Stop => return,
        }
    });
    let me = self_pid();
    let t0 = Instant::now();
    for _ in 0..n {
        send(b, PongMsg::Ping(me));
        receive::<Pong>();
    }
    let elapsed = timed(t0);
    send(b, PongMsg::Stop);
    elapsed
}

fn ring_node(next: Pid, root: Pid) {
    loop {
        match receive::<RingMsg>() {
            RingMsg::Token(1) => send(root, RingDone),
            RingMsg::Token(h) => send(next, RingMsg::Token(h - 1)),
            RingMsg::Next(_) => unreachable!("a ring node is closed once"),
            RingMsg::Stop => return,
        }
    }
}

/// A ring of processes, built once, through which tokens can be passed
/// several times (criterion re-uses it across iterations).
pub struct Ring {
    first: Pid,
    nodes: Vec<Pid>,
}

impl Ring {
    /// Builds a ring of `n` processes (not timed): node k forwards to node
    /// k−1, node 1 to the first, the first to the last — as in the peers.
    pub fn build(n: usize) -> Ring {
        assert!(n >= 2);
        let root = self_pid();
        let first = spawn(move || match receive::<RingMsg>() {
            RingMsg::Next(next) => {
                send(root, RingReady);
                ring_node(next, root)
            }
            _ => unreachable!("the first node is closed before any token"),
        });
        let mut nodes = Vec::with_capacity(n);
        nodes.push(first);
        let mut next = first;
        for _ in 1..n {
            let to = next;
            next = spawn(move || ring_node(to, root));
            nodes.push(next);
        }
        send(first, RingMsg::Next(next));
        collect::<RingReady>(1, &format!("ring of {n}: ready"));
        Ring { first, nodes }
    }

    /// Passes one token `hops` hops. Clock: token injected → last hop
    /// reported.
    pub fn pass(&self, hops: u64) -> Duration {
        let t0 = Instant::now();
        send(self.first, RingMsg::Token(hops));
        receive::<RingDone>();
        timed(t0)
    }

    /// Stops every node and waits until they are gone.
    pub fn stop(self, keep: usize) {
        for &p in &self.nodes {
            send(p, RingMsg::Stop);
        }
        wait_processes(keep);
    }
}

/// ring: a ring of `n` processes, one token `n * laps` hops. Clock: token
/// injected → last hop reported (building the ring is not timed).
pub fn ring(n: usize, laps: u64) -> Duration {
    let keep = stats().processes;
    let ring = Ring::build(n);
    let d = ring.pass(n as u64 * laps);
    ring.stop(keep);
    d
}

fn chain(root: Pid, k: usize) {
    if k == 0 {
        send(root, Tail(self_pid()));
    } else {
        spawn_link(move || chain(root, k - 1));
    }
    receive::<Stop>();
}

/// exit_cascade: a chain of `n` processes, process k spawns and links to
/// process k+1, nobody traps exits; the bench monitors the tail. Clock:
/// `head.exit(Kill)` → the tail's `Down`. Building the chain is not timed.
pub fn exit_cascade(n: usize) -> Duration {
    assert!(n >= 1);
    let root = self_pid();
    let keep = stats().processes;
    // The head is monitored during set-up so that a chain that dies while
    // being built (e.g. a process that got no stack) is reported, not waited for.
    let (head, head_mon) = spawn_monitor(move || chain(root, n - 1));
    enum Setup {
        Tail(Pid),
        HeadDown(Reason),
    }
    let tail = match Select::new()
        .on(|Tail(t): Tail| Setup::Tail(t))
        .on_if(|d: &Down| d.monitor == head_mon, |d: Down| Setup::HeadDown(d.reason))
        .after(stall(), || stuck(&format!("exit_cascade({n}): building the chain")))
        .wait()
    {
        Setup::Tail(t) => t,
        Setup::HeadDown(reason) => panic!("exit_cascade({n}): the chain died while being built: {reason:?}"),
    };
    let m = monitor(tail);
    let t0 = Instant::now();
    head.exit(Reason::Kill);
    let down = receive_if(|d: &Down| d.monitor == m);
    let elapsed = timed(t0);
    assert_ne!(down.reason, Reason::NoProc, "exit_cascade: the tail was already dead");
    // The head's own Down (from the set-up monitor), then wait for the
    // whole chain to be gone before the next iteration.
    let _ = receive_if(|d: &Down| d.monitor == head_mon);
    wait_processes(keep);
    elapsed
}

/// monitor_down: `n` processes pre-spawned and waiting in receive (not
/// timed); for each, sequentially: monitor, send stop, receive its `Down`.
/// Clock: the `n` operations.
pub fn monitor_down(n: usize) -> Duration {
    let keep = stats().processes;
    let mut pids = Vec::with_capacity(n);
    spawn_idle(n, &mut pids, &format!("monitor_down({n}): set-up"));
    let t0 = Instant::now();
    for &p in &pids {
        let m = monitor(p);
        send(p, Stop);
        receive_if(|d: &Down| d.monitor == m);
    }
    let elapsed = timed(t0);
    wait_processes(keep);
    elapsed
}

/// Result of [`mem_idle`].
#[derive(Clone, Debug)]
pub struct MemIdle {
    pub n: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    pub pte_before: u64,
    pub pte_after: u64,
    pub maps_before: usize,
    pub maps_after: usize,
    pub stats_before: ember::RuntimeStats,
    pub stats_after: ember::RuntimeStats,
    /// Time to spawn the N processes and receive their N readies.
    pub spawn_time: Duration,
    /// Time to stop them all (Stop to each, until the runtime counts none).
    pub release_time: Duration,
    pub rss_released: u64,
}

impl MemIdle {
    /// RSS delta per process in bytes.
    pub fn rss_per_proc(&self) -> f64 {
        (self.rss_after as f64 - self.rss_before as f64) / self.n as f64
    }
    /// Page-table delta per process in bytes.
    pub fn pte_per_proc(&self) -> f64 {
        (self.pte_after as f64 - self.pte_before as f64) / self.n as f64
    }
}

/// mem_idle: `n` processes blocked in receive. RSS (VmRSS) and page tables
/// (VmPTE) of this OS process before and after; the bench's own list of
/// their pids is allocated and touched before the first snapshot, so it is
/// not counted (the peers keep no pids). Each process sends `Ready` just
/// before its receive; after the n readies the bench settles for 200 ms.
/// Then the processes are stopped (timed separately).
pub fn mem_idle(n: usize) -> MemIdle {
    let keep = stats().processes;
    let mut pids: Vec<Pid> = vec![ember::Pid::UNDEFINED; n];
    pids.clear();
    settle();
    let stats_before = stats();
    let (rss_before, pte_before, maps_before) = (proc_status_bytes("VmRSS"), proc_status_bytes("VmPTE"), map_count());
    let t0 = Instant::now();
    spawn_idle(n, &mut pids, &format!("mem_idle({n}): waiting for the readies"));
    let spawn_time = t0.elapsed();
    settle();
    let stats_after = stats();
    let (rss_after, pte_after, maps_after) = (proc_status_bytes("VmRSS"), proc_status_bytes("VmPTE"), map_count());
    let t1 = Instant::now();
    stop_all(&pids, keep);
    let release_time = t1.elapsed();
    let rss_released = proc_status_bytes("VmRSS");
    MemIdle {
        n,
        rss_before,
        rss_after,
        pte_before,
        pte_after,
        maps_before,
        maps_after,
        stats_before,
        stats_after,
        spawn_time,
        release_time,
        rss_released,
    }
}

/// 200 ms for the last processes to suspend and the machine to settle.
fn settle() {
    let _ = receive_timeout::<Never>(Duration::from_millis(200));
}
