//! An Ember node that Erlang talks to: `beam_interop NODE COOKIE`.
//!
//! ```sh
//! cargo run --example beam_interop -- ember@localhost secret
//! ```
//!
//! and, once it prints `ready`, from a shell (`epmd` runs already: the
//! example registers with it):
//!
//! ```sh
//! erl -sname client@localhost -setcookie secret -noshell -eval "N = 'ember@localhost', pong = net_adm:ping(N), {echo, N} ! {self(), hello}, receive R -> io:format(\"~p~n\", [R]) end, io:format(\"~p ~p~n\", [gen_server:call({counter, N}, increment), gen_server:call({counter, N}, increment)]), halt()."
//! ```
//!
//! which prints `{echo,<12345.96.0>,hello}` and `1 2`.
//!
//! The protocol, fixed so that any Erlang client can check it:
//!
//! * `echo`, registered: on `{From, Term}` it replies `{echo, EchoPid, Term}`
//!   to `From`; on `{From, crash}` it panics, so links and monitors see an
//!   abnormal exit, and its supervisor restarts it under the same name;
//! * `counter`, a GenServer: `gen_server:call({counter, Node}, increment)`
//!   returns 1, then 2, and so on;
//! * the line `ready` is printed once both names are registered and the node
//!   accepts connections.

use ember::dist::node::Node;
use ember::dist::{Cookie, Term};
use ember::prelude::*;
use serde::{Deserialize, Serialize};

/// What Erlang may call the counter with: the atom `increment`.
#[derive(Deserialize)]
enum CounterCall {
    Increment,
}

/// The reply: a bare integer.
#[derive(Serialize)]
struct Count(i64);

struct Counter(i64);

impl GenServer for Counter {
    type Arg = ();
    type Call = CounterCall;
    type Reply = Count;
    type Cast = ();
    type Continue = ();

    fn init(_: ()) -> Init<Self> {
        Init::Ok(Counter(0))
    }

    fn handle_call(&mut self, CounterCall::Increment: CounterCall, _from: ReplyTo<Count>) -> CallResult<Self> {
        self.0 += 1;
        CallResult::Reply(Count(self.0))
    }
}

/// The echo process: answers `{From, Term}`, panics on `{From, crash}`.
fn echo(node: Node) {
    let me = Term::Pid(node.dist_pid(self_pid()).expect("a local pid"));
    loop {
        let msg: Term = receive();
        let Some([Term::Pid(from), body]) = msg.as_tuple() else { continue };
        if body == &Term::atom("crash") {
            panic!("echo: asked to crash by {from}");
        }
        send(node.pid(from), Term::tuple(vec![Term::atom("echo"), me.clone(), body.clone()]));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(cookie)) = (args.next(), args.next()) else {
        eprintln!("usage: beam_interop NODE COOKIE   (for example: beam_interop ember@localhost secret)");
        std::process::exit(2);
    };
    ember::run(move || {
        let node = match Node::start(&name, Cookie::new(&cookie)) {
            Ok(node) => node,
            Err(e) => {
                eprintln!("beam_interop: cannot start {name}: {e}");
                std::process::exit(1);
            }
        };
        let echo_node = node.clone();
        let echo_spec = ChildSpec::new("echo", move || {
            let node = echo_node.clone();
            let pid = spawn_link(move || echo(node));
            // Registered by the starter, so the name is there once the
            // supervisor has started the child.
            register("echo", pid).map(|()| pid).map_err(|e| StartError::Failed(Reason::custom(e.to_string())))
        });
        let counter_spec =
            ChildSpec::gen_server_opts::<Counter>((), StartOptions::new().name("counter")).id_as("counter");
        let _sup = Supervisor::start_link(vec![echo_spec, counter_spec], SupervisorOptions::one_for_one())
            .expect("the supervisor starts");
        node.expose::<Counter>("counter");
        println!("ready");
        // Serve until killed.
        receive::<()>();
    })
    .unwrap();
}
