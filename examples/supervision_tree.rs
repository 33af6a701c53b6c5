//! The demo: a supervision tree of two levels, started from `main`.
//!
//! ```text
//! root                 Supervisor, one_for_one
//! ├── calculator       GenServer: a running total; crashes on input that is not a number
//! └── flaky_sup        Supervisor, one_for_one, gives up after 2 restarts within 5 s
//!     └── flaky        GenServer that we crash on purpose
//! ```
//!
//! Watch the calculator crash on bad input and come back with a fresh total,
//! then `flaky` crash three times in a row: its supervisor gives up (it exits
//! with `shutdown`) and `root` restarts the whole subtree.
//!
//! The lines starting with `|` are the runtime's and the supervisors'
//! reports (through `tracing`: crash reports, "child terminated", "started",
//! "caused shutdown"); the others are the narration.
//!
//! ```text
//! cargo run --example supervision_tree
//! ```

use ember::prelude::*;
use ember::supervisor::ChildPid;

/// Adds numbers it receives as text. `"banana"` is a bug waiting to happen.
struct Calculator {
    total: i64,
}

enum CalcCall {
    /// Add a number given as text; replies with the new total.
    Add(String),
}

impl GenServer for Calculator {
    type Arg = ();
    type Call = CalcCall;
    type Reply = i64;
    type Cast = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        println!("    [calculator {}] started, total = 0", self_pid());
        Init::Ok(Calculator { total: 0 })
    }

    fn handle_call(&mut self, CalcCall::Add(text): CalcCall, _from: ReplyTo<i64>) -> CallResult<Self> {
        // No error handling: bad input crashes the process, and only it.
        let n: i64 = text.parse().expect("not a number");
        self.total += n;
        CallResult::Reply(self.total)
    }
}

/// A worker that crashes when asked to.
struct Flaky;

impl GenServer for Flaky {
    type Arg = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        println!("    [flaky {}] started", self_pid());
        Init::Ok(Flaky)
    }

    fn handle_call(&mut self, _: (), _from: ReplyTo<()>) -> CallResult<Self> {
        panic!("flaky crashed on purpose");
    }
}

fn main() {
    // Show the reports (crashes, restarts, give-ups), one line each.
    tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).event_format(report::OneLine).init();

    ember::run(|| {
        println!("== starting the tree from main");
        let flaky_sup = Supervisor::child_spec(
            "flaky_sup",
            vec![ChildSpec::gen_server_opts::<Flaky>((), StartOptions::new().name("flaky")).id_as("flaky")],
            SupervisorOptions::one_for_one().max_restarts(2).max_seconds(5).name("flaky_sup"),
        );
        let calculator =
            ChildSpec::gen_server_opts::<Calculator>((), StartOptions::new().name("calculator")).id_as("calculator");
        let root = Supervisor::start_link(vec![calculator, flaky_sup], SupervisorOptions::one_for_one().name("root"))
            .expect("start the tree");
        print_children("root", &root);

        println!("\n== the calculator keeps a running total");
        let calc: Server<Calculator> = Server::new("calculator");
        for input in ["5", "10"] {
            println!("add {input:>6} -> total {}", calc.call(CalcCall::Add(input.into())).unwrap());
        }

        println!("\n== bad input crashes it");
        match calc.call(CalcCall::Add("banana".into())) {
            Ok(total) => println!("add banana -> {total} (?)"),
            Err(e) => println!("add banana -> error: {e}"),
        }
        // Requests to a supervisor are served in order: once root answers,
        // it has handled the crash and restarted the calculator.
        print_children("root", &root);
        println!("add      1 -> total {}   (fresh state: the old total died with the old process)", {
            calc.call(CalcCall::Add("1".into())).unwrap()
        });

        println!("\n== flaky crashes three times in a row; flaky_sup allows 2 restarts in 5 s");
        let flaky: Server<Flaky> = Server::new("flaky");
        let old_sup = whereis("flaky_sup").expect("flaky_sup runs");
        let watch = monitor(old_sup);
        for round in 1..=3 {
            println!("crash #{round}: {}", flaky.call(()).unwrap_err());
            if round < 3 {
                // Barrier: flaky_sup has restarted flaky when it answers.
                Supervisor::new("flaky_sup").count_children().unwrap();
            }
        }
        let down: Down = receive_if(move |d: &Down| d.monitor == watch);
        println!("flaky_sup gave up and exited with reason `{:?}`", down.reason);

        // root handled flaky_sup's exit before answering: it restarted the subtree.
        print_children("root", &root);
        let new_sup = whereis("flaky_sup").expect("root restarted flaky_sup");
        println!("flaky_sup is back as {new_sup} (was {old_sup}), and flaky under it:");
        print_children("flaky_sup", &Supervisor::new("flaky_sup"));

        println!("\n== stopping the tree (children stop in reverse start order)");
        // `normal`: we are linked to root and do not trap exits, and any other
        // reason would travel the link and end this process too.
        root.stop(Reason::Normal, None).unwrap();
        println!("done: {} process left (this one)", ember::stats().processes);
    })
    .expect("the demo failed");
}

fn print_children(name: &str, sup: &Supervisor) {
    for child in sup.which_children().unwrap().iter().rev() {
        let state = match child.pid {
            ChildPid::Running(pid) => format!("running as {pid}"),
            other => format!("{other:?}"),
        };
        println!("  {name} / {:<10} {:?}, {state}", child.id.as_ref().unwrap().as_str(), child.kind);
    }
}

/// A compact format for the reports: level and message only (the structured
/// fields repeat what the message says).
mod report {
    use std::fmt;
    use tracing::field::{Field, Visit};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
    use tracing_subscriber::fmt::FmtContext;
    use tracing_subscriber::registry::LookupSpan;

    pub struct OneLine;

    impl<S, N> FormatEvent<S, N> for OneLine
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: format::Writer<'_>, event: &Event<'_>) -> fmt::Result {
            struct Message(String);
            impl Visit for Message {
                fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut message = Message(String::new());
            event.record(&mut message);
            writeln!(w, "      | {:<5} {}", event.metadata().level(), message.0)
        }
    }
}
