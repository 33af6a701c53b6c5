//! Process priorities: how long a process woken from outside the runtime
//! waits for its worker while that worker's normal queue is loaded.
//!
//! | group | benchmark | measured |
//! |---|---|---|
//! | `wake_latency` | `high`, `normal` | a plain thread sends → the process runs |
//!
//! Every worker runs [`BUSY_PER_WORKER`] normal processes that compute for
//! about [`SLICE`] and yield, forever: a full turn of a worker's queue is
//! about a millisecond. A responder at the measured priority, pinned to a
//! worker (it has run), waits for an `Instant` sent from the bench thread
//! and reports how long ago it was sent; only that is timed (the bench
//! thread first waits, untimed, until the responder waits). A `normal`
//! responder waits for the queue ahead of it; a `high` one for the slice in
//! progress only.
//!
//! ```text
//! cargo bench --bench priority
//! ```

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use ember::{Priority, Runtime, SpawnOptions};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Busy normal processes per worker.
const BUSY_PER_WORKER: usize = 100;
/// Work between two yields of a busy process.
const SLICE: Duration = Duration::from_micros(10);

/// A runtime whose normal queues never empty, and a responder at `priority`.
struct Loaded {
    rt: Runtime,
    stop: Arc<AtomicBool>,
    responder: ember::Pid,
    latencies: mpsc::Receiver<Duration>,
}

impl Loaded {
    fn start(priority: Priority) -> Loaded {
        let rt = Runtime::new().expect("start the runtime");
        let stop = Arc::new(AtomicBool::new(false));
        let workers = rt.stats().schedulers;
        for _ in 0..workers * BUSY_PER_WORKER {
            let stop = stop.clone();
            rt.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    while start.elapsed() < SLICE {
                        black_box(start);
                    }
                    ember::yield_now();
                }
            })
            .expect("spawn a busy process");
        }
        let (tx, latencies) = mpsc::channel();
        let responder = rt
            .block_on(move || {
                let (pid, _) = ember::spawn_opt(
                    move || loop {
                        let sent = ember::receive::<Instant>();
                        let _ = tx.send(sent.elapsed());
                    },
                    SpawnOptions::new().priority(priority),
                );
                pid
            })
            .expect("spawn the responder");
        let loaded = Loaded { rt, stop, responder, latencies };
        loaded.sample(); // it has run: pinned to its worker from now on
        loaded
    }

    /// One wake-up's latency. Untimed first: the responder must be waiting
    /// (a message that reaches it while it still runs is no wake-up).
    fn sample(&self) -> Duration {
        let bound = Instant::now() + Duration::from_secs(10);
        while ember::process_info(self.responder).map(|i| i.status) != Some(ember::Status::Waiting) {
            assert!(Instant::now() < bound, "the responder never waits");
            std::thread::yield_now();
        }
        ember::send(self.responder, Instant::now());
        self.latencies.recv_timeout(Duration::from_secs(10)).expect("the responder answers")
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.responder.exit(ember::Reason::Kill);
        let _ = &self.rt;
    }
}

fn wake_latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("wake_latency");
    g.sample_size(10).sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(3));
    for (name, priority) in [("high", Priority::High), ("normal", Priority::Normal)] {
        let loaded = Loaded::start(priority);
        g.bench_function(name, |b| b.iter_custom(|iters| (0..iters).map(|_| loaded.sample()).sum()));
    }
    g.finish();
}

criterion_group!(benches, wake_latency);
criterion_main!(benches);
