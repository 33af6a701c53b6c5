//! DynamicSupervisor: a supervisor that starts children on demand and holds
//! millions of them (SEMANTICS.md §5, Elixir's `DynamicSupervisor`).
//!
//! A dynamic supervisor starts with no children. [`DynamicSupervisor::start_child`]
//! starts one, from a [`ChildSpec`], and the supervisor restarts it as its
//! restart type says, within the restart intensity. There is no ordering
//! between children: when the supervisor terminates, every child gets its
//! exit signal at once and the supervisor waits for all of them together.
//!
//! ```
//! use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
//! use ember_supervisor::ChildSpec;
//!
//! ember_runtime::run(|| {
//!     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("my_sup")).unwrap();
//!     // An Agent child, as Elixir's `{Agent, fn -> %{} end}`.
//!     let spec = ChildSpec::agent(std::collections::HashMap::<String, String>::new);
//!     let agent = DynamicSupervisor::start_child("my_sup", spec.clone()).unwrap().pid().unwrap();
//!     let agent = ember_runtime::agent::Agent::<std::collections::HashMap<String, String>>::new(agent);
//!     agent.update(|m| { m.insert("key".into(), "value".into()); }).unwrap();
//!     assert_eq!(agent.get(|m| m["key"].clone()).unwrap(), "value");
//!
//!     DynamicSupervisor::start_child(sup, spec).unwrap();
//!     let counts = DynamicSupervisor::count_children(sup).unwrap();
//!     assert_eq!((counts.specs, counts.active, counts.workers, counts.supervisors), (2, 2, 2, 0));
//! })
//! .unwrap();
//! ```
//!
//! # How it works
//!
//! The supervisor is a [`GenServer`](ember_runtime::GenServer) that traps exits. Every API function is
//! a call with an infinite timeout, except that [`DynamicSupervisor::start_child`]
//! checks the child spec in the *caller* first: an invalid spec never
//! reaches the supervisor.
//!
//! * **Children** live in a slab (O(1) insert and remove) threaded on a
//!   doubly-linked list in start order (what [`DynamicSupervisor::which_children`]
//!   returns), found by pid through a hash map (O(1) lookup); the counts of
//!   [`DynamicSupervisor::count_children`] are kept up to date, so it is O(1)
//!   too. Starting a child costs the same with ten children or ten million.
//! * **Starting**: the child's start function runs in the supervisor with a
//!   clone of the supervisor's extra arguments (`A`); `Ok`/`OkInfo` store the
//!   child, `Ignore` stores nothing, an error is returned as is.
//! * **Exits** (§5.4): a permanent child is always restarted; a transient
//!   one unless its reason is clean; a temporary one never. Every restart
//!   counts toward the intensity (`max_restarts` in `max_seconds`); past it,
//!   the supervisor shuts every child down and exits with `Shutdown`. A
//!   restart whose start fails is retried through a message the supervisor
//!   sends itself (Elixir's `$gen_restart`), so requests queued meanwhile are
//!   served first; meanwhile the child shows as [`ChildPid::Restarting`](crate::ChildPid::Restarting).
//! * **Shutdown** (§5.6): [`shutdown_children`](crate::shutdown::shutdown_children) with
//!   [`Others::Drop`](crate::shutdown::Others::Drop) — every
//!   child is signalled at once, one timer per distinct shutdown timeout
//!   kills the stragglers of its group, and the `Down`s are collected in
//!   whatever order they come.
//!
//! See `docs/dynamic_supervisor.md` for the design and the differences from
//! Elixir.
//!
//! The code, one idea a file: `options.rs` (flags and start options),
//! `module.rs` (module-based supervisors), `error.rs`, `protocol.rs` (the
//! requests), `server.rs` (the supervisor process) and `children.rs` (the
//! children table).

mod children;
mod error;
mod module;
mod options;
mod protocol;
mod server;

pub use error::{StartChildError, TerminateChildError};
pub use module::{DynamicInit, DynamicSupervisorModule};
pub use options::{DynamicSupervisorFlags, DynamicSupervisorOptions};

use crate::child_spec::{ChildSpec, ChildSpecError};
use crate::children::{ChildCounts, ChildSummary};
use crate::supervisor::StartedChild;
use ember_runtime::gen_server::{self, CallError, ProcessName, Server, StartError, StartOptions};
use ember_runtime::{Dest, Pid, Reason};
use module::FlagsModule;
use protocol::{call, Request, Response, Wire};
use server::DynamicServer;
use std::any::type_name;

/// The DynamicSupervisor functions (Elixir's `DynamicSupervisor` module). See
/// the [module docs](self).
///
/// Supervisors are addressed by anything that converts into a [`Dest`]: a
/// pid, a registered name, or a via name — for instance a partition of a
/// [`PartitionSupervisor`](crate::partition_supervisor::PartitionSupervisor).
///
/// ```
/// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
/// use ember_supervisor::ChildSpec;
/// ember_runtime::run(|| {
///     let pid = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("jobs")).unwrap();
///     // By name or by pid: the same supervisor.
///     let job = DynamicSupervisor::start_child("jobs", ChildSpec::agent(|| 0)).unwrap().pid().unwrap();
///     assert_eq!(DynamicSupervisor::which_children(pid).unwrap()[0].pid.pid(), Some(job));
///     DynamicSupervisor::terminate_child(pid, job).unwrap();
///     assert_eq!(DynamicSupervisor::count_children("jobs").unwrap().specs, 0);
/// })
/// .unwrap();
/// ```
pub enum DynamicSupervisor {}

impl DynamicSupervisor {
    /// Starts a supervisor linked to the caller, with these options
    /// (Elixir's `start_link(opts)`). Returns its pid.
    ///
    /// Errors as [`gen_server::start_link`]: a taken name is
    /// `AlreadyStarted(pid)`; invalid flags are `Failed`.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// use ember_runtime::gen_server::StartError;
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("s")).unwrap();
    ///     let again = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("s"));
    ///     assert_eq!(again.unwrap_err(), StartError::AlreadyStarted(sup));
    ///     // Invalid flags: the supervisor exits with a non-clean reason, which
    ///     // the link would pass on to a caller that does not trap exits.
    ///     ember_runtime::trap_exit(true);
    ///     let err = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_seconds(0)).unwrap_err();
    ///     assert_eq!(
    ///         ember_supervisor::InitError::of(&err),
    ///         Some(ember_supervisor::InitError::SupervisorData(ember_supervisor::FlagsError::InvalidPeriod(0)))
    ///     );
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link<A: Clone + Send + 'static>(options: DynamicSupervisorOptions<A>) -> Result<Pid, StartError> {
        start::<FlagsModule<A>>(options.flags, "DynamicSupervisor", options.start)
    }

    /// Starts a module-based supervisor linked to the caller: `M::init(arg)`
    /// runs in the new process (Elixir's `start_link(module, arg, opts)`).
    /// `DynamicInit::Ignore` makes this return [`StartError::Ignore`].
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::dynamic_supervisor::{
    ///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
    /// };
    ///
    /// struct Jobs;
    /// impl DynamicSupervisorModule for Jobs {
    ///     type Arg = ();
    ///     type Extra = ();
    ///     fn init(_: ()) -> DynamicInit<()> {
    ///         DynamicInit::Ok(DynamicSupervisorFlags::new())
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link_module::<Jobs>((), StartOptions::new().name("jobs")).unwrap();
    ///     assert_eq!(ember_runtime::whereis("jobs"), Some(sup));
    ///     let counts = DynamicSupervisor::count_children(sup).unwrap();
    ///     assert_eq!((counts.specs, counts.active), (0, 0));
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link_module<M: DynamicSupervisorModule>(
        arg: M::Arg,
        options: StartOptions,
    ) -> Result<Pid, StartError> {
        start::<M>(arg, type_name::<M>(), options)
    }

    /// The child spec of a supervisor started with these options: id = its
    /// name (or `"DynamicSupervisor"`), type supervisor (shutdown infinity),
    /// permanent.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// let spec = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new().name("jobs"));
    /// assert_eq!(spec.id().as_str(), "jobs");
    /// assert_eq!(spec.get_type(), ember_supervisor::ChildType::Supervisor);
    /// ```
    pub fn child_spec<A: Clone + Send + Sync + 'static>(options: DynamicSupervisorOptions<A>) -> ChildSpec {
        let id = match options.start.get_name() {
            Some(ProcessName::Local(n)) => n.to_string(),
            Some(ProcessName::Via(v)) => format!("{v:?}"),
            None => "DynamicSupervisor".to_string(),
        };
        ChildSpec::new(id, move || DynamicSupervisor::start_link(options.clone())).supervisor()
    }

    /// Starts a child from `spec` and supervises it (SEMANTICS.md §5.3).
    ///
    /// The spec is checked here, in the caller: an empty id is
    /// `InvalidSpec(MissingId)` and a significant child
    /// `InvalidSpec(InvalidSignificant)`, without contacting the supervisor.
    /// Ids are otherwise ignored (duplicates are fine). Then, in the
    /// supervisor: `MaxChildren` when full; otherwise the start function
    /// runs with a clone of the extra arguments, and its result is returned:
    /// `Ok`/`OkInfo` (the child is kept), `Ignore` (nothing is kept),
    /// `AlreadyStarted` or `Failed` (nothing is kept).
    ///
    /// The supervisor is blocked while the child starts.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, StartChildError};
    /// use ember_supervisor::{ChildSpec, Started, StartedChild};
    /// use ember_runtime::Reason;
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().extra_arguments(7u32)).unwrap();
    ///     let seven = ChildSpec::with_args("w", |n: u32| {
    ///         assert_eq!(n, 7);
    ///         ember_runtime::spawn_link(|| { ember_runtime::receive::<()>(); })
    ///     });
    ///     assert!(matches!(DynamicSupervisor::start_child(sup, seven).unwrap(), StartedChild::Running(_)));
    ///     let ignore = ChildSpec::with_args("i", |_: u32| Started::Ignore);
    ///     assert_eq!(DynamicSupervisor::start_child(sup, ignore).unwrap(), StartedChild::Ignored);
    ///     let fail = ChildSpec::with_args("f", |_: u32| Started::Error(Reason::custom("no")));
    ///     assert_eq!(DynamicSupervisor::start_child(sup, fail).unwrap_err(), StartChildError::Failed(Reason::custom("no")));
    ///     assert_eq!(DynamicSupervisor::count_children(sup).unwrap().active, 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn start_child<A: Clone + Send + 'static>(
        sup: impl Into<Dest>,
        spec: ChildSpec<A>,
    ) -> Result<StartedChild, StartChildError> {
        validate(&spec).map_err(StartChildError::InvalidSpec)?;
        let request = Request::StartChild { spec: Box::new(spec), arg_type: type_name::<A>() };
        match call(sup, request).map_err(StartChildError::Call)? {
            Response::Started(result) => result,
            _ => unreachable!("a start_child request gets a start_child reply"),
        }
    }

    /// Stops the child `pid` and waits until it is gone (SEMANTICS.md §5.6):
    /// `Ok` once it has exited (a child whose restart is pending is just
    /// forgotten), [`TerminateChildError::NotFound`] if `pid` is not a child.
    /// The supervisor is blocked meanwhile (up to the child's shutdown
    /// timeout).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, TerminateChildError};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
    ///     let child = DynamicSupervisor::start_child(sup, ChildSpec::agent(|| 0)).unwrap().pid().unwrap();
    ///     DynamicSupervisor::terminate_child(sup, child).unwrap();
    ///     assert!(!child.is_alive());
    ///     assert_eq!(DynamicSupervisor::terminate_child(sup, child), Err(TerminateChildError::NotFound));
    /// })
    /// .unwrap();
    /// ```
    pub fn terminate_child(sup: impl Into<Dest>, pid: Pid) -> Result<(), TerminateChildError> {
        match call(sup, Request::TerminateChild(pid)).map_err(TerminateChildError::Call)? {
            Response::Terminated(result) => result,
            _ => unreachable!("a terminate_child request gets a terminate_child reply"),
        }
    }

    /// Every child, in start order (a restarted child moves to the end): id
    /// `None` (ids are ignored), pid or [`ChildPid::Restarting`](crate::ChildPid::Restarting), type.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// use ember_supervisor::{ChildPid, ChildSpec};
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
    ///     let a = DynamicSupervisor::start_child(sup, ChildSpec::agent(|| 0)).unwrap().pid().unwrap();
    ///     let b = DynamicSupervisor::start_child(sup, ChildSpec::agent(|| 0)).unwrap().pid().unwrap();
    ///     let pids: Vec<_> = DynamicSupervisor::which_children(sup).unwrap().into_iter().map(|c| c.pid).collect();
    ///     assert_eq!(pids, vec![ChildPid::Running(a), ChildPid::Running(b)]);
    /// })
    /// .unwrap();
    /// ```
    pub fn which_children(sup: impl Into<Dest>) -> Result<Vec<ChildSummary>, CallError> {
        match call(sup, Request::WhichChildren)? {
            Response::Which(children) => Ok(children),
            _ => unreachable!("a which_children request gets a which_children reply"),
        }
    }

    /// The counts (SEMANTICS.md §5.5): `specs` = children, restarting ones
    /// included; `active` = children not restarting; `workers` and
    /// `supervisors` by type. O(1).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
    ///     assert_eq!(DynamicSupervisor::count_children(sup).unwrap(), Default::default());
    /// })
    /// .unwrap();
    /// ```
    pub fn count_children(sup: impl Into<Dest>) -> Result<ChildCounts, CallError> {
        match call(sup, Request::CountChildren)? {
            Response::Counts(counts) => Ok(counts),
            _ => unreachable!("a count_children request gets a count_children reply"),
        }
    }

    /// The supervisor's module (OTP's `get_callback_module/1`): the type
    /// name of the [`DynamicSupervisorModule`] it was started with, or
    /// `"DynamicSupervisor"` for [`DynamicSupervisor::start_link`].
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::dynamic_supervisor::{
    ///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule, DynamicSupervisorOptions,
    /// };
    ///
    /// struct Jobs;
    /// impl DynamicSupervisorModule for Jobs {
    ///     type Arg = ();
    ///     type Extra = ();
    ///     fn init(_: ()) -> DynamicInit<()> {
    ///         DynamicInit::Ok(DynamicSupervisorFlags::new())
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let jobs = DynamicSupervisor::start_link_module::<Jobs>((), StartOptions::new()).unwrap();
    ///     assert_eq!(DynamicSupervisor::get_callback_module(jobs).unwrap(), std::any::type_name::<Jobs>());
    ///     let plain = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
    ///     assert_eq!(DynamicSupervisor::get_callback_module(plain).unwrap(), "DynamicSupervisor");
    /// })
    /// .unwrap();
    /// ```
    pub fn get_callback_module(sup: impl Into<Dest>) -> Result<&'static str, CallError> {
        match call(sup, Request::GetCallbackModule)? {
            Response::Module(module) => Ok(module),
            _ => unreachable!("a get_callback_module request gets a get_callback_module reply"),
        }
    }

    /// Stops the supervisor with `reason` and waits until it is gone: every
    /// child is shut down first. `Ok` when it exited with `reason`.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// use ember_runtime::Reason;
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
    ///     let child = DynamicSupervisor::start_child(sup, ember_supervisor::ChildSpec::agent(|| 0)).unwrap().pid().unwrap();
    ///     DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
    ///     assert!(!sup.is_alive() && !child.is_alive());
    /// })
    /// .unwrap();
    /// ```
    pub fn stop(sup: impl Into<Dest>, reason: Reason) -> Result<(), CallError> {
        Server::<Wire>::new(sup).stop(reason, None)
    }
}

/// Starts the supervisor process of module `M`, named `module` for
/// `get_callback_module` and reports.
fn start<M: DynamicSupervisorModule>(
    arg: M::Arg,
    module: &'static str,
    options: StartOptions,
) -> Result<Pid, StartError> {
    let name = options.get_name().map(|n| n.to_string());
    let server = gen_server::start_link::<DynamicServer<M>>((arg, name, module), options)?;
    server.pid().ok_or(StartError::Failed(Reason::NoProc))
}

/// The caller-side checks of `start_child` (SEMANTICS.md §5.3 step 1).
fn validate<A>(spec: &ChildSpec<A>) -> Result<(), ChildSpecError> {
    if spec.id().as_str().is_empty() {
        return Err(ChildSpecError::MissingId);
    }
    if spec.is_significant() {
        return Err(ChildSpecError::InvalidSignificant);
    }
    Ok(())
}
