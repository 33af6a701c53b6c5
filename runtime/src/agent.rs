//! Agent: state behind a process, read and changed through closures
//! (Elixir's `Agent`). An agent is a [`GenServer`](crate::gen_server) whose
//! requests are functions of its state.
//!
//! ```
//! use ember_runtime::agent::Agent;
//! use std::collections::HashMap;
//!
//! ember_runtime::run(|| {
//!     let agent = Agent::start_link(HashMap::<String, u32>::new).unwrap();
//!     agent.update(|m| { m.insert("apples".into(), 3); }).unwrap();
//!     assert_eq!(agent.get(|m| m.get("apples").copied()).unwrap(), Some(3));
//!     let old = agent.get_and_update(|m| m.insert("apples".into(), 4)).unwrap();
//!     assert_eq!(old, Some(3));
//!     agent.stop().unwrap();
//! })
//! .unwrap();
//! ```

use crate::gen_server::{self, CallError, CallResult, GenServer, Init, ReplyTo, Server, StartError, StartOptions};
use crate::name::Dest;
use crate::pid::Pid;
use crate::reason::Reason;
use crate::Action;
use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

type GetFn<T> = Box<dyn FnOnce(&mut T) -> Box<dyn Any + Send> + Send>;
type CastFn<T> = Box<dyn FnOnce(&mut T) + Send>;

/// The server behind an [`Agent`].
///
/// An agent is this GenServer started with its initial-state function, so an
/// [`Agent`] handle works with any process running it:
///
/// ```
/// use ember_runtime::agent::{Agent, AgentServer};
/// use ember_runtime::gen_server::{start_link, StartOptions};
/// ember_runtime::run(|| {
///     let init: Box<dyn FnOnce() -> u32 + Send> = Box::new(|| 41);
///     let server = start_link::<AgentServer<u32>>(init, StartOptions::new()).unwrap();
///     let agent = Agent::<u32>::new(server.pid().unwrap());
///     agent.update(|n| *n += 1).unwrap();
///     assert_eq!(agent.get(|n| *n).unwrap(), 42);
/// })
/// .unwrap();
/// ```
pub struct AgentServer<T>(T);

impl<T: Send + 'static> GenServer for AgentServer<T> {
    type Arg = Box<dyn FnOnce() -> T + Send>;
    type Call = GetFn<T>;
    type Reply = Box<dyn Any + Send>;
    type Cast = CastFn<T>;
    type Continue = ();

    fn init(start: Self::Arg) -> Init<Self> {
        Init::Ok(AgentServer(start()))
    }

    fn handle_call(&mut self, f: GetFn<T>, _from: ReplyTo<Self::Reply>) -> CallResult<Self> {
        CallResult::Reply(f(&mut self.0))
    }

    fn handle_cast(&mut self, f: CastFn<T>) -> Action<()> {
        f(&mut self.0);
        Action::NoReply
    }
}

impl<T: Send + 'static> gen_server::StartedProcess for Agent<T> {
    fn started_pid(&self) -> Pid {
        self.pid().unwrap_or(Pid::UNDEFINED)
    }
}

/// A handle to an agent holding a `T`. Cheap to clone: every clone
/// addresses the same agent, from any process.
///
/// ```
/// use ember_runtime::agent::Agent;
/// use ember_runtime::{receive, self_pid, send, spawn};
/// ember_runtime::run(|| {
///     let hits = Agent::start_link(|| 0u32).unwrap();
///     let me = self_pid();
///     for _ in 0..3 {
///         let hits = hits.clone();
///         spawn(move || {
///             hits.update(|n| *n += 1).unwrap();
///             send(me, ());
///         });
///     }
///     (0..3).for_each(|_| receive::<()>());
///     assert_eq!(hits.get(|n| *n).unwrap(), 3);
/// })
/// .unwrap();
/// ```
pub struct Agent<T> {
    server: Server<AgentServer<T>>,
    _state: PhantomData<fn() -> T>,
}

impl<T> Clone for Agent<T> {
    fn clone(&self) -> Self {
        Agent { server: self.server.clone(), _state: PhantomData }
    }
}

impl<T> fmt::Debug for Agent<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Agent<{}>({:?})", std::any::type_name::<T>(), self.server)
    }
}

impl<T: Send + 'static> Agent<T> {
    /// Starts an agent linked to the caller; its state is `init()`, computed
    /// in the agent's process.
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start_link(|| 1).unwrap();
    ///     assert_eq!(a.get(|n| *n).unwrap(), 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link(init: impl FnOnce() -> T + Send + 'static) -> Result<Agent<T>, StartError> {
        Self::start_link_opts(init, StartOptions::new())
    }

    /// [`Agent::start_link`] with options (a name, for example).
    ///
    /// ```
    /// use ember_runtime::{agent::Agent, gen_server::StartOptions};
    /// ember_runtime::run(|| {
    ///     Agent::start_link_opts(|| 0u8, StartOptions::new().name("zero")).unwrap();
    ///     assert_eq!(Agent::<u8>::new("zero").get(|n| *n).unwrap(), 0);
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link_opts(
        init: impl FnOnce() -> T + Send + 'static,
        options: StartOptions,
    ) -> Result<Agent<T>, StartError> {
        let server = gen_server::start_link::<AgentServer<T>>(Box::new(init), options)?;
        Ok(Agent { server, _state: PhantomData })
    }

    /// Starts an agent not linked to the caller.
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start(|| "x").unwrap();
    ///     a.stop().unwrap();
    /// })
    /// .unwrap();
    /// ```
    pub fn start(init: impl FnOnce() -> T + Send + 'static) -> Result<Agent<T>, StartError> {
        let server = gen_server::start::<AgentServer<T>>(Box::new(init), StartOptions::new())?;
        Ok(Agent { server, _state: PhantomData })
    }

    /// A handle to the agent at `dest` (pid or name).
    ///
    /// ```
    /// use ember_runtime::{agent::Agent, gen_server::CallError};
    /// ember_runtime::run(|| {
    ///     let pid = Agent::start_link(|| 7u8).unwrap().pid().unwrap();
    ///     assert_eq!(Agent::<u8>::new(pid).get(|n| *n).unwrap(), 7);
    ///     // Nothing is checked until the handle is used.
    ///     assert_eq!(Agent::<u8>::new("somewhere").get(|n| *n), Err(CallError::NoProc));
    /// })
    /// .unwrap();
    /// ```
    pub fn new(dest: impl Into<Dest>) -> Agent<T> {
        Agent { server: Server::new(dest), _state: PhantomData }
    }

    /// The agent's pid, if its address resolves.
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start_link(|| ()).unwrap();
    ///     assert!(a.pid().is_some());
    /// })
    /// .unwrap();
    /// ```
    pub fn pid(&self) -> Option<Pid> {
        self.server.pid()
    }

    /// Reads the state through `f` (5 s timeout).
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start_link(|| vec![1, 2]).unwrap();
    ///     assert_eq!(a.get(|v| v.len()).unwrap(), 2);
    /// })
    /// .unwrap();
    /// ```
    pub fn get<R: Send + 'static>(&self, f: impl FnOnce(&T) -> R + Send + 'static) -> Result<R, CallError> {
        self.get_and_update(move |state| f(state))
    }

    /// [`Agent::get`] with a timeout (`None`: for ever).
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start_link(|| 5).unwrap();
    ///     assert_eq!(a.get_timeout(|n| *n, None).unwrap(), 5);
    /// })
    /// .unwrap();
    /// ```
    pub fn get_timeout<R: Send + 'static>(
        &self,
        f: impl FnOnce(&T) -> R + Send + 'static,
        timeout: Option<Duration>,
    ) -> Result<R, CallError> {
        let call: GetFn<T> = Box::new(move |state| Box::new(f(state)));
        let reply = self.server.call_timeout(call, timeout)?;
        Ok(*reply.downcast::<R>().expect("the agent replies with the closure's value"))
    }

    /// Changes the state through `f` and waits until it is done.
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start_link(|| 1).unwrap();
    ///     a.update(|n| *n += 1).unwrap();
    ///     assert_eq!(a.get(|n| *n).unwrap(), 2);
    /// })
    /// .unwrap();
    /// ```
    pub fn update(&self, f: impl FnOnce(&mut T) + Send + 'static) -> Result<(), CallError> {
        self.get_and_update(f)
    }

    /// Changes the state through `f` and returns what `f` returns.
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start_link(|| 1).unwrap();
    ///     assert_eq!(a.get_and_update(|n| std::mem::replace(n, 10)).unwrap(), 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn get_and_update<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut T) -> R + Send + 'static,
    ) -> Result<R, CallError> {
        let call: GetFn<T> = Box::new(move |state| Box::new(f(state)));
        let reply = self.server.call(call)?;
        Ok(*reply.downcast::<R>().expect("the agent replies with the closure's value"))
    }

    /// Changes the state through `f` without waiting (always succeeds).
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start_link(|| 1).unwrap();
    ///     a.cast(|n| *n = 7);
    ///     assert_eq!(a.get(|n| *n).unwrap(), 7);
    /// })
    /// .unwrap();
    /// ```
    pub fn cast(&self, f: impl FnOnce(&mut T) + Send + 'static) {
        self.server.cast(Box::new(f))
    }

    /// Stops the agent with reason `normal`, waiting for it to exit.
    ///
    /// ```
    /// ember_runtime::run(|| {
    ///     let a = ember_runtime::agent::Agent::start_link(|| 1).unwrap();
    ///     let pid = a.pid().unwrap();
    ///     a.stop().unwrap();
    ///     assert!(!pid.is_alive());
    /// })
    /// .unwrap();
    /// ```
    pub fn stop(&self) -> Result<(), CallError> {
        self.server.stop(Reason::Normal, None)
    }
}
