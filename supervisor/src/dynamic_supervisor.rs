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
//! The supervisor is a [`GenServer`] that traps exits. Every API function is
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
//!   served first; meanwhile the child shows as [`ChildPid::Restarting`].
//! * **Shutdown** (§5.6): [`shutdown::shutdown_children_discarding`] — every
//!   child is signalled at once, one timer per distinct shutdown timeout
//!   kills the stragglers of its group, and the `Down`s are collected in
//!   whatever order they come.
//!
//! See `docs/dynamic_supervisor.md` for the design and the differences from
//! Elixir.

use crate::child_spec::{ChildSpec, ChildSpecError, ChildType, Restart, Started};
use crate::children::{ChildCounts, ChildPid, ChildSummary};
use crate::report::{self, Context};
use crate::restart::{Intensity, DEFAULT_MAX_RESTARTS, DEFAULT_MAX_SECONDS};
use crate::shutdown::{self, PidMap, Stopping};
use crate::supervisor::{FlagsError, InitError, StartedChild};
use ember_runtime::gen_server::{
    self, Action, AlreadyStarted, CallError, CallResult, GenServer, Info, Init, ProcessName, ReplyTo, Server,
    StartError, StartOptions,
};
use ember_runtime::{Dest, Exit, Pid, Reason};
use slab::Slab;
use std::any::{type_name, Any};
use std::fmt;
use std::marker::PhantomData;

// ---------------------------------------------------------------------------
// Flags and options

/// The supervisor flags (Elixir's `sup_flags`, built by `DynamicSupervisor.init/1`):
/// restart intensity, the child limit, and the extra arguments every child's
/// start function receives.
///
/// `A` is the type of the extra arguments (`()` when there are none). Each
/// start gets a clone.
///
/// ```
/// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
/// let flags = DynamicSupervisorFlags::new().max_restarts(10).max_seconds(1).max_children(1000).extra_arguments("db");
/// assert_eq!(flags.get_max_children(), Some(1000));
/// assert_eq!(*flags.get_extra_arguments(), "db");
/// ```
#[derive(Clone, Debug)]
pub struct DynamicSupervisorFlags<A = ()> {
    max_restarts: u32,
    max_seconds: u64,
    max_children: Option<usize>,
    extra_arguments: A,
}

impl DynamicSupervisorFlags<()> {
    /// The defaults: 3 restarts in 5 seconds, no child limit, no extra
    /// arguments.
    ///
    /// ```
    /// let flags = ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags::new();
    /// assert_eq!((flags.get_max_restarts(), flags.get_max_seconds(), flags.get_max_children()), (3, 5, None));
    /// ```
    pub fn new() -> Self {
        DynamicSupervisorFlags {
            max_restarts: DEFAULT_MAX_RESTARTS,
            max_seconds: DEFAULT_MAX_SECONDS,
            max_children: None,
            extra_arguments: (),
        }
    }
}

impl Default for DynamicSupervisorFlags<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> DynamicSupervisorFlags<A> {
    /// At most this many restarts… (default 3; 0: the first restart stops
    /// the supervisor).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().max_restarts(100).get_max_restarts(), 100);
    /// ```
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.max_restarts = n;
        self
    }

    /// …within this many seconds (default 5; must be positive, else the
    /// supervisor does not start).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().max_seconds(60).get_max_seconds(), 60);
    /// ```
    pub fn max_seconds(mut self, seconds: u64) -> Self {
        self.max_seconds = seconds;
        self
    }

    /// At most this many children at a time, restarting ones included
    /// (default: no limit). Past it, `start_child` returns
    /// [`StartChildError::MaxChildren`].
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().max_children(10_000).get_max_children(), Some(10_000));
    /// ```
    pub fn max_children(mut self, n: usize) -> Self {
        self.max_children = Some(n);
        self
    }

    /// The extra arguments: a clone reaches every child's start function
    /// (Elixir prepends its `extra_arguments` to the child's arguments).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// let flags: DynamicSupervisorFlags<(String, u16)> =
    ///     DynamicSupervisorFlags::new().max_children(5).extra_arguments(("db.local".to_string(), 5432));
    /// assert_eq!(flags.get_extra_arguments().1, 5432);
    /// assert_eq!(flags.get_max_children(), Some(5)); // the other flags are kept
    /// ```
    pub fn extra_arguments<B>(self, extra: B) -> DynamicSupervisorFlags<B> {
        DynamicSupervisorFlags {
            max_restarts: self.max_restarts,
            max_seconds: self.max_seconds,
            max_children: self.max_children,
            extra_arguments: extra,
        }
    }

    /// The restart limit.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().get_max_restarts(), 3);
    /// ```
    pub fn get_max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The restart window, in seconds.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().get_max_seconds(), 5);
    /// ```
    pub fn get_max_seconds(&self) -> u64 {
        self.max_seconds
    }

    /// The child limit (`None`: unlimited).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().get_max_children(), None);
    /// ```
    pub fn get_max_children(&self) -> Option<usize> {
        self.max_children
    }

    /// The extra arguments.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().get_extra_arguments(), &());
    /// assert_eq!(DynamicSupervisorFlags::new().extra_arguments(7u8).get_extra_arguments(), &7);
    /// ```
    pub fn get_extra_arguments(&self) -> &A {
        &self.extra_arguments
    }
}

/// Options for [`DynamicSupervisor::start_link`] (Elixir's `start_link(opts)`
/// keyword list): the [flags](DynamicSupervisorFlags) and the GenServer start
/// options (name, init timeout, spawn options).
///
/// ```
/// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
/// let options = DynamicSupervisorOptions::new().name("jobs").max_children(10).extra_arguments(42u32);
/// assert_eq!(options.flags().get_max_children(), Some(10));
/// ```
#[derive(Clone, Debug)]
pub struct DynamicSupervisorOptions<A = ()> {
    flags: DynamicSupervisorFlags<A>,
    start: StartOptions,
}

impl DynamicSupervisorOptions<()> {
    /// No name, default flags.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// let options = DynamicSupervisorOptions::new();
    /// assert!(options.get_start_options().get_name().is_none());
    /// assert_eq!(options.flags().get_max_children(), None);
    /// ```
    pub fn new() -> Self {
        DynamicSupervisorOptions { flags: DynamicSupervisorFlags::new(), start: StartOptions::new() }
    }
}

impl Default for DynamicSupervisorOptions<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> DynamicSupervisorOptions<A> {
    /// Registers the supervisor under a local or via name.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("jobs")).unwrap();
    ///     assert_eq!(ember_runtime::whereis("jobs"), Some(sup));
    /// })
    /// .unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<ProcessName>) -> Self {
        self.start = self.start.name(name);
        self
    }

    /// GenServer start options (name, init timeout, spawn options); replaces
    /// the name set before.
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// let options = DynamicSupervisorOptions::new().name("old").start_options(StartOptions::new().name("new"));
    /// assert_eq!(options.get_start_options().get_name().unwrap().to_string(), "new");
    /// ```
    pub fn start_options(mut self, start: StartOptions) -> Self {
        self.start = start;
        self
    }

    /// See [`DynamicSupervisorFlags::max_restarts`].
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// assert_eq!(DynamicSupervisorOptions::new().max_restarts(0).flags().get_max_restarts(), 0);
    /// ```
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.flags = self.flags.max_restarts(n);
        self
    }

    /// See [`DynamicSupervisorFlags::max_seconds`].
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// assert_eq!(DynamicSupervisorOptions::new().max_seconds(30).flags().get_max_seconds(), 30);
    /// ```
    pub fn max_seconds(mut self, seconds: u64) -> Self {
        self.flags = self.flags.max_seconds(seconds);
        self
    }

    /// See [`DynamicSupervisorFlags::max_children`].
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, StartChildError};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_children(1)).unwrap();
    ///     DynamicSupervisor::start_child(sup, ChildSpec::agent(|| 0)).unwrap();
    ///     assert_eq!(DynamicSupervisor::start_child(sup, ChildSpec::agent(|| 0)), Err(StartChildError::MaxChildren));
    /// })
    /// .unwrap();
    /// ```
    pub fn max_children(mut self, n: usize) -> Self {
        self.flags = self.flags.max_children(n);
        self
    }

    /// See [`DynamicSupervisorFlags::extra_arguments`].
    ///
    /// ```
    /// use ember_runtime::agent::Agent;
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let options = DynamicSupervisorOptions::new().extra_arguments("eu-west".to_string());
    ///     let sup = DynamicSupervisor::start_link(options).unwrap();
    ///     // Every child's start function receives a clone of the region.
    ///     let spec = ChildSpec::with_args("conn", |region: String| Agent::start_link(move || region));
    ///     let pid = DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap();
    ///     assert_eq!(Agent::<String>::new(pid).get(|r| r.clone()).unwrap(), "eu-west");
    /// })
    /// .unwrap();
    /// ```
    pub fn extra_arguments<B>(self, extra: B) -> DynamicSupervisorOptions<B> {
        DynamicSupervisorOptions { flags: self.flags.extra_arguments(extra), start: self.start }
    }

    /// The flags.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// let options = DynamicSupervisorOptions::new().name("jobs").max_children(100);
    /// assert_eq!(options.flags().get_max_children(), Some(100));
    /// ```
    pub fn flags(&self) -> &DynamicSupervisorFlags<A> {
        &self.flags
    }

    /// The start options.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// let options = DynamicSupervisorOptions::new().name("jobs");
    /// assert_eq!(options.get_start_options().get_name().unwrap().to_string(), "jobs");
    /// ```
    pub fn get_start_options(&self) -> &StartOptions {
        &self.start
    }
}

// ---------------------------------------------------------------------------
// Module-based supervisors

/// What [`DynamicSupervisorModule::init`] returns (Elixir: `{:ok, flags}` or
/// `:ignore`).
///
/// ```
/// use ember_runtime::gen_server::{StartError, StartOptions};
/// use ember_supervisor::dynamic_supervisor::{
///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
/// };
///
/// /// Runs only where the feature is on.
/// struct Uploads;
/// impl DynamicSupervisorModule for Uploads {
///     type Arg = bool;
///     type Extra = ();
///     fn init(enabled: bool) -> DynamicInit<()> {
///         if enabled {
///             DynamicInit::Ok(DynamicSupervisorFlags::new())
///         } else {
///             DynamicInit::Ignore
///         }
///     }
/// }
///
/// ember_runtime::run(|| {
///     assert!(DynamicSupervisor::start_link_module::<Uploads>(true, StartOptions::new()).is_ok());
///     let off = DynamicSupervisor::start_link_module::<Uploads>(false, StartOptions::new());
///     assert_eq!(off, Err(StartError::Ignore));
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub enum DynamicInit<A> {
    /// Run with these flags.
    Ok(DynamicSupervisorFlags<A>),
    /// Do not start: the start function returns [`StartError::Ignore`] and
    /// the process exits `Normal`.
    Ignore,
}

/// A module-based DynamicSupervisor (Elixir's `use DynamicSupervisor` with an
/// `init/1` callback): `init` runs in the new supervisor process and returns
/// its flags.
///
/// ```
/// use ember_supervisor::dynamic_supervisor::{
///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
/// };
/// use ember_runtime::gen_server::StartOptions;
///
/// struct Jobs;
/// impl DynamicSupervisorModule for Jobs {
///     type Arg = usize;
///     type Extra = ();
///     fn init(limit: usize) -> DynamicInit<()> {
///         DynamicInit::Ok(DynamicSupervisorFlags::new().max_children(limit))
///     }
/// }
///
/// ember_runtime::run(|| {
///     DynamicSupervisor::start_link_module::<Jobs>(1, StartOptions::new().name("jobs")).unwrap();
///     let spec = ember_supervisor::ChildSpec::agent(|| 0u32);
///     assert!(DynamicSupervisor::start_child("jobs", spec.clone()).is_ok());
///     assert_eq!(
///         DynamicSupervisor::start_child("jobs", spec).unwrap_err(),
///         ember_supervisor::dynamic_supervisor::StartChildError::MaxChildren
///     );
/// })
/// .unwrap();
/// ```
pub trait DynamicSupervisorModule: 'static {
    /// The argument `init` receives.
    type Arg: Send + 'static;
    /// The type of the extra arguments every child's start function receives.
    type Extra: Clone + Send + 'static;

    /// Builds the flags, in the supervisor's process.
    ///
    /// ```
    /// use ember_runtime::{agent::Agent, gen_server::StartOptions};
    /// use ember_supervisor::dynamic_supervisor::{
    ///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
    /// };
    /// use ember_supervisor::ChildSpec;
    ///
    /// /// Hands every connection the pool's database URL.
    /// struct Pool;
    /// impl DynamicSupervisorModule for Pool {
    ///     type Arg = &'static str;
    ///     type Extra = String;
    ///     fn init(url: &'static str) -> DynamicInit<String> {
    ///         DynamicInit::Ok(DynamicSupervisorFlags::new().max_children(10).extra_arguments(url.to_string()))
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let pool = DynamicSupervisor::start_link_module::<Pool>("db://primary", StartOptions::new()).unwrap();
    ///     let conn = ChildSpec::with_args("conn", |url: String| Agent::start_link(move || url));
    ///     let pid = DynamicSupervisor::start_child(pool, conn).unwrap().pid().unwrap();
    ///     assert_eq!(Agent::<String>::new(pid).get(|url| url.clone()).unwrap(), "db://primary");
    /// })
    /// .unwrap();
    /// ```
    fn init(arg: Self::Arg) -> DynamicInit<Self::Extra>;
}

/// The module behind [`DynamicSupervisor::start_link`]: returns the flags it
/// is given (Elixir's `Supervisor.Default`).
struct FlagsModule<A>(PhantomData<fn() -> A>);

impl<A: Clone + Send + 'static> DynamicSupervisorModule for FlagsModule<A> {
    type Arg = DynamicSupervisorFlags<A>;
    type Extra = A;
    fn init(flags: DynamicSupervisorFlags<A>) -> DynamicInit<A> {
        DynamicInit::Ok(flags)
    }
}

// ---------------------------------------------------------------------------
// Results and errors

/// Why [`DynamicSupervisor::start_child`] failed. (On success it returns a
/// [`StartedChild`]: `Running(pid)`, `RunningInfo(pid, info)` or `Ignored`
/// — Elixir's `{:ok, pid}`, `{:ok, pid, info}`, `:ignore`.)
///
/// ```
/// use ember_runtime::gen_server::CallError;
/// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, StartChildError};
/// use ember_supervisor::{ChildSpec, ChildSpecError};
/// ember_runtime::run(|| {
///     // Checked in the caller: this supervisor does not even exist.
///     let unnamed = ChildSpec::agent(|| 0).id_as("");
///     let err = DynamicSupervisor::start_child("nobody", unnamed).unwrap_err();
///     assert_eq!(err, StartChildError::InvalidSpec(ChildSpecError::MissingId));
///     let err = DynamicSupervisor::start_child("nobody", ChildSpec::agent(|| 0)).unwrap_err();
///     assert_eq!(err, StartChildError::Call(CallError::NoProc));
///     // A spec whose start function takes a `String`, for a supervisor whose
///     // extra arguments are a `u32`.
///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().extra_arguments(1u32)).unwrap();
///     let spec = ChildSpec::with_args("w", |_: String| ember_runtime::Pid::UNDEFINED);
///     let err = DynamicSupervisor::start_child(sup, spec).unwrap_err();
///     assert!(matches!(err, StartChildError::ArgumentType { expected: "u32", .. }));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum StartChildError {
    /// The supervisor already has `max_children` children (`{:error, :max_children}`).
    MaxChildren,
    /// The child spec is invalid; found in the caller, the supervisor was
    /// not contacted (`{:error, {:invalid_..., _}}`).
    InvalidSpec(ChildSpecError),
    /// The start function found its name taken by this process
    /// (`{:error, {:already_started, pid}}`).
    AlreadyStarted(Pid),
    /// The start function failed with this reason (`{:error, reason}`).
    Failed(Reason),
    /// The spec's argument type is not the supervisor's extra-argument type.
    ArgumentType {
        /// The supervisor's extra-argument type.
        expected: &'static str,
        /// The spec's argument type.
        given: &'static str,
    },
    /// The supervisor could not be called (no process, or it exited).
    Call(CallError),
}

impl fmt::Display for StartChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartChildError::MaxChildren => f.write_str("max_children: the supervisor is full"),
            StartChildError::InvalidSpec(e) => write!(f, "invalid child spec: {e}"),
            StartChildError::AlreadyStarted(p) => write!(f, "already_started: {p}"),
            StartChildError::Failed(r) => write!(f, "the child failed to start: {r:?}"),
            StartChildError::ArgumentType { expected, given } => {
                write!(f, "the supervisor's extra arguments are {expected}, the child spec takes {given}")
            }
            StartChildError::Call(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartChildError {}

/// Why [`DynamicSupervisor::terminate_child`] failed.
///
/// ```
/// use ember_runtime::gen_server::CallError;
/// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, TerminateChildError};
/// ember_runtime::run(|| {
///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
///     let stranger = ember_runtime::self_pid(); // not one of its children
///     assert_eq!(DynamicSupervisor::terminate_child(sup, stranger), Err(TerminateChildError::NotFound));
///     let err = DynamicSupervisor::terminate_child("nobody", stranger).unwrap_err();
///     assert_eq!(err, TerminateChildError::Call(CallError::NoProc));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum TerminateChildError {
    /// The pid is not a child of this supervisor (`{:error, :not_found}`).
    NotFound,
    /// The supervisor could not be called.
    Call(CallError),
}

impl fmt::Display for TerminateChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TerminateChildError::NotFound => f.write_str("not_found: not a child of this supervisor"),
            TerminateChildError::Call(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TerminateChildError {}

// ---------------------------------------------------------------------------
// The API

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

/// The wire protocol: one request type for every supervisor, whatever its
/// extra-argument type, so a request never goes unrecognised.
enum Request {
    StartChild { spec: Box<dyn Any + Send>, arg_type: &'static str },
    TerminateChild(Pid),
    WhichChildren,
    CountChildren,
}

enum Response {
    Started(Result<StartedChild, StartChildError>),
    Terminated(Result<(), TerminateChildError>),
    Which(Vec<ChildSummary>),
    Counts(ChildCounts),
}

/// A GenServer type with the supervisor's request and reply types, to call
/// any DynamicSupervisor through a typed [`Server`] handle. Never started.
struct Wire;

impl GenServer for Wire {
    type Arg = ();
    type Call = Request;
    type Reply = Response;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ignore
    }
}

fn call(sup: impl Into<Dest>, request: Request) -> Result<Response, CallError> {
    Server::<Wire>::new(sup).call_timeout(request, None)
}

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
        Self::start_link_module::<FlagsModule<A>>(options.flags, options.start)
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
        let name = options.get_name().map(|n| n.to_string());
        let server = gen_server::start_link::<DynamicServer<M>>((arg, name), options)?;
        server.pid().ok_or(StartError::Failed(Reason::NoProc))
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
    /// `None` (ids are ignored), pid or [`ChildPid::Restarting`], type.
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

// ---------------------------------------------------------------------------
// The supervisor process

/// The message a supervisor sends itself to retry a failed restart
/// (Elixir's `{:"$gen_restart", pid}`).
struct GenRestart(Pid);

/// The reason of the `shutdown` report (OTP's atom).
struct ReachedMaxRestartIntensity;

impl fmt::Debug for ReachedMaxRestartIntensity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reached_max_restart_intensity")
    }
}

/// The supervisor's state.
struct DynamicServer<M: DynamicSupervisorModule> {
    /// Its name in reports.
    name: String,
    extra: M::Extra,
    max_children: Option<usize>,
    intensity: Intensity,
    children: Children<M::Extra>,
}

impl<M: DynamicSupervisorModule> GenServer for DynamicServer<M> {
    type Arg = (M::Arg, Option<String>);
    type Call = Request;
    type Reply = Response;
    type Cast = ();
    type Continue = ();

    // -- init (§5.2) --------------------------------------------------------

    fn init((arg, name): Self::Arg) -> Init<Self> {
        ember_runtime::trap_exit(true);
        let flags = match M::init(arg) {
            DynamicInit::Ok(flags) => flags,
            DynamicInit::Ignore => return Init::Ignore,
        };
        if flags.max_seconds == 0 {
            return Init::Stop(InitError::SupervisorData(FlagsError::InvalidPeriod(0)).into_reason());
        }
        let name = name.unwrap_or_else(|| format!("{} {}", ember_runtime::self_pid(), type_name::<M>()));
        Init::Ok(DynamicServer {
            name,
            extra: flags.extra_arguments,
            max_children: flags.max_children,
            intensity: Intensity::new(flags.max_restarts, flags.max_seconds),
            children: Children::new(),
        })
    }

    // -- calls (§5.3, §5.5, §5.6) -------------------------------------------

    fn handle_call(&mut self, request: Request, _from: ReplyTo<Response>) -> CallResult<Self> {
        CallResult::Reply(match request {
            Request::StartChild { spec, arg_type } => Response::Started(self.start_new_child(spec, arg_type)),
            Request::TerminateChild(pid) => Response::Terminated(self.terminate_child(pid)),
            Request::WhichChildren => Response::Which(self.children.summaries()),
            Request::CountChildren => Response::Counts(self.children.counts()),
        })
    }

    // -- exits and retries (§5.4) -------------------------------------------

    fn handle_info(&mut self, message: Info) -> Action<()> {
        let message = match message.downcast::<Exit>() {
            Ok(Exit { from, reason }) => return self.child_exited(from, reason),
            Err(message) => message,
        };
        match message.downcast::<GenRestart>() {
            Ok(GenRestart(pid)) => {
                // Gone if terminate_child removed it meanwhile.
                if self.children.get(pid).is_some_and(|c| c.restarting) {
                    return self.restart(pid);
                }
            }
            Err(message) => {
                tracing::error!(
                    target: "ember::supervisor",
                    supervisor = self.name.as_str(),
                    "DynamicSupervisor {} received unexpected message: {:?}",
                    self.name,
                    message
                );
            }
        }
        Action::NoReply
    }

    // -- termination (§5.6) -------------------------------------------------

    fn terminate(&mut self, _reason: &Reason) {
        let stopping: Vec<Stopping> = self.children.iter().filter(|c| !c.restarting).map(Child::stopping).collect();
        self.children = Children::new();
        for (pid, reason) in shutdown::shutdown_children_discarding(stopping) {
            report::error(&self.name, Context::ShutdownError, None, Some(pid), &reason);
        }
    }
}

impl<M: DynamicSupervisorModule> DynamicServer<M> {
    fn start_new_child(
        &mut self,
        spec: Box<dyn Any + Send>,
        arg_type: &'static str,
    ) -> Result<StartedChild, StartChildError> {
        let spec = match spec.downcast::<ChildSpec<M::Extra>>() {
            Ok(spec) => *spec,
            Err(_) => return Err(StartChildError::ArgumentType { expected: type_name::<M::Extra>(), given: arg_type }),
        };
        if self.max_children.is_some_and(|max| self.children.len() >= max) {
            return Err(StartChildError::MaxChildren);
        }
        match spec.start(self.extra.clone()) {
            Started::Ok(pid) => {
                self.children.push(pid, spec);
                Ok(StartedChild::Running(pid))
            }
            Started::OkInfo(pid, info) => {
                self.children.push(pid, spec);
                Ok(StartedChild::RunningInfo(pid, info))
            }
            Started::Ignore => Ok(StartedChild::Ignored),
            Started::Error(reason) => Err(match reason.downcast_ref::<AlreadyStarted>() {
                Some(&AlreadyStarted(pid)) => StartChildError::AlreadyStarted(pid),
                None => StartChildError::Failed(reason),
            }),
        }
    }

    fn terminate_child(&mut self, pid: Pid) -> Result<(), TerminateChildError> {
        let child = self.children.get(pid).ok_or(TerminateChildError::NotFound)?;
        if !child.restarting {
            let stopping = child.stopping();
            for (pid, reason) in shutdown::shutdown_children([stopping]) {
                report::error(&self.name, Context::ShutdownError, None, Some(pid), &reason);
            }
        }
        self.children.remove(pid);
        Ok(())
    }

    /// A linked process exited: if it is a child, restart or forget it.
    fn child_exited(&mut self, pid: Pid, reason: Reason) -> Action<()> {
        let Some(child) = self.children.get(pid) else {
            return Action::NoReply;
        };
        if child.restarting {
            return Action::NoReply;
        }
        match (child.spec.get_restart(), reason.is_clean()) {
            (Restart::Permanent, _) | (Restart::Transient, false) => {
                report::error(&self.name, Context::ChildTerminated, None, Some(pid), &reason);
                self.restart(pid)
            }
            (Restart::Transient | Restart::Temporary, true) => {
                self.children.remove(pid);
                Action::NoReply
            }
            (Restart::Temporary, false) => {
                report::error(&self.name, Context::ChildTerminated, None, Some(pid), &reason);
                self.children.remove(pid);
                Action::NoReply
            }
        }
    }

    /// Restarts the child known as `pid` (its old pid), within the intensity.
    fn restart(&mut self, pid: Pid) -> Action<()> {
        if !self.intensity.add_restart() {
            let reason = Reason::custom(ReachedMaxRestartIntensity);
            report::error(&self.name, Context::Shutdown, None, Some(pid), &reason);
            self.children.remove(pid);
            return Action::Stop(Reason::Shutdown);
        }
        let spec = self.children.get(pid).expect("restarting a known child").spec.clone();
        match spec.start(self.extra.clone()) {
            Started::Ok(new) | Started::OkInfo(new, _) => {
                self.children.remove(pid);
                self.children.push(new, spec);
            }
            Started::Ignore => {
                self.children.remove(pid);
            }
            Started::Error(reason) => {
                report::error(&self.name, Context::StartError, None, Some(pid), &reason);
                self.children.set_restarting(pid);
                ember_runtime::send(ember_runtime::self_pid(), GenRestart(pid));
            }
        }
        Action::NoReply
    }
}

// ---------------------------------------------------------------------------
// The children

/// One child: its pid (the old one while a restart is pending) and spec.
struct Child<A> {
    pid: Pid,
    restarting: bool,
    spec: ChildSpec<A>,
    prev: u32,
    next: u32,
}

impl<A> Child<A> {
    fn stopping(&self) -> Stopping {
        Stopping { pid: self.pid, shutdown: self.spec.get_shutdown(), restart: self.spec.get_restart() }
    }
}

const NIL: u32 = u32::MAX;

/// The children: a slab of [`Child`] records threaded on a doubly-linked
/// list in start order, and a map from pid to slab key. Insert, remove and
/// lookup by pid are O(1); so are the counts, kept up to date.
struct Children<A> {
    slab: Slab<Child<A>>,
    by_pid: PidMap<u32>,
    head: u32,
    tail: u32,
    restarting: usize,
    supervisors: usize,
}

impl<A> Children<A> {
    fn new() -> Self {
        Children { slab: Slab::new(), by_pid: PidMap::default(), head: NIL, tail: NIL, restarting: 0, supervisors: 0 }
    }

    fn len(&self) -> usize {
        self.slab.len()
    }

    fn get(&self, pid: Pid) -> Option<&Child<A>> {
        self.by_pid.get(&pid).map(|&k| &self.slab[k as usize])
    }

    /// Adds a running child at the end of the start order.
    fn push(&mut self, pid: Pid, spec: ChildSpec<A>) {
        if spec.get_type() == ChildType::Supervisor {
            self.supervisors += 1;
        }
        let key = self.slab.insert(Child { pid, restarting: false, spec, prev: self.tail, next: NIL }) as u32;
        assert!(key != NIL, "too many children");
        match self.tail {
            NIL => self.head = key,
            tail => self.slab[tail as usize].next = key,
        }
        self.tail = key;
        self.by_pid.insert(pid, key);
    }

    fn remove(&mut self, pid: Pid) -> Option<Child<A>> {
        let key = self.by_pid.remove(&pid)?;
        let child = self.slab.remove(key as usize);
        match child.prev {
            NIL => self.head = child.next,
            prev => self.slab[prev as usize].next = child.next,
        }
        match child.next {
            NIL => self.tail = child.prev,
            next => self.slab[next as usize].prev = child.prev,
        }
        if child.restarting {
            self.restarting -= 1;
        }
        if child.spec.get_type() == ChildType::Supervisor {
            self.supervisors -= 1;
        }
        Some(child)
    }

    fn set_restarting(&mut self, pid: Pid) {
        let key = self.by_pid[&pid];
        let child = &mut self.slab[key as usize];
        if !child.restarting {
            child.restarting = true;
            self.restarting += 1;
        }
    }

    /// The children in start order.
    fn iter(&self) -> impl Iterator<Item = &Child<A>> {
        let mut key = self.head;
        std::iter::from_fn(move || {
            let child = self.slab.get(key as usize)?;
            key = child.next;
            Some(child)
        })
    }

    fn summaries(&self) -> Vec<ChildSummary> {
        let mut out = Vec::with_capacity(self.len());
        out.extend(self.iter().map(|c| ChildSummary {
            id: None,
            pid: if c.restarting { ChildPid::Restarting } else { ChildPid::Running(c.pid) },
            kind: c.spec.get_type(),
        }));
        out
    }

    fn counts(&self) -> ChildCounts {
        ChildCounts {
            specs: self.len(),
            active: self.len() - self.restarting,
            supervisors: self.supervisors,
            workers: self.len() - self.supervisors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_keep_start_order_and_counts() {
        let pids: Vec<Pid> =
            ember_runtime::run(|| (0..5).map(|_| ember_runtime::spawn(|| {})).collect::<Vec<_>>()).unwrap();
        let mut c: Children<()> = Children::new();
        for (i, &p) in pids.iter().enumerate() {
            let spec = ChildSpec::new("c", || Started::Ignore);
            c.push(p, if i == 4 { spec.supervisor() } else { spec });
        }
        c.remove(pids[0]);
        c.remove(pids[2]);
        c.set_restarting(pids[4]);
        let order: Vec<Pid> = c.iter().map(|ch| ch.pid).collect();
        assert_eq!(order, vec![pids[1], pids[3], pids[4]]);
        assert_eq!(c.counts(), ChildCounts { specs: 3, active: 2, supervisors: 1, workers: 2 });
        c.remove(pids[4]);
        c.remove(pids[1]);
        c.remove(pids[3]);
        assert_eq!(c.iter().count(), 0);
        assert_eq!(c.counts(), ChildCounts::default());
        assert_eq!((c.head, c.tail), (NIL, NIL));
    }
}
