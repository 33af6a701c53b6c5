//! The may peer of Ember's benchmarks: stackful coroutines (`may::go!`) and
//! `may::sync::mpsc` channels, with may's default configuration (one worker
//! per CPU, pinned; 32 KiB stacks, i.e. 0x1000 words; a pool of 1,000
//! cached coroutines).
//!
//! ```text
//! ember_peers_may [--quick] all | list | WORKLOAD...
//! ```
//!
//! The workloads, clocks and units are the ones of `../../README.md`
//! ("Process core", "Memory"); a coroutine is the process, written as
//! blocking code like an Ember process or a goroutine:
//!
//! * a process's mailbox is a `may::sync::mpsc::channel` (unbounded);
//! * a reply goes to the channel the request names (`{ping, From}`);
//! * every workload body runs in a coroutine, joined by the main thread.
//!
//! Every coroutine stack is an mmap of its own with a guard page: two
//! memory maps per live coroutine, so the kernel's default
//! `vm.max_map_count` (65,530) bounds a process to about 32,000 live
//! coroutines. A workload that needs more fails with may's "failed to
//! alloc sys stack"; the failure line says what the limit is and how to
//! raise it.

use ember_peers_common::{self as common, max_map_count, rate, Ctx, MemSnapshot, Workload};
use may::go;
use may::sync::mpsc;
use std::time::{Duration, Instant};

const WORKLOADS: &[Workload] = &[
    ("spawn_1m", spawn_1m),
    ("skynet_1m", skynet_1m),
    ("ping_pong", ping_pong),
    ("ring_1000x10000", ring_w),
    ("ring_10000x1000", ring_w),
    ("mem_idle_100k", mem_idle_w),
    ("mem_idle_1m", mem_idle_w),
];

/// Runs `body` in a coroutine and returns its result.
fn in_coroutine<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    go!(body).join().expect("the workload coroutine")
}

/// spawn_1m: the root spawns `n` coroutines; each sends one message to the
/// root's mailbox and ends; the root receives all `n`. Clock: before the
/// first spawn → after the last message.
fn spawn_n(n: u64) -> Duration {
    let (tx, rx) = mpsc::channel::<()>();
    let t0 = Instant::now();
    for _ in 0..n {
        let tx = tx.clone();
        go!(move || {
            let _ = tx.send(());
        });
    }
    for _ in 0..n {
        rx.recv().expect("a message from every coroutine");
    }
    t0.elapsed()
}

fn spawn_1m(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let d = in_coroutine(move || spawn_n(n));
    ctx.result(w, rate(n, d), "procs/s");
}

/// A skynet node: a leaf sends its number to its parent; a node spawns 10
/// children with its own mailbox, sums their 10 replies and sends the sum up.
fn skynet(parent: mpsc::Sender<u64>, num: u64, size: u64) {
    if size == 1 {
        let _ = parent.send(num);
        return;
    }
    let (tx, rx) = mpsc::channel();
    let sub = size / 10;
    for i in 0..10 {
        let tx = tx.clone();
        go!(move || skynet(tx, num + i * sub, sub));
    }
    let sum: u64 = (0..10).map(|_| rx.recv().expect("a child's sum")).sum();
    let _ = parent.send(sum);
}

/// skynet over `size` leaves (1,111,111 coroutines for 1,000,000); clock:
/// before spawning the top node → the root has the sum, which is returned.
fn skynet_run(size: u64) -> (Duration, u64) {
    let (tx, rx) = mpsc::channel();
    let t0 = Instant::now();
    go!(move || skynet(tx, 0, size));
    let sum = rx.recv().expect("the sum");
    (t0.elapsed(), sum)
}

fn skynet_1m(ctx: &Ctx, w: &str) {
    let size = ctx.sz(1_000_000);
    let (d, sum) = in_coroutine(move || skynet_run(size));
    assert_eq!(sum, size * (size - 1) / 2, "skynet computed a wrong sum");
    ctx.result(w, d.as_secs_f64(), "s");
}

/// ping_pong: A (the root) sends B a ping naming A's mailbox, B answers
/// there; `n` round trips. B is spawned before the clock.
fn ping_pong_run(n: u64) -> Duration {
    let (b, inbox) = mpsc::channel::<mpsc::Sender<()>>();
    go!(move || {
        while let Ok(from) = inbox.recv() {
            let _ = from.send(());
        }
    });
    let (me, pongs) = mpsc::channel::<()>();
    let t0 = Instant::now();
    for _ in 0..n {
        b.send(me.clone()).expect("B is alive");
        pongs.recv().expect("a pong");
    }
    t0.elapsed()
}

fn ping_pong(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let d = in_coroutine(move || ping_pong_run(n));
    ctx.result(w, rate(n, d), "roundtrips/s");
}

/// ring: `n` coroutines, node i forwards the token (the number of hops
/// left) to node i+1's mailbox; the node doing the last hop tells the root.
/// Building the ring is not timed. Clock: token injected → last hop reported.
fn ring(n: usize, laps: u64) -> Duration {
    let (done_tx, done) = mpsc::channel::<()>();
    let (mailboxes, inboxes): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel::<u64>()).unzip();
    for (i, inbox) in inboxes.into_iter().enumerate() {
        let next = mailboxes[(i + 1) % n].clone();
        let done_tx = done_tx.clone();
        go!(move || {
            while let Ok(hops) = inbox.recv() {
                if hops == 1 {
                    let _ = done_tx.send(());
                } else {
                    let _ = next.send(hops - 1);
                }
            }
        });
    }
    let hops = n as u64 * laps;
    let t0 = Instant::now();
    mailboxes[0].send(hops).expect("the first node is alive");
    done.recv().expect("the last hop");
    t0.elapsed()
}

fn ring_w(ctx: &Ctx, w: &str) {
    let (n, laps) = if w == "ring_1000x10000" { (1_000, ctx.sz(10_000)) } else { (10_000, ctx.sz(1_000)) };
    let d = in_coroutine(move || ring(n, laps));
    ctx.result(w, rate(n as u64 * laps, d), "hops/s");
}

/// 200 ms for the last coroutines to park and the machine to settle.
fn settle() {
    may::coroutine::sleep(Duration::from_millis(200));
}

/// mem_idle: `n` coroutines, each blocked in `recv` on its own mailbox.
/// VmRSS (and VmPTE) before and after / n. Every coroutine reports ready
/// just before its `recv`; after the n readies the root settles 200 ms. The
/// root's list of the mailboxes' senders is allocated and written before the
/// first snapshot, so it is not counted.
fn mem_idle(n: usize) -> (MemSnapshot, MemSnapshot, Duration) {
    let (placeholder, _unused) = mpsc::channel::<()>();
    let mut mailboxes = vec![placeholder; n];
    mailboxes.clear();
    settle();
    let before = MemSnapshot::now();
    let (ready_tx, ready) = mpsc::channel::<()>();
    let t0 = Instant::now();
    for _ in 0..n {
        let (tx, inbox) = mpsc::channel::<()>();
        let ready_tx = ready_tx.clone();
        go!(move || {
            let _ = ready_tx.send(());
            drop(ready_tx);
            let _ = inbox.recv();
        });
        mailboxes.push(tx);
    }
    for _ in 0..n {
        ready.recv().expect("a ready from every coroutine");
    }
    let spawn_time = t0.elapsed();
    settle();
    let after = MemSnapshot::now();
    (before, after, spawn_time)
}

fn mem_idle_w(ctx: &Ctx, w: &str) {
    let n = if w == "mem_idle_1m" { ctx.sz(1_000_000) } else { ctx.sz(100_000) } as usize;
    let (before, after, spawn_time) = in_coroutine(move || mem_idle(n));
    let extra = format!(", spawn and readies {:.1} ms", spawn_time.as_secs_f64() * 1e3);
    common::report_mem(ctx, w, n as u64, before, after, &extra);
}

/// Appended to a failure line: the memory-map budget every coroutine stack
/// draws on.
fn map_hint() -> String {
    let (maps, max) = (common::map_count(), max_map_count());
    let mut hint = format!(" (memory maps: {maps}, vm.max_map_count: {max}");
    if maps as u64 * 10 >= max * 9 {
        hint.push_str("; a may coroutine stack takes two maps: `sysctl -w vm.max_map_count=4194304` raises the limit");
    }
    hint.push(')');
    hint
}

fn main() {
    let cfg = may::config();
    let banner = format!(
        "workers={} stack_size={} KiB pool_capacity={} (defaults) vm.max_map_count={}",
        cfg.get_workers(),
        cfg.get_stack_size() * std::mem::size_of::<usize>() / 1024,
        cfg.get_pool_capacity(),
        max_map_count()
    );
    common::main("may", WORKLOADS, &banner, map_hint);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coroutine_reports_and_skynet_sums() {
        in_coroutine(|| spawn_n(1_000));
        let (_, sum) = in_coroutine(|| skynet_run(1_000));
        assert_eq!(sum, 499_500);
    }

    #[test]
    fn round_trips_and_rings_complete() {
        in_coroutine(|| ping_pong_run(100));
        in_coroutine(|| ring(10, 3));
        in_coroutine(|| ring(2, 1));
    }

    #[test]
    fn idle_coroutines_are_counted_after_their_readies() {
        let (before, after, _) = in_coroutine(|| mem_idle(1_000));
        assert!(before.rss > 0 && after.rss > 0);
    }
}
