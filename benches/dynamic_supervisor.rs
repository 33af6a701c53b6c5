//! Criterion benchmarks of the DynamicSupervisor and PartitionSupervisor:
//!
//! * `dynsup/start_child` — one caller, one supervisor, hibernated GenServer
//!   children (throughput per child);
//! * `dynsup/shutdown/10k` — stopping a supervisor with 10,000 hibernated
//!   children;
//! * `dynsup/two_callers/{single,partitioned}` — two concurrent callers
//!   starting children through one DynamicSupervisor, or through a
//!   2-partition PartitionSupervisor (caller k with key k).
//!
//! The full-size workloads with the peers' output format are in
//! `dynamic_workloads.rs`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ember::gen_server::{self, GenServer, Init, Next, StartOptions};
use ember::supervisor::{
    via_partition, ChildSpec, DynamicSupervisor, DynamicSupervisorOptions, PartitionSupervisor,
    PartitionSupervisorOptions,
};
use ember::{receive, self_pid, send, spawn, Dest, Pid, Reason, Runtime};
use std::time::{Duration, Instant};

struct HibWorker;

impl GenServer for HibWorker {
    type Arg = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::OkThen(HibWorker, Next::Hibernate)
    }
}

fn spec() -> ChildSpec {
    ChildSpec::new("worker", || gen_server::start_link::<HibWorker>((), StartOptions::new()))
}

fn start_n(sup: &Dest, spec: &ChildSpec, n: u64) {
    for _ in 0..n {
        DynamicSupervisor::start_child(sup.clone(), spec.clone()).unwrap();
    }
}

/// Two callers start `per` children each, caller i through `targets[i]`.
fn two_callers(targets: [Dest; 2], per: u64) -> Duration {
    struct Go;
    struct Done;
    let root = self_pid();
    let callers: Vec<Pid> = targets
        .into_iter()
        .map(|target| {
            spawn(move || {
                let spec = spec();
                let Go = receive();
                start_n(&target, &spec, per);
                send(root, Done);
            })
        })
        .collect();
    let t0 = Instant::now();
    for &c in &callers {
        send(c, Go);
    }
    for _ in 0..2 {
        let Done = receive();
    }
    t0.elapsed()
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut group = c.benchmark_group("dynsup");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));

    group.throughput(Throughput::Elements(1));
    group.bench_function("start_child", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
                let spec = spec();
                let t0 = Instant::now();
                start_n(&sup.into(), &spec, iters);
                let elapsed = t0.elapsed();
                DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
                elapsed
            })
            .unwrap()
        })
    });

    group.throughput(Throughput::Elements(10_000));
    group.bench_function("shutdown/10k", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
                    start_n(&sup.into(), &spec(), 10_000);
                    let t0 = Instant::now();
                    DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
                    total += t0.elapsed();
                }
                total
            })
            .unwrap()
        })
    });

    const PER: u64 = 5_000;
    group.throughput(Throughput::Elements(2 * PER));
    group.bench_function("two_callers/single", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
                    total += two_callers([sup.into(), sup.into()], PER);
                    DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
                }
                total
            })
            .unwrap()
        })
    });
    group.bench_function("two_callers/partitioned", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dynsup = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new());
                    let options = PartitionSupervisorOptions::new("bench_partitions", dynsup).partitions(2);
                    PartitionSupervisor::start_link(options).unwrap();
                    total +=
                        two_callers([via_partition("bench_partitions", 0), via_partition("bench_partitions", 1)], PER);
                    PartitionSupervisor::stop("bench_partitions", Reason::Normal).unwrap();
                }
                total
            })
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(dynamic, benches);
criterion_main!(dynamic);
