//! The registry workloads of `benches/peers/README.md` ("Registry"), shared
//! by `registry_peers` (the `RESULT` lines) and `registry_ops` (criterion).
//!
//! Every function runs inside an Ember process and returns the measured
//! duration; set-up and tear-down are not timed.
#![allow(dead_code)]

use ember::gen_server::{self, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
use ember::registry::{Options, Registry};
use ember::{receive, receive_if, self_pid, send, spawn, spawn_monitor, Down, Pid, Reason};
use std::time::{Duration, Instant};

/// Registered processes (and keys `0..KEYS`) of the lookup workloads.
pub const KEYS: u64 = 10_000;
/// Size of the pre-generated table of random keys.
pub const TABLE: usize = 65_536;

/// The registry of the lookup and register workloads.
pub type Reg = Registry<u64, ()>;

/// A table of `TABLE` random keys in `0..KEYS` (xorshift, fixed seed), so
/// that random number generation is not measured.
pub fn random_keys(seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..TABLE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % KEYS
        })
        .collect()
}

struct Registered;
struct Stop;
struct Go;
struct Done(Duration, u64);
struct Started<K, V>(Registry<K, V>);

/// A running registry, started by a keeper process (its parent), so that it
/// outlives the process that set the benchmark up.
pub struct Fixture<K, V> {
    /// The registry.
    pub reg: Registry<K, V>,
    keeper: Pid,
    holders: Vec<Pid>,
}

/// Starts a registry under a keeper process.
pub fn start_registry<K, V>(options: Options) -> Fixture<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let me = self_pid();
    let keeper = spawn(move || {
        let reg = Registry::<K, V>::start_link(options).expect("start the registry");
        send(me, Started(reg));
        receive::<Stop>();
    });
    let Started(reg) = receive::<Started<K, V>>();
    Fixture { reg, keeper, holders: Vec::new() }
}

/// Stops the registry (its keeper exits; the registered processes, linked
/// to the partitions, go with it) and waits until it is gone.
pub fn teardown<K, V>(fixture: Fixture<K, V>)
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let top = fixture.reg.pid().expect("the registry runs");
    let m = ember::monitor(top);
    send(fixture.keeper, Stop);
    let _ = receive_if(|d: &Down| d.monitor == m);
    drop(fixture.holders);
}

/// Starts a registry with `partitions` and `KEYS` processes, process `i`
/// holding unique key `i`.
pub fn populate(name: &str, partitions: usize) -> Fixture<u64, ()> {
    let mut fixture = start_registry::<u64, ()>(Options::unique(name).partitions(partitions));
    let reg = fixture.reg.clone();
    let me = self_pid();
    let holders: Vec<Pid> = (0..KEYS)
        .map(|i| {
            let r = reg.clone();
            spawn(move || {
                r.register(i, ()).expect("register");
                send(me, Registered);
                receive::<Stop>();
            })
        })
        .collect();
    for _ in 0..KEYS {
        receive::<Registered>();
    }
    fixture.holders = holders;
    fixture
}

/// `lookers` processes each do `per_looker` lookups of random keys at the
/// same time. Clock: all released → all done. Returns the elapsed time.
pub fn lookups(reg: &Reg, lookers: usize, per_looker: u64) -> Duration {
    let me = self_pid();
    let pids: Vec<(Pid, ember::Ref)> = (0..lookers)
        .map(|j| {
            let r = reg.clone();
            spawn_monitor(move || {
                let keys = random_keys(0x2545_F491_4F6C_DD1D ^ (j as u64 + 1));
                receive::<Go>();
                let t0 = Instant::now();
                let mut hits = 0u64;
                for n in 0..per_looker as usize {
                    hits += r.lookup(&keys[n & (TABLE - 1)]).expect("lookup").len() as u64;
                }
                send(me, Done(t0.elapsed(), hits));
            })
        })
        .collect();
    let t0 = Instant::now();
    for (pid, _) in &pids {
        send(*pid, Go);
    }
    let mut hits = 0;
    for _ in 0..lookers {
        let Done(_, h) = receive::<Done>();
        hits += h;
    }
    let elapsed = t0.elapsed();
    assert_eq!(hits, lookers as u64 * per_looker, "every lookup finds its key");
    for (_, m) in pids {
        let _ = receive_if(|d: &Down| d.monitor == m);
    }
    elapsed
}

/// One process registers then unregisters a fresh key, `n` times.
pub fn register_unregister(reg: &Reg, n: u64) -> Duration {
    let t0 = Instant::now();
    for i in 0..n {
        reg.register(KEYS + i, ()).expect("register");
        reg.unregister(&(KEYS + i)).expect("unregister");
    }
    t0.elapsed()
}

/// The server of the call workloads: a counter.
pub struct Counter(u64);

impl GenServer for Counter {
    type Arg = ();
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::Ok(Counter(0))
    }

    fn handle_call(&mut self, _: (), _from: ReplyTo<u64>) -> CallResult<Self> {
        self.0 += 1;
        CallResult::Reply(self.0)
    }
}

/// A registry and a counter registered in it as `"server"` (not linked:
/// it lives until stopped).
pub fn call_setup(name: &str) -> (Fixture<&'static str, ()>, Server<Counter>) {
    let fixture = start_registry::<&'static str, ()>(Options::unique(name));
    let server = gen_server::start::<Counter>((), StartOptions::new().name(fixture.reg.via("server"))).expect("start");
    (fixture, server)
}

/// Stops the counter, then the registry.
pub fn call_teardown(fixture: Fixture<&'static str, ()>, server: Server<Counter>) {
    server.stop(Reason::Normal, None).expect("stop the counter");
    teardown(fixture);
}

/// `n` calls through `server`.
pub fn calls(server: &Server<Counter>, n: u64) -> Duration {
    let t0 = Instant::now();
    for _ in 0..n {
        server.call(()).expect("call");
    }
    t0.elapsed()
}
