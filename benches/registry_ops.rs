//! Registry operations under criterion: a lookup (1 and 8 partitions, from
//! 1 and 2 processes), a register + unregister, and a GenServer call through
//! a via name vs. through a pid. The side-by-side figures with Elixir come
//! from `registry_peers`.
//!
//! ```text
//! cargo bench --bench registry_ops
//! ```

mod registry_workloads;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ember::gen_server::Server;
use ember::registry::Options;
use ember::Runtime;
use registry_workloads::*;
use std::sync::OnceLock;
use std::time::Duration;

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

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("registry_lookup");
    g.throughput(Throughput::Elements(1)).measurement_time(Duration::from_secs(3));
    for partitions in [1, 8] {
        let fixture = run(move || populate(&format!("CritLookup{partitions}"), partitions));
        for lookers in [1, 2] {
            let r = fixture.reg.clone();
            g.bench_function(format!("p{partitions}_{lookers}proc"), |b| {
                b.iter_custom(|iters| {
                    let r = r.clone();
                    // Per lookup: total time / total lookups, so a 2-process
                    // figure below the 1-process one means scaling.
                    run(move || lookups(&r, lookers, iters.max(1))) / lookers as u32
                })
            });
        }
        run(move || teardown(fixture));
    }
    g.finish();
}

fn register_unregister_bench(c: &mut Criterion) {
    let fixture = run(|| start_registry::<u64, ()>(Options::unique("CritRegister")));
    let mut g = c.benchmark_group("registry_write");
    g.throughput(Throughput::Elements(1)).measurement_time(Duration::from_secs(3));
    let r = fixture.reg.clone();
    g.bench_function("register_unregister", |b| {
        b.iter_custom(|iters| {
            let r = r.clone();
            run(move || register_unregister(&r, iters))
        })
    });
    g.finish();
    run(move || teardown(fixture));
}

fn via_vs_pid(c: &mut Criterion) {
    let (fixture, server) = run(|| call_setup("CritCall"));
    let mut g = c.benchmark_group("gen_server_call");
    g.throughput(Throughput::Elements(1)).measurement_time(Duration::from_secs(3));
    let via = Server::<Counter>::new(fixture.reg.via("server"));
    let by_pid = Server::<Counter>::new(server.pid().expect("running"));
    for (name, s) in [("via_call", via), ("pid_call", by_pid)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let s = s.clone();
                run(move || calls(&s, iters))
            })
        });
    }
    g.finish();
    run(move || call_teardown(fixture, server));
}

criterion_group!(benches, lookup, register_unregister_bench, via_vs_pid);
criterion_main!(benches);
