//! GenServer: the behaviour every supervised worker is written in.
//!
//! A server is a struct implementing [`GenServer`]. [`start_link`] spawns a
//! process that builds the struct with [`GenServer::init`] and then serves
//! messages one at a time, in mailbox order:
//!
//! | message | callback |
//! |---|---|
//! | a call (from [`Server::call`]) | [`GenServer::handle_call`] |
//! | a cast (from [`Server::cast`]) | [`GenServer::handle_cast`] |
//! | a stop request (from [`Server::stop`]) | [`GenServer::terminate`], then exit |
//! | [`Exit`](crate::Exit) from the parent, while trapping exits | [`GenServer::terminate`], then exit |
//! | anything else (including `Exit` from others and `Down`) | [`GenServer::handle_info`] |
//!
//! Each callback says what happens next: reply or not, continue with
//! [`GenServer::handle_continue`] before the next message, hibernate, wait
//! with a timeout (an idle timeout delivers [`Timeout`] to `handle_info`), or
//! stop (`terminate` runs, then the process exits with the reason).
//!
//! `terminate` runs exactly when OTP's table says (SEMANTICS.md §3.2): when a
//! callback stops or panics, on `Server::stop`, and when the parent's exit
//! signal arrives while the server traps exits — never when an exit signal
//! kills a non-trapping server, never for `Reason::Kill`, never when `init`
//! fails.
//!
//! ```
//! use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, StartOptions};
//!
//! struct Counter(i64);
//!
//! enum Request { Get, Add(i64) }
//!
//! impl GenServer for Counter {
//!     type Arg = i64;
//!     type Call = Request;
//!     type Reply = i64;
//!     type Cast = ();
//!     type Continue = ();
//!
//!     fn init(start: i64) -> Init<Self> {
//!         Init::Ok(Counter(start))
//!     }
//!
//!     fn handle_call(&mut self, request: Request, _from: ember_runtime::gen_server::ReplyTo<i64>) -> CallResult<Self> {
//!         match request {
//!             Request::Get => CallResult::Reply(self.0),
//!             Request::Add(n) => {
//!                 self.0 += n;
//!                 CallResult::Reply(self.0)
//!             }
//!         }
//!     }
//! }
//!
//! ember_runtime::run(|| {
//!     let counter = start_link::<Counter>(0, StartOptions::new()).unwrap();
//!     counter.call(Request::Add(5)).unwrap();
//!     assert_eq!(counter.call(Request::Get).unwrap(), 5);
//! })
//! .unwrap();
//! ```

mod call;
mod declare;
mod serve;
mod start;

pub use call::{reply, CallError};
pub use start::{start, start_link, AlreadyStarted, ProcessName, StartError, StartOptions, StartedProcess};

use crate::name::Dest;
use crate::pid::{Pid, Ref};
use crate::reason::Reason;
use std::any::{Any, TypeId};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// The default timeout of [`Server::call`]: 5 seconds, as in OTP.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A server behaviour. See the [module docs](self).
///
/// Only [`GenServer::init`] is required; the associated types a server does
/// not use can be left out by writing the impl inside
/// [`gen_server!`](crate::gen_server!). The defaults: `handle_call` stops
/// the server with reason `{bad_call, ..}`, `handle_cast` with `{bad_cast,
/// ..}`, `handle_info` logs the unexpected message and continues,
/// `handle_continue` continues, `terminate` does nothing.
///
/// ```
/// use ember_runtime::gen_server::{start, CallError, GenServer, Init, StartOptions};
///
/// /// Only `init`: every other callback keeps its default.
/// struct Minimal;
/// impl GenServer for Minimal {
///     type Arg = ();
///     type Call = ();
///     type Reply = ();
///     type Cast = ();
///     type Continue = ();
///     fn init(_: ()) -> Init<Self> {
///         Init::Ok(Minimal)
///     }
/// }
///
/// ember_runtime::run(|| {
///     // Not linked: the server's `bad_call` exit would take the caller along.
///     let server = start::<Minimal>((), StartOptions::new()).unwrap();
///     match server.call(()) {
///         Err(CallError::Exited(reason)) => assert!(reason.downcast_ref::<String>().unwrap().starts_with("bad_call")),
///         other => panic!("expected a bad_call exit, got {other:?}"),
///     }
/// })
/// .unwrap();
/// ```
pub trait GenServer: Sized + Send + 'static {
    /// The argument `init` receives.
    type Arg: Send + 'static;
    /// Requests served by `handle_call`.
    type Call: Send + 'static;
    /// Replies to calls.
    type Reply: Send + 'static;
    /// Requests served by `handle_cast`.
    type Cast: Send + 'static;
    /// Values passed from a callback to `handle_continue`.
    type Continue: Send + 'static;

    /// Builds the server's state, in the new process, before `start_link`
    /// returns.
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, GenServer, Init, StartError, StartOptions};
    /// use ember_runtime::Reason;
    ///
    /// struct Pool(Vec<u32>);
    /// impl GenServer for Pool {
    ///     type Arg = usize;
    ///     type Call = ();
    ///     type Reply = ();
    ///     type Cast = ();
    ///     type Continue = ();
    ///     fn init(size: usize) -> Init<Self> {
    ///         if size == 0 {
    ///             // Refuse to start; the process exits `normal`, so the link does no harm.
    ///             return Init::Error(Reason::custom("empty pool"));
    ///         }
    ///         Init::Ok(Pool(vec![0; size]))
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     assert!(start_link::<Pool>(4, StartOptions::new()).is_ok());
    ///     let err = start_link::<Pool>(0, StartOptions::new()).unwrap_err();
    ///     assert_eq!(err, StartError::Failed(Reason::custom("empty pool")));
    /// })
    /// .unwrap();
    /// ```
    fn init(arg: Self::Arg) -> Init<Self>;

    /// Serves a call. Reply now ([`CallResult::Reply`]) or later, from any
    /// process, with [`reply`] and the `from` handle ([`CallResult::NoReply`]).
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, ReplyTo, StartOptions};
    /// use ember_runtime::Reason;
    ///
    /// enum Request { Greet(&'static str), Quit }
    ///
    /// struct Greeter;
    /// impl GenServer for Greeter {
    ///     type Arg = ();
    ///     type Call = Request;
    ///     type Reply = String;
    ///     type Cast = ();
    ///     type Continue = ();
    ///     fn init(_: ()) -> Init<Self> {
    ///         Init::Ok(Greeter)
    ///     }
    ///     fn handle_call(&mut self, request: Request, _from: ReplyTo<String>) -> CallResult<Self> {
    ///         match request {
    ///             Request::Greet(name) => CallResult::Reply(format!("hello, {name}")),
    ///             // Reply, then exit `normal` (a clean reason: the link does no harm).
    ///             Request::Quit => CallResult::StopReply(Reason::Normal, "bye".into()),
    ///         }
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let greeter = start_link::<Greeter>((), StartOptions::new()).unwrap();
    ///     let watch = ember_runtime::monitor(greeter.pid().unwrap());
    ///     assert_eq!(greeter.call(Request::Greet("ember")).unwrap(), "hello, ember");
    ///     assert_eq!(greeter.call(Request::Quit).unwrap(), "bye");
    ///     let down: ember_runtime::Down = ember_runtime::receive();
    ///     assert_eq!((down.monitor, down.reason), (watch, Reason::Normal));
    /// })
    /// .unwrap();
    /// ```
    fn handle_call(&mut self, request: Self::Call, from: ReplyTo<Self::Reply>) -> CallResult<Self> {
        let _ = (request, from);
        CallResult::Stop(Reason::custom(format!("bad_call: {} has no handle_call", std::any::type_name::<Self>())))
    }

    /// Serves a cast.
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, Action, CallResult, GenServer, Init, ReplyTo, StartOptions};
    ///
    /// /// Collects log lines sent without waiting; a call reads them.
    /// struct Log(Vec<String>);
    /// impl GenServer for Log {
    ///     type Arg = ();
    ///     type Call = ();
    ///     type Reply = Vec<String>;
    ///     type Cast = String;
    ///     type Continue = ();
    ///     fn init(_: ()) -> Init<Self> {
    ///         Init::Ok(Log(Vec::new()))
    ///     }
    ///     fn handle_cast(&mut self, line: String) -> Action<()> {
    ///         self.0.push(line);
    ///         Action::NoReply
    ///     }
    ///     fn handle_call(&mut self, _: (), _from: ReplyTo<Vec<String>>) -> CallResult<Self> {
    ///         CallResult::Reply(self.0.clone())
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let log = start_link::<Log>((), StartOptions::new()).unwrap();
    ///     log.cast("started".to_string());
    ///     log.cast("ready".to_string());
    ///     // Messages from one process arrive in order: the call sees both casts.
    ///     assert_eq!(log.call(()).unwrap(), ["started", "ready"]);
    /// })
    /// .unwrap();
    /// ```
    fn handle_cast(&mut self, request: Self::Cast) -> Action<Self::Continue> {
        let _ = request;
        Action::Stop(Reason::custom(format!("bad_cast: {} has no handle_cast", std::any::type_name::<Self>())))
    }

    /// Serves any other message: plain messages sent to the server,
    /// [`Exit`](crate::Exit) (when trapping exits), [`Down`](crate::Down),
    /// and [`Timeout`] after an idle timeout.
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, Action, CallResult, GenServer, Info, Init, ReplyTo, StartOptions};
    ///
    /// /// Counts the `Tick`s sent to it as plain messages.
    /// struct Ticks(u32);
    /// struct Tick;
    /// impl GenServer for Ticks {
    ///     type Arg = ();
    ///     type Call = ();
    ///     type Reply = u32;
    ///     type Cast = ();
    ///     type Continue = ();
    ///     fn init(_: ()) -> Init<Self> {
    ///         Init::Ok(Ticks(0))
    ///     }
    ///     fn handle_info(&mut self, message: Info) -> Action<()> {
    ///         if message.is::<Tick>() {
    ///             self.0 += 1;
    ///         }
    ///         Action::NoReply
    ///     }
    ///     fn handle_call(&mut self, _: (), _from: ReplyTo<u32>) -> CallResult<Self> {
    ///         CallResult::Reply(self.0)
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let ticks = start_link::<Ticks>((), StartOptions::new()).unwrap();
    ///     let pid = ticks.pid().unwrap();
    ///     ember_runtime::send(pid, Tick);
    ///     ember_runtime::send(pid, Tick);
    ///     ember_runtime::send(pid, "ignored"); // not a Tick: counted out
    ///     assert_eq!(ticks.call(()).unwrap(), 2);
    /// })
    /// .unwrap();
    /// ```
    fn handle_info(&mut self, message: Info) -> Action<Self::Continue> {
        tracing::error!(
            target: "ember::gen_server",
            server = std::any::type_name::<Self>(),
            "{} received an unexpected message in handle_info: {:?}",
            std::any::type_name::<Self>(),
            message
        );
        Action::NoReply
    }

    /// Runs right after the callback that returned [`Next::Continue`], before
    /// any message is read.
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, Action, CallResult, GenServer, Init, Next, ReplyTo, StartOptions};
    ///
    /// /// Returns from `init` at once and loads its data afterwards, before
    /// /// serving any request.
    /// struct Catalog(Vec<&'static str>);
    /// impl GenServer for Catalog {
    ///     type Arg = ();
    ///     type Call = ();
    ///     type Reply = usize;
    ///     type Cast = ();
    ///     type Continue = &'static str;
    ///     fn init(_: ()) -> Init<Self> {
    ///         Init::OkThen(Catalog(Vec::new()), Next::Continue("load"))
    ///     }
    ///     fn handle_continue(&mut self, step: &'static str) -> Action<&'static str> {
    ///         assert_eq!(step, "load");
    ///         self.0.extend(["lamp", "desk", "chair"]);
    ///         Action::NoReply
    ///     }
    ///     fn handle_call(&mut self, _: (), _from: ReplyTo<usize>) -> CallResult<Self> {
    ///         CallResult::Reply(self.0.len())
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let catalog = start_link::<Catalog>((), StartOptions::new()).unwrap();
    ///     assert_eq!(catalog.call(()).unwrap(), 3); // loaded before the first call
    /// })
    /// .unwrap();
    /// ```
    fn handle_continue(&mut self, value: Self::Continue) -> Action<Self::Continue> {
        let _ = value;
        Action::NoReply
    }

    /// Runs when the server stops (see the module docs for exactly when).
    /// Its return is ignored; if it panics, the panic becomes the exit reason.
    ///
    /// ```
    /// use ember_runtime::gen_server::{start, GenServer, Init, StartOptions};
    /// use ember_runtime::{receive, self_pid, send, Pid, Reason};
    ///
    /// /// Tells `owner` why it stopped.
    /// struct Session { owner: Pid }
    /// impl GenServer for Session {
    ///     type Arg = Pid;
    ///     type Call = ();
    ///     type Reply = ();
    ///     type Cast = ();
    ///     type Continue = ();
    ///     fn init(owner: Pid) -> Init<Self> {
    ///         Init::Ok(Session { owner })
    ///     }
    ///     fn terminate(&mut self, reason: &Reason) {
    ///         send(self.owner, reason.clone());
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     // Not linked: a `Shutdown` exit signal would stop the caller too.
    ///     let session = start::<Session>(self_pid(), StartOptions::new()).unwrap();
    ///     session.stop(Reason::Shutdown, None).unwrap();
    ///     assert_eq!(receive::<Reason>(), Reason::Shutdown);
    /// })
    /// .unwrap();
    /// ```
    fn terminate(&mut self, reason: &Reason) {
        let _ = reason;
    }

    /// What the terminate report shows of the state (OTP's
    /// `format_status`). The default, `None`, shows nothing: a state may
    /// hold secrets, and a report must not leak them unasked. Return
    /// `Some(self)` from a `Debug` state to show it all, or a part of it.
    ///
    /// ```
    /// use ember_runtime::gen_server::{GenServer, Init};
    /// use std::fmt::Debug;
    ///
    /// #[derive(Debug)]
    /// struct Account { owner: String, balance: i64 }
    ///
    /// impl GenServer for Account {
    ///     type Arg = String;
    ///     type Call = ();
    ///     type Reply = ();
    ///     type Cast = ();
    ///     type Continue = ();
    ///     fn init(owner: String) -> Init<Self> {
    ///         Init::Ok(Account { owner, balance: 0 })
    ///     }
    ///     /// Reports show the owner, never the balance.
    ///     fn format_status(&self) -> Option<&dyn Debug> {
    ///         Some(&self.owner)
    ///     }
    /// }
    ///
    /// let account = Account { owner: "ada".into(), balance: 10 };
    /// assert_eq!(format!("{:?}", account.format_status().unwrap()), "\"ada\"");
    /// ```
    fn format_status(&self) -> Option<&dyn fmt::Debug> {
        None
    }

    /// The handle type whose calls this server serves: a [`Server<S>`]
    /// reaches it only when `S::protocol()` is its own, and any other call
    /// fails at once with [`CallError::WrongServer`]. The default is `Self`.
    ///
    /// A server generic over a type its callers cannot name answers to a
    /// stand-in instead: a type with the same `Call` and `Reply`, used only
    /// as the `S` of handles. (A stand-in whose `Call` or `Reply` differs
    /// from the server's is refused with `WrongServer` too.)
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
    /// use std::any::TypeId;
    ///
    /// /// Holds some `T`; callers only ask for its size.
    /// struct Holder<T>(Vec<T>);
    /// /// The stand-in callers name: `Server<AnyHolder>`.
    /// struct AnyHolder;
    ///
    /// impl GenServer for AnyHolder {
    ///     type Arg = (); type Call = (); type Reply = usize; type Cast = (); type Continue = ();
    ///     fn init(_: ()) -> Init<Self> { Init::Ignore } // never started
    /// }
    ///
    /// impl<T: Send + 'static> GenServer for Holder<T> {
    ///     type Arg = Vec<T>; type Call = (); type Reply = usize; type Cast = (); type Continue = ();
    ///     fn init(items: Vec<T>) -> Init<Self> { Init::Ok(Holder(items)) }
    ///     fn handle_call(&mut self, _: (), _from: ReplyTo<usize>) -> CallResult<Self> {
    ///         CallResult::Reply(self.0.len())
    ///     }
    ///     fn protocol() -> TypeId {
    ///         TypeId::of::<AnyHolder>()
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let holder = start_link::<Holder<char>>(vec!['a', 'b'], StartOptions::new()).unwrap();
    ///     let any: Server<AnyHolder> = Server::new(holder.pid().unwrap());
    ///     assert_eq!(any.call(()).unwrap(), 2);
    /// })
    /// .unwrap();
    /// ```
    fn protocol() -> TypeId {
        TypeId::of::<Self>()
    }
}

/// What `init` returns.
///
/// ```
/// use ember_runtime::gen_server::{start_link, GenServer, Init, StartError, StartOptions};
/// use ember_runtime::Reason;
///
/// struct Probe;
/// impl GenServer for Probe {
///     type Arg = u8;
///     type Call = ();
///     type Reply = ();
///     type Cast = ();
///     type Continue = ();
///     fn init(choice: u8) -> Init<Self> {
///         match choice {
///             0 => Init::Ok(Probe),
///             1 => Init::Ignore,
///             2 => Init::Error(Reason::custom("no config")),
///             _ => Init::Stop(Reason::custom("crashed")),
///         }
///     }
/// }
///
/// ember_runtime::run(|| {
///     assert!(start_link::<Probe>(0, StartOptions::new()).is_ok());
///     assert_eq!(start_link::<Probe>(1, StartOptions::new()).unwrap_err(), StartError::Ignore);
///     let no_config = StartError::Failed(Reason::custom("no config"));
///     assert_eq!(start_link::<Probe>(2, StartOptions::new()).unwrap_err(), no_config);
///     // `Stop` exits with its reason, which the link passes on: trap exits.
///     ember_runtime::trap_exit(true);
///     let crashed = StartError::Failed(Reason::custom("crashed"));
///     assert_eq!(start_link::<Probe>(3, StartOptions::new()).unwrap_err(), crashed);
/// })
/// .unwrap();
/// ```
pub enum Init<S: GenServer> {
    /// Started: serve messages.
    Ok(S),
    /// Started, then do `next` first (timeout, hibernate or continue).
    OkThen(S, Next<S::Continue>),
    /// Do not start: `start_link` returns [`StartError::Ignore`] and the
    /// process exits `normal`.
    Ignore,
    /// Do not start: `start_link` returns [`StartError::Failed`] with the
    /// reason and the process exits with it.
    Stop(Reason),
    /// Do not start: `start_link` returns [`StartError::Failed`] with the
    /// reason and the process exits `normal` (OTP 26's `{error, Reason}`).
    Error(Reason),
}

/// What a callback asks for before the next message.
///
/// ```
/// use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, Next, ReplyTo, StartOptions};
/// use ember_runtime::{process_info, sleep, Status};
/// use std::time::Duration;
///
/// /// Rarely used: gives its stack back after every request.
/// struct Archive;
/// impl GenServer for Archive {
///     type Arg = ();
///     type Call = u32;
///     type Reply = u32;
///     type Cast = ();
///     type Continue = ();
///     fn init(_: ()) -> Init<Self> {
///         Init::Ok(Archive)
///     }
///     fn handle_call(&mut self, n: u32, _from: ReplyTo<u32>) -> CallResult<Self> {
///         CallResult::ReplyThen(n + 1, Next::Hibernate)
///     }
/// }
///
/// ember_runtime::run(|| {
///     let archive = start_link::<Archive>((), StartOptions::new()).unwrap();
///     assert_eq!(archive.call(1).unwrap(), 2);
///     let pid = archive.pid().unwrap();
///     let hibernating = (0..1000).any(|_| {
///         sleep(Duration::from_millis(1));
///         process_info(pid).unwrap().status == Status::Hibernating
///     });
///     assert!(hibernating);
///     assert_eq!(archive.call(2).unwrap(), 3); // a message wakes it up
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub enum Next<C> {
    /// If no message arrives within this time, `handle_info` receives
    /// [`Timeout`]. Zero means: only if the mailbox is empty right now.
    Timeout(Duration),
    /// Give the stack back until the next message (see [`crate::hibernate`]).
    Hibernate,
    /// Call `handle_continue` with this value first.
    Continue(C),
}

/// What `handle_call` returns.
///
/// ```
/// use ember_runtime::gen_server::{start, CallError, CallResult, GenServer, Init, ReplyTo, StartOptions};
/// use ember_runtime::Reason;
///
/// /// Square roots of non-negative numbers; anything else stops it.
/// struct Sqrt;
/// impl GenServer for Sqrt {
///     type Arg = ();
///     type Call = f64;
///     type Reply = f64;
///     type Cast = ();
///     type Continue = ();
///     fn init(_: ()) -> Init<Self> {
///         Init::Ok(Sqrt)
///     }
///     fn handle_call(&mut self, x: f64, _from: ReplyTo<f64>) -> CallResult<Self> {
///         if x < 0.0 {
///             return CallResult::Stop(Reason::custom("negative input"));
///         }
///         CallResult::Reply(x.sqrt())
///     }
/// }
///
/// ember_runtime::run(|| {
///     let sqrt = start::<Sqrt>((), StartOptions::new()).unwrap();
///     assert_eq!(sqrt.call(9.0).unwrap(), 3.0);
///     assert_eq!(sqrt.call(-1.0), Err(CallError::Exited(Reason::custom("negative input"))));
///     assert_eq!(sqrt.call(4.0), Err(CallError::NoProc)); // it is gone
/// })
/// .unwrap();
/// ```
pub enum CallResult<S: GenServer> {
    /// Reply and serve the next message.
    Reply(S::Reply),
    /// Reply, then `next`.
    ReplyThen(S::Reply, Next<S::Continue>),
    /// Do not reply now (reply later with [`reply`]).
    NoReply,
    /// Do not reply now; then `next`.
    NoReplyThen(Next<S::Continue>),
    /// Stop: `terminate` runs, the caller gets [`CallError::Exited`].
    Stop(Reason),
    /// Stop: `terminate` runs first, then the reply is sent (even if
    /// `terminate` panics), then the server exits.
    StopReply(Reason, S::Reply),
}

/// What `handle_cast`, `handle_info` and `handle_continue` return.
///
/// ```
/// use ember_runtime::gen_server::{start_link, Action, GenServer, Init, StartOptions};
/// use ember_runtime::{monitor, receive, Down, Reason};
///
/// enum Command { Work, Quit }
///
/// struct Worker;
/// impl GenServer for Worker {
///     type Arg = ();
///     type Call = ();
///     type Reply = ();
///     type Cast = Command;
///     type Continue = ();
///     fn init(_: ()) -> Init<Self> {
///         Init::Ok(Worker)
///     }
///     fn handle_cast(&mut self, command: Command) -> Action<()> {
///         match command {
///             Command::Work => Action::NoReply,
///             Command::Quit => Action::Stop(Reason::Normal),
///         }
///     }
/// }
///
/// ember_runtime::run(|| {
///     let worker = start_link::<Worker>((), StartOptions::new()).unwrap();
///     let watch = monitor(worker.pid().unwrap());
///     worker.cast(Command::Work);
///     worker.cast(Command::Quit);
///     let down: Down = receive();
///     assert_eq!((down.monitor, down.reason), (watch, Reason::Normal));
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub enum Action<C> {
    /// Serve the next message.
    NoReply,
    /// Do `next` before the next message.
    NoReplyThen(Next<C>),
    /// Stop: `terminate` runs, then the server exits with the reason.
    Stop(Reason),
}

/// The message `handle_info` receives when a [`Next::Timeout`] expires.
///
/// ```
/// use ember_runtime::gen_server::{start, Action, GenServer, Info, Init, Next, StartOptions, Timeout};
/// use ember_runtime::{monitor, receive, Down, Reason};
/// use std::time::Duration;
///
/// /// A session that ends after 20 ms without a message.
/// struct Session;
/// impl GenServer for Session {
///     type Arg = ();
///     type Call = ();
///     type Reply = ();
///     type Cast = ();
///     type Continue = ();
///     fn init(_: ()) -> Init<Self> {
///         Init::OkThen(Session, Next::Timeout(Duration::from_millis(20)))
///     }
///     fn handle_info(&mut self, message: Info) -> Action<()> {
///         assert!(message.is::<Timeout>());
///         Action::Stop(Reason::shutdown_with("idle"))
///     }
/// }
///
/// ember_runtime::run(|| {
///     let session = start::<Session>((), StartOptions::new()).unwrap();
///     monitor(session.pid().unwrap());
///     let down: Down = receive();
///     assert_eq!(down.reason, Reason::shutdown_with("idle"));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout;

/// A message for `handle_info`: any value, to be downcast.
///
/// ```
/// use ember_runtime::gen_server::Info;
/// let info = Info::new(5u8);
/// assert!(info.is::<u8>());
/// assert_eq!(info.downcast::<u8>().ok(), Some(5));
/// ```
pub struct Info(Box<dyn Any + Send>);

impl Info {
    /// Wraps a value (for tests of `handle_info`).
    ///
    /// ```
    /// let info = ember_runtime::gen_server::Info::new("tick");
    /// assert_eq!(info.downcast_ref::<&str>(), Some(&"tick"));
    /// ```
    pub fn new<T: Any + Send>(value: T) -> Info {
        Info(Box::new(value))
    }

    pub(crate) fn from_box(value: Box<dyn Any + Send>) -> Info {
        Info(value)
    }

    /// Whether the message is a `T`.
    ///
    /// ```
    /// assert!(!ember_runtime::gen_server::Info::new(1u8).is::<u16>());
    /// ```
    pub fn is<T: Any>(&self) -> bool {
        self.0.is::<T>()
    }

    /// The message as a `&T`, if it is one.
    ///
    /// ```
    /// assert_eq!(ember_runtime::gen_server::Info::new(1u8).downcast_ref::<u8>(), Some(&1));
    /// ```
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }

    /// The message as a `T`, or the `Info` back.
    ///
    /// ```
    /// let info = ember_runtime::gen_server::Info::new(1u8);
    /// let info = info.downcast::<u16>().unwrap_err();
    /// assert_eq!(info.downcast::<u8>().ok(), Some(1));
    /// ```
    pub fn downcast<T: Any>(self) -> Result<T, Info> {
        self.0.downcast::<T>().map(|b| *b).map_err(Info)
    }

    /// The boxed message.
    ///
    /// ```
    /// let b = ember_runtime::gen_server::Info::new(1u8).into_inner();
    /// assert!(b.is::<u8>());
    /// ```
    pub fn into_inner(self) -> Box<dyn Any + Send> {
        self.0
    }
}

impl fmt::Debug for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.downcast_ref::<crate::Exit>() {
            return write!(f, "{e:?}");
        }
        if let Some(d) = self.downcast_ref::<crate::Down>() {
            return write!(f, "{d:?}");
        }
        if let Some(t) = self.downcast_ref::<Timeout>() {
            return write!(f, "{t:?}");
        }
        if let Some(s) = self.downcast_ref::<&'static str>() {
            return write!(f, "{s:?}");
        }
        if let Some(s) = self.downcast_ref::<String>() {
            return write!(f, "{s:?}");
        }
        f.write_str("<message>")
    }
}

/// Where to send the reply to a call: the `from` of `handle_call`. Keep it to
/// reply later, from any process, with [`reply`].
///
/// ```
/// use ember_runtime::gen_server::{reply, start_link, CallResult, GenServer, Init, ReplyTo, StartOptions};
/// use ember_runtime::{receive, self_pid, send, spawn};
///
/// /// A barrier for two: the first caller waits until the second one comes.
/// struct Barrier(Option<ReplyTo<&'static str>>);
/// impl GenServer for Barrier {
///     type Arg = ();
///     type Call = ();
///     type Reply = &'static str;
///     type Cast = ();
///     type Continue = ();
///     fn init(_: ()) -> Init<Self> {
///         Init::Ok(Barrier(None))
///     }
///     fn handle_call(&mut self, _: (), from: ReplyTo<&'static str>) -> CallResult<Self> {
///         match self.0.take() {
///             None => {
///                 self.0 = Some(from); // keep it: reply later
///                 CallResult::NoReply
///             }
///             Some(first) => {
///                 reply(first, "go");
///                 CallResult::Reply("go")
///             }
///         }
///     }
/// }
///
/// ember_runtime::run(|| {
///     let barrier = start_link::<Barrier>((), StartOptions::new()).unwrap();
///     let (me, other) = (self_pid(), barrier.clone());
///     spawn(move || send(me, other.call(()).unwrap()));
///     assert_eq!(barrier.call(()).unwrap(), "go");
///     assert_eq!(receive::<&'static str>(), "go");
/// })
/// .unwrap();
/// ```
pub struct ReplyTo<R> {
    pub(crate) pid: Pid,
    pub(crate) tag: Ref,
    _reply: PhantomData<fn(R)>,
}

impl<R> ReplyTo<R> {
    pub(crate) fn new(pid: Pid, tag: Ref) -> Self {
        ReplyTo { pid, tag, _reply: PhantomData }
    }

    /// The calling process.
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, ReplyTo, StartOptions};
    /// use ember_runtime::Pid;
    ///
    /// /// Tells callers who they are.
    /// struct WhoAmI;
    /// impl GenServer for WhoAmI {
    ///     type Arg = ();
    ///     type Call = ();
    ///     type Reply = Pid;
    ///     type Cast = ();
    ///     type Continue = ();
    ///     fn init(_: ()) -> Init<Self> {
    ///         Init::Ok(WhoAmI)
    ///     }
    ///     fn handle_call(&mut self, _: (), from: ReplyTo<Pid>) -> CallResult<Self> {
    ///         CallResult::Reply(from.pid())
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let server = start_link::<WhoAmI>((), StartOptions::new()).unwrap();
    ///     assert_eq!(server.call(()).unwrap(), ember_runtime::self_pid());
    /// })
    /// .unwrap();
    /// ```
    pub fn pid(&self) -> Pid {
        self.pid
    }
}

impl<R> Clone for ReplyTo<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for ReplyTo<R> {}

impl<R> fmt::Debug for ReplyTo<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplyTo({}, {:?})", self.pid, self.tag)
    }
}

/// A typed handle to a running server: its address (pid, name or via name)
/// and the type of its requests and replies.
///
/// ```
/// use ember_runtime::gen_server::{Server, GenServer, Init};
/// struct Nop;
/// impl GenServer for Nop {
///     type Arg = (); type Call = (); type Reply = (); type Cast = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::Ok(Nop) }
/// }
/// ember_runtime::run(|| {
///     // A handle by name; it resolves the name at every call.
///     let s: Server<Nop> = Server::new("nop");
///     assert_eq!(s.pid(), None);
///     assert!(s.call(()).is_err());
/// })
/// .unwrap();
/// ```
pub struct Server<S> {
    dest: Dest,
    _server: PhantomData<fn() -> S>,
}

impl<S> Clone for Server<S> {
    fn clone(&self) -> Self {
        Server { dest: self.dest.clone(), _server: PhantomData }
    }
}

impl<S> fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Server<{}>({})", std::any::type_name::<S>(), self.dest)
    }
}

impl<S: GenServer> Server<S> {
    /// A handle to the server at `dest` (a pid, a registered name or a via
    /// name). Nothing is checked until it is used.
    ///
    /// ```
    /// # struct Nop;
    /// # impl ember_runtime::gen_server::GenServer for Nop {
    /// #     type Arg = (); type Call = (); type Reply = (); type Cast = (); type Continue = ();
    /// #     fn init(_: ()) -> ember_runtime::gen_server::Init<Self> { ember_runtime::gen_server::Init::Ok(Nop) }
    /// # }
    /// let s = ember_runtime::gen_server::Server::<Nop>::new("name");
    /// assert_eq!(s.dest().to_string(), "name");
    /// ```
    pub fn new(dest: impl Into<Dest>) -> Self {
        Server { dest: dest.into(), _server: PhantomData }
    }

    /// The address this handle uses.
    ///
    /// ```
    /// # use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
    /// # struct Double;
    /// # impl GenServer for Double {
    /// #     type Arg = (); type Call = u32; type Reply = u32; type Cast = (); type Continue = ();
    /// #     fn init(_: ()) -> Init<Self> { Init::Ok(Double) }
    /// #     fn handle_call(&mut self, n: u32, _: ReplyTo<u32>) -> CallResult<Self> { CallResult::Reply(2 * n) }
    /// # }
    /// use ember_runtime::Dest;
    /// let by_name = Server::<Double>::new("double");
    /// assert!(matches!(by_name.dest(), Dest::Name(n) if n.as_str() == "double"));
    /// ember_runtime::run(|| {
    ///     let by_pid = start_link::<Double>((), StartOptions::new()).unwrap();
    ///     assert!(matches!(by_pid.dest(), Dest::Pid(_)));
    /// })
    /// .unwrap();
    /// ```
    pub fn dest(&self) -> &Dest {
        &self.dest
    }

    /// The server's pid now, if the address resolves (no liveness check for
    /// a pid address, as `GenServer.whereis`).
    ///
    /// ```
    /// # use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
    /// # struct Double;
    /// # impl GenServer for Double {
    /// #     type Arg = (); type Call = u32; type Reply = u32; type Cast = (); type Continue = ();
    /// #     fn init(_: ()) -> Init<Self> { Init::Ok(Double) }
    /// #     fn handle_call(&mut self, n: u32, _: ReplyTo<u32>) -> CallResult<Self> { CallResult::Reply(2 * n) }
    /// # }
    /// ember_runtime::run(|| {
    ///     let by_name = Server::<Double>::new("double");
    ///     assert_eq!(by_name.pid(), None); // nothing registered yet
    ///     let started = start_link::<Double>((), StartOptions::new().name("double")).unwrap();
    ///     assert!(by_name.pid().is_some());
    ///     assert_eq!(by_name.pid(), started.pid());
    /// })
    /// .unwrap();
    /// ```
    pub fn pid(&self) -> Option<Pid> {
        self.dest.whereis()
    }

    /// Calls the server and waits up to [`DEFAULT_CALL_TIMEOUT`] for the
    /// reply.
    ///
    /// Errors: [`CallError::NoProc`] (nothing at the address: nothing is
    /// sent), [`CallError::Exited`] (the server exited before replying),
    /// [`CallError::Timeout`], [`CallError::CallingSelf`],
    /// [`CallError::WrongServer`] (the process is a server of another type:
    /// it answers so at once, and serves on). A reply that arrives after a
    /// timeout is discarded, never delivered.
    ///
    /// ```
    /// # use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
    /// # struct Double;
    /// # impl GenServer for Double {
    /// #     type Arg = (); type Call = u32; type Reply = u32; type Cast = (); type Continue = ();
    /// #     fn init(_: ()) -> Init<Self> { Init::Ok(Double) }
    /// #     fn handle_call(&mut self, n: u32, _: ReplyTo<u32>) -> CallResult<Self> { CallResult::Reply(2 * n) }
    /// # }
    /// use ember_runtime::gen_server::CallError;
    /// ember_runtime::run(|| {
    ///     start_link::<Double>((), StartOptions::new().name("double")).unwrap();
    ///     assert_eq!(Server::<Double>::new("double").call(21), Ok(42));
    ///     assert_eq!(Server::<Double>::new("nobody").call(21), Err(CallError::NoProc));
    /// })
    /// .unwrap();
    /// ```
    pub fn call(&self, request: S::Call) -> Result<S::Reply, CallError> {
        call::call::<S>(&self.dest, request, Some(DEFAULT_CALL_TIMEOUT))
    }

    /// [`Server::call`] with a timeout (`None`: wait for ever).
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, CallError, CallResult, GenServer, Init, ReplyTo, StartOptions};
    /// use std::time::Duration;
    ///
    /// /// Never answers.
    /// struct Silent;
    /// impl GenServer for Silent {
    ///     type Arg = ();
    ///     type Call = ();
    ///     type Reply = ();
    ///     type Cast = ();
    ///     type Continue = ();
    ///     fn init(_: ()) -> Init<Self> {
    ///         Init::Ok(Silent)
    ///     }
    ///     fn handle_call(&mut self, _: (), _from: ReplyTo<()>) -> CallResult<Self> {
    ///         CallResult::NoReply
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let silent = start_link::<Silent>((), StartOptions::new()).unwrap();
    ///     let result = silent.call_timeout((), Some(Duration::from_millis(10)));
    ///     assert_eq!(result, Err(CallError::Timeout));
    ///     assert!(silent.pid().unwrap().is_alive()); // a timeout does not stop the server
    /// })
    /// .unwrap();
    /// ```
    pub fn call_timeout(&self, request: S::Call, timeout: Option<Duration>) -> Result<S::Reply, CallError> {
        call::call::<S>(&self.dest, request, timeout)
    }

    /// Sends a cast. Always succeeds, even if nothing is at the address.
    /// To `(name, node)` on another node, it goes through the runtime's
    /// distribution as OTP's `{'$gen_cast', Request}` (see
    /// [`crate::node::RemoteCast`]).
    ///
    /// ```
    /// use ember_runtime::gen_server::{start_link, Action, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
    ///
    /// struct Total(u64);
    /// impl GenServer for Total {
    ///     type Arg = ();
    ///     type Call = ();
    ///     type Reply = u64;
    ///     type Cast = u64;
    ///     type Continue = ();
    ///     fn init(_: ()) -> Init<Self> {
    ///         Init::Ok(Total(0))
    ///     }
    ///     fn handle_cast(&mut self, n: u64) -> Action<()> {
    ///         self.0 += n;
    ///         Action::NoReply
    ///     }
    ///     fn handle_call(&mut self, _: (), _from: ReplyTo<u64>) -> CallResult<Self> {
    ///         CallResult::Reply(self.0)
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let total = start_link::<Total>((), StartOptions::new()).unwrap();
    ///     (1..=10).for_each(|n| total.cast(n));
    ///     assert_eq!(total.call(()).unwrap(), 55);
    ///     Server::<Total>::new("nobody").cast(1); // no error, nothing happens
    /// })
    /// .unwrap();
    /// ```
    pub fn cast(&self, request: S::Cast) {
        call::cast(&self.dest, request)
    }

    /// Stops the server: it runs `terminate(reason)` and exits with
    /// `reason`; returns once it is gone. `Err(Exited(actual))` if it exited
    /// with another reason, `Err(Timeout)` if it was still there after
    /// `timeout` (`None`: wait for ever).
    ///
    /// ```
    /// # use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
    /// # struct Double;
    /// # impl GenServer for Double {
    /// #     type Arg = (); type Call = u32; type Reply = u32; type Cast = (); type Continue = ();
    /// #     fn init(_: ()) -> Init<Self> { Init::Ok(Double) }
    /// #     fn handle_call(&mut self, n: u32, _: ReplyTo<u32>) -> CallResult<Self> { CallResult::Reply(2 * n) }
    /// # }
    /// use ember_runtime::gen_server::CallError;
    /// use ember_runtime::Reason;
    /// ember_runtime::run(|| {
    ///     let server = start_link::<Double>((), StartOptions::new()).unwrap();
    ///     let pid = server.pid().unwrap();
    ///     server.stop(Reason::Normal, None).unwrap();
    ///     assert!(!pid.is_alive());
    ///     assert_eq!(server.stop(Reason::Normal, None), Err(CallError::NoProc));
    /// })
    /// .unwrap();
    /// ```
    pub fn stop(&self, reason: Reason, timeout: Option<Duration>) -> Result<(), CallError> {
        call::stop(&self.dest, reason, timeout)
    }
}

impl<S: GenServer> From<Pid> for Server<S> {
    fn from(pid: Pid) -> Self {
        Server::new(pid)
    }
}
