//! Restart latency of a one_for_one supervisor: from the crash of a named
//! GenServer child to its successor registered under the same name.
//!
//! The bench process kills the child (`exit(pid, kill)`) and takes an
//! `Instant` just before; the new child takes one in its `init`, which runs
//! after the name is registered, and sends it back. 10,000 crashes (after
//! 1,000 for warm-up) give the median and the p99, printed first; criterion
//! then measures the mean with `iter_custom`. Reports are off (no tracing
//! subscriber), as the BEAM figures it is compared with are taken with
//! logging off.
//!
//! A second series uses a child that hibernates after `init`: it holds no
//! stack, so the kill does not have to unwind one. The difference between
//! the two series is the cost of killing a process suspended in `receive`
//! (its coroutine is unwound), not of the supervisor.
//!
//! ```text
//! cargo bench --bench supervisor_restart
//! ```

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use ember::gen_server::{GenServer, Init, Next, StartOptions};
use ember::supervisor::{ChildSpec, Supervisor, SupervisorOptions};
use ember::{receive, self_pid, send, trap_exit, whereis, Pid, Reason, Runtime};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const NAME: &str = "restart_target";
const CRASHES: usize = 10_000;
const WARM_UP: usize = 1_000;

/// The new child is up: when (taken in its `init`) and who.
struct Up(Instant, Pid);

/// The supervised child: reports its start, then waits to be killed.
struct Target;

impl GenServer for Target {
    /// Who to tell, and whether to hibernate after `init`.
    type Arg = (Pid, bool);
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();

    fn init((observer, hibernate): (Pid, bool)) -> Init<Self> {
        send(observer, Up(Instant::now(), self_pid()));
        if hibernate {
            Init::OkThen(Target, Next::Hibernate)
        } else {
            Init::Ok(Target)
        }
    }
}

fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // Reports and crash reports off.
        let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default());
        Runtime::new().expect("start the runtime")
    })
}

fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    rt().block_on(f).unwrap_or_else(|reason| panic!("bench process failed: {reason:?}"))
}

/// Crashes the child `warm_up + n` times; the latencies of the last `n`.
fn crashes(n: usize, warm_up: usize, hibernate: bool) -> Vec<Duration> {
    trap_exit(true);
    let me = self_pid();
    let spec = ChildSpec::gen_server_opts::<Target>((me, hibernate), StartOptions::new().name(NAME));
    let sup =
        Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one().max_restarts(u32::MAX).max_seconds(1))
            .expect("start the supervisor");
    let Up(_, mut pid) = receive();
    let mut samples = Vec::with_capacity(n);
    for i in 0..warm_up + n {
        let t0 = Instant::now();
        pid.exit(Reason::Kill);
        let Up(t1, new) = receive();
        pid = new;
        if i >= warm_up {
            samples.push(t1 - t0);
        }
    }
    assert_eq!(whereis(NAME), Some(pid));
    sup.stop(Reason::Shutdown, None).expect("stop the supervisor");
    samples
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn print(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "supervisor restart latency, {label}, {CRASHES} crashes: median {:.2} µs, p99 {:.2} µs (mean {:.2} µs, max {:.2} µs)",
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6,
        samples.last().unwrap().as_secs_f64() * 1e6,
    );
}

fn restart_latency(c: &mut Criterion) {
    print("child waiting in receive", run(|| crashes(CRASHES, WARM_UP, false)));
    print("child hibernated", run(|| crashes(CRASHES, WARM_UP, true)));

    let mut g = c.benchmark_group("supervisor");
    g.sample_size(20).sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(5));
    g.bench_function("restart_latency", |b| {
        b.iter_custom(|iters| run(move || crashes(iters as usize, 0, false).into_iter().sum()))
    });
    g.bench_function("restart_latency_hibernated_child", |b| {
        b.iter_custom(|iters| run(move || crashes(iters as usize, 0, true).into_iter().sum()))
    });
    g.finish();
}

criterion_group!(benches, restart_latency);
criterion_main!(benches);
