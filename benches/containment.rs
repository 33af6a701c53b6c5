//! Timers while a worker is held (issue 12.7): one or two processes compute
//! for 3 s without a runtime call, on the default 2 schedulers, beside a
//! ping-pong pair that keeps the other worker busy. 100 sleepers each loop on
//! a 10 ms wait for the whole time and record how late each wake-up is; the
//! workload reports the worst lateness over all of them (and the 99th
//! percentile). The target is a worst lateness under 50 ms.
//!
//! Three kinds of sleeper, because a held worker delays exactly the
//! processes pinned to it (see `runtime/src/scheduler/sysmon.rs` and
//! `docs/architecture.md`):
//!
//! * `genserver`: a GenServer ticking on `send_after` (the idiomatic OTP
//!   shape). Between messages it waits at a safe point, so it floats and any
//!   unheld worker (or a spare) runs it.
//! * `floating`: a plain loop on `sleep`, spawned with the `unsafe`
//!   `SpawnOptions::free_migration` opt-in (its closure holds no
//!   thread-bound state).
//! * `plain`: a plain loop on `sleep`. A started plain process is pinned to
//!   its thread: those that started on the hog's worker wait for the hog.
//!
//! ```text
//! cargo bench --bench containment                       # every workload
//! cargo bench --bench containment -- hog_1_genserver    # one
//! RESULT hog_1_genserver_worst ember <ms> ms
//! RESULT hog_1_genserver_p99 ember <ms> ms
//! ```

mod common;

use common::cli::{self, comment, result, Ctx, Workload};
use ember::gen_server::{self, Action, CallResult, GenServer, Info, Init, ReplyTo, StartOptions};
use ember::{receive, self_pid, send, send_after, sleep, spawn, spawn_opt, Pid, SpawnOptions};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKLOADS: &[Workload] = &[
    ("hog_0_plain", hogs),
    ("hog_1_genserver", hogs),
    ("hog_1_floating", hogs),
    ("hog_1_plain", hogs),
    ("hog_2_genserver", hogs),
    ("hog_2_floating", hogs),
    ("hog_2_plain", hogs),
];

const SLEEPERS: usize = 100;
const TICK: Duration = Duration::from_millis(10);
const HOG: Duration = Duration::from_secs(3);
/// The sleepers run a little longer than the hogs.
const RUN: Duration = Duration::from_millis(3_500);

/// A sleeper's lateness samples, in microseconds.
struct Lateness(Vec<u32>);

struct Tick;

/// The GenServer sleeper: re-arms a 10 ms timer on every tick.
struct Ticker {
    root: Pid,
    until: Instant,
    due: Instant,
    late: Vec<u32>,
}

impl GenServer for Ticker {
    type Arg = (Pid, Instant);
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();

    fn init((root, until): (Pid, Instant)) -> Init<Self> {
        send_after(self_pid(), Tick, TICK);
        Init::Ok(Ticker { root, until, due: Instant::now() + TICK, late: Vec::new() })
    }

    fn handle_call(&mut self, _: (), _from: ReplyTo<()>) -> CallResult<Self> {
        CallResult::Reply(())
    }

    fn handle_info(&mut self, message: Info) -> Action<()> {
        if !message.is::<Tick>() {
            return Action::NoReply;
        }
        let now = Instant::now();
        self.late.push(now.saturating_duration_since(self.due).as_micros() as u32);
        if now >= self.until {
            send(self.root, Lateness(std::mem::take(&mut self.late)));
            return Action::Stop(ember::Reason::Normal);
        }
        self.due = now + TICK;
        send_after(self_pid(), Tick, TICK);
        Action::NoReply
    }
}

/// The plain sleeper's loop.
fn sleep_loop(root: Pid, until: Instant) {
    let mut late = Vec::new();
    loop {
        let due = Instant::now() + TICK;
        sleep(TICK);
        let now = Instant::now();
        late.push(now.saturating_duration_since(due).as_micros() as u32);
        if now >= until {
            break;
        }
    }
    send(root, Lateness(late));
}

/// Computes for `HOG` without a runtime call.
fn hog() {
    let t0 = Instant::now();
    let mut x = 0u64;
    while t0.elapsed() < HOG {
        for _ in 0..1_000 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    black_box(x);
}

/// Two processes bouncing a message until `stop` is set.
fn ping_pong(stop: Arc<AtomicBool>) {
    let pong = spawn(|| loop {
        let (from, n): (Pid, u64) = receive();
        if n == u64::MAX {
            return;
        }
        send(from, n);
    });
    let me = self_pid();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        send(pong, (me, n));
        n = receive::<u64>() + 1;
    }
    send(pong, (me, u64::MAX));
}

fn hogs(ctx: &Ctx, w: &str) {
    let hogs: usize = w["hog_".len()..][..1].parse().expect("hog_N_kind");
    let kind = w.rsplit('_').next().unwrap_or("plain").to_string();
    let mut samples = ctx.block_on(w, move || {
        let root = self_pid();
        let until = Instant::now() + RUN;
        for _ in 0..SLEEPERS {
            match kind.as_str() {
                "genserver" => {
                    gen_server::start::<Ticker>((root, until), StartOptions::new()).expect("a ticker starts");
                }
                "floating" => {
                    // SAFETY: the closure and `sleep_loop` hold no
                    // thread-bound state across a suspension.
                    let options = unsafe { SpawnOptions::new().free_migration() };
                    spawn_opt(move || sleep_loop(root, until), options);
                }
                _ => {
                    spawn(move || sleep_loop(root, until));
                }
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        {
            let stop = stop.clone();
            spawn(move || ping_pong(stop));
        }
        for _ in 0..hogs {
            spawn(hog);
        }
        let mut all = Vec::new();
        for _ in 0..SLEEPERS {
            all.extend(receive::<Lateness>().0);
        }
        stop.store(true, Ordering::Relaxed);
        all
    });
    samples.sort_unstable();
    let ms = |us: u32| us as f64 / 1e3;
    let worst = samples.last().copied().unwrap_or(0);
    let p99 = samples[samples.len() * 99 / 100];
    let over = samples.iter().filter(|&&us| us >= 50_000).count();
    comment(&format!(
        "{w} ember: {hogs} hog(s) of {HOG:?}, {SLEEPERS} sleepers x {TICK:?}: {} wake-ups, median {:.2} ms late, \
         p99 {:.2} ms, worst {:.2} ms, {over} at 50 ms or more",
        samples.len(),
        ms(samples[samples.len() / 2]),
        ms(p99),
        ms(worst)
    ));
    result(&format!("{w}_worst"), ms(worst), "ms");
    result(&format!("{w}_p99"), ms(p99), "ms");
}

fn main() {
    cli::main(WORKLOADS);
}
