//! The GenServers of the peers' behaviour workloads, shared by the bench
//! binaries that start them.

use ember::gen_server::{CallResult, GenServer, Init, Next, ReplyTo};

/// The peers' counter / `Worker`: `init(n) -> {ok, n}`,
/// `handle_call(get, _, n) -> {reply, n, n + 1}`.
pub struct Counter(u64);

impl GenServer for Counter {
    type Arg = u64;
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Continue = ();
    fn init(n: u64) -> Init<Self> {
        Init::Ok(Counter(n))
    }
    fn handle_call(&mut self, _get: (), _from: ReplyTo<u64>) -> CallResult<Self> {
        self.0 += 1;
        CallResult::Reply(self.0 - 1)
    }
}

/// The peers' hibernated server / `HibWorker`: `init(n) -> {ok, n, hibernate}`.
pub struct Hibernated(#[allow(dead_code)] u64);

impl GenServer for Hibernated {
    type Arg = u64;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(n: u64) -> Init<Self> {
        Init::OkThen(Hibernated(n), Next::Hibernate)
    }
}
