//! PartitionSupervisor: N copies of one child (typically a
//! [`DynamicSupervisor`](crate::DynamicSupervisor)), and routing by key to
//! one of them (SEMANTICS.md §6, Elixir's `PartitionSupervisor`).
//!
//! A single DynamicSupervisor is one process: every `start_child` goes
//! through it. When it becomes the bottleneck, run one per core under a
//! PartitionSupervisor and send each request to the partition its key picks:
//!
//! ```
//! use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
//! use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions};
//! use ember_supervisor::ChildSpec;
//!
//! ember_runtime::run(|| {
//!     let spec = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new());
//!     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("jobs", spec).partitions(4)).unwrap();
//!     assert_eq!(PartitionSupervisor::partitions("jobs").unwrap(), 4);
//!
//!     // Each caller routes by its own pid: callers spread over the partitions.
//!     let me = ember_runtime::self_pid();
//!     let child = DynamicSupervisor::start_child(via_partition("jobs", me), ChildSpec::agent(|| 0)).unwrap();
//!     assert!(child.pid().is_some());
//!
//!     // Integer keys pick partition `key % partitions`.
//!     let third = via_partition("jobs", 2).whereis().unwrap();
//!     let children = PartitionSupervisor::which_children("jobs").unwrap();
//!     assert!(children.iter().any(|c| c.id.as_ref().unwrap().as_str() == "2" && c.pid.pid() == Some(third)));
//! })
//! .unwrap();
//! ```
//!
//! # How it works
//!
//! As in Elixir, a PartitionSupervisor is a [`Supervisor`]: its children
//! are the partitions, with ids `0..N`, each started from the one child
//! spec with its own arguments (the
//! [`with_arguments`](PartitionSupervisorOptions::with_arguments) hook).
//! Every start of a partition writes its pid into the instance's
//! **partition table** (an atomic partition count, a lock-free cell per
//! partition pid), which the supervisor process owns
//! ([`Supervisor::start_link_owning`]) and withdraws when it exits. A name
//! finds its table through the supervisor's pid (the name resolves to it as
//! any name does), and routing ([`via_partition`],
//! [`PartitionSupervisor::partitions`]) reads that table directly — no
//! message to the supervisor, no lock on the table: integer keys go to partition
//! `|key| % N`, other keys to `hash(key) % N`, with FxHash (no random
//! seed: a key picks the same partition in every run).
//!
//! While a partition restarts, routing returns its previous, dead pid, as
//! in Elixir: a call through it fails with `NoProc`.

use crate::child_spec::{ChildSpec, ChildType};
use crate::children::{ChildCounts, ChildSummary};
use crate::shutdown::PidMap;
use crate::supervisor::{Flags, Strategy, Supervisor, SupervisorError};
use crate::Started;
use crossbeam_utils::atomic::AtomicCell;
use crossbeam_utils::sync::ShardedLock;
use ember_runtime::gen_server::{CallError, ProcessName, StartError, StartOptions};
use ember_runtime::{receive_if, send, Dest, Name, NoProc, Pid, Reason, Ref, RegisterError, Via, ViaError};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

// ---------------------------------------------------------------------------
// Options

type ArgumentsHook<A> = Arc<dyn Fn(A, usize) -> A + Send + Sync>;

/// Options for [`PartitionSupervisor::start_link`]: the name (required), the
/// child spec every partition runs, the number of partitions, the
/// per-partition argument hook, and the supervisor flags.
///
/// `A` is the type of the argument the child spec's start function takes:
/// `()` for a plain spec ([`PartitionSupervisorOptions::new`]); with
/// [`PartitionSupervisorOptions::with_args`], each partition gets
/// `with_arguments(args, partition)`.
///
/// ```
/// use ember_supervisor::partition_supervisor::PartitionSupervisorOptions;
/// use ember_supervisor::{ChildSpec, Strategy};
/// let spec = ChildSpec::with_args("worker", |partition: usize| {
///     ember_runtime::spawn_link(move || { let _ = partition; ember_runtime::receive::<()>(); })
/// });
/// let options = PartitionSupervisorOptions::with_args("workers", spec, 0usize)
///     .with_arguments(|_args, partition| partition)
///     .partitions(8)
///     .strategy(Strategy::OneForOne)
///     .max_restarts(10);
/// assert_eq!(options.get_partitions(), Some(8));
/// ```
pub struct PartitionSupervisorOptions<A = ()> {
    name: ProcessName,
    child_spec: ChildSpec<A>,
    args: A,
    with_arguments: ArgumentsHook<A>,
    partitions: Option<usize>,
    flags: Flags,
    start: StartOptions,
}

impl<A: Clone> Clone for PartitionSupervisorOptions<A> {
    fn clone(&self) -> Self {
        PartitionSupervisorOptions {
            name: self.name.clone(),
            child_spec: self.child_spec.clone(),
            args: self.args.clone(),
            with_arguments: self.with_arguments.clone(),
            partitions: self.partitions,
            flags: self.flags,
            start: self.start.clone(),
        }
    }
}

impl<A> fmt::Debug for PartitionSupervisorOptions<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionSupervisorOptions")
            .field("name", &self.name)
            .field("child_spec", &self.child_spec)
            .field("partitions", &self.partitions)
            .field("flags", &self.flags)
            .finish()
    }
}

impl PartitionSupervisorOptions<()> {
    /// Partitions named `name`, each running `child_spec`.
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::PartitionSupervisorOptions;
    /// use ember_supervisor::ChildSpec;
    /// let options = PartitionSupervisorOptions::new("cache", ChildSpec::agent(|| 0u64));
    /// assert_eq!(options.get_name().to_string(), "cache");
    /// assert_eq!(options.get_partitions(), None); // one per scheduler
    /// ```
    pub fn new(name: impl Into<ProcessName>, child_spec: ChildSpec) -> Self {
        Self::with_args(name, child_spec, ())
    }
}

impl<A> PartitionSupervisorOptions<A> {
    /// Partitions named `name`, each running `child_spec` with the argument
    /// `with_arguments(args, partition)` (by default, `args` itself).
    ///
    /// ```
    /// use ember_runtime::agent::Agent;
    /// use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let spec = ChildSpec::with_args("conn", |url: String| Agent::start_link(move || url));
    ///     let options = PartitionSupervisorOptions::with_args("conns", spec, "db://primary".to_string()).partitions(2);
    ///     PartitionSupervisor::start_link(options).unwrap();
    ///     for key in 0..2 {
    ///         let conn = Agent::<String>::new(via_partition("conns", key));
    ///         assert_eq!(conn.get(|url| url.clone()).unwrap(), "db://primary");
    ///     }
    /// })
    /// .unwrap();
    /// ```
    pub fn with_args(name: impl Into<ProcessName>, child_spec: ChildSpec<A>, args: A) -> Self {
        PartitionSupervisorOptions {
            name: name.into(),
            child_spec,
            args,
            with_arguments: Arc::new(|args, _partition| args),
            partitions: None,
            flags: Flags::one_for_one(),
            start: StartOptions::new(),
        }
    }

    /// The number of partitions (default: the number of schedulers of the
    /// runtime; must be positive).
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let options = PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 0)).partitions(3);
    ///     assert_eq!(options.get_partitions(), Some(3));
    ///     PartitionSupervisor::start_link(options).unwrap();
    ///     assert_eq!(PartitionSupervisor::count_children("p").unwrap().active, 3);
    /// })
    /// .unwrap();
    /// ```
    pub fn partitions(mut self, n: usize) -> Self {
        self.partitions = Some(n);
        self
    }

    /// The argument of each partition: `hook(args, partition)`, computed
    /// once per partition when the supervisor starts (Elixir's
    /// `:with_arguments`).
    ///
    /// ```
    /// use ember_runtime::agent::Agent;
    /// use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     // Each partition's agent holds its own partition number.
    ///     let spec = ChildSpec::with_args("shard", |n: usize| Agent::start_link(move || n));
    ///     let options = PartitionSupervisorOptions::with_args("shards", spec, 0).with_arguments(|_, partition| partition);
    ///     PartitionSupervisor::start_link(options.partitions(4)).unwrap();
    ///     assert_eq!(Agent::<usize>::new(via_partition("shards", 2)).get(|n| *n).unwrap(), 2);
    ///     assert_eq!(Agent::<usize>::new(via_partition("shards", 7)).get(|n| *n).unwrap(), 3); // 7 % 4
    /// })
    /// .unwrap();
    /// ```
    pub fn with_arguments(mut self, hook: impl Fn(A, usize) -> A + Send + Sync + 'static) -> Self {
        self.with_arguments = Arc::new(hook);
        self
    }

    /// The restart strategy among the partitions (default one_for_one).
    ///
    /// ```
    /// use ember_runtime::{monitor, receive, Down, Reason};
    /// use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::{ChildSpec, Strategy};
    /// ember_runtime::run(|| {
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    ///     let options = PartitionSupervisorOptions::new("p", spec).partitions(2).strategy(Strategy::OneForAll);
    ///     PartitionSupervisor::start_link(options).unwrap();
    ///     let (p0, p1) = (via_partition("p", 0).whereis().unwrap(), via_partition("p", 1).whereis().unwrap());
    ///     monitor(p0);
    ///     p0.exit(Reason::custom("crash"));
    ///     receive::<Down>();
    ///     // one_for_all: partition 1 was restarted along with partition 0.
    ///     PartitionSupervisor::count_children("p").unwrap(); // (waits until the restarts are done)
    ///     assert!(!p1.is_alive());
    ///     assert_ne!(via_partition("p", 1).whereis(), Some(p1));
    /// })
    /// .unwrap();
    /// ```
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.flags = self.flags.strategy(strategy);
        self
    }

    /// Restart intensity: at most `n` restarts… (default 3).
    ///
    /// ```
    /// use ember_runtime::{monitor, receive, trap_exit, Down, Reason};
    /// use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     trap_exit(true); // the supervisor exits `shutdown`, which the link passes on
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    ///     let sup = PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", spec).max_restarts(0)).unwrap();
    ///     monitor(sup);
    ///     via_partition("p", 0).whereis().unwrap().exit(Reason::custom("crash"));
    ///     // No restart allowed: the supervisor gives up.
    ///     assert_eq!(receive::<Down>().reason, Reason::Shutdown);
    /// })
    /// .unwrap();
    /// ```
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.flags = self.flags.max_restarts(n);
        self
    }

    /// …within this many seconds (default 5).
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::{ChildSpec, FlagsError, InitError};
    /// ember_runtime::run(|| {
    ///     ember_runtime::trap_exit(true); // survive the supervisor's exit
    ///     let options = PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 0)).max_seconds(0);
    ///     let err = PartitionSupervisor::start_link(options).unwrap_err();
    ///     assert_eq!(InitError::of(&err), Some(InitError::SupervisorData(FlagsError::InvalidPeriod(0))));
    /// })
    /// .unwrap();
    /// ```
    pub fn max_seconds(mut self, seconds: u64) -> Self {
        self.flags = self.flags.max_seconds(seconds);
        self
    }

    /// GenServer start options (init timeout, spawn options); the name is
    /// always the one given to the constructor.
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let start = StartOptions::new().name("ignored").timeout(std::time::Duration::from_secs(1));
    ///     let options = PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 0)).start_options(start);
    ///     let sup = PartitionSupervisor::start_link(options).unwrap();
    ///     assert_eq!(ember_runtime::whereis("p"), Some(sup));
    ///     assert_eq!(ember_runtime::whereis("ignored"), None);
    /// })
    /// .unwrap();
    /// ```
    pub fn start_options(mut self, start: StartOptions) -> Self {
        self.start = start;
        self
    }

    /// The name.
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::PartitionSupervisorOptions;
    /// let options = PartitionSupervisorOptions::new("sessions", ember_supervisor::ChildSpec::agent(|| 0));
    /// assert_eq!(options.get_name().to_string(), "sessions");
    /// ```
    pub fn get_name(&self) -> &ProcessName {
        &self.name
    }

    /// The number of partitions, if set.
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::PartitionSupervisorOptions;
    /// let options = PartitionSupervisorOptions::new("sessions", ember_supervisor::ChildSpec::agent(|| 0));
    /// assert_eq!(options.get_partitions(), None);
    /// assert_eq!(options.partitions(16).get_partitions(), Some(16));
    /// ```
    pub fn get_partitions(&self) -> Option<usize> {
        self.partitions
    }
}

// ---------------------------------------------------------------------------
// Routing keys

/// A routing key: integers pick partition `|key| % N`; anything else is
/// hashed with a stable hash (the same value picks the same partition in
/// every run and every process of a program built for one platform) and
/// picks `hash % N`. Which partition a key picks may change between Ember
/// versions: do not rely on it across versions.
///
/// ```
/// use ember_supervisor::partition_supervisor::PartitionKey;
/// assert_eq!(PartitionKey::from(7).partition(4), 3);
/// assert_eq!(PartitionKey::from(-7i64).partition(4), 3);
/// let k = PartitionKey::from("user:42");
/// assert_eq!(k.partition(8), PartitionKey::hashed("user:42").partition(8));
/// assert!(k.partition(8) < 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartitionKey {
    /// An integer key.
    Integer(i128),
    /// The stable hash of any other key.
    Hashed(u64),
}

impl PartitionKey {
    /// The key of any hashable value (strings, pids, tuples…), by its stable
    /// hash.
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::PartitionKey;
    /// let key = PartitionKey::hashed(&("user", 42));
    /// assert_eq!(key, PartitionKey::hashed(&("user", 42))); // no random seed
    /// assert!(matches!(key, PartitionKey::Hashed(_)));
    /// ```
    pub fn hashed<T: Hash + ?Sized>(value: &T) -> PartitionKey {
        // FxHash has no random seed: the same value hashes alike in every run.
        let mut h = rustc_hash::FxHasher::default();
        value.hash(&mut h);
        PartitionKey::Hashed(h.finish())
    }

    /// The partition this key picks among `partitions` (which must not be
    /// zero).
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::PartitionKey;
    /// assert_eq!(PartitionKey::from(10u32).partition(4), 2);
    /// assert_eq!(PartitionKey::from(-10i32).partition(4), 2); // by absolute value
    /// assert!(PartitionKey::from("eu-west").partition(4) < 4);
    /// ```
    pub fn partition(&self, partitions: usize) -> usize {
        assert!(partitions > 0, "a key picks among at least one partition");
        match *self {
            PartitionKey::Integer(k) => (k.unsigned_abs() % partitions as u128) as usize,
            PartitionKey::Hashed(h) => (h % partitions as u64) as usize,
        }
    }
}

macro_rules! integer_keys {
    ($($t:ty),*) => {$(
        impl From<$t> for PartitionKey {
            fn from(k: $t) -> Self {
                PartitionKey::Integer(k as i128)
            }
        }
    )*};
}
integer_keys!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);

macro_rules! hashed_keys {
    ($($t:ty),*) => {$(
        impl From<$t> for PartitionKey {
            fn from(k: $t) -> Self {
                PartitionKey::hashed(&k)
            }
        }
    )*};
}
hashed_keys!(Pid, Ref, String, &str, char, Name);

// ---------------------------------------------------------------------------
// The partition table, owned by its supervisor

/// The routing table of one PartitionSupervisor (Elixir's ETS table). It
/// belongs to that supervisor: created in its `init`, kept by its process
/// (`Supervisor::start_link_owning`) and withdrawn from the index of
/// instances when that process exits. Routing reads it without a lock:
/// the count is an atomic, each partition's pid an [`AtomicCell`] (for a
/// 12-byte `Pid`, a sequence lock whose readers write nothing), so callers
/// routing through one supervisor on different cores do not contend.
struct PartitionTable {
    /// Partitions routed to now (`resize` changes it).
    current: AtomicUsize,
    /// The pid of each partition's last start (`Pid::UNDEFINED` before any).
    pids: Box<[AtomicCell<Pid>]>,
    /// Who resizes now, and who waits.
    resize: Mutex<ResizeQueue>,
}

impl PartitionTable {
    fn new(partitions: usize) -> Self {
        PartitionTable {
            current: AtomicUsize::new(partitions),
            pids: (0..partitions).map(|_| AtomicCell::new(Pid::UNDEFINED)).collect(),
            resize: Mutex::new(ResizeQueue::default()),
        }
    }

    fn max(&self) -> usize {
        self.pids.len()
    }

    fn route(&self, key: PartitionKey) -> Option<Pid> {
        let current = self.current.load(Ordering::Acquire);
        if current == 0 {
            return None;
        }
        let pid = self.pids[key.partition(current)].load();
        (pid != Pid::UNDEFINED).then_some(pid)
    }
}

/// The running PartitionSupervisors, by supervisor pid: how a name finds
/// its instance. A name resolves to the supervisor's pid the ordinary way
/// (the runtime's name table, or the via scheme); the runtime has no place
/// to hang a library's data on a pid, so this index does that, and nothing
/// more — the routing data lives in each instance. Pids carry their runtime
/// and a serial, so entries of different runtimes, or of a dead supervisor
/// and its successor, never collide. Written when a supervisor starts or
/// exits; read through a sharded lock, whose readers on different threads
/// touch different cache lines.
static INSTANCES: LazyLock<ShardedLock<PidMap<Arc<PartitionTable>>>> = LazyLock::new(Default::default);

/// The table of the supervisor named `name`, from a process.
fn table_of(name: &ProcessName) -> Option<Arc<PartitionTable>> {
    let sup = name.dest().whereis()?;
    INSTANCES.read().unwrap_or_else(|e| e.into_inner()).get(&sup).cloned()
}

/// A supervisor's entry in [`INSTANCES`], owned by the supervisor process
/// and removed when it is dropped — when that process exits, however it
/// exits, before its name is released.
struct Registration {
    owner: Pid,
}

impl Registration {
    fn new(table: Arc<PartitionTable>) -> Registration {
        let owner = ember_runtime::self_pid();
        INSTANCES.write().unwrap_or_else(|e| e.into_inner()).insert(owner, table);
        Registration { owner }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        INSTANCES.write().unwrap_or_else(|e| e.into_inner()).remove(&self.owner);
    }
}

// ---------------------------------------------------------------------------
// Via routing

/// The via name of the partition `key` picks (Elixir's
/// `{:via, PartitionSupervisor, {name, key}}`): resolving it reads the
/// partition table, without a message. Use it wherever a [`Dest`] is
/// accepted: `DynamicSupervisor::start_child(via_partition(name, key), spec)`,
/// a GenServer call, a send.
///
/// It cannot be registered: a start with it as name fails with
/// `InvalidName`, or with `AlreadyStarted(pid)` when the key already routes
/// to a running partition, because a start looks the name up before it
/// tries to register it (as OTP's `gen:start` does).
///
/// ```
/// use ember_runtime::gen_server::{ProcessName, StartError, StartOptions};
/// use ember_runtime::{agent::Agent, Dest};
/// use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions};
/// use ember_supervisor::ChildSpec;
/// ember_runtime::run(|| {
///     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 5)).partitions(2))
///         .unwrap();
///     let dest = via_partition("p", 1);
///     assert_eq!(dest.to_string(), "{via, PartitionSupervisor, {p, Integer(1)}}");
///     assert_eq!(Agent::<i32>::new(dest).get(|n| *n).unwrap(), 5); // resolved at the call
///
///     let Dest::Via(via) = via_partition("elsewhere", 0) else { unreachable!() };
///     let err = Agent::start_link_opts(|| 0, StartOptions::new().name(ProcessName::Via(via))).unwrap_err();
///     assert!(matches!(err, StartError::InvalidName(_)));
/// })
/// .unwrap();
/// ```
pub struct PartitionVia {
    name: ProcessName,
    key: PartitionKey,
}

impl fmt::Debug for PartitionVia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{via, PartitionSupervisor, {{{}, {:?}}}}}", self.name, self.key)
    }
}

impl Via for PartitionVia {
    fn register_name(&self, _pid: Pid) -> Result<(), ViaError> {
        Err(ViaError::Refused("{via, PartitionSupervisor, _} cannot be given on registration".into()))
    }

    fn unregister_name(&self) {}

    fn whereis_name(&self) -> Option<Pid> {
        table_of(&self.name)?.route(self.key)
    }
}

/// The address of the partition `key` picks in the PartitionSupervisor
/// `name`. See [`PartitionVia`].
///
/// ```
/// use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions};
/// use ember_supervisor::ChildSpec;
/// ember_runtime::run(|| {
///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
///     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", spec).partitions(2)).unwrap();
///     let p0 = via_partition("p", 0).whereis().unwrap();
///     assert_eq!(via_partition("p", 2).whereis(), Some(p0));
///     assert_ne!(via_partition("p", 1).whereis(), Some(p0));
///     assert_eq!(via_partition("nobody", 0).whereis(), None);
/// })
/// .unwrap();
/// ```
pub fn via_partition(name: impl Into<ProcessName>, key: impl Into<PartitionKey>) -> Dest {
    Dest::Via(Arc::new(PartitionVia { name: name.into(), key: key.into() }))
}

// ---------------------------------------------------------------------------
// Errors

/// Why [`PartitionSupervisor::resize`] failed.
///
/// ```
/// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions, ResizeError};
/// use ember_supervisor::ChildSpec;
/// ember_runtime::run(|| {
///     assert_eq!(PartitionSupervisor::resize("nobody", 1), Err(ResizeError::NoProc));
///     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 0)).partitions(2))
///         .unwrap();
///     let err = PartitionSupervisor::resize("p", 3).unwrap_err();
///     assert_eq!(err, ResizeError::OutOfRange { max: 2, got: 3 });
///     assert!(err.to_string().ends_with("between 0 and 2, got: 3"));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ResizeError {
    /// No PartitionSupervisor has this name.
    NoProc,
    /// The count must be between 0 and the number the supervisor started
    /// with.
    OutOfRange {
        /// The largest count allowed.
        max: usize,
        /// The count asked for.
        got: usize,
    },
    /// Growing: a partition could not be started again.
    Restart {
        /// The partition.
        partition: usize,
        /// Why.
        error: SupervisorError,
    },
    /// Shrinking: a partition could not be stopped.
    Terminate {
        /// The partition.
        partition: usize,
        /// Why.
        error: SupervisorError,
    },
}

impl fmt::Display for ResizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResizeError::NoProc => f.write_str("noproc: no PartitionSupervisor with this name"),
            ResizeError::OutOfRange { max, got } => {
                write!(f, "the number of partitions to resize to must be a number between 0 and {max}, got: {got}")
            }
            ResizeError::Restart { partition, error } => write!(f, "cannot restart partition {partition}: {error}"),
            ResizeError::Terminate { partition, error } => {
                write!(f, "cannot terminate partition {partition}: {error}")
            }
        }
    }
}

impl std::error::Error for ResizeError {}

// ---------------------------------------------------------------------------
// The API

/// The PartitionSupervisor functions (Elixir's `PartitionSupervisor`
/// module). See the [module docs](self).
///
/// Supervisors are addressed by their name: a local name (`&str`, `Name`)
/// or a via name (`Arc<impl Via>`).
///
/// ```
/// use ember_runtime::agent::Agent;
/// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
/// use ember_supervisor::ChildSpec;
/// ember_runtime::run(|| {
///     // Four counters; each user's hits go to the counter its name picks.
///     let options = PartitionSupervisorOptions::new("hits", ChildSpec::agent(|| 0u64)).partitions(4);
///     PartitionSupervisor::start_link(options).unwrap();
///     for user in ["ada", "bob", "ada"] {
///         Agent::<u64>::new(PartitionSupervisor::via("hits", user)).update(|n| *n += 1).unwrap();
///     }
///     let total: u64 = (0..4).map(|k| Agent::<u64>::new(PartitionSupervisor::via("hits", k)).get(|n| *n).unwrap()).sum();
///     assert_eq!(total, 3);
/// })
/// .unwrap();
/// ```
pub enum PartitionSupervisor {}

impl PartitionSupervisor {
    /// Starts a PartitionSupervisor linked to the caller and its partitions,
    /// `0..N` in order; returns its pid once all have started.
    ///
    /// Errors: as [`Supervisor::start_link`] (a partition that fails to
    /// start stops the others and fails the start), `Failed` for zero
    /// partitions, and `InvalidName` for the empty name `""`, which no
    /// name accepts (nothing is started).
    ///
    /// ```
    /// use ember_runtime::gen_server::StartError;
    /// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     // By default, one partition per scheduler.
    ///     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 0))).unwrap();
    ///     assert_eq!(PartitionSupervisor::partitions("p").unwrap(), ember_runtime::stats().schedulers);
    ///     let none = PartitionSupervisorOptions::new("q", ChildSpec::agent(|| 0)).partitions(0);
    ///     assert!(PartitionSupervisor::start_link(none).is_err());
    ///     let unnamed = PartitionSupervisorOptions::new("", ChildSpec::agent(|| 0));
    ///     assert!(matches!(PartitionSupervisor::start_link(unnamed), Err(StartError::InvalidName(_))));
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link<A: Clone + Send + Sync + 'static>(
        options: PartitionSupervisorOptions<A>,
    ) -> Result<Pid, StartError> {
        if let ProcessName::Local(name) = &options.name {
            if name.is_empty() {
                // Refused before anything starts, as `register` and the
                // Registry refuse it.
                return Err(StartError::InvalidName(RegisterError::EmptyName.to_string()));
            }
        }
        let partitions = options.partitions.unwrap_or_else(|| ember_runtime::stats().schedulers);
        if partitions == 0 {
            return Err(StartError::Failed(Reason::custom(format!(
                "the :partitions option must be a positive integer, got: {partitions}"
            ))));
        }
        let start = options.start.clone().name(options.name.clone());
        let PartitionSupervisorOptions { child_spec, args, with_arguments, flags, .. } = options;
        let sup = Supervisor::start_link_owning("PartitionSupervisor", start, move || {
            Some(init(child_spec, args, with_arguments, partitions, flags))
        })?;
        sup.pid().ok_or(StartError::Failed(Reason::NoProc))
    }

    /// The spec to run a PartitionSupervisor under another supervisor: id =
    /// its name, type supervisor, permanent.
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::{ChildSpec, ChildType};
    /// let spec = ChildSpec::new("w", || ember_runtime::Pid::UNDEFINED);
    /// let ps = PartitionSupervisor::child_spec(PartitionSupervisorOptions::new("ps", spec));
    /// assert_eq!((ps.id().as_str(), ps.get_type()), ("ps", ChildType::Supervisor));
    /// ```
    pub fn child_spec<A: Clone + Send + Sync + 'static>(options: PartitionSupervisorOptions<A>) -> ChildSpec {
        let id = options.name.to_string();
        ChildSpec::new(id, move || PartitionSupervisor::start_link(options.clone())).supervisor()
    }

    /// The number of partitions routed to now. Reads the partition table:
    /// no message to the supervisor.
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::PartitionSupervisor;
    /// ember_runtime::run(|| assert!(PartitionSupervisor::partitions("nobody").is_err())).unwrap();
    /// ```
    pub fn partitions(name: impl Into<ProcessName>) -> Result<usize, NoProc> {
        let name = name.into();
        match table_of(&name) {
            Some(table) => Ok(table.current.load(Ordering::Acquire)),
            None => Err(name.dest().noproc()),
        }
    }

    /// The partitions as children of the supervisor, **most recently
    /// started first** (as `Supervisor::which_children`): ids are the
    /// partition numbers; a partition stopped by [`resize`](Self::resize)
    /// shows as [`ChildPid::Undefined`](crate::ChildPid::Undefined).
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::{ChildPid, ChildSpec};
    /// ember_runtime::run(|| {
    ///     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 0)).partitions(3))
    ///         .unwrap();
    ///     PartitionSupervisor::resize("p", 2).unwrap();
    ///     let children = PartitionSupervisor::which_children("p").unwrap();
    ///     let ids: Vec<_> = children.iter().map(|c| c.id.as_ref().unwrap().to_string()).collect();
    ///     assert_eq!(ids, ["2", "1", "0"]);
    ///     assert_eq!(children[0].pid, ChildPid::Undefined); // partition 2, stopped by the resize
    /// })
    /// .unwrap();
    /// ```
    pub fn which_children(name: impl Into<ProcessName>) -> Result<Vec<ChildSummary>, CallError> {
        Supervisor::new(name.into().dest()).which_children()
    }

    /// The counts: `specs` = partitions created (the initial count),
    /// `active` = partitions running.
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    ///     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", spec).partitions(3)).unwrap();
    ///     PartitionSupervisor::resize("p", 1).unwrap();
    ///     let counts = PartitionSupervisor::count_children("p").unwrap();
    ///     assert_eq!((counts.specs, counts.active, counts.workers), (3, 1, 3));
    /// })
    /// .unwrap();
    /// ```
    pub fn count_children(name: impl Into<ProcessName>) -> Result<ChildCounts, CallError> {
        Supervisor::new(name.into().dest()).count_children()
    }

    /// Stops the supervisor with `reason` (its partitions first, in reverse
    /// order) and waits until it is gone.
    ///
    /// ```
    /// use ember_runtime::Reason;
    /// use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let sup = PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 0)))
    ///         .unwrap();
    ///     let partition = via_partition("p", 0).whereis().unwrap();
    ///     PartitionSupervisor::stop("p", Reason::Normal).unwrap();
    ///     assert!(!sup.is_alive() && !partition.is_alive());
    ///     assert!(PartitionSupervisor::partitions("p").is_err()); // its routing table is gone
    /// })
    /// .unwrap();
    /// ```
    pub fn stop(name: impl Into<ProcessName>, reason: Reason) -> Result<(), CallError> {
        Supervisor::new(name.into().dest()).stop(reason, None)
    }

    /// Changes the number of partitions routed to, between 0 and the number
    /// the supervisor started with; returns the previous number. Growing
    /// starts the partitions `current..n` again, then routes to them;
    /// shrinking stops routing to the partitions `n..current`, then stops
    /// them. Concurrent resizes of one supervisor run one after the other,
    /// in arrival order: a waiting resize sleeps until the one before hands
    /// it the turn with a message.
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::{via_partition, PartitionSupervisor, PartitionSupervisorOptions, ResizeError};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let spec = ChildSpec::new("w", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
    ///     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", spec).partitions(4)).unwrap();
    ///     assert_eq!(PartitionSupervisor::resize("p", 2).unwrap(), 4);
    ///     assert_eq!(via_partition("p", 3).whereis(), via_partition("p", 1).whereis());
    ///     assert_eq!(PartitionSupervisor::resize("p", 4).unwrap(), 2);
    ///     assert_eq!(PartitionSupervisor::resize("p", 5), Err(ResizeError::OutOfRange { max: 4, got: 5 }));
    /// })
    /// .unwrap();
    /// ```
    pub fn resize(name: impl Into<ProcessName>, partitions: usize) -> Result<usize, ResizeError> {
        let name = name.into();
        let table = table_of(&name).ok_or(ResizeError::NoProc)?;
        let max = table.max();
        if partitions > max {
            return Err(ResizeError::OutOfRange { max, got: partitions });
        }
        let _lock = ResizeLock::acquire(&table);
        let sup = Supervisor::new(name.dest());
        let current = table.current.load(Ordering::Acquire);
        if partitions > current {
            for partition in current..partitions {
                sup.restart_child(partition).map_err(|error| ResizeError::Restart { partition, error })?;
            }
            table.current.store(partitions, Ordering::Release);
        } else if partitions < current {
            table.current.store(partitions, Ordering::Release);
            for partition in partitions..current {
                sup.terminate_child(partition).map_err(|error| ResizeError::Terminate { partition, error })?;
            }
        }
        Ok(current)
    }

    /// The address of the partition `key` picks: see [`via_partition`].
    ///
    /// ```
    /// use ember_supervisor::partition_supervisor::{PartitionSupervisor, PartitionSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     PartitionSupervisor::start_link(PartitionSupervisorOptions::new("p", ChildSpec::agent(|| 0)).partitions(2))
    ///         .unwrap();
    ///     let me = ember_runtime::self_pid();
    ///     // The same key always picks the same partition.
    ///     assert_eq!(PartitionSupervisor::via("p", me).whereis(), PartitionSupervisor::via("p", me).whereis());
    ///     assert_eq!(PartitionSupervisor::via("p", 3).whereis(), PartitionSupervisor::via("p", 1).whereis());
    /// })
    /// .unwrap();
    /// ```
    pub fn via(name: impl Into<ProcessName>, key: impl Into<PartitionKey>) -> Dest {
        via_partition(name, key)
    }
}

/// Who resizes a table now, and who waits, in arrival order.
#[derive(Default)]
struct ResizeQueue {
    holder: Option<Pid>,
    waiters: VecDeque<(Pid, Ref)>,
}

/// A message from the process that finished resizing to the next in line:
/// your turn (the tag is the one it queued with).
struct ResizeTurn(Ref);

/// Serialises resizes of one table. Held across calls to the supervisor,
/// so it is not a mutex (a process may move between threads while it
/// waits): a queue of waiting processes, each of which sleeps in a receive
/// until the holder hands it the turn with a message. Dropping the lock —
/// also while its holder unwinds because it was killed — hands the turn to
/// the next waiter; a waiter killed while it waits leaves the queue (or, if
/// the turn reached it meanwhile, passes it on).
struct ResizeLock<'a> {
    table: &'a PartitionTable,
    me: Pid,
}

impl<'a> ResizeLock<'a> {
    fn acquire(table: &'a PartitionTable) -> Self {
        let me = ember_runtime::self_pid();
        let tag = {
            let mut queue = table.resize.lock();
            if queue.holder.is_none() {
                queue.holder = Some(me);
                return ResizeLock { table, me };
            }
            let tag = Ref::new();
            queue.waiters.push_back((me, tag));
            tag
        };
        // Built before the wait, so that dying in it leaves the queue.
        let lock = ResizeLock { table, me };
        receive_if(|turn: &ResizeTurn| turn.0 == tag);
        lock
    }
}

impl Drop for ResizeLock<'_> {
    fn drop(&mut self) {
        let next = {
            let mut queue = self.table.resize.lock();
            if let Some(at) = queue.waiters.iter().position(|&(pid, _)| pid == self.me) {
                queue.waiters.remove(at);
                return;
            }
            if queue.holder != Some(self.me) {
                return;
            }
            let next = queue.waiters.pop_front();
            queue.holder = next.map(|(pid, _)| pid);
            next
        };
        // Sent outside the lock: a send may yield, and the process move on.
        if let Some((pid, tag)) = next {
            send(pid, ResizeTurn(tag));
        }
    }
}

// ---------------------------------------------------------------------------
// The Supervisor behind it

/// The supervisor's `init` (in its process, after its name is registered):
/// creates the table and its registration, which the process owns, and one
/// child spec per partition whose start records the new pid in the table.
fn init<A: Clone + Send + Sync + 'static>(
    child_spec: ChildSpec<A>,
    args: A,
    with_arguments: ArgumentsHook<A>,
    partitions: usize,
    flags: Flags,
) -> (Flags, Vec<ChildSpec>, Registration) {
    let table = Arc::new(PartitionTable::new(partitions));
    let registration = Registration::new(table.clone());
    let children = (0..partitions)
        .map(|partition| {
            let args = with_arguments(args.clone(), partition);
            let (table, user) = (table.clone(), child_spec.clone());
            let child = ChildSpec::new(partition, move || {
                let started = user.start(args.clone());
                if let Started::Ok(pid) | Started::OkInfo(pid, _) = &started {
                    table.pids[partition].store(*pid);
                }
                started
            })
            .restart(child_spec.get_restart())
            .shutdown(child_spec.get_shutdown())
            .significant(child_spec.is_significant());
            match child_spec.get_type() {
                ChildType::Worker => child.worker(),
                ChildType::Supervisor => child.supervisor(),
            }
        })
        .collect();
    (flags, children, registration)
}
