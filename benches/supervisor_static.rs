//! Start and shut down a supervisor with 10,000 and with 100,000 static
//! GenServer children (`sup_static_100k`: with children found by id and pid
//! in O(1), the 100,000-child run should cost about ten times the
//! 10,000-child one).
//!
//! Measured inside a process with `Instant`: `Supervisor::start_link`
//! (children started one at a time, in order) until it returns, then
//! `Supervisor::stop` (children stopped one at a time, in reverse order)
//! until the supervisor is gone. Building the child specs is not timed. A warm run's split is printed first; criterion then measures
//! start + shutdown together with `iter_custom`.
//!
//! ```text
//! cargo bench --bench supervisor_static
//! ```

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use ember::gen_server::{GenServer, Init};
use ember::supervisor::{ChildSpec, Supervisor, SupervisorOptions};
use ember::{stats, trap_exit, Reason, Runtime};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A child that does nothing.
struct Idle;

impl GenServer for Idle {
    type Arg = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::Ok(Idle)
    }
}

fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default());
        Runtime::new().expect("start the runtime")
    })
}

fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    rt().block_on(f).unwrap_or_else(|reason| panic!("bench process failed: {reason:?}"))
}

/// One start + shutdown of `n` children: (start time, shutdown time).
fn start_and_shut_down(n: usize) -> (Duration, Duration) {
    trap_exit(true);
    let children: Vec<ChildSpec> = (0..n).map(|i| ChildSpec::gen_server::<Idle>(()).id_as(i)).collect();
    let t0 = Instant::now();
    let sup = Supervisor::start_link(children, SupervisorOptions::one_for_one()).expect("start the supervisor");
    let t1 = Instant::now();
    sup.stop(Reason::Shutdown, None).expect("stop the supervisor");
    let t2 = Instant::now();
    assert_eq!(stats().processes, 1);
    (t1 - t0, t2 - t1)
}

fn static_children(c: &mut Criterion) {
    for (n, name) in [(10_000, "start_shutdown_10k_children"), (100_000, "sup_static_100k")] {
        // The first run also grows the stack pool; the printed split is the
        // second one's, with warm stacks.
        run(move || start_and_shut_down(n));
        let (start, stop) = run(move || start_and_shut_down(n));
        println!(
            "supervisor with {n} static children (warm): start {:.2} ms, shut down {:.2} ms, total {:.2} ms",
            start.as_secs_f64() * 1e3,
            stop.as_secs_f64() * 1e3,
            (start + stop).as_secs_f64() * 1e3,
        );

        let mut g = c.benchmark_group("supervisor");
        g.sample_size(10).sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(5));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                run(move || {
                    (0..iters)
                        .map(|_| {
                            let (start, stop) = start_and_shut_down(n);
                            start + stop
                        })
                        .sum()
                })
            })
        });
        g.finish();
    }
}

criterion_group!(benches, static_children);
criterion_main!(benches);
