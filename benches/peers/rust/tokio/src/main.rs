//! The tokio peer of Ember's benchmarks: tasks and `tokio::sync` channels on
//! the multi-thread runtime with its default settings (`Runtime::new()`: one
//! worker per CPU, the LIFO slot, the default budget).
//!
//! ```text
//! ember_peers_tokio [--quick] all | list | WORKLOAD...
//! ```
//!
//! The workloads, clocks and units are the ones of `../../README.md`
//! ("Process core", "Memory"); a task is the process. The shapes a tokio
//! user writes:
//!
//! * a process's mailbox is an `mpsc::unbounded_channel` (Ember's and the
//!   BEAM's mailboxes are unbounded too, and `send` is not an `.await`);
//! * a reply is a `oneshot` (the tokio tutorial's request/reply: the
//!   request carries the reply's sender, as `{ping, From}` carries `From`);
//! * every workload body is a spawned task of a fresh runtime, awaited by
//!   `block_on` (as Ember's body is a process and Go's is a goroutine: the
//!   main thread is not one of tokio's workers).

use ember_peers_common::{self as common, on_runtime, rate, Ctx, MemSnapshot, Workload};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

const WORKLOADS: &[Workload] = &[
    ("spawn_1m", spawn_1m),
    ("skynet_1m", skynet_1m),
    ("ping_pong", ping_pong),
    ("ring_1000x10000", ring_w),
    ("ring_10000x1000", ring_w),
    ("mem_idle_100k", mem_idle_w),
    ("mem_idle_1m", mem_idle_w),
];

/// spawn_1m: the root spawns `n` tasks; each sends one message to the
/// root's mailbox and ends; the root receives all `n`. Clock: before the
/// first spawn → after the last message.
async fn spawn_n(n: u64) -> Duration {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let t0 = Instant::now();
    for _ in 0..n {
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(());
        });
    }
    for _ in 0..n {
        rx.recv().await.expect("a message from every task");
    }
    t0.elapsed()
}

fn spawn_1m(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let d = on_runtime(spawn_n(n));
    ctx.result(w, rate(n, d), "procs/s");
}

/// A skynet node: a leaf sends its number to its parent; a node spawns 10
/// children with its own mailbox, sums their 10 replies and sends the sum
/// up. Boxed because a recursive `async fn` that spawns itself has a type
/// that contains itself (the Rust book's remedy).
fn skynet(parent: mpsc::UnboundedSender<u64>, num: u64, size: u64) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if size == 1 {
            let _ = parent.send(num);
            return;
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sub = size / 10;
        for i in 0..10 {
            tokio::spawn(skynet(tx.clone(), num + i * sub, sub));
        }
        let mut sum = 0;
        for _ in 0..10 {
            sum += rx.recv().await.expect("a child's sum");
        }
        let _ = parent.send(sum);
    })
}

/// skynet over `size` leaves (1,111,111 tasks for 1,000,000); clock:
/// before spawning the top node → the root has the sum, which is returned.
async fn skynet_run(size: u64) -> (Duration, u64) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let t0 = Instant::now();
    tokio::spawn(skynet(tx, 0, size));
    let sum = rx.recv().await.expect("the sum");
    (t0.elapsed(), sum)
}

fn skynet_1m(ctx: &Ctx, w: &str) {
    let size = ctx.sz(1_000_000);
    let (d, sum) = on_runtime(skynet_run(size));
    assert_eq!(sum, size * (size - 1) / 2, "skynet computed a wrong sum");
    ctx.result(w, d.as_secs_f64(), "s");
}

/// ping_pong: A (the root) sends B a ping carrying a oneshot for the
/// reply, B answers on it; `n` round trips. B is spawned before the clock.
async fn ping_pong_run(n: u64) -> Duration {
    let (b, mut inbox) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
    tokio::spawn(async move {
        while let Some(from) = inbox.recv().await {
            let _ = from.send(());
        }
    });
    let t0 = Instant::now();
    for _ in 0..n {
        let (reply, pong) = oneshot::channel();
        b.send(reply).expect("B is alive");
        pong.await.expect("a pong");
    }
    t0.elapsed()
}

fn ping_pong(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let d = on_runtime(ping_pong_run(n));
    ctx.result(w, rate(n, d), "roundtrips/s");
}

/// ring: `n` tasks, node i forwards the token (the number of hops left) to
/// node i+1's mailbox; the node doing the last hop tells the root. Building
/// the ring is not timed. Clock: token injected → last hop reported.
async fn ring(n: usize, laps: u64) -> Duration {
    let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
    let (mailboxes, inboxes): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::unbounded_channel::<u64>()).unzip();
    for (i, mut inbox) in inboxes.into_iter().enumerate() {
        let next = mailboxes[(i + 1) % n].clone();
        let done_tx = done_tx.clone();
        tokio::spawn(async move {
            while let Some(hops) = inbox.recv().await {
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
    done.recv().await.expect("the last hop");
    t0.elapsed()
}

fn ring_w(ctx: &Ctx, w: &str) {
    let (n, laps) = if w == "ring_1000x10000" { (1_000, ctx.sz(10_000)) } else { (10_000, ctx.sz(1_000)) };
    let d = on_runtime(ring(n, laps));
    ctx.result(w, rate(n as u64 * laps, d), "hops/s");
}

/// 200 ms for the last tasks to park and the machine to settle.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// mem_idle: `n` tasks, each parked in `recv` on its own mailbox. VmRSS
/// (and VmPTE) before and after / n. Every task reports ready just before
/// its `recv`; after the n readies the root settles 200 ms. The root's list
/// of the mailboxes' senders (which keeps the tasks waiting, as Ember's list
/// of pids keeps nothing) is allocated and written before the first
/// snapshot, so it is not counted.
async fn mem_idle(n: usize) -> (MemSnapshot, MemSnapshot, Duration) {
    let (placeholder, _unused) = mpsc::unbounded_channel::<()>();
    let mut mailboxes = vec![placeholder; n];
    mailboxes.clear();
    settle().await;
    let before = MemSnapshot::now();
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<()>();
    let t0 = Instant::now();
    for _ in 0..n {
        let (tx, mut inbox) = mpsc::unbounded_channel::<()>();
        let ready_tx = ready_tx.clone();
        tokio::spawn(async move {
            let _ = ready_tx.send(());
            drop(ready_tx);
            let _ = inbox.recv().await;
        });
        mailboxes.push(tx);
    }
    for _ in 0..n {
        ready.recv().await.expect("a ready from every task");
    }
    let spawn_time = t0.elapsed();
    settle().await;
    let after = MemSnapshot::now();
    (before, after, spawn_time)
}

fn mem_idle_w(ctx: &Ctx, w: &str) {
    let n = if w == "mem_idle_1m" { ctx.sz(1_000_000) } else { ctx.sz(100_000) } as usize;
    let (before, after, spawn_time) = on_runtime(mem_idle(n));
    let extra = format!(", spawn and readies {:.1} ms", spawn_time.as_secs_f64() * 1e3);
    common::report_mem(ctx, w, n as u64, before, after, &extra);
}

fn main() {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let banner = format!("runtime=multi_thread (Runtime::new, defaults) workers={workers}");
    common::main("tokio", WORKLOADS, &banner, String::new);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_reports_and_skynet_sums() {
        on_runtime(spawn_n(1_000));
        let (_, sum) = on_runtime(skynet_run(1_000));
        assert_eq!(sum, 499_500);
    }

    #[test]
    fn round_trips_and_rings_complete() {
        on_runtime(ping_pong_run(100));
        on_runtime(ring(10, 3));
        on_runtime(ring(2, 1));
    }

    #[test]
    fn idle_tasks_are_counted_after_their_readies() {
        let (before, after, _) = on_runtime(mem_idle(1_000));
        assert!(before.rss > 0 && after.rss > 0);
    }
}
