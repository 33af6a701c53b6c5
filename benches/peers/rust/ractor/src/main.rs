//! The ractor peer of Ember's benchmarks: the GenServer and supervisor
//! workloads with ractor's actors on tokio's multi-thread runtime (default
//! settings), ractor's default features, and for restart latency the
//! OTP-style one_for_one `Supervisor` of the `ractor-supervisor` crate
//! (ractor itself only delivers supervision events; restart intensity,
//! restart policies and child specs are that crate's).
//!
//! ```text
//! ember_peers_ractor [--quick] all | list | WORKLOAD...
//! ```
//!
//! The workloads, clocks and units are the ones of `../../README.md`
//! ("gen_server / GenServer", "Memory", "Supervisors"); an actor is the
//! GenServer, `call!` is `gen_server:call`. The callers and the bench
//! itself are tokio tasks (a ractor call is made from any task), and every
//! workload body is a spawned task of a fresh runtime, awaited by
//! `block_on`.

use ember_peers_common::{self as common, on_runtime, rate, Ctx, MemSnapshot, Workload};
use ractor::{call, Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr};
use ractor_supervisor::{
    ChildSpec, Restart, SpawnFn, Supervisor, SupervisorArguments, SupervisorOptions, SupervisorStrategy,
};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const WORKLOADS: &[Workload] = &[
    ("genserver_call_1", genserver_call_1),
    ("genserver_call_100", genserver_call_100),
    ("mem_hibernated_genserver_1m", mem_idle_actors),
    ("restart_latency", restart_latency),
];

// ---------------------------------------------------------------- actors

/// The peers' counter: `handle_call(get, _, n) -> {reply, n, n + 1}`.
struct Counter;

/// `get`, with the port of its reply.
enum CounterMsg {
    Get(RpcReplyPort<u64>),
}

impl Actor for Counter {
    type Msg = CounterMsg;
    type State = u64;
    type Arguments = u64;

    async fn pre_start(&self, _me: ActorRef<CounterMsg>, n: u64) -> Result<u64, ActorProcessingErr> {
        Ok(n)
    }

    async fn handle(&self, _me: ActorRef<CounterMsg>, msg: CounterMsg, n: &mut u64) -> Result<(), ActorProcessingErr> {
        match msg {
            CounterMsg::Get(reply) => {
                let _ = reply.send(*n);
                *n += 1;
            }
        }
        Ok(())
    }
}

/// The peers' idle server (`HibWorker`): holds its number, does nothing.
/// ractor has no hibernation: an idle actor is its task parked on its
/// channels.
struct Idle;

impl Actor for Idle {
    type Msg = ();
    type State = u64;
    type Arguments = u64;

    async fn pre_start(&self, _me: ActorRef<()>, n: u64) -> Result<u64, ActorProcessingErr> {
        Ok(n)
    }
}

/// The supervised child of `restart_latency`: its `pre_start` (after its
/// name is registered) tells the bench, then it waits.
struct RestartChild;

/// `{started, Pid}`
struct Started(ActorRef<()>);

impl Actor for RestartChild {
    type Msg = ();
    type State = ();
    type Arguments = mpsc::UnboundedSender<Started>;

    async fn pre_start(
        &self,
        me: ActorRef<()>,
        bench: mpsc::UnboundedSender<Started>,
    ) -> Result<(), ActorProcessingErr> {
        let _ = bench.send(Started(me));
        Ok(())
    }
}

// ---------------------------------------------------------------- calls

async fn call_n(server: &ActorRef<CounterMsg>, n: u64) {
    for _ in 0..n {
        call!(server, CounterMsg::Get).expect("a call to the counter");
    }
}

/// `callers` caller tasks × `per_caller` calls to one counter. Clock: before
/// spawning the callers → all have reported completion (with one caller:
/// the calls). Returns the time and the counter's next reply (the number of
/// calls it served).
async fn calls(callers: u64, per_caller: u64) -> (Duration, u64) {
    let (server, handle) = Actor::spawn(None, Counter, 0).await.expect("start the counter");
    let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
    let t0 = Instant::now();
    for _ in 0..callers {
        let (server, done_tx) = (server.clone(), done_tx.clone());
        tokio::spawn(async move {
            call_n(&server, per_caller).await;
            let _ = done_tx.send(());
        });
    }
    for _ in 0..callers {
        done.recv().await.expect("every caller completes");
    }
    let d = t0.elapsed();
    let served = call!(server, CounterMsg::Get).expect("a last call");
    server.stop(None);
    handle.await.expect("the counter stops");
    (d, served)
}

/// genserver_call_1: one caller, `n` calls. Clock: the calls.
async fn calls_1(n: u64) -> (Duration, u64) {
    let (server, handle) = Actor::spawn(None, Counter, 0).await.expect("start the counter");
    let t0 = Instant::now();
    call_n(&server, n).await;
    let d = t0.elapsed();
    let served = call!(server, CounterMsg::Get).expect("a last call");
    server.stop(None);
    handle.await.expect("the counter stops");
    (d, served)
}

fn genserver_call_1(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let (d, served) = on_runtime(calls_1(n));
    assert_eq!(served, n, "the counter served every call");
    ctx.result(w, rate(n, d), "calls/s");
}

/// genserver_call_100: 100 caller tasks × 10,000 calls.
fn genserver_call_100(ctx: &Ctx, w: &str) {
    const CALLERS: u64 = 100;
    let per_caller = ctx.sz(10_000);
    let (d, served) = on_runtime(calls(CALLERS, per_caller));
    assert_eq!(served, CALLERS * per_caller, "the counter served every call");
    ctx.result(w, rate(CALLERS * per_caller, d), "calls/s");
}

// ---------------------------------------------------------------- memory

/// 200 ms for the last actors to park and the machine to settle; then until
/// tokio's injection queue is empty (the part of the run queues that stable
/// tokio shows).
async fn settle() {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if tokio::runtime::Handle::current().metrics().global_queue_depth() == 0 {
            return;
        }
    }
}

/// mem_hibernated_genserver_1m: `n` unsupervised actors started one by one
/// with `Actor::spawn` (which returns after `pre_start`, as `gen_server:start`
/// returns after `init`); the bench keeps neither their refs nor their join
/// handles. Value: VmRSS (and VmPTE) delta / n.
async fn idle_actors(n: u64) -> (MemSnapshot, MemSnapshot, Duration) {
    settle().await;
    let before = MemSnapshot::now();
    let t0 = Instant::now();
    for i in 0..n {
        Actor::spawn(None, Idle, i).await.expect("start an idle actor");
    }
    let start_time = t0.elapsed();
    settle().await;
    (before, MemSnapshot::now(), start_time)
}

fn mem_idle_actors(ctx: &Ctx, w: &str) {
    let n = ctx.sz(1_000_000);
    let (before, after, start_time) = on_runtime(idle_actors(n));
    let extra = format!(", start {:.1} ms ({:.0} actors/s)", start_time.as_secs_f64() * 1e3, rate(n, start_time));
    common::report_mem(ctx, w, n, before, after, &extra);
}

// ---------------------------------------------------------------- supervisors

const CHILD: &str = "restart_latency_child";

/// restart_latency: a one_for_one supervisor allowing 1,000,000 restarts in
/// 1 s, with one permanent child registered under a name (ractor-supervisor
/// requires names and registers them in ractor's registry), whose
/// `pre_start` tells the bench. `n` times: t0; kill the child; receive the
/// new child's `Started`; t1.
async fn restart_loop(n: usize) -> Vec<f64> {
    let (bench, mut started) = mpsc::unbounded_channel::<Started>();
    let spawn_fn = SpawnFn::new(move |sup: ActorCell, id: String| {
        let bench = bench.clone();
        async move {
            let (child, _) = Supervisor::spawn_linked(id, RestartChild, bench, sup).await?;
            Ok::<ActorCell, SpawnErr>(child.get_cell())
        }
    });
    let child_spec =
        ChildSpec { id: CHILD.into(), restart: Restart::Permanent, spawn_fn, backoff_fn: None, reset_after: None };
    let options = SupervisorOptions {
        strategy: SupervisorStrategy::OneForOne,
        max_restarts: 1_000_000,
        max_window: Duration::from_secs(1),
        reset_after: None,
    };
    let args = SupervisorArguments { child_specs: vec![child_spec], options };
    let (sup, sup_handle) = Supervisor::spawn("restart_latency_sup".into(), args).await.expect("start the supervisor");
    let Started(mut child) = started.recv().await.expect("the first child");
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        child.kill();
        let Started(new) = started.recv().await.expect("a restarted child");
        lat.push(t0.elapsed().as_secs_f64() * 1e6);
        child = new;
    }
    let registered = ractor::registry::where_is(CHILD).map(|c| c.get_id());
    assert_eq!(registered, Some(child.get_id()), "the last child is registered under its name");
    sup.stop(None);
    sup_handle.await.expect("the supervisor stops");
    lat
}

fn restart_latency(ctx: &Ctx, w: &str) {
    let n = ctx.sz(10_000) as usize;
    let lat = on_runtime(restart_loop(n));
    common::report_restart_latency(ctx, w, &lat);
}

fn main() {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let banner = format!(
        "ractor on tokio runtime=multi_thread (Runtime::new, defaults) workers={workers}; ractor default features; \
         restart_latency: ractor-supervisor Supervisor"
    );
    common::main("ractor", WORKLOADS, &banner, String::new);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_serves_every_call() {
        assert_eq!(on_runtime(calls_1(100)).1, 100);
        assert_eq!(on_runtime(calls(10, 50)).1, 500);
    }

    #[test]
    fn a_killed_child_is_restarted_under_its_name() {
        // restart_loop asserts that the last child is the registered one.
        assert_eq!(on_runtime(restart_loop(20)).len(), 20);
    }

    #[test]
    fn idle_actors_are_started() {
        let (before, after, _) = on_runtime(idle_actors(100));
        assert!(before.rss > 0 && after.rss > 0);
    }
}
