//! Supervisor: a static list of children, restarted with the one_for_one,
//! one_for_all or rest_for_one strategy — OTP's `supervisor` algorithm
//! (SEMANTICS.md §4), step for step.
//!
//! The user's code first:
//!
//! ```
//! use ember_runtime::gen_server::{CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
//! use ember_supervisor::{Child, ChildSpec, Supervisor, SupervisorOptions};
//!
//! /// A stack that panics when popped empty.
//! struct Stack(Vec<&'static str>);
//!
//! impl GenServer for Stack {
//!     type Arg = Vec<&'static str>;
//!     type Call = ();
//!     type Reply = &'static str;
//!     type Cast = &'static str;
//!     type Continue = ();
//!     fn init(items: Self::Arg) -> Init<Self> {
//!         Init::Ok(Stack(items))
//!     }
//!     fn handle_call(&mut self, _pop: (), _from: ReplyTo<&'static str>) -> CallResult<Self> {
//!         CallResult::Reply(self.0.pop().expect("pop on an empty stack"))
//!     }
//!     fn handle_cast(&mut self, item: &'static str) -> ember_runtime::Action<()> {
//!         self.0.push(item);
//!         ember_runtime::Action::NoReply
//!     }
//! }
//!
//! impl Child for Stack {
//!     fn child_spec(items: Self::Arg) -> ChildSpec {
//!         ChildSpec::gen_server_opts::<Self>(items, StartOptions::new().name("stack"))
//!     }
//! }
//!
//! ember_runtime::run(|| {
//!     let sup = Supervisor::start_link(vec![Stack::child_spec(vec!["hello"])], SupervisorOptions::one_for_one())
//!         .unwrap();
//!     let stack: Server<Stack> = Server::new("stack");
//!     assert_eq!(stack.call(()).unwrap(), "hello");
//!     assert!(stack.call(()).is_err()); // crashed: empty
//!     // The supervisor handles the crash before any request sent to it now.
//!     assert_eq!(sup.count_children().unwrap().active, 1);
//!     assert_eq!(stack.call(()).unwrap(), "hello"); // restarted with its initial state
//! })
//! .unwrap();
//! ```
//!
//! A supervisor is a [`GenServer`](ember_runtime::GenServer) that traps
//! exits. What it does, in the order of `supervisor.erl` (the code in
//! `server.rs` follows the same order):
//!
//! 1. **Start** ([`Supervisor::start_link`], [`Supervisor::start_link_module`]):
//!    trap exits, validate the [`Flags`] and every [`ChildSpec`], start the
//!    children one at a time in list order. If one fails, stop the ones
//!    already started in reverse order and fail with
//!    [`InitError::FailedToStartChild`].
//! 2. **A child exits**: restart it or not, by its [`Restart`] type and the
//!    exit reason (permanent: always; transient: unless the reason is clean;
//!    temporary: never, and its spec is dropped), then by the [`Strategy`].
//! 3. **Intensity**: every restart attempt is counted; more than
//!    `max_restarts` within `max_seconds` and the supervisor stops all its
//!    children and exits with `shutdown`.
//! 4. **A restart fails**: the child is marked restarting and the supervisor
//!    sends itself a "try again" message, so requests already queued
//!    (a `terminate_child`, a stop) are served before the next attempt.
//! 5. **Stop**: children are stopped one at a time, in reverse start order,
//!    each with its [`Shutdown`] procedure.
//!
//! The differences from OTP are on purpose and listed in
//! `docs/supervisor.md`: ids are strings, reasons are [`Reason`] values,
//! errors are `Result`s instead of tagged tuples.
//!
//! [`Restart`]: crate::Restart
//! [`Shutdown`]: crate::Shutdown

mod children;
mod server;

use crate::child_spec::{ChildId, ChildSpec, ChildSpecError};
use crate::children::{ChildCounts, ChildSummary};
use ember_runtime::gen_server::{CallError, ProcessName, Server, StartError, StartOptions, StartedProcess};
use ember_runtime::{Dest, Pid, Reason, Term};
use server::{Request, Response, SupervisorServer};
use std::fmt;
use std::time::Duration;

pub use server::check_childspecs;

/// What a supervisor does when a child has to be restarted.
///
/// ```
/// use ember_runtime::{monitor, receive, Down, Reason};
/// use ember_supervisor::{ChildSpec, Supervisor, SupervisorOptions};
///
/// ember_runtime::run(|| {
///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
///     let children = vec![ChildSpec::new("db", w), ChildSpec::new("cache", w)];
///     let sup = Supervisor::start_link(children, SupervisorOptions::one_for_all()).unwrap();
///     let pids = |sup: &Supervisor| -> Vec<_> { sup.which_children().unwrap().iter().map(|c| c.pid.pid()).collect() };
///     let before = pids(&sup);
///     // The db crashes: with one_for_all, the cache is restarted with it.
///     let db = sup.which_children().unwrap().into_iter().find(|c| c.id.as_ref().unwrap().as_str() == "db");
///     let db = db.unwrap().pid.pid().unwrap();
///     monitor(db);
///     db.exit(Reason::custom("crash"));
///     receive::<Down>();
///     let after = pids(&sup);
///     assert!(after.iter().all(|p| p.is_some() && !before.contains(p)));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Restart only the child that exited.
    #[default]
    OneForOne,
    /// Stop every other child (reverse start order), then start them all
    /// again (start order).
    OneForAll,
    /// Stop the children started after the one that exited (reverse start
    /// order), then start it and them again (start order).
    RestForOne,
}

/// When a supervisor stops by itself because *significant* children
/// exited (SEMANTICS.md §4.9).
///
/// ```
/// use ember_runtime::{monitor, receive, send, trap_exit, Down, Reason};
/// use ember_supervisor::{AutoShutdown, ChildSpec, Restart, Supervisor, SupervisorOptions};
///
/// ember_runtime::run(|| {
///     trap_exit(true); // the supervisor exits `shutdown`, which the link passes on
///     // A job that finishes (exits `normal`) when it is told to.
///     let job = ChildSpec::new("job", || ember_runtime::spawn_link(|| ember_runtime::receive::<()>()))
///         .restart(Restart::Transient)
///         .significant(true);
///     let options = SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AnySignificant);
///     let sup = Supervisor::start_link(vec![job], options).unwrap();
///     monitor(sup.pid().unwrap());
///     send(sup.which_children().unwrap()[0].pid.pid().unwrap(), ());
///     // The job is done and not restarted: the supervisor stops by itself.
///     assert_eq!(receive::<Down>().reason, Reason::Shutdown);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AutoShutdown {
    /// Never (the default); significant children are rejected.
    #[default]
    Never,
    /// When any significant child exits and is not restarted.
    AnySignificant,
    /// When the last running significant child exits and is not restarted.
    AllSignificant,
}

/// A supervisor's flags (OTP's `sup_flags`): strategy, restart intensity
/// and automatic shutdown.
///
/// ```
/// use ember_supervisor::{AutoShutdown, Flags, Strategy};
/// let flags = Flags::new(Strategy::RestForOne).max_restarts(10).max_seconds(60);
/// assert_eq!(flags.get_strategy(), Strategy::RestForOne);
/// assert_eq!(flags.get_max_restarts(), 10);
/// assert_eq!(flags.get_max_seconds(), 60);
/// assert_eq!(flags.get_auto_shutdown(), AutoShutdown::Never);
/// assert_eq!(Flags::default(), Flags::one_for_one());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    strategy: Strategy,
    max_restarts: u32,
    max_seconds: u64,
    auto_shutdown: AutoShutdown,
}

impl Default for Flags {
    fn default() -> Self {
        Flags::new(Strategy::OneForOne)
    }
}

impl Flags {
    /// The flags for `strategy` with Elixir's defaults: at most 3 restarts
    /// in 5 seconds, no automatic shutdown.
    ///
    /// ```
    /// let flags = ember_supervisor::Flags::new(ember_supervisor::Strategy::OneForAll);
    /// assert_eq!((flags.get_max_restarts(), flags.get_max_seconds()), (3, 5));
    /// ```
    pub fn new(strategy: Strategy) -> Self {
        Flags {
            strategy,
            max_restarts: crate::restart::DEFAULT_MAX_RESTARTS,
            max_seconds: crate::restart::DEFAULT_MAX_SECONDS,
            auto_shutdown: AutoShutdown::Never,
        }
    }

    /// `Flags::new(Strategy::OneForOne)`.
    ///
    /// ```
    /// assert_eq!(ember_supervisor::Flags::one_for_one().get_strategy(), ember_supervisor::Strategy::OneForOne);
    /// ```
    pub fn one_for_one() -> Self {
        Flags::new(Strategy::OneForOne)
    }

    /// `Flags::new(Strategy::OneForAll)`.
    ///
    /// ```
    /// assert_eq!(ember_supervisor::Flags::one_for_all().get_strategy(), ember_supervisor::Strategy::OneForAll);
    /// ```
    pub fn one_for_all() -> Self {
        Flags::new(Strategy::OneForAll)
    }

    /// `Flags::new(Strategy::RestForOne)`.
    ///
    /// ```
    /// assert_eq!(ember_supervisor::Flags::rest_for_one().get_strategy(), ember_supervisor::Strategy::RestForOne);
    /// ```
    pub fn rest_for_one() -> Self {
        Flags::new(Strategy::RestForOne)
    }

    /// Sets the strategy.
    ///
    /// ```
    /// use ember_supervisor::{Flags, Strategy};
    /// assert_eq!(Flags::default().strategy(Strategy::OneForAll), Flags::one_for_all());
    /// ```
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the restart intensity: at most this many restarts within
    /// `max_seconds` (0: the first restart already makes the supervisor
    /// give up).
    ///
    /// ```
    /// assert_eq!(ember_supervisor::Flags::default().max_restarts(0).get_max_restarts(), 0);
    /// ```
    pub fn max_restarts(mut self, max_restarts: u32) -> Self {
        self.max_restarts = max_restarts;
        self
    }

    /// Sets the intensity period, in whole seconds (must be at least 1).
    ///
    /// ```
    /// assert_eq!(ember_supervisor::Flags::default().max_seconds(30).get_max_seconds(), 30);
    /// ```
    pub fn max_seconds(mut self, max_seconds: u64) -> Self {
        self.max_seconds = max_seconds;
        self
    }

    /// Sets the automatic shutdown.
    ///
    /// ```
    /// use ember_supervisor::{AutoShutdown, Flags};
    /// let f = Flags::default().auto_shutdown(AutoShutdown::AnySignificant);
    /// assert_eq!(f.get_auto_shutdown(), AutoShutdown::AnySignificant);
    /// ```
    pub fn auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Self {
        self.auto_shutdown = auto_shutdown;
        self
    }

    /// The strategy.
    ///
    /// ```
    /// use ember_supervisor::{Flags, Strategy};
    /// assert_eq!(Flags::rest_for_one().get_strategy(), Strategy::RestForOne);
    /// ```
    pub fn get_strategy(&self) -> Strategy {
        self.strategy
    }

    /// The maximum number of restarts within the period.
    ///
    /// ```
    /// use ember_supervisor::{Flags, DEFAULT_MAX_RESTARTS};
    /// assert_eq!(Flags::default().get_max_restarts(), DEFAULT_MAX_RESTARTS);
    /// ```
    pub fn get_max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The intensity period in seconds.
    ///
    /// ```
    /// use ember_supervisor::{Flags, DEFAULT_MAX_SECONDS};
    /// assert_eq!(Flags::default().get_max_seconds(), DEFAULT_MAX_SECONDS);
    /// ```
    pub fn get_max_seconds(&self) -> u64 {
        self.max_seconds
    }

    /// The automatic shutdown setting.
    ///
    /// ```
    /// use ember_supervisor::{AutoShutdown, Flags};
    /// assert_eq!(Flags::default().get_auto_shutdown(), AutoShutdown::Never);
    /// ```
    pub fn get_auto_shutdown(&self) -> AutoShutdown {
        self.auto_shutdown
    }

    /// Checks the flags (OTP's `check_flags`). The Rust types rule out every
    /// OTP error but one: a period of zero seconds.
    ///
    /// ```
    /// use ember_supervisor::{Flags, FlagsError};
    /// assert_eq!(Flags::default().validate(), Ok(()));
    /// assert_eq!(Flags::default().max_seconds(0).validate(), Err(FlagsError::InvalidPeriod(0)));
    /// ```
    pub fn validate(&self) -> Result<(), FlagsError> {
        if self.max_seconds == 0 {
            return Err(FlagsError::InvalidPeriod(self.max_seconds));
        }
        Ok(())
    }
}

/// Why supervisor flags were rejected, named after OTP's errors.
///
/// ```
/// use ember_supervisor::{Flags, FlagsError};
/// let err = Flags::one_for_one().max_seconds(0).validate().unwrap_err();
/// assert_eq!(err, FlagsError::InvalidPeriod(0));
/// assert!(err.to_string().starts_with("invalid_period: 0"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagsError {
    /// `{invalid_period, X}`: the period must be at least one second.
    InvalidPeriod(u64),
}

impl fmt::Display for FlagsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagsError::InvalidPeriod(p) => write!(f, "invalid_period: {p} (max_seconds must be at least 1)"),
        }
    }
}

impl std::error::Error for FlagsError {}

/// Options of [`Supervisor::start_link`]: the [`Flags`] plus the start
/// options of the supervisor process (its name, local or via).
///
/// ```
/// use ember_supervisor::{AutoShutdown, Strategy, SupervisorOptions};
/// let options = SupervisorOptions::one_for_all().max_restarts(5).max_seconds(10).name("app");
/// assert_eq!(options.flags().get_strategy(), Strategy::OneForAll);
/// assert_eq!(options.flags().get_max_restarts(), 5);
/// assert_eq!(options.start_options().get_name().unwrap().to_string(), "app");
/// ```
#[derive(Clone, Debug, Default)]
pub struct SupervisorOptions {
    flags: Flags,
    start: StartOptions,
}

impl SupervisorOptions {
    /// Options with `strategy` and the default intensity (3 in 5 s), no
    /// name.
    ///
    /// ```
    /// let o = ember_supervisor::SupervisorOptions::new(ember_supervisor::Strategy::RestForOne);
    /// assert_eq!(o.flags().get_max_restarts(), 3);
    /// ```
    pub fn new(strategy: Strategy) -> Self {
        SupervisorOptions { flags: Flags::new(strategy), start: StartOptions::new() }
    }

    /// Options with these flags.
    ///
    /// ```
    /// use ember_supervisor::{Flags, SupervisorOptions};
    /// let o = SupervisorOptions::from_flags(Flags::one_for_all().max_restarts(1));
    /// assert_eq!(o.flags().get_max_restarts(), 1);
    /// ```
    pub fn from_flags(flags: Flags) -> Self {
        SupervisorOptions { flags, start: StartOptions::new() }
    }

    /// `SupervisorOptions::new(Strategy::OneForOne)`.
    ///
    /// ```
    /// use ember_supervisor::{Strategy, SupervisorOptions};
    /// assert_eq!(SupervisorOptions::one_for_one().flags().get_strategy(), Strategy::OneForOne);
    /// ```
    pub fn one_for_one() -> Self {
        Self::new(Strategy::OneForOne)
    }

    /// `SupervisorOptions::new(Strategy::OneForAll)`.
    ///
    /// ```
    /// use ember_supervisor::{Strategy, SupervisorOptions};
    /// assert_eq!(SupervisorOptions::one_for_all().flags().get_strategy(), Strategy::OneForAll);
    /// ```
    pub fn one_for_all() -> Self {
        Self::new(Strategy::OneForAll)
    }

    /// `SupervisorOptions::new(Strategy::RestForOne)`.
    ///
    /// ```
    /// use ember_supervisor::{Strategy, SupervisorOptions};
    /// assert_eq!(SupervisorOptions::rest_for_one().flags().get_strategy(), Strategy::RestForOne);
    /// ```
    pub fn rest_for_one() -> Self {
        Self::new(Strategy::RestForOne)
    }

    /// Sets the strategy.
    ///
    /// ```
    /// use ember_supervisor::{Strategy, SupervisorOptions};
    /// let o = SupervisorOptions::default().strategy(Strategy::OneForAll);
    /// assert_eq!(o.flags().get_strategy(), Strategy::OneForAll);
    /// ```
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.flags = self.flags.strategy(strategy);
        self
    }

    /// Sets `max_restarts` (default 3).
    ///
    /// ```
    /// let o = ember_supervisor::SupervisorOptions::one_for_one().max_restarts(0);
    /// assert_eq!(o.flags().get_max_restarts(), 0);
    /// ```
    pub fn max_restarts(mut self, max_restarts: u32) -> Self {
        self.flags = self.flags.max_restarts(max_restarts);
        self
    }

    /// Sets `max_seconds` (default 5).
    ///
    /// ```
    /// let o = ember_supervisor::SupervisorOptions::one_for_one().max_seconds(1);
    /// assert_eq!(o.flags().get_max_seconds(), 1);
    /// ```
    pub fn max_seconds(mut self, max_seconds: u64) -> Self {
        self.flags = self.flags.max_seconds(max_seconds);
        self
    }

    /// Sets `auto_shutdown` (default never).
    ///
    /// ```
    /// use ember_supervisor::{AutoShutdown, SupervisorOptions};
    /// let o = SupervisorOptions::one_for_one().auto_shutdown(AutoShutdown::AllSignificant);
    /// assert_eq!(o.flags().get_auto_shutdown(), AutoShutdown::AllSignificant);
    /// ```
    pub fn auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Self {
        self.flags = self.flags.auto_shutdown(auto_shutdown);
        self
    }

    /// Registers the supervisor under this name: a local name or a
    /// [`Via`](ember_runtime::Via) name, as for a GenServer.
    ///
    /// ```
    /// let o = ember_supervisor::SupervisorOptions::one_for_one().name("root");
    /// assert!(o.start_options().get_name().is_some());
    /// ```
    pub fn name(mut self, name: impl Into<ProcessName>) -> Self {
        self.start = self.start.name(name);
        self
    }

    /// Replaces the start options of the supervisor process (name, init
    /// timeout, spawn options).
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// let o = ember_supervisor::SupervisorOptions::one_for_one().with_start_options(StartOptions::new().name("s"));
    /// assert!(o.start_options().get_name().is_some());
    /// ```
    pub fn with_start_options(mut self, start: StartOptions) -> Self {
        self.start = start;
        self
    }

    /// The flags.
    ///
    /// ```
    /// use ember_supervisor::{Flags, SupervisorOptions};
    /// let options = SupervisorOptions::one_for_all().max_restarts(10).name("app");
    /// assert_eq!(options.flags(), Flags::one_for_all().max_restarts(10));
    /// ```
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// The start options of the supervisor process.
    ///
    /// ```
    /// use ember_supervisor::SupervisorOptions;
    /// assert!(SupervisorOptions::one_for_one().start_options().get_name().is_none());
    /// let named = SupervisorOptions::one_for_one().name("app");
    /// assert_eq!(named.start_options().get_name().unwrap().to_string(), "app");
    /// ```
    pub fn start_options(&self) -> &StartOptions {
        &self.start
    }
}

/// A module-based supervisor (Elixir's `use Supervisor`): a type whose
/// [`init`](SupervisorModule::init) computes the flags and the children in
/// the supervisor's own process, at every start.
///
/// ```
/// use ember_supervisor::{ChildSpec, Flags, Supervisor, SupervisorModule};
/// use ember_runtime::gen_server::StartOptions;
///
/// struct App;
///
/// impl SupervisorModule for App {
///     type Arg = u32;
///     fn init(workers: u32) -> Option<(Flags, Vec<ChildSpec>)> {
///         if workers == 0 {
///             return None; // ignore: start nothing
///         }
///         let children = (0..workers as usize)
///             .map(|i| ChildSpec::new(i, || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); })))
///             .collect();
///         Some((Flags::one_for_one(), children))
///     }
/// }
///
/// ember_runtime::run(|| {
///     let sup = Supervisor::start_link_module::<App>(2, StartOptions::new()).unwrap();
///     assert_eq!(sup.count_children().unwrap().active, 2);
///     assert!(Supervisor::start_link_module::<App>(0, StartOptions::new()).is_err()); // StartError::Ignore
///     // The default child spec: a supervisor child, shutdown infinity.
///     assert_eq!(App::child_spec(1).get_type(), ember_supervisor::ChildType::Supervisor);
/// })
/// .unwrap();
/// ```
pub trait SupervisorModule: Sized + 'static {
    /// The argument `init` receives.
    type Arg: Send + 'static;

    /// The flags and children, or `None` to start nothing:
    /// [`Supervisor::start_link_module`] then returns
    /// [`StartError::Ignore`] and the process exits `normal` (OTP's
    /// `ignore`). Runs in the supervisor's process, which already traps
    /// exits. A panic here fails the start with the panic's reason.
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::{ChildSpec, Flags, Supervisor, SupervisorModule};
    ///
    /// /// One worker per shard; the shard list is read at every (re)start.
    /// struct Shards;
    /// impl SupervisorModule for Shards {
    ///     type Arg = Vec<&'static str>;
    ///     fn init(shards: Vec<&'static str>) -> Option<(Flags, Vec<ChildSpec>)> {
    ///         // In the new supervisor process, which already traps exits.
    ///         assert!(ember_runtime::process_info(ember_runtime::self_pid()).unwrap().trap_exit);
    ///         let worker = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///         let children = shards.into_iter().map(|shard| ChildSpec::new(shard, worker)).collect();
    ///         Some((Flags::one_for_one().max_restarts(10), children))
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let sup = Supervisor::start_link_module::<Shards>(vec!["eu", "us"], StartOptions::new()).unwrap();
    ///     let ids: Vec<_> = sup.which_children().unwrap().into_iter().map(|c| c.id.unwrap().to_string()).collect();
    ///     assert_eq!(ids, ["us", "eu"]); // most recently started first
    /// })
    /// .unwrap();
    /// ```
    fn init(arg: Self::Arg) -> Option<(Flags, Vec<ChildSpec>)>;

    /// The spec to run this supervisor under another one: id = the type's
    /// name, a permanent child of type supervisor (shutdown infinity),
    /// started with `start_link_module::<Self>(arg)`.
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, ChildType, Flags, Supervisor, SupervisorModule, SupervisorOptions};
    ///
    /// struct Workers;
    /// impl SupervisorModule for Workers {
    ///     type Arg = usize;
    ///     fn init(n: usize) -> Option<(Flags, Vec<ChildSpec>)> {
    ///         let worker = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///         Some((Flags::one_for_one(), (0..n).map(|i| ChildSpec::new(i, worker)).collect()))
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let root = Supervisor::start_link(vec![Workers::child_spec(3)], SupervisorOptions::one_for_one()).unwrap();
    ///     let child = root.which_children().unwrap().remove(0);
    ///     assert!(child.id.unwrap().as_str().ends_with("Workers"));
    ///     assert_eq!(child.kind, ChildType::Supervisor);
    ///     let workers = Supervisor::from(child.pid.pid().unwrap());
    ///     assert_eq!(workers.count_children().unwrap().active, 3);
    /// })
    /// .unwrap();
    /// ```
    fn child_spec(arg: Self::Arg) -> ChildSpec
    where
        Self::Arg: Clone + Sync,
    {
        ChildSpec::new(std::any::type_name::<Self>(), move || {
            Supervisor::start_link_module::<Self>(arg.clone(), StartOptions::new())
        })
        .supervisor()
    }
}

/// Why a supervisor did not start: the reason inside
/// [`StartError::Failed`] (get it with [`InitError::of`]).
///
/// | variant | OTP reason | the supervisor process exits with |
/// |---|---|---|
/// | `FailedToStartChild` | `{shutdown, {failed_to_start_child, Id, Reason}}` | `ShutdownWith(this)`, clean |
/// | `StartSpec` | `{start_spec, Error}` | `Custom(this)` |
/// | `SupervisorData` | `{supervisor_data, Error}` | `Custom(this)` |
///
/// As in OTP the supervisor is linked to its starter, so a starter that does
/// not trap exits is killed by the non-clean reasons before it can look at
/// the error.
///
/// ```
/// use ember_supervisor::{ChildSpec, ChildSpecError, InitError, Supervisor, SupervisorOptions};
/// ember_runtime::run(|| {
///     ember_runtime::trap_exit(true); // survive the supervisor's exit
///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
///     let twins = vec![ChildSpec::new("w", w), ChildSpec::new("w", w)];
///     let err = Supervisor::start_link(twins, SupervisorOptions::one_for_one()).unwrap_err();
///     let init_error = InitError::of(&err).unwrap();
///     assert_eq!(init_error, InitError::StartSpec(ChildSpecError::DuplicateChildName("w".into())));
///     assert_eq!(init_error.to_string(), "invalid child spec: duplicate_child_name: w");
/// })
/// .unwrap();
/// ```
#[derive(Clone, PartialEq)]
pub enum InitError {
    /// A child failed to start; the ones started before it were stopped.
    FailedToStartChild {
        /// The child that failed.
        id: ChildId,
        /// Why (the start function's error, or the panic).
        reason: Reason,
    },
    /// A child spec is invalid.
    StartSpec(ChildSpecError),
    /// The flags are invalid.
    SupervisorData(FlagsError),
}

impl InitError {
    /// The supervisor error inside a start error, if it is one.
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, ChildSpecError, InitError, Supervisor, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     ember_runtime::trap_exit(true);
    ///     let err = Supervisor::start_link(vec![ChildSpec::new("", || ember_runtime::Pid::UNDEFINED)], SupervisorOptions::one_for_one())
    ///         .unwrap_err();
    ///     assert_eq!(InitError::of(&err), Some(InitError::StartSpec(ChildSpecError::MissingId)));
    /// })
    /// .unwrap();
    /// ```
    pub fn of(error: &StartError) -> Option<InitError> {
        match error {
            StartError::Failed(reason) => reason.downcast_ref::<InitError>().cloned(),
            _ => None,
        }
    }

    /// The exit reason of a supervisor that failed this way.
    pub(crate) fn into_reason(self) -> Reason {
        match self {
            e @ InitError::FailedToStartChild { .. } => Reason::shutdown_with(e),
            e => Reason::custom(e),
        }
    }
}

impl fmt::Debug for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::FailedToStartChild { id, reason } => write!(f, "{{failed_to_start_child, {id:?}, {reason:?}}}"),
            InitError::StartSpec(e) => write!(f, "{{start_spec, {e:?}}}"),
            InitError::SupervisorData(e) => write!(f, "{{supervisor_data, {e:?}}}"),
        }
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::FailedToStartChild { id, reason } => write!(f, "failed to start child {id:?}: {reason:?}"),
            InitError::StartSpec(e) => write!(f, "invalid child spec: {e}"),
            InitError::SupervisorData(e) => write!(f, "invalid supervisor flags: {e}"),
        }
    }
}

impl std::error::Error for InitError {}

/// What [`Supervisor::start_child`] and [`Supervisor::restart_child`]
/// return on success (OTP: `{ok, Pid}`, `{ok, Pid, Info}`, `{ok, undefined}`).
///
/// ```
/// use ember_supervisor::{ChildSpec, Started, StartedChild, Supervisor, SupervisorOptions};
/// ember_runtime::run(|| {
///     let sup = Supervisor::start_link(vec![], SupervisorOptions::one_for_one()).unwrap();
///     let w = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
///     assert!(matches!(sup.start_child(w).unwrap(), StartedChild::Running(pid) if pid.is_alive()));
///     // A start that declines: nothing runs, the spec is kept.
///     let off = ChildSpec::new("off", || Started::Ignore);
///     assert_eq!(sup.start_child(off).unwrap(), StartedChild::Ignored);
///     assert_eq!(sup.count_children().unwrap().specs, 2);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum StartedChild {
    /// The child runs.
    Running(Pid),
    /// The child runs; its start function returned extra information.
    RunningInfo(Pid, Term),
    /// The start function returned ignore: nothing runs (the spec is kept
    /// unless the child is temporary).
    Ignored,
}

impl StartedChild {
    /// The child's pid, if it runs.
    ///
    /// ```
    /// assert_eq!(ember_supervisor::StartedChild::Ignored.pid(), None);
    /// ```
    pub fn pid(&self) -> Option<Pid> {
        match self {
            StartedChild::Running(p) | StartedChild::RunningInfo(p, _) => Some(*p),
            StartedChild::Ignored => None,
        }
    }
}

/// Why a request to a supervisor failed (OTP's `{error, _}` values, plus
/// the call failing).
///
/// ```
/// use ember_runtime::gen_server::CallError;
/// use ember_supervisor::{ChildSpec, Supervisor, SupervisorError, SupervisorOptions};
/// ember_runtime::run(|| {
///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
///     let sup = Supervisor::start_link(vec![ChildSpec::new("w", w)], SupervisorOptions::one_for_one()).unwrap();
///     assert_eq!(sup.delete_child("w"), Err(SupervisorError::Running));
///     assert_eq!(sup.restart_child("nope").unwrap_err(), SupervisorError::NotFound);
///     sup.terminate_child("w").unwrap();
///     assert_eq!(sup.start_child(ChildSpec::new("w", w)), Err(SupervisorError::AlreadyPresent));
///     let nobody = Supervisor::new("nobody");
///     assert_eq!(nobody.terminate_child("w"), Err(SupervisorError::Call(CallError::NoProc)));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum SupervisorError {
    /// `not_found`: no child with this id.
    NotFound,
    /// `running`: the child runs (restart_child, delete_child).
    Running,
    /// `restarting`: a restart of the child failed and is being retried.
    Restarting,
    /// `{already_started, Pid}`: a child with this id runs (start_child), or
    /// the child's start found its name taken by this process.
    AlreadyStarted(Pid),
    /// `already_present`: a child with this id exists but does not run
    /// (start_child).
    AlreadyPresent,
    /// The child spec is invalid (start_child).
    InvalidSpec(ChildSpecError),
    /// The child's start function failed with this reason (start_child,
    /// restart_child); nothing was saved or changed.
    StartFailed(Reason),
    /// The supervisor could not be called (not running, or it exited).
    Call(CallError),
}

impl fmt::Display for SupervisorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SupervisorError::NotFound => f.write_str("not_found: no such child"),
            SupervisorError::Running => f.write_str("running: the child is running"),
            SupervisorError::Restarting => f.write_str("restarting: the child is being restarted"),
            SupervisorError::AlreadyStarted(p) => write!(f, "already_started: {p}"),
            SupervisorError::AlreadyPresent => f.write_str("already_present: a child with this id exists"),
            SupervisorError::InvalidSpec(e) => write!(f, "{e}"),
            SupervisorError::StartFailed(r) => write!(f, "the child failed to start: {r:?}"),
            SupervisorError::Call(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SupervisorError {}

impl From<CallError> for SupervisorError {
    fn from(e: CallError) -> Self {
        SupervisorError::Call(e)
    }
}

/// A handle to a supervisor: its address (pid, local name or via name).
/// Every request is a call without timeout, as in OTP.
///
/// ```
/// use ember_supervisor::{ChildSpec, Supervisor, SupervisorOptions};
/// ember_runtime::run(|| {
///     let worker = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
///     Supervisor::start_link(vec![ChildSpec::new("w", worker)], SupervisorOptions::one_for_one().name("sup")).unwrap();
///     let sup = Supervisor::new("sup"); // by name
///     assert_eq!(sup.which_children().unwrap().len(), 1);
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Supervisor {
    server: Server<SupervisorServer>,
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Supervisor({})", self.server.dest())
    }
}

impl StartedProcess for Supervisor {
    fn started_pid(&self) -> Pid {
        self.pid().unwrap_or(Pid::UNDEFINED)
    }
}

impl From<Pid> for Supervisor {
    fn from(pid: Pid) -> Self {
        Supervisor::new(pid)
    }
}

impl Supervisor {
    /// Starts a supervisor linked to the caller, with these children and
    /// options (Elixir's `Supervisor.start_link(children, opts)`). Returns
    /// once every child has started.
    ///
    /// Errors: [`StartError::AlreadyStarted`] (the name is taken),
    /// [`StartError::Failed`] with an [`InitError`] (invalid flags or spec,
    /// or a child failed to start — the started ones are stopped first).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, InitError, Supervisor, SupervisorOptions, Started};
    /// ember_runtime::run(|| {
    ///     ember_runtime::trap_exit(true); // to see the error instead of dying by the link
    ///     let bad = ChildSpec::new("bad", || Started::Error(ember_runtime::Reason::custom("no db")));
    ///     let err = Supervisor::start_link(vec![bad], SupervisorOptions::one_for_one()).unwrap_err();
    ///     assert!(matches!(InitError::of(&err), Some(InitError::FailedToStartChild { .. })));
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link(children: Vec<ChildSpec>, options: SupervisorOptions) -> Result<Supervisor, StartError> {
        let flags = options.flags;
        server::start_link(Box::new(move || Some((flags, children, None))), "Supervisor", options.start)
    }

    /// Starts a module-based supervisor: `M::init(arg)` runs in the new
    /// process and gives the flags and children (Elixir's
    /// `Supervisor.start_link(module, arg, opts)`). `options` gives the name.
    /// `init` returning `None` makes this return [`StartError::Ignore`].
    ///
    /// See also [`SupervisorModule`].
    ///
    /// ```
    /// use ember_runtime::gen_server::{StartError, StartOptions};
    /// use ember_supervisor::{ChildSpec, Flags, Supervisor, SupervisorModule};
    ///
    /// /// Starts nothing when it has nothing to supervise.
    /// struct Optional;
    /// impl SupervisorModule for Optional {
    ///     type Arg = bool;
    ///     fn init(enabled: bool) -> Option<(Flags, Vec<ChildSpec>)> {
    ///         let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///         enabled.then(|| (Flags::one_for_one(), vec![ChildSpec::new("w", w)]))
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     Supervisor::start_link_module::<Optional>(true, StartOptions::new().name("optional")).unwrap();
    ///     assert_eq!(Supervisor::new("optional").count_children().unwrap().active, 1);
    ///     let ignored = Supervisor::start_link_module::<Optional>(false, StartOptions::new());
    ///     assert_eq!(ignored.unwrap_err(), StartError::Ignore);
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link_module<M: SupervisorModule>(
        arg: M::Arg,
        options: StartOptions,
    ) -> Result<Supervisor, StartError> {
        let init = move || M::init(arg).map(|(flags, children)| (flags, children, None));
        server::start_link(Box::new(init), std::any::type_name::<M>(), options)
    }

    /// Starts a supervisor whose `init` — run in the new process, after its
    /// name is registered — gives the flags, the children, and a value the
    /// supervisor process **owns**: it is kept for as long as the supervisor
    /// runs and dropped when it exits, however it exits (killed included),
    /// before its exit signals and `Down`s go out. `module` is what
    /// [`get_callback_module`](Supervisor::get_callback_module) answers.
    ///
    /// This is for behaviours built on `Supervisor`, as Elixir's keep ETS
    /// tables owned by the supervisor process: a PartitionSupervisor owns
    /// its routing table, a Registry its key tables. `init` returning
    /// `None` makes the start return [`StartError::Ignore`].
    ///
    /// ```
    /// use ember_runtime::{monitor, receive, Down, Reason};
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::{Flags, Supervisor};
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// /// Clears a flag when dropped.
    /// struct Open(Arc<AtomicBool>);
    /// impl Drop for Open {
    ///     fn drop(&mut self) {
    ///         self.0.store(false, Ordering::Release);
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     ember_runtime::trap_exit(true); // the supervisor is linked to us, and will be killed
    ///     let open = Arc::new(AtomicBool::new(true));
    ///     let flag = open.clone();
    ///     let sup = Supervisor::start_link_owning("Tables", StartOptions::new(), move || {
    ///         Some((Flags::one_for_one(), vec![], Open(flag)))
    ///     })
    ///     .unwrap();
    ///     assert_eq!(sup.get_callback_module().unwrap(), "Tables");
    ///     let pid = sup.pid().unwrap();
    ///     monitor(pid);
    ///     pid.exit(Reason::Kill);
    ///     receive::<Down>();
    ///     assert!(!open.load(Ordering::Acquire), "dropped before the Down went out");
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link_owning<T: Send + 'static>(
        module: &'static str,
        options: StartOptions,
        init: impl FnOnce() -> Option<(Flags, Vec<ChildSpec>, T)> + Send + 'static,
    ) -> Result<Supervisor, StartError> {
        let init = move || {
            init().map(|(flags, children, owned)| {
                (flags, children, Some(Box::new(owned) as Box<dyn std::any::Any + Send>))
            })
        };
        server::start_link(Box::new(init), module, options)
    }

    /// The spec to run a supervisor with these children and options under
    /// another supervisor: type supervisor, shutdown infinity, permanent.
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, ChildType, Shutdown, Supervisor, SupervisorOptions};
    /// let leaf = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    /// let spec = Supervisor::child_spec("subtree", vec![leaf], SupervisorOptions::one_for_all());
    /// assert_eq!(spec.get_type(), ChildType::Supervisor);
    /// assert_eq!(spec.get_shutdown(), Shutdown::Infinity);
    /// ember_runtime::run(move || {
    ///     let root = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
    ///     let sub = Supervisor::from(root.which_children().unwrap()[0].pid.pid().unwrap());
    ///     assert_eq!(sub.count_children().unwrap().workers, 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn child_spec(id: impl Into<ChildId>, children: Vec<ChildSpec>, options: SupervisorOptions) -> ChildSpec {
        ChildSpec::new(id, move || Supervisor::start_link(children.clone(), options.clone())).supervisor()
    }

    /// A handle to the supervisor at `dest` (a pid, a registered name or a
    /// via name). Nothing is checked until it is used.
    ///
    /// ```
    /// let sup = ember_supervisor::Supervisor::new("nobody");
    /// ember_runtime::run(move || assert!(sup.which_children().is_err())).unwrap();
    /// ```
    pub fn new(dest: impl Into<Dest>) -> Supervisor {
        Supervisor { server: Server::new(dest) }
    }

    /// The address this handle uses.
    ///
    /// ```
    /// assert_eq!(ember_supervisor::Supervisor::new("root").dest().to_string(), "root");
    /// ```
    pub fn dest(&self) -> &Dest {
        self.server.dest()
    }

    /// The supervisor's pid now, if its address resolves.
    ///
    /// ```
    /// ember_runtime::run(|| assert_eq!(ember_supervisor::Supervisor::new("none").pid(), None)).unwrap();
    /// ```
    pub fn pid(&self) -> Option<Pid> {
        self.server.pid()
    }

    fn call(&self, request: Request) -> Result<Response, CallError> {
        self.server.call_timeout(request, None)
    }

    /// Adds a child spec and starts it (appended: it starts after, and
    /// stops before, every existing child).
    ///
    /// Errors: [`SupervisorError::InvalidSpec`]; a child with this id runs →
    /// [`SupervisorError::AlreadyStarted`], exists but does not run →
    /// [`SupervisorError::AlreadyPresent`]; the start function failed →
    /// [`SupervisorError::StartFailed`] (or `AlreadyStarted(pid)` if it
    /// found its name taken), and nothing is saved. A start returning
    /// ignore gives [`StartedChild::Ignored`] and keeps the spec (not for a
    /// temporary child).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Supervisor, SupervisorError, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let sup = Supervisor::start_link(vec![], SupervisorOptions::one_for_one()).unwrap();
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    ///     let pid = sup.start_child(spec.clone()).unwrap().pid().unwrap();
    ///     assert_eq!(sup.start_child(spec), Err(SupervisorError::AlreadyStarted(pid)));
    /// })
    /// .unwrap();
    /// ```
    pub fn start_child(&self, spec: ChildSpec) -> Result<StartedChild, SupervisorError> {
        match self.call(Request::StartChild(spec))? {
            Response::Started(r) => r,
            other => unreachable!("supervisor answered start_child with {other:?}"),
        }
    }

    /// Stops a child with its shutdown procedure and keeps its spec
    /// (a temporary child's spec is dropped). `Ok` even if it was not
    /// running; a pending restart is cancelled. The child is not restarted.
    ///
    /// ```
    /// use ember_supervisor::{ChildPid, ChildSpec, Supervisor, SupervisorError, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    ///     let sup = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
    ///     sup.terminate_child("w").unwrap();
    ///     assert_eq!(sup.which_children().unwrap()[0].pid, ChildPid::Undefined);
    ///     assert_eq!(sup.terminate_child("nope"), Err(SupervisorError::NotFound));
    /// })
    /// .unwrap();
    /// ```
    pub fn terminate_child(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        match self.call(Request::TerminateChild(id.into()))? {
            Response::Done(r) => r,
            other => unreachable!("supervisor answered terminate_child with {other:?}"),
        }
    }

    /// Starts a child that is not running (stopped by
    /// [`terminate_child`](Supervisor::terminate_child), or ignored).
    ///
    /// Errors: [`SupervisorError::NotFound`], [`SupervisorError::Running`],
    /// [`SupervisorError::Restarting`], [`SupervisorError::StartFailed`]
    /// (the child stays not running).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Supervisor, SupervisorError, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    ///     let sup = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
    ///     assert_eq!(sup.restart_child("w"), Err(SupervisorError::Running));
    ///     sup.terminate_child("w").unwrap();
    ///     assert!(sup.restart_child("w").unwrap().pid().is_some());
    /// })
    /// .unwrap();
    /// ```
    pub fn restart_child(&self, id: impl Into<ChildId>) -> Result<StartedChild, SupervisorError> {
        match self.call(Request::RestartChild(id.into()))? {
            Response::Started(r) => r,
            other => unreachable!("supervisor answered restart_child with {other:?}"),
        }
    }

    /// Removes the spec of a child that is not running.
    ///
    /// Errors: [`SupervisorError::NotFound`], [`SupervisorError::Running`],
    /// [`SupervisorError::Restarting`].
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Supervisor, SupervisorError, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    ///     let sup = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
    ///     assert_eq!(sup.delete_child("w"), Err(SupervisorError::Running));
    ///     sup.terminate_child("w").unwrap();
    ///     sup.delete_child("w").unwrap();
    ///     assert!(sup.which_children().unwrap().is_empty());
    /// })
    /// .unwrap();
    /// ```
    pub fn delete_child(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        match self.call(Request::DeleteChild(id.into()))? {
            Response::Done(r) => r,
            other => unreachable!("supervisor answered delete_child with {other:?}"),
        }
    }

    /// Every child, **most recently started first** (the order in which
    /// they would be stopped).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Supervisor, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///     let sup = Supervisor::start_link(vec![ChildSpec::new("a", w), ChildSpec::new("b", w)], SupervisorOptions::one_for_one())
    ///         .unwrap();
    ///     let ids: Vec<_> = sup.which_children().unwrap().into_iter().map(|c| c.id.unwrap().to_string()).collect();
    ///     assert_eq!(ids, ["b", "a"]);
    /// })
    /// .unwrap();
    /// ```
    pub fn which_children(&self) -> Result<Vec<ChildSummary>, CallError> {
        match self.call(Request::WhichChildren)? {
            Response::Children(c) => Ok(c),
            other => unreachable!("supervisor answered which_children with {other:?}"),
        }
    }

    /// Counts: specs, active (running and alive), supervisors and workers
    /// (running or not).
    ///
    /// ```
    /// use ember_supervisor::{ChildCounts, ChildSpec, Supervisor, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///     let sup = Supervisor::start_link(vec![ChildSpec::new("a", w)], SupervisorOptions::one_for_one()).unwrap();
    ///     assert_eq!(sup.count_children().unwrap(), ChildCounts { specs: 1, active: 1, supervisors: 0, workers: 1 });
    /// })
    /// .unwrap();
    /// ```
    pub fn count_children(&self) -> Result<ChildCounts, CallError> {
        match self.call(Request::CountChildren)? {
            Response::Counts(c) => Ok(c),
            other => unreachable!("supervisor answered count_children with {other:?}"),
        }
    }

    /// The spec of a child (OTP's `get_childspec`).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Restart, Supervisor, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///     let spec = ChildSpec::new("a", w).restart(Restart::Transient);
    ///     let sup = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
    ///     assert_eq!(sup.get_childspec("a").unwrap().get_restart(), Restart::Transient);
    /// })
    /// .unwrap();
    /// ```
    pub fn get_childspec(&self, id: impl Into<ChildId>) -> Result<ChildSpec, SupervisorError> {
        match self.call(Request::GetChildspec(id.into()))? {
            Response::Spec(r) => r,
            other => unreachable!("supervisor answered get_childspec with {other:?}"),
        }
    }

    /// The state of one child, by id (OTP's `which_child/2`): the entry
    /// [`which_children`](Supervisor::which_children) has for it, without
    /// listing the others.
    ///
    /// Errors: [`SupervisorError::NotFound`], [`SupervisorError::Call`].
    ///
    /// ```
    /// use ember_supervisor::{ChildPid, ChildSpec, ChildType, Supervisor, SupervisorError, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///     let sup = Supervisor::start_link(vec![ChildSpec::new("db", w)], SupervisorOptions::one_for_one()).unwrap();
    ///     let db = sup.which_child("db").unwrap();
    ///     assert!(matches!(db.pid, ChildPid::Running(p) if p.is_alive()));
    ///     assert_eq!(db.kind, ChildType::Worker);
    ///     sup.terminate_child("db").unwrap();
    ///     assert_eq!(sup.which_child("db").unwrap().pid, ChildPid::Undefined);
    ///     assert_eq!(sup.which_child("cache"), Err(SupervisorError::NotFound));
    /// })
    /// .unwrap();
    /// ```
    pub fn which_child(&self, id: impl Into<ChildId>) -> Result<ChildSummary, SupervisorError> {
        match self.call(Request::WhichChild(id.into()))? {
            Response::Child(r) => r,
            other => unreachable!("supervisor answered which_child with {other:?}"),
        }
    }

    /// The supervisor's module (OTP's `get_callback_module/1`): the type
    /// name of the [`SupervisorModule`] it was started with, `"Supervisor"`
    /// for [`Supervisor::start_link`] (Elixir's `Supervisor.Default`),
    /// `"PartitionSupervisor"` for a PartitionSupervisor.
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::{ChildSpec, Flags, Supervisor, SupervisorModule, SupervisorOptions};
    ///
    /// struct App;
    /// impl SupervisorModule for App {
    ///     type Arg = ();
    ///     fn init(_: ()) -> Option<(Flags, Vec<ChildSpec>)> {
    ///         Some((Flags::one_for_one(), vec![]))
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let app = Supervisor::start_link_module::<App>((), StartOptions::new()).unwrap();
    ///     assert_eq!(app.get_callback_module().unwrap(), std::any::type_name::<App>());
    ///     let plain = Supervisor::start_link(vec![], SupervisorOptions::one_for_one()).unwrap();
    ///     assert_eq!(plain.get_callback_module().unwrap(), "Supervisor");
    /// })
    /// .unwrap();
    /// ```
    pub fn get_callback_module(&self) -> Result<&'static str, CallError> {
        match self.call(Request::GetCallbackModule)? {
            Response::Module(m) => Ok(m),
            other => unreachable!("supervisor answered get_callback_module with {other:?}"),
        }
    }

    /// Stops the supervisor: it stops its children (reverse start order)
    /// and exits with `reason`; returns once it is gone (`timeout` `None`:
    /// wait for ever). Errors as [`Server::stop`].
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Supervisor, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///     let sup = Supervisor::start_link(vec![ChildSpec::new("a", w)], SupervisorOptions::one_for_one()).unwrap();
    ///     sup.stop(ember_runtime::Reason::Normal, None).unwrap();
    ///     assert_eq!(ember_runtime::stats().processes, 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn stop(&self, reason: Reason, timeout: Option<Duration>) -> Result<(), CallError> {
        self.server.stop(reason, timeout)
    }
}
