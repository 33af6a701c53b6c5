//! A small node to look at with `ember-top`: a supervision tree, served on
//! the observer (with write access, so kills can be tried).
//!
//! ```text
//! observed             Supervisor, one_for_one
//! ├── growing          a process whose mailbox grows by about 100 messages a second
//! ├── feeder           sends `growing` 10 messages every 100 ms
//! ├── parked           holds exactly 7 messages it will never take
//! ├── counter          a GenServer, called 10 times a second by `ticker`
//! ├── ticker
//! └── crash_sup        Supervisor, one_for_one
//!     └── crash_loop   crashes every second and is restarted
//! ```
//!
//! ```text
//! cargo run -p ember-observer --example observed [ADDR]
//! cargo run -p ember-observer --bin ember-top -- ADDR
//! ```
//!
//! `ADDR` defaults to a Unix socket in the temporary directory; the example
//! prints `observer on ADDR` once it listens, and runs until interrupted
//! (or for `--for SECS`).

use ember::observer::{serve_with, Access};
use ember::prelude::*;
use ember::supervisor::SupervisorOptions as Options;
use std::time::{Duration, Instant};

struct Counter(u64);

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

/// A child that labels itself and runs `body`, linked to its supervisor.
fn labelled(label: &'static str, body: fn()) -> ChildSpec {
    ChildSpec::new(label, move || {
        spawn_link(move || {
            ember::set_label(label);
            body()
        })
    })
}

fn growing() {
    // Waits for something that never comes: every `u64` stays queued.
    receive::<()>();
}

fn feeder() {
    let growing = loop {
        match whereis("growing") {
            Some(pid) => break pid,
            None => sleep(Duration::from_millis(10)),
        }
    };
    let mut n = 0u64;
    loop {
        for _ in 0..10 {
            send(growing, n);
            n += 1;
        }
        sleep(Duration::from_millis(100));
    }
}

fn parked() {
    // Its 7 messages were queued by whoever started it.
    receive::<()>();
}

fn ticker() {
    let counter: Server<Counter> = Server::new("counter");
    loop {
        let _ = counter.call(());
        sleep(Duration::from_millis(100));
    }
}

fn crash_loop() {
    sleep(Duration::from_secs(1));
    panic!("crash_loop crashes every second, on purpose");
}

fn main() {
    let mut addr = None;
    let mut run_for = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--for" => run_for = args.next().and_then(|s| s.parse::<f64>().ok()).map(Duration::from_secs_f64),
            other => addr = Some(other.to_string()),
        }
    }
    let addr = addr.unwrap_or_else(|| {
        let path = std::env::temp_dir().join(format!("ember-observed-{}.sock", std::process::id()));
        format!("unix:{}", path.display())
    });
    let result = ember::run(move || {
        let crash_sup = Supervisor::child_spec(
            "crash_sup",
            vec![labelled("crash_loop", crash_loop)],
            // Restarted every second, for ever: well within 10 in 5 s.
            Options::one_for_one().max_restarts(10).max_seconds(5),
        );
        let growing = ChildSpec::new("growing", || {
            spawn_link(|| {
                ember::set_label("growing");
                register("growing", self_pid()).expect("one growing");
                growing()
            })
        });
        // Queued before its start returns, so the mailbox holds 7 from the
        // first snapshot on.
        let parked = ChildSpec::new("parked", || {
            let pid = spawn_link(|| {
                ember::set_label("parked");
                parked()
            });
            for i in 0..7u32 {
                send(pid, i);
            }
            pid
        });
        let children = vec![
            growing,
            labelled("feeder", feeder),
            parked,
            ChildSpec::gen_server_opts::<Counter>((), StartOptions::new().name("counter")).id_as("counter"),
            labelled("ticker", ticker),
            crash_sup,
        ];
        let _root = Supervisor::start_link(children, Options::one_for_one().name("observed")).expect("the tree starts");
        let observer = serve_with(&addr, Access::ReadWrite).expect("the observer listens");
        println!("observer on {}", observer.addr());
        let started = Instant::now();
        loop {
            sleep(Duration::from_millis(200));
            if run_for.is_some_and(|d| started.elapsed() >= d) {
                observer.stop();
                return;
            }
        }
    });
    if let Err(reason) = result {
        eprintln!("observed: the node ended: {reason:?}");
        std::process::exit(1);
    }
}
