//! The `Counter` GenServer of the DynamicSupervisor docs (seed
//! `000_dd1c1614bbb045f6.txt`):
//!
//! ```elixir
//! defmodule Counter do
//!   use GenServer
//!   def start_link(initial), do: GenServer.start_link(__MODULE__, initial)
//!   def inc(pid), do: GenServer.call(pid, :inc)
//!   def init(initial), do: {:ok, initial}
//!   def handle_call(:inc, _, count), do: {:reply, count, count + 1}
//! end
//! ```
//!
//! `inc` replies with the count *before* incrementing it.
//!
//! ```sh
//! cargo run --example counter
//! ```

use ember::prelude::*;
use ember::Dest;

/// A counter: `inc` returns the current count and adds one.
pub struct Counter(i64);

/// The one request a counter serves (Elixir's `:inc`).
pub struct Inc;

impl GenServer for Counter {
    type Arg = i64;
    type Call = Inc;
    type Reply = i64;
    type Cast = ();
    type Continue = ();

    fn init(initial: i64) -> Init<Self> {
        Init::Ok(Counter(initial))
    }

    fn handle_call(&mut self, _inc: Inc, _from: ReplyTo<i64>) -> CallResult<Self> {
        let count = self.0;
        self.0 += 1;
        CallResult::Reply(count)
    }
}

impl Counter {
    /// `Counter.start_link(initial)`.
    pub fn start_link(initial: i64) -> Result<Server<Counter>, StartError> {
        ember::gen_server::start_link::<Counter>(initial, StartOptions::new())
    }

    /// `Counter.inc(pid)`.
    pub fn inc(counter: impl Into<Dest>) -> i64 {
        Server::<Counter>::new(counter).call(Inc).expect("the counter is running")
    }
}

/// `use GenServer` gives a child spec: `{Counter, 0}` is `Counter::child_spec(0)`.
impl Child for Counter {}

#[allow(dead_code)]
fn main() {
    ember::run(|| {
        let counter = Counter::start_link(0).unwrap();
        let pid = counter.pid().unwrap();
        println!("{{:ok, counter}} = Counter.start_link(0)   # {pid}");
        println!("Counter.inc(counter)  #=> {}", Counter::inc(pid));
        println!("Counter.inc(counter)  #=> {}", Counter::inc(pid));
        println!("Counter.inc(counter)  #=> {}", Counter::inc(pid));
        assert_eq!(Counter::inc(pid), 3);
    })
    .unwrap();
}
