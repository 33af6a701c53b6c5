//! Child specifications: how a supervisor starts, restarts and stops a child
//! (SEMANTICS.md §4.1).
//!
//! A [`ChildSpec`] is data: an id, a start function, and the restart,
//! shutdown, type and significance settings. Most child specs come from the
//! child's own type — a GenServer provides one through [`Child`] — and are
//! adjusted with the builder methods, as Elixir's `use GenServer, restart:
//! :transient` does.
//!
//! ```
//! use ember_supervisor::{ChildSpec, Restart, Shutdown};
//! use std::time::Duration;
//!
//! let spec = ChildSpec::new("worker", || ember_runtime::spawn_link(|| {}))
//!     .restart(Restart::Transient)
//!     .shutdown(Shutdown::Timeout(Duration::from_secs(1)));
//! assert_eq!(spec.id().as_str(), "worker");
//! assert_eq!(spec.get_restart(), Restart::Transient);
//! ```
//!
//! The start function runs in the supervisor's process and must start the
//! child *linked* to it (every `start_link` does), returning a [`Started`].
//! Anything convertible does: a `Pid`, a `Result<Server<_>, StartError>`
//! from a GenServer start, a `Result<Agent<_>, StartError>`, or a `Started`.
//!
//! The type parameter `A` is the type of the extra arguments a
//! DynamicSupervisor passes to every start function (`()` for a static
//! Supervisor).

use ember_runtime::gen_server::{self, AlreadyStarted, GenServer, StartError, StartOptions, StartedProcess};
use ember_runtime::{Pid, Reason, Term};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The default shutdown timeout of a worker (OTP: 5000 ms).
pub const DEFAULT_WORKER_SHUTDOWN: Duration = Duration::from_secs(5);

/// A child's identifier, unique within a static supervisor.
///
/// ```
/// use ember_supervisor::ChildId;
/// assert_eq!(ChildId::from("a").as_str(), "a");
/// assert_eq!(ChildId::from(3usize).as_str(), "3");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId(Arc<str>);

impl ChildId {
    /// The id as a string.
    ///
    /// ```
    /// let spec = ember_supervisor::ChildSpec::new(format!("worker-{}", 7), || ember_runtime::Pid::UNDEFINED);
    /// assert_eq!(spec.id().as_str(), "worker-7");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl fmt::Display for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ChildId {
    fn from(s: &str) -> Self {
        ChildId(Arc::from(s))
    }
}

impl From<String> for ChildId {
    fn from(s: String) -> Self {
        ChildId(Arc::from(s))
    }
}

impl From<usize> for ChildId {
    fn from(n: usize) -> Self {
        ChildId(Arc::from(n.to_string()))
    }
}

impl From<&ChildId> for ChildId {
    fn from(id: &ChildId) -> Self {
        id.clone()
    }
}

/// When a child is restarted after it exits (SEMANTICS.md §4.5).
///
/// ```
/// use ember_runtime::{monitor, receive, Down, Pid, Reason};
/// use ember_supervisor::{ChildPid, ChildSpec, Restart, Supervisor, SupervisorOptions};
///
/// ember_runtime::run(|| {
///     let worker = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
///     let children = vec![
///         ChildSpec::new("permanent", worker),
///         ChildSpec::new("transient", worker).restart(Restart::Transient),
///     ];
///     let sup = Supervisor::start_link(children, SupervisorOptions::one_for_one()).unwrap();
///     // Stop both children with a clean reason, and wait until they are gone.
///     let pids: Vec<Pid> = sup.which_children().unwrap().iter().map(|c| c.pid.pid().unwrap()).collect();
///     for &pid in &pids {
///         monitor(pid);
///         pid.exit(Reason::Shutdown);
///         receive::<Down>();
///     }
///     // Only the permanent child was restarted.
///     let permanent = sup.which_children().unwrap().into_iter().find(|c| c.id.as_ref().unwrap().as_str() == "permanent");
///     assert!(matches!(permanent.unwrap().pid, ChildPid::Running(p) if !pids.contains(&p)));
///     let transient = sup.which_children().unwrap().into_iter().find(|c| c.id.as_ref().unwrap().as_str() == "transient");
///     assert_eq!(transient.unwrap().pid, ChildPid::Undefined);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only if it exits with a reason that is not clean (not
    /// `Normal`, `Shutdown` or `ShutdownWith(_)`).
    Transient,
    /// Never restarted.
    Temporary,
}

/// How a child is stopped (SEMANTICS.md §4.7).
///
/// ```
/// use ember_runtime::{receive, self_pid, send, spawn_link, trap_exit};
/// use ember_supervisor::{ChildSpec, Shutdown, Supervisor, SupervisorOptions};
/// use std::time::{Duration, Instant};
///
/// ember_runtime::run(|| {
///     let me = self_pid();
///     // A child that traps exits and ignores the `Shutdown` it is sent.
///     let stubborn = ChildSpec::new("stubborn", move || {
///         spawn_link(move || {
///             trap_exit(true);
///             send(me, "ready");
///             loop {
///                 receive::<()>();
///             }
///         })
///     })
///     .shutdown(Shutdown::Timeout(Duration::from_millis(50)));
///     let sup = Supervisor::start_link(vec![stubborn], SupervisorOptions::one_for_one()).unwrap();
///     let pid = sup.which_children().unwrap()[0].pid.pid().unwrap();
///     assert_eq!(receive::<&str>(), "ready");
///
///     let asked = Instant::now();
///     sup.terminate_child("stubborn").unwrap(); // killed once the 50 ms are up
///     assert!(asked.elapsed() >= Duration::from_millis(50));
///     assert!(!pid.is_alive());
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// Killed at once with an untrappable exit signal.
    BrutalKill,
    /// Sent `Shutdown`; killed if still alive after this long.
    Timeout(Duration),
    /// Sent `Shutdown`; waited for as long as it takes (the default for
    /// supervisors).
    Infinity,
}

/// Whether the child is a worker or a supervisor.
///
/// ```
/// use ember_supervisor::{ChildSpec, ChildType, Shutdown};
/// let worker = ChildSpec::new("w", || ember_runtime::Pid::UNDEFINED);
/// assert_eq!(worker.get_type(), ChildType::Worker); // the default
/// let sup = worker.supervisor();
/// assert_eq!(sup.get_type(), ChildType::Supervisor);
/// assert_eq!(sup.get_shutdown(), Shutdown::Infinity); // the supervisor default
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChildType {
    /// A worker (default shutdown: 5 s).
    #[default]
    Worker,
    /// A supervisor (default shutdown: infinity).
    Supervisor,
}

/// What a start function returns (OTP: `{ok, Pid}`, `{ok, Pid, Info}`,
/// `ignore`, `{error, Reason}`).
///
/// ```
/// use ember_runtime::{spawn_link, receive, Term};
/// use ember_supervisor::{ChildSpec, Started, StartedChild, Supervisor, SupervisorOptions};
///
/// ember_runtime::run(|| {
///     // A start function that hands back extra information with the pid.
///     let spec = ChildSpec::new("versioned", || {
///         let pid = spawn_link(|| loop { receive::<()>(); });
///         Started::OkInfo(pid, Term::new("v2"))
///     });
///     let sup = Supervisor::start_link(vec![], SupervisorOptions::one_for_one()).unwrap();
///     match sup.start_child(spec).unwrap() {
///         StartedChild::RunningInfo(_pid, info) => assert_eq!(info.downcast_ref::<&str>(), Some(&"v2")),
///         other => panic!("expected the info, got {other:?}"),
///     }
///     // A plain pid converts into `Started::Ok`.
///     let pid = ember_runtime::self_pid();
///     assert_eq!(Started::from(pid), Started::Ok(pid));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Started {
    /// The child runs, linked to the supervisor.
    Ok(Pid),
    /// The child runs; `info` is returned to whoever started it.
    OkInfo(Pid, Term),
    /// Nothing was started, on purpose.
    Ignore,
    /// The start failed.
    Error(Reason),
}

impl From<Pid> for Started {
    fn from(pid: Pid) -> Self {
        Started::Ok(pid)
    }
}

impl<P: StartedProcess> From<Result<P, StartError>> for Started {
    fn from(r: Result<P, StartError>) -> Self {
        match r {
            Ok(p) => Started::Ok(p.started_pid()),
            Err(StartError::Ignore) => Started::Ignore,
            Err(e) => Started::Error(e.reason()),
        }
    }
}

impl Started {
    /// The `{already_started, Pid}` pid, if this is that error.
    ///
    /// ```
    /// use ember_supervisor::Started;
    /// use ember_runtime::gen_server::StartError;
    /// let pid = ember_runtime::Pid::UNDEFINED;
    /// let s: Started = Err::<ember_runtime::Pid, _>(StartError::AlreadyStarted(pid)).into();
    /// assert_eq!(s.already_started(), Some(pid));
    /// ```
    pub fn already_started(&self) -> Option<Pid> {
        match self {
            Started::Error(r) => r.downcast_ref::<AlreadyStarted>().map(|a| a.0),
            _ => None,
        }
    }
}

type StartFn<A> = Arc<dyn Fn(A) -> Started + Send + Sync>;

/// How to start, restart and stop one child. See the [module docs](self).
///
/// A spec is plain data, cheap to clone: the same spec can be given to a
/// supervisor, looked at, and given again.
///
/// ```
/// use ember_supervisor::{ChildSpec, Restart, Supervisor, SupervisorOptions};
///
/// let spec = ChildSpec::new("ticker", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }))
///     .restart(Restart::Transient);
/// ember_runtime::run(move || {
///     let sup = Supervisor::start_link(vec![spec.clone()], SupervisorOptions::one_for_one()).unwrap();
///     let running = sup.get_childspec("ticker").unwrap();
///     assert_eq!((running.id(), running.get_restart()), (spec.id(), Restart::Transient));
/// })
/// .unwrap();
/// ```
pub struct ChildSpec<A = ()> {
    id: ChildId,
    /// `None` once a supervisor dropped it (a temporary child that started).
    start: Option<StartFn<A>>,
    restart: Restart,
    shutdown: Option<Shutdown>,
    kind: ChildType,
    significant: bool,
}

impl<A> Clone for ChildSpec<A> {
    fn clone(&self) -> Self {
        ChildSpec {
            id: self.id.clone(),
            start: self.start.clone(),
            restart: self.restart,
            shutdown: self.shutdown,
            kind: self.kind,
            significant: self.significant,
        }
    }
}

impl<A> fmt::Debug for ChildSpec<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.get_shutdown())
            .field("type", &self.kind)
            .field("significant", &self.significant)
            .finish()
    }
}

impl ChildSpec<()> {
    /// A permanent worker started by `start` (which must link the child to
    /// the caller, as every `start_link` does).
    ///
    /// ```
    /// let spec = ember_supervisor::ChildSpec::new("w", || ember_runtime::spawn_link(|| {}));
    /// assert_eq!(spec.get_restart(), ember_supervisor::Restart::Permanent);
    /// ```
    pub fn new<R: Into<Started>>(id: impl Into<ChildId>, start: impl Fn() -> R + Send + Sync + 'static) -> Self {
        ChildSpec::with_args(id, move |()| start())
    }

    /// The spec of a GenServer child started with `start_link(arg)`: id =
    /// the type's name, permanent worker. The argument is cloned for every
    /// (re)start.
    ///
    /// ```
    /// use ember_runtime::gen_server::{GenServer, Init};
    /// struct Nop;
    /// impl GenServer for Nop {
    ///     type Arg = (); type Call = (); type Reply = (); type Cast = (); type Continue = ();
    ///     fn init(_: ()) -> Init<Self> { Init::Ok(Nop) }
    /// }
    /// let spec = ember_supervisor::ChildSpec::gen_server::<Nop>(());
    /// assert!(spec.id().as_str().ends_with("Nop"));
    /// ```
    pub fn gen_server<S: GenServer>(arg: S::Arg) -> Self
    where
        S::Arg: Clone + Sync,
    {
        Self::gen_server_opts::<S>(arg, StartOptions::new())
    }

    /// [`ChildSpec::gen_server`] with start options (a name, for example).
    ///
    /// ```
    /// # use ember_runtime::gen_server::{GenServer, Init, StartOptions};
    /// # struct Nop;
    /// # impl GenServer for Nop {
    /// #     type Arg = (); type Call = (); type Reply = (); type Cast = (); type Continue = ();
    /// #     fn init(_: ()) -> Init<Self> { Init::Ok(Nop) }
    /// # }
    /// ember_runtime::run(|| {
    ///     let spec = ember_supervisor::ChildSpec::gen_server_opts::<Nop>((), StartOptions::new().name("nop"));
    ///     assert!(matches!(spec.start(()), ember_supervisor::Started::Ok(_)));
    ///     assert!(ember_runtime::whereis("nop").is_some());
    /// })
    /// .unwrap();
    /// ```
    pub fn gen_server_opts<S: GenServer>(arg: S::Arg, options: StartOptions) -> Self
    where
        S::Arg: Clone + Sync,
    {
        ChildSpec::new(std::any::type_name::<S>(), move || gen_server::start_link::<S>(arg.clone(), options.clone()))
    }

    /// The spec of an Agent whose state is `init()` (Elixir's
    /// `{Agent, fn -> %{} end}`).
    ///
    /// ```
    /// let spec = ember_supervisor::ChildSpec::agent(std::collections::HashMap::<String, u32>::new);
    /// assert_eq!(spec.id().as_str(), "Agent");
    /// ```
    pub fn agent<T: Send + 'static>(init: impl Fn() -> T + Send + Sync + 'static) -> Self {
        let init = Arc::new(init);
        ChildSpec::new("Agent", move || {
            let init = init.clone();
            ember_runtime::agent::Agent::start_link(move || init())
        })
    }
}

impl<A> ChildSpec<A> {
    /// A permanent worker whose start function receives the supervisor's
    /// extra arguments (see `DynamicSupervisor`).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Started};
    /// let spec = ChildSpec::with_args("w", |port: u16| {
    ///     if port == 0 {
    ///         return Started::Ignore;
    ///     }
    ///     Started::from(ember_runtime::spawn_link(move || println!("listening on {port}")))
    /// });
    /// assert_eq!(spec.start(0), Started::Ignore);
    /// ```
    pub fn with_args<R: Into<Started>>(id: impl Into<ChildId>, start: impl Fn(A) -> R + Send + Sync + 'static) -> Self {
        ChildSpec {
            id: id.into(),
            start: Some(Arc::new(move |a| start(a).into())),
            restart: Restart::Permanent,
            shutdown: None,
            kind: ChildType::Worker,
            significant: false,
        }
    }

    /// Sets the id.
    ///
    /// ```
    /// use ember_supervisor::{check_childspecs, ChildSpec};
    /// // Both default to the id "Agent": one must be renamed to share a supervisor.
    /// let (hits, misses) = (ChildSpec::agent(|| 0u64), ChildSpec::agent(|| 0u64));
    /// assert!(check_childspecs(&[hits.clone(), misses.clone()], None).is_err());
    /// let (hits, misses) = (hits.id_as("hits"), misses.id_as("misses"));
    /// assert!(check_childspecs(&[hits, misses], None).is_ok());
    /// ```
    pub fn id_as(mut self, id: impl Into<ChildId>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets the restart type.
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Restart};
    /// let once = ChildSpec::new("migration", || ember_runtime::Pid::UNDEFINED).restart(Restart::Temporary);
    /// assert_eq!(once.get_restart(), Restart::Temporary);
    /// ```
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets the shutdown.
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Shutdown};
    /// let spec = ChildSpec::new("cache", || ember_runtime::Pid::UNDEFINED).shutdown(Shutdown::BrutalKill);
    /// assert_eq!(spec.get_shutdown(), Shutdown::BrutalKill);
    /// ```
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// Marks the child as a supervisor (default shutdown: infinity).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, ChildType, Shutdown};
    /// let spec = ChildSpec::new("subtree", || ember_runtime::Pid::UNDEFINED).supervisor();
    /// assert_eq!((spec.get_type(), spec.get_shutdown()), (ChildType::Supervisor, Shutdown::Infinity));
    /// ```
    pub fn supervisor(mut self) -> Self {
        self.kind = ChildType::Supervisor;
        self
    }

    /// Marks the child as a worker (default shutdown: 5 s).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, ChildType, Shutdown};
    /// use std::time::Duration;
    /// let spec = ChildSpec::new("w", || ember_runtime::Pid::UNDEFINED).supervisor().worker();
    /// assert_eq!(spec.get_type(), ChildType::Worker);
    /// assert_eq!(spec.get_shutdown(), Shutdown::Timeout(Duration::from_secs(5)));
    /// ```
    pub fn worker(mut self) -> Self {
        self.kind = ChildType::Worker;
        self
    }

    /// Marks the child significant for `auto_shutdown` (transient or
    /// temporary children only).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Restart};
    /// let spec = ChildSpec::new("job", || ember_runtime::Pid::UNDEFINED).restart(Restart::Transient).significant(true);
    /// assert!(spec.is_significant());
    /// assert!(spec.validate().is_ok());
    /// ```
    pub fn significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }

    /// The id.
    ///
    /// ```
    /// let spec = ember_supervisor::ChildSpec::new("db", || ember_runtime::Pid::UNDEFINED);
    /// assert_eq!(spec.id(), &ember_supervisor::ChildId::from("db"));
    /// ```
    pub fn id(&self) -> &ChildId {
        &self.id
    }

    /// The restart type.
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Restart};
    /// assert_eq!(ChildSpec::new("w", || ember_runtime::Pid::UNDEFINED).get_restart(), Restart::Permanent);
    /// ```
    pub fn get_restart(&self) -> Restart {
        self.restart
    }

    /// The shutdown, with the default for the child type filled in.
    ///
    /// ```
    /// use ember_supervisor::{child_spec::DEFAULT_WORKER_SHUTDOWN, ChildSpec, Shutdown};
    /// let spec = ChildSpec::new("w", || ember_runtime::Pid::UNDEFINED);
    /// assert_eq!(spec.get_shutdown(), Shutdown::Timeout(DEFAULT_WORKER_SHUTDOWN));
    /// ```
    pub fn get_shutdown(&self) -> Shutdown {
        self.shutdown.unwrap_or(match self.kind {
            ChildType::Worker => Shutdown::Timeout(DEFAULT_WORKER_SHUTDOWN),
            ChildType::Supervisor => Shutdown::Infinity,
        })
    }

    /// Worker or supervisor.
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, ChildType};
    /// assert_eq!(ChildSpec::agent(|| 0).get_type(), ChildType::Worker);
    /// ```
    pub fn get_type(&self) -> ChildType {
        self.kind
    }

    /// Whether the child is significant.
    ///
    /// ```
    /// assert!(!ember_supervisor::ChildSpec::agent(|| 0).is_significant()); // the default
    /// ```
    pub fn is_significant(&self) -> bool {
        self.significant
    }

    /// Calls the start function (in the calling process; the supervisor
    /// calls it from its own). A panic in it becomes `Started::Error` with
    /// the panic's reason (its message and where it was raised), and an
    /// [`exit(reason)`](ember_runtime::exit) called in it becomes
    /// `Started::Error(reason)`: the caller — a supervisor — carries on, as
    /// OTP's supervisor catches its start functions.
    ///
    /// ```
    /// use ember_runtime::{Pid, Reason};
    /// use ember_supervisor::{ChildSpec, Started};
    ///
    /// ember_runtime::run(|| {
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| {}));
    ///     assert!(matches!(spec.start(()), Started::Ok(_)));
    ///
    ///     let broken = ChildSpec::new("broken", || -> Pid { panic!("no config") });
    ///     match broken.start(()) {
    ///         Started::Error(Reason::Panic { message, location }) => {
    ///             assert_eq!(&*message, "no config");
    ///             assert!(location.is_some()); // where it panicked
    ///         }
    ///         other => panic!("expected the panic, got {other:?}"),
    ///     }
    ///
    ///     let gives_up = ChildSpec::new("gives_up", || -> Pid { ember_runtime::exit(Reason::custom("oops")) });
    ///     assert_eq!(gives_up.start(()), Started::Error(Reason::custom("oops")));
    /// })
    /// .unwrap();
    /// ```
    pub fn start(&self, args: A) -> Started {
        let Some(start) = &self.start else {
            return Started::Error(Reason::custom(StartDropped));
        };
        ember_runtime::catch_exit(|| start(args)).unwrap_or_else(Started::Error)
    }

    /// Whether the spec still has its start function. A supervisor drops
    /// the start function of a temporary child once the child has started
    /// (it will never be restarted, and OTP keeps no start arguments for
    /// it): the spec `get_childspec` returns for such a child cannot start
    /// anything — [`start`](ChildSpec::start) returns an error.
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, Restart, Supervisor, SupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
    ///     let once = ChildSpec::new("once", w).restart(Restart::Temporary);
    ///     assert!(once.has_start());
    ///     let sup = Supervisor::start_link(vec![once, ChildSpec::new("always", w)], SupervisorOptions::one_for_one())
    ///         .unwrap();
    ///     assert!(!sup.get_childspec("once").unwrap().has_start());
    ///     assert!(sup.get_childspec("always").unwrap().has_start());
    /// })
    /// .unwrap();
    /// ```
    pub fn has_start(&self) -> bool {
        self.start.is_some()
    }

    /// Drops the start function, and whatever it captured (see
    /// [`has_start`](ChildSpec::has_start)).
    pub(crate) fn drop_start(&mut self) {
        self.start = None;
    }

    /// Checks the spec on its own (SEMANTICS.md §4.1): a non-empty id, and
    /// significance only for transient or temporary children. The
    /// supervisor adds its own checks (duplicate ids, significance without
    /// auto_shutdown).
    ///
    /// ```
    /// use ember_supervisor::{ChildSpec, ChildSpecError, Restart};
    /// let bad = ChildSpec::new("", || ember_runtime::Pid::UNDEFINED);
    /// assert_eq!(bad.validate(), Err(ChildSpecError::MissingId));
    /// let bad = ChildSpec::new("w", || ember_runtime::Pid::UNDEFINED).significant(true);
    /// assert!(matches!(bad.validate(), Err(ChildSpecError::BadCombination(_))));
    /// ```
    pub fn validate(&self) -> Result<(), ChildSpecError> {
        if self.id.as_str().is_empty() {
            return Err(ChildSpecError::MissingId);
        }
        if self.significant && self.restart == Restart::Permanent {
            return Err(ChildSpecError::BadCombination("{restart, permanent} with {significant, true}"));
        }
        Ok(())
    }
}

/// The reason [`ChildSpec::start`] gives once the start function was
/// dropped.
struct StartDropped;

impl fmt::Debug for StartDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("start function dropped: a temporary child is never started again")
    }
}

/// Why a child spec was rejected, named after OTP's errors.
///
/// ```
/// use ember_supervisor::{check_childspecs, ChildSpec, ChildSpecError};
/// let w = || ember_runtime::Pid::UNDEFINED;
/// let err = check_childspecs(&[ChildSpec::new("db", w), ChildSpec::new("db", w)], None).unwrap_err();
/// assert_eq!(err, ChildSpecError::DuplicateChildName("db".into()));
/// assert_eq!(err.to_string(), "duplicate_child_name: db");
/// assert_eq!(ChildSpec::new("", w).validate(), Err(ChildSpecError::MissingId));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChildSpecError {
    /// `missing_id`: the id is empty.
    MissingId,
    /// `{duplicate_child_name, Id}`: two children with one id.
    DuplicateChildName(ChildId),
    /// `{bad_combination, ...}`: settings that cannot go together.
    BadCombination(&'static str),
    /// `{invalid_significant, true}`: this supervisor has no significant
    /// children (DynamicSupervisor).
    InvalidSignificant,
}

impl fmt::Display for ChildSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildSpecError::MissingId => f.write_str("missing_id: a child spec needs a non-empty id"),
            ChildSpecError::DuplicateChildName(id) => write!(f, "duplicate_child_name: {id}"),
            ChildSpecError::BadCombination(what) => write!(f, "bad_combination: {what}"),
            ChildSpecError::InvalidSignificant => {
                f.write_str("invalid_significant: significant children are not supported here")
            }
        }
    }
}

impl std::error::Error for ChildSpecError {}

/// A type that knows how to be started under a supervisor: its default
/// child spec (Elixir's `child_spec/1` from `use GenServer`).
///
/// The default spec starts the GenServer with `start_link(arg)`, as a
/// permanent worker whose id is the type name. Override `child_spec` to
/// change the restart type, shutdown, name or id.
///
/// ```
/// use ember_runtime::gen_server::{GenServer, Init, StartOptions};
/// use ember_supervisor::{Child, ChildSpec, Restart};
///
/// struct Cache;
/// impl GenServer for Cache {
///     type Arg = (); type Call = (); type Reply = (); type Cast = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::Ok(Cache) }
/// }
/// impl Child for Cache {
///     fn child_spec(arg: ()) -> ChildSpec {
///         ChildSpec::gen_server_opts::<Self>(arg, StartOptions::new().name("cache")).restart(Restart::Transient)
///     }
/// }
/// assert_eq!(Cache::child_spec(()).get_restart(), Restart::Transient);
/// ```
pub trait Child: GenServer
where
    Self::Arg: Clone + Sync,
{
    /// The child spec for `arg`.
    ///
    /// ```
    /// use ember_runtime::gen_server::{GenServer, Init};
    /// use ember_supervisor::{Child, ChildType, Restart, Supervisor, SupervisorOptions};
    ///
    /// struct Cache;
    /// impl GenServer for Cache {
    ///     type Arg = ();
    ///     type Call = ();
    ///     type Reply = ();
    ///     type Cast = ();
    ///     type Continue = ();
    ///     fn init(_: ()) -> Init<Self> {
    ///         Init::Ok(Cache)
    ///     }
    /// }
    /// impl Child for Cache {} // the default spec
    ///
    /// let spec = Cache::child_spec(());
    /// assert!(spec.id().as_str().ends_with("Cache"));
    /// assert_eq!((spec.get_restart(), spec.get_type()), (Restart::Permanent, ChildType::Worker));
    /// ember_runtime::run(move || {
    ///     let sup = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
    ///     assert_eq!(sup.count_children().unwrap().active, 1);
    /// })
    /// .unwrap();
    /// ```
    fn child_spec(arg: Self::Arg) -> ChildSpec {
        ChildSpec::gen_server::<Self>(arg)
    }
}
