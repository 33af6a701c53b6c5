//! # ember-registry
//!
//! A local, decentralised, scalable key → process store: Elixir's
//! `Registry` (SEMANTICS.md §7) for Ember processes.
//!
//! A [`Registry<K, V>`] maps keys of type `K` to the processes that
//! registered them, each with a value of type `V`. Keys are **unique** (a
//! key points to at most one process; usable as process names through
//! [`via`]) or **duplicate** (a key points to any number of processes: a
//! pubsub topic, a property). When a registered process exits — for any
//! reason, `Kill` included — its entries disappear.
//!
//! ```
//! use ember_registry::{Options, Registry, RegistryError};
//! use ember_runtime::{self_pid, spawn, receive, send, Pid};
//!
//! ember_runtime::run(|| {
//!     let reg = Registry::<String, u32>::start_link(Options::unique("sessions")).unwrap();
//!     reg.register("alice".into(), 1).unwrap();
//!     assert_eq!(reg.lookup(&"alice".into()).unwrap(), vec![(self_pid(), 1)]);
//!
//!     // Another process cannot take the key while we hold it...
//!     let me = self_pid();
//!     spawn(move || {
//!         let reg = Registry::<String, u32>::named("sessions").unwrap();
//!         send(me, reg.register("alice".into(), 2));
//!     });
//!     let taken: Result<Pid, RegistryError> = receive();
//!     assert_eq!(taken, Err(RegistryError::AlreadyRegistered(me)));
//!
//!     // ...and lookups read the tables directly, from any process.
//!     assert_eq!(reg.count().unwrap(), 1);
//!     reg.unregister(&"alice".into()).unwrap();
//!     assert!(reg.lookup(&"alice".into()).unwrap().is_empty());
//! })
//! .unwrap();
//! ```
//!
//! ## How it works
//!
//! A registry is a small tree of processes: a top process, registered under
//! the registry's name — an `ember_supervisor::Supervisor`, as Elixir's
//! Registry is a `Supervisor` — supervising `P` partition processes
//! (one_for_all for unique keys, one_for_one for duplicate keys). The entries live in `P` key
//! tables and `P` pid tables behind reader-writer locks, shared by the
//! processes and the handles. Registering, unregistering and every query run
//! in the **calling** process, straight on the tables — no message round
//! trip. A registering process links itself to the partition owning its pid
//! table; when it exits, the partition receives the exit signal and deletes
//! its entries (asynchronously: until then, lookups may return the dead
//! pid — [`Registry::sync`] waits for it). See `docs/registry.md` for the
//! protocol.
//!
//! ## Under a supervisor
//!
//! [`Registry`] implements the runtime's `StartedProcess`, so a supervisor's
//! child spec can start it, and its via names ([`via`]) name the
//! supervisor's other children (names go through the runtime's `Via`
//! trait, so the supervisor crate needs nothing of the registry's):
//!
//! ```
//! use ember_registry::{via, Options, Registry};
//! use ember_runtime::agent::Agent;
//! use ember_runtime::gen_server::StartOptions;
//! use ember_supervisor::{ChildSpec, Supervisor, SupervisorOptions};
//!
//! ember_runtime::run(|| {
//!     let opts = Options::unique("names");
//!     let registry = ChildSpec::new("names", move || Registry::<String, ()>::start_link(opts.clone())).supervisor();
//!     let cache = ChildSpec::new("cache", || {
//!         let names = Registry::<String, ()>::named("names").expect("started before");
//!         Agent::start_link_opts(|| 0u32, StartOptions::new().name(via(&names, "cache".to_string())))
//!     });
//!     Supervisor::start_link(vec![registry, cache], SupervisorOptions::rest_for_one()).unwrap();
//!
//!     let names = Registry::<String, ()>::named("names").unwrap();
//!     let cache = Agent::<u32>::new(via(&names, "cache".to_string()));
//!     cache.update(|n| *n += 1).unwrap();
//!     assert_eq!(cache.get(|n| *n).unwrap(), 1);
//! })
//! .unwrap();
//! ```
//!
//! ## Differences from Elixir, on purpose
//!
//! * Keys and values are typed (`Registry<K, V>`); a registry looked up with
//!   other types is an error ([`RegistryError::WrongTypes`]).
//! * Match patterns and guards are Rust predicates (`match_values`,
//!   `count_match`, `unregister_match`), and match specifications are
//!   [`Spec`]s of [`Clause`]s.
//! * Errors are values ([`RegistryError`]), never panics or exits.
//! * Metadata keys are strings; values are any `Send + Sync` value, read back
//!   by type.
#![deny(missing_docs)]

mod directory;
mod error;
mod options;
mod partition;
mod select;
mod supervisor;
mod table;
mod via;

pub use error::RegistryError;
pub use options::{Keys, Options, PartitionBy, MAX_PARTITIONS};
pub use select::{Clause, Spec};
pub use via::{via, via_with_value, ViaName, VIA_DUPLICATE};

use ember_runtime::gen_server::{CallError, Server, StartError, StartedProcess};
use ember_runtime::{spawn_monitor, try_self_pid, Down, Name, Pid, Reason};
use partition::{Partition, PartitionCall, PartitionReply, Unlock};
use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use table::Tables;

/// What a listener receives (Elixir's `{:register, registry, key, pid,
/// value}` and `{:unregister, registry, key, pid}`).
///
/// Listeners hear of explicit registrations and unregistrations only, not
/// of the cleanup after a registered process dies: a listener that cares
/// monitors the registered process.
///
/// ```
/// use ember_registry::{Options, Registry, RegistryEvent};
/// use ember_runtime::{receive, register, self_pid};
///
/// ember_runtime::run(|| {
///     register("audit", self_pid()).unwrap();
///     let reg = Registry::<u32, &'static str>::start_link(Options::unique("heard").listener("audit")).unwrap();
///     reg.register(1, "one").unwrap();
///     let event: RegistryEvent<u32, &'static str> = receive();
///     assert_eq!(event, RegistryEvent::Register { registry: "heard".into(), key: 1, pid: self_pid(), value: "one" });
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum RegistryEvent<K, V> {
    /// `pid` registered `key` with `value`.
    Register {
        /// The registry's name.
        registry: Name,
        /// The key.
        key: K,
        /// The registering process.
        pid: Pid,
        /// The value.
        value: V,
    },
    /// `pid` unregistered `key`.
    Unregister {
        /// The registry's name.
        registry: Name,
        /// The key.
        key: K,
        /// The unregistering process.
        pid: Pid,
    },
}

/// A handle to a running registry with keys `K` and values `V`. Cheap to
/// clone; every clone reads the same tables.
///
/// Get one from [`Registry::start_link`] or, in any process of the same
/// runtime, from [`Registry::named`]. A handle keeps a direct reference to
/// the registry's tables, so lookups do not even search the name; if the
/// registry stops and is started again (by its supervisor), the handle finds
/// the new one by name.
///
/// ```
/// use ember_registry::{Options, Registry};
/// use ember_runtime::{monitor, receive, self_pid, send, spawn, Down, Reason};
/// use ember_supervisor::{ChildSpec, Supervisor, SupervisorOptions};
///
/// ember_runtime::run(|| {
///     let opts = Options::unique("names");
///     let spec = ChildSpec::new("names", move || Registry::<String, u32>::start_link(opts.clone())).supervisor();
///     let sup = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
///     let names = Registry::<String, u32>::named("names").unwrap();
///
///     // A clone reads the same tables, from any process.
///     let (me, clone) = (self_pid(), names.clone());
///     spawn(move || {
///         clone.register("worker".into(), 1).unwrap();
///         send(me, ());
///         receive::<()>();
///     });
///     receive::<()>();
///     assert_eq!(names.count().unwrap(), 1);
///
///     // The registry is killed and its supervisor starts a new one: the
///     // handle finds it by name.
///     let old = names.pid().unwrap();
///     monitor(old);
///     old.exit(Reason::Kill);
///     receive::<Down>();
///     sup.count_children().unwrap(); // served once the restart is done
///     assert!(names.pid().is_some_and(|new| new != old));
///     assert_eq!(names.count().unwrap(), 0); // the new registry starts empty
/// })
/// .unwrap();
/// ```
pub struct Registry<K, V> {
    tables: Arc<Tables<K, V>>,
}

impl<K, V> Clone for Registry<K, V> {
    fn clone(&self) -> Self {
        Registry { tables: self.tables.clone() }
    }
}

impl<K, V> fmt::Debug for Registry<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("name", &self.tables.name)
            .field("keys", &self.tables.keys)
            .field("partitions", &self.tables.key_parts.len())
            .finish()
    }
}

impl<K, V> Registry<K, V> {
    /// The registry's name.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("n")).unwrap();
    ///     assert_eq!(reg.name().as_str(), "n");
    /// })
    /// .unwrap();
    /// ```
    pub fn name(&self) -> &Name {
        &self.tables.name
    }

    /// The kind of keys.
    ///
    /// ```
    /// use ember_registry::{Keys, Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::duplicate("d")).unwrap();
    ///     assert_eq!(reg.keys_kind(), Keys::duplicate());
    /// })
    /// .unwrap();
    /// ```
    pub fn keys_kind(&self) -> Keys {
        self.tables.keys
    }

    /// The number of partitions.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("p").partitions(4)).unwrap();
    ///     assert_eq!(reg.partitions(), 4);
    /// })
    /// .unwrap();
    /// ```
    pub fn partitions(&self) -> usize {
        self.tables.key_parts.len()
    }
}

impl<K, V> Registry<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Starts a registry linked to the caller (Elixir's
    /// `Registry.start_link/1`): a top process registered under the
    /// registry's name, supervising the partition processes.
    ///
    /// Errors: invalid options or a call from outside a process give
    /// [`StartError::Failed`] holding a [`RegistryError`] (see
    /// [`RegistryError::from_start_error`]); a name already registered gives
    /// [`StartError::AlreadyStarted`].
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// use ember_runtime::gen_server::StartError;
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<String, ()>::start_link(Options::unique("names")).unwrap();
    ///     let again = Registry::<String, ()>::start_link(Options::unique("names")).unwrap_err();
    ///     assert_eq!(again, StartError::AlreadyStarted(reg.pid().unwrap()));
    /// })
    /// .unwrap();
    /// ```
    pub fn start_link(options: Options) -> Result<Self, StartError> {
        let me = try_self_pid().ok_or_else(|| RegistryError::NotAProcess.into_start_error())?;
        options.validate().map_err(RegistryError::into_start_error)?;
        let tables = Arc::new(Tables::new(&options, me.node()));
        supervisor::start_link(tables.clone(), options.name.clone())?;
        Ok(Registry { tables })
    }

    /// A handle to the registry running under `name` in the caller's
    /// runtime. Errors: [`RegistryError::UnknownRegistry`],
    /// [`RegistryError::WrongTypes`] (it holds other key or value types),
    /// [`RegistryError::NotAProcess`].
    ///
    /// ```
    /// use ember_registry::{Options, Registry, RegistryError};
    /// ember_runtime::run(|| {
    ///     Registry::<String, u32>::start_link(Options::unique("typed")).unwrap();
    ///     assert!(Registry::<String, u32>::named("typed").is_ok());
    ///     assert!(matches!(Registry::<u64, u32>::named("typed"), Err(RegistryError::WrongTypes { .. })));
    ///     assert!(matches!(Registry::<String, u32>::named("nope"), Err(RegistryError::UnknownRegistry(_))));
    /// })
    /// .unwrap();
    /// ```
    pub fn named(name: impl Into<Name>) -> Result<Self, RegistryError> {
        let node = try_self_pid().ok_or(RegistryError::NotAProcess)?.node();
        let tables = directory::find(node, &name.into())?;
        Ok(Registry { tables })
    }

    /// The tables: the cached ones while the registry runs, else whatever
    /// runs under the name now.
    #[inline]
    pub(crate) fn tables(&self) -> Result<Cow<'_, Arc<Tables<K, V>>>, RegistryError> {
        if !self.tables.closed.load(Ordering::Acquire) {
            return Ok(Cow::Borrowed(&self.tables));
        }
        let tables = directory::find::<K, V>(self.tables.node, &self.tables.name)?;
        if tables.closed.load(Ordering::Acquire) {
            return Err(RegistryError::UnknownRegistry(self.tables.name.clone()));
        }
        Ok(Cow::Owned(tables))
    }

    /// The registry's top process, if it is running.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("top")).unwrap();
    ///     assert_eq!(reg.pid(), ember_runtime::whereis("top"));
    /// })
    /// .unwrap();
    /// ```
    pub fn pid(&self) -> Option<Pid> {
        let tables = self.tables().ok()?;
        tables.sup.get().copied().filter(|p| p.is_alive())
    }

    /// The process that owns partition `i` now (it holds the partition's
    /// pid table and is linked to the processes registered through it), if
    /// it runs. Partitions have no registered names: see
    /// [`Registry::start_link`].
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("parts").partitions(2)).unwrap();
    ///     let p0 = reg.partition_pid(0).unwrap();
    ///     assert_eq!(reg.register(1, ()).ok().is_some(), true);
    ///     assert!(reg.partition_pid(2).is_none());
    ///     assert_ne!(Some(p0), reg.partition_pid(1));
    /// })
    /// .unwrap();
    /// ```
    pub fn partition_pid(&self, i: usize) -> Option<Pid> {
        let tables = self.tables().ok()?;
        (i < tables.pid_parts.len()).then(|| tables.owner(i)).filter(|p| p.is_alive())
    }

    /// Stops the registry (its partitions first) with `reason`, waiting for
    /// it to exit. Processes registered in it are linked to its partitions:
    /// unless they trap exits, they exit too (with `shutdown`).
    ///
    /// ```
    /// use ember_registry::{Options, Registry, RegistryError};
    /// use ember_runtime::Reason;
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("brief")).unwrap();
    ///     reg.stop(Reason::Normal).unwrap();
    ///     assert_eq!(reg.count(), Err(RegistryError::UnknownRegistry("brief".into())));
    /// })
    /// .unwrap();
    /// ```
    pub fn stop(&self, reason: Reason) -> Result<(), CallError> {
        let pid = self.pid().ok_or(CallError::NoProc)?;
        ember_supervisor::Supervisor::new(pid).stop(reason, None)
    }

    /// Registers the **calling process** under `key` with `value` (Elixir's
    /// `Registry.register/3`); returns the partition process that now owns
    /// the entry (the caller is linked to it).
    ///
    /// Unique keys: [`RegistryError::AlreadyRegistered`] with the holder
    /// when a live process holds the key (the caller itself included); a
    /// dead holder not yet cleaned up is replaced. Duplicate keys: always
    /// succeeds; a process may register a key many times. Listeners get
    /// [`RegistryEvent::Register`]. Must be called from a process.
    ///
    /// ```
    /// use ember_registry::{Options, Registry, RegistryError};
    /// use ember_runtime::self_pid;
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, u8>::start_link(Options::unique("reg")).unwrap();
    ///     let owner = reg.register("k", 1).unwrap();
    ///     assert!(ember_runtime::process_info(self_pid()).unwrap().links.contains(&owner));
    ///     assert_eq!(reg.register("k", 2), Err(RegistryError::AlreadyRegistered(self_pid())));
    /// })
    /// .unwrap();
    /// ```
    pub fn register(&self, key: K, value: V) -> Result<Pid, RegistryError> {
        let tables = self.tables()?;
        tables.register(caller(&tables)?, key, value)
    }

    /// Removes every entry of the calling process under `key` (Elixir's
    /// `Registry.unregister/2`), unlinking it from the partition when it has
    /// no key left there. Succeeds when there was nothing to remove, too.
    /// Listeners get [`RegistryEvent::Unregister`] in every case.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, u8>::start_link(Options::duplicate("u")).unwrap();
    ///     reg.register("k", 1).unwrap();
    ///     reg.register("k", 2).unwrap();
    ///     reg.unregister(&"k").unwrap();
    ///     assert_eq!(reg.count().unwrap(), 0);
    ///     reg.unregister(&"never").unwrap();
    /// })
    /// .unwrap();
    /// ```
    pub fn unregister(&self, key: &K) -> Result<(), RegistryError> {
        let tables = self.tables()?;
        tables.unregister_where(caller(&tables)?, key, |_| true, true);
        Ok(())
    }

    /// Removes the calling process's entries under `key` whose value
    /// satisfies `pred` (Elixir's `Registry.unregister_match/4`). When that
    /// removes all of them, it is [`Registry::unregister`] (unlink,
    /// listeners); when it removes some, the others stay.
    ///
    /// `pred` runs while a partition is locked: it must be pure.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, u8>::start_link(Options::duplicate("um")).unwrap();
    ///     for v in 1..=3 { reg.register("k", v).unwrap(); }
    ///     reg.unregister_match(&"k", |v| *v > 1).unwrap();
    ///     assert_eq!(reg.values(&"k", ember_runtime::self_pid()).unwrap(), vec![1]);
    /// })
    /// .unwrap();
    /// ```
    pub fn unregister_match(&self, key: &K, pred: impl FnMut(&V) -> bool) -> Result<(), RegistryError> {
        let tables = self.tables()?;
        tables.unregister_where(caller(&tables)?, key, pred, false);
        Ok(())
    }

    /// Replaces the value of the calling process's unique `key` with
    /// `f(old)`; returns `Some((new, old))`, or `None` when the caller does
    /// not hold `key` (`f` is not called). Duplicate registries:
    /// [`RegistryError::NotSupported`].
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, u32>::start_link(Options::unique("uv")).unwrap();
    ///     assert_eq!(reg.update_value(&"k", |v| v + 1).unwrap(), None);
    ///     reg.register("k", 1).unwrap();
    ///     assert_eq!(reg.update_value(&"k", |v| v + 1).unwrap(), Some((2, 1)));
    /// })
    /// .unwrap();
    /// ```
    pub fn update_value(&self, key: &K, f: impl FnOnce(&V) -> V) -> Result<Option<(V, V)>, RegistryError> {
        let tables = self.tables()?;
        let me = caller(&tables)?;
        if !tables.keys.is_unique() {
            return Err(RegistryError::NotSupported(format!(
                "Registry.update_value/3 is not supported for {} registries",
                tables.keys
            )));
        }
        Ok(tables.update_value(me, key, f))
    }

    /// The `(pid, value)` entries under `key`, in no particular order
    /// (Elixir's `Registry.lookup/2`). May include a process that has just
    /// died, until its partition has cleaned up. Works from any thread.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, u8>::start_link(Options::unique("l")).unwrap();
    ///     assert!(reg.lookup(&"k").unwrap().is_empty());
    ///     reg.register("k", 1).unwrap();
    ///     assert_eq!(reg.lookup(&"k").unwrap(), vec![(ember_runtime::self_pid(), 1)]);
    /// })
    /// .unwrap();
    /// ```
    #[inline]
    pub fn lookup(&self, key: &K) -> Result<Vec<(Pid, V)>, RegistryError> {
        Ok(self.tables()?.lookup(key))
    }

    /// The live process holding the unique `key` (what a via name resolves
    /// to); `None` for duplicate registries.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("w")).unwrap();
    ///     reg.register(1, ()).unwrap();
    ///     assert_eq!(reg.whereis(&1).unwrap(), Some(ember_runtime::self_pid()));
    ///     assert_eq!(reg.whereis(&2).unwrap(), None);
    /// })
    /// .unwrap();
    /// ```
    pub fn whereis(&self, key: &K) -> Result<Option<Pid>, RegistryError> {
        Ok(self.tables()?.whereis(key))
    }

    /// The entries under `key` whose value satisfies `pred` (Elixir's
    /// `Registry.match/4`; `pred` is the pattern and guards). `pred` runs
    /// while a partition is locked: it must be pure.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, (u8, u8)>::start_link(Options::duplicate("m")).unwrap();
    ///     reg.register("k", (1, 2)).unwrap();
    ///     reg.register("k", (2, 2)).unwrap();
    ///     let me = ember_runtime::self_pid();
    ///     assert_eq!(reg.match_values(&"k", |&(a, _)| a == 1).unwrap(), vec![(me, (1, 2))]);
    /// })
    /// .unwrap();
    /// ```
    pub fn match_values(&self, key: &K, pred: impl FnMut(&V) -> bool) -> Result<Vec<(Pid, V)>, RegistryError> {
        Ok(self.tables()?.match_values(key, pred))
    }

    /// The number of entries (duplicates counted).
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::duplicate("c")).unwrap();
    ///     reg.register(1, ()).unwrap();
    ///     reg.register(1, ()).unwrap();
    ///     assert_eq!(reg.count().unwrap(), 2);
    /// })
    /// .unwrap();
    /// ```
    pub fn count(&self) -> Result<usize, RegistryError> {
        Ok(self.tables()?.count())
    }

    /// How many entries under `key` have a value satisfying `pred` (Elixir's
    /// `Registry.count_match/4`). `pred` must be pure.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, u32>::start_link(Options::duplicate("cm")).unwrap();
    ///     for v in [1, 5, 10] { reg.register(0, v).unwrap(); }
    ///     assert_eq!(reg.count_match(&0, |v| *v >= 5).unwrap(), 2);
    /// })
    /// .unwrap();
    /// ```
    pub fn count_match(&self, key: &K, pred: impl FnMut(&V) -> bool) -> Result<usize, RegistryError> {
        Ok(self.tables()?.count_match(key, pred))
    }

    /// Every entry selected by `spec`, projected by the selecting clause's
    /// body, in no particular order (Elixir's `Registry.select/2`). A
    /// clause without a body is [`RegistryError::InvalidSelect`].
    ///
    /// ```
    /// use ember_registry::{Clause, Options, Registry, Spec};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, u32>::start_link(Options::unique("s")).unwrap();
    ///     reg.register("a", 1).unwrap();
    ///     reg.register("b", 2).unwrap();
    ///     let spec = Spec::new().clause(Clause::new().value(|v: &u32| *v > 1).body(|k: &&str, _, v: &u32| (*k, *v)));
    ///     assert_eq!(reg.select(&spec).unwrap(), vec![("b", 2)]);
    ///     let bad = Spec::new().clause(Clause::<&str, u32, ()>::new());
    ///     assert!(reg.select(&bad).is_err());
    /// })
    /// .unwrap();
    /// ```
    pub fn select<T>(&self, spec: &Spec<'_, K, V, T>) -> Result<Vec<T>, RegistryError> {
        spec.validate(true)?;
        let tables = self.tables()?;
        let mut out = Vec::new();
        for part in tables.key_parts.iter() {
            part.read().for_each(|k, pid, v| {
                if let Some(t) = spec.project(k, pid, v) {
                    out.push(t)
                }
            });
        }
        Ok(out)
    }

    /// How many entries `spec` selects (Elixir's `Registry.count_select/2`);
    /// bodies are not needed.
    ///
    /// ```
    /// use ember_registry::{Clause, Options, Registry, Spec};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, u32>::start_link(Options::unique("cs")).unwrap();
    ///     reg.register(1, 10).unwrap();
    ///     let spec: Spec<u8, u32, ()> = Spec::new().clause(Clause::new().key(|k| *k == 1));
    ///     assert_eq!(reg.count_select(&spec).unwrap(), 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn count_select<T>(&self, spec: &Spec<'_, K, V, T>) -> Result<usize, RegistryError> {
        spec.validate(false)?;
        let tables = self.tables()?;
        let mut n = 0;
        for part in tables.key_parts.iter() {
            part.read().for_each(|k, pid, v| n += spec.first(k, pid, v).is_some() as usize);
        }
        Ok(n)
    }

    /// The keys `pid` registered (each once for unique registries; as many
    /// times as registered for duplicate ones). Empty once a dead process
    /// has been cleaned up.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("k")).unwrap();
    ///     reg.register(1, ()).unwrap();
    ///     reg.register(2, ()).unwrap();
    ///     let mut keys = reg.keys(ember_runtime::self_pid()).unwrap();
    ///     keys.sort();
    ///     assert_eq!(keys, vec![1, 2]);
    /// })
    /// .unwrap();
    /// ```
    pub fn keys(&self, pid: Pid) -> Result<Vec<K>, RegistryError> {
        Ok(self.tables()?.keys_of(pid))
    }

    /// The values `pid` registered under `key`.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, char>::start_link(Options::duplicate("v")).unwrap();
    ///     reg.register(1, 'a').unwrap();
    ///     reg.register(1, 'b').unwrap();
    ///     assert_eq!(reg.values(&1, ember_runtime::self_pid()).unwrap(), vec!['a', 'b']);
    /// })
    /// .unwrap();
    /// ```
    pub fn values(&self, key: &K, pid: Pid) -> Result<Vec<V>, RegistryError> {
        Ok(self.tables()?.values_of(key, pid))
    }

    /// Calls `f` in the calling process with the non-empty list of `(pid,
    /// value)` entries under `key` of each partition (never with an empty
    /// list), one partition after the other (Elixir's `Registry.dispatch/3`).
    /// The entries are copied out first: `f` may do anything.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// use ember_runtime::{receive, send};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, ()>::start_link(Options::duplicate("pubsub").partitions(4)).unwrap();
    ///     reg.register("news", ()).unwrap();
    ///     reg.dispatch(&"news", |entries| for (pid, ()) in entries { send(*pid, "hello") }).unwrap();
    ///     assert_eq!(receive::<&str>(), "hello");
    /// })
    /// .unwrap();
    /// ```
    pub fn dispatch(&self, key: &K, mut f: impl FnMut(&[(Pid, V)])) -> Result<(), RegistryError> {
        let tables = self.tables()?;
        for i in tables.key_scope(key) {
            let mut entries = Vec::new();
            tables.key_parts[i].read().for_key(key, |pid, v| entries.push((pid, v.clone())));
            if !entries.is_empty() {
                f(&entries);
            }
        }
        Ok(())
    }

    /// [`Registry::dispatch`], with one process per partition running `f`
    /// at the same time (Elixir's `parallel: true`), when the registry has
    /// duplicate keys partitioned by pid and more than one partition;
    /// otherwise the same as `dispatch`. Returns once every callback has
    /// returned; [`RegistryError::DispatchFailed`] if one of them panicked.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// use ember_runtime::{receive, send};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, ()>::start_link(Options::duplicate("fanout").partitions(4)).unwrap();
    ///     reg.register("news", ()).unwrap();
    ///     reg.dispatch_parallel(&"news", |entries| for (pid, ()) in entries { send(*pid, 1u8) }).unwrap();
    ///     assert_eq!(receive::<u8>(), 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn dispatch_parallel(
        &self,
        key: &K,
        f: impl Fn(&[(Pid, V)]) + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        let tables = self.tables()?.into_owned();
        caller(&tables)?;
        if tables.keys != Keys::duplicate() || tables.partitions() == 1 {
            return self.dispatch(key, f);
        }
        let f = Arc::new(f);
        let monitors: Vec<_> = (0..tables.partitions())
            .map(|i| {
                let (tables, f, key) = (tables.clone(), f.clone(), key.clone());
                spawn_monitor(move || {
                    let mut entries = Vec::new();
                    tables.key_parts[i].read().for_key(&key, |pid, v| entries.push((pid, v.clone())));
                    if !entries.is_empty() {
                        f(&entries);
                    }
                })
                .1
            })
            .collect();
        let mut failure = None;
        for _ in 0..monitors.len() {
            let down: Down = ember_runtime::receive_if(|d: &Down| monitors.contains(&d.monitor));
            if !down.reason.is_normal() && failure.is_none() {
                failure = Some(down.reason);
            }
        }
        match failure {
            None => Ok(()),
            Some(reason) => Err(RegistryError::DispatchFailed(reason)),
        }
    }

    /// The metadata under `key` (Elixir's `Registry.meta/2`): `None` when
    /// there is none, [`RegistryError::MetaType`] when it holds another type.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("meta").meta("custom_key", "custom_value")).unwrap();
    ///     assert_eq!(reg.meta::<&str>("custom_key").unwrap(), Some("custom_value"));
    ///     assert_eq!(reg.meta::<&str>("unknown").unwrap(), None);
    ///     assert!(reg.meta::<u32>("custom_key").is_err());
    /// })
    /// .unwrap();
    /// ```
    pub fn meta<T: Any + Clone>(&self, key: &str) -> Result<Option<T>, RegistryError> {
        let tables = self.tables()?;
        let meta = tables.meta.read();
        match meta.get(key) {
            None => Ok(None),
            Some(value) => value
                .downcast_ref::<T>()
                .cloned()
                .map(Some)
                .ok_or_else(|| RegistryError::MetaType { key: key.to_string(), expected: std::any::type_name::<T>() }),
        }
    }

    /// Stores metadata under `key` (Elixir's `Registry.put_meta/3`).
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("pm")).unwrap();
    ///     reg.put_meta("custom_key", 5u64).unwrap();
    ///     assert_eq!(reg.meta::<u64>("custom_key").unwrap(), Some(5));
    /// })
    /// .unwrap();
    /// ```
    pub fn put_meta<T: Any + Send + Sync>(&self, key: impl Into<String>, value: T) -> Result<(), RegistryError> {
        self.tables()?.meta.write().insert(key.into(), Arc::new(value));
        Ok(())
    }

    /// Deletes the metadata under `key` (Elixir's `Registry.delete_meta/2`);
    /// succeeds when there was none.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("dm").meta("k", 1u8)).unwrap();
    ///     reg.delete_meta("k").unwrap();
    ///     assert_eq!(reg.meta::<u8>("k").unwrap(), None);
    /// })
    /// .unwrap();
    /// ```
    pub fn delete_meta(&self, key: &str) -> Result<(), RegistryError> {
        self.tables()?.meta.write().remove(key);
        Ok(())
    }

    /// Runs `f` in the calling process while holding the registry lock
    /// `lock_key` (Elixir's `Registry.lock/3`), and returns its value.
    ///
    /// Lock keys are a namespace of their own, independent of registered
    /// keys. Takers wait in FIFO order; a waiter that dies is skipped. The
    /// lock is released when `f` returns or panics, or when the holder dies.
    /// Not reentrant: taking a lock one holds waits for ever. Errors:
    /// [`RegistryError::Unavailable`] when the partition serving the lock
    /// is not running.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, ()>::start_link(Options::unique("locks")).unwrap();
    ///     assert_eq!(reg.lock("resize", || 42).unwrap(), 42);
    /// })
    /// .unwrap();
    /// ```
    pub fn lock<R>(&self, lock_key: K, f: impl FnOnce() -> R) -> Result<R, RegistryError> {
        let tables = self.tables()?;
        caller(&tables)?;
        let i = tables.lock_index(&lock_key);
        let owner = tables.owner(i);
        let unavailable = || RegistryError::Unavailable(tables.name.clone());
        if owner == Pid::UNDEFINED {
            return Err(unavailable());
        }
        let server = Server::<Partition<K, V>>::new(owner);
        let tag = match server.call_timeout(PartitionCall::Lock(lock_key.clone()), None) {
            Ok(PartitionReply::Locked(tag)) => tag,
            _ => return Err(unavailable()),
        };
        /// Releases the lock when dropped: after `f`, or while unwinding.
        struct Release<K: Hash + Eq + Clone + Send + Sync + 'static, V: Clone + Send + Sync + 'static> {
            server: Server<Partition<K, V>>,
            key: Option<K>,
            tag: ember_runtime::Ref,
        }
        impl<K: Hash + Eq + Clone + Send + Sync + 'static, V: Clone + Send + Sync + 'static> Drop for Release<K, V> {
            fn drop(&mut self) {
                if let Some(key) = self.key.take() {
                    self.server.cast(Unlock(key, self.tag));
                }
            }
        }
        let _release = Release { server, key: Some(lock_key), tag };
        Ok(f())
    }

    /// Waits until every partition has handled every message that reached
    /// it before this call; returns `Ok` then. In particular, once the caller
    /// has seen a registered process die (its `Down` or `Exit`), after
    /// `sync` that process's entries are gone: a process's exit signals to
    /// its links are sent before its `Down` messages.
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// use ember_runtime::{monitor, receive, spawn, Down, self_pid, send};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<u8, ()>::start_link(Options::unique("sync")).unwrap();
    ///     let me = self_pid();
    ///     let r = reg.clone();
    ///     let pid = spawn(move || { r.register(1, ()).unwrap(); send(me, ()); });
    ///     let m = monitor(pid);
    ///     receive::<()>();
    ///     let _: Down = receive();
    ///     reg.sync().unwrap();
    ///     assert!(reg.lookup(&1).unwrap().is_empty());
    ///     let _ = m;
    /// })
    /// .unwrap();
    /// ```
    pub fn sync(&self) -> Result<(), RegistryError> {
        let tables = self.tables()?;
        caller(&tables)?;
        for i in 0..tables.partitions() {
            let owner = tables.owner(i);
            let synced = owner != Pid::UNDEFINED
                && matches!(
                    Server::<Partition<K, V>>::new(owner).call_timeout(PartitionCall::Sync, None),
                    Ok(PartitionReply::Synced)
                );
            if !synced {
                return Err(RegistryError::Unavailable(tables.name.clone()));
            }
        }
        Ok(())
    }

    /// The via name of `key` in this registry, registered with
    /// `V::default()` (see [`via`]).
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// use ember_runtime::agent::Agent;
    /// use ember_runtime::gen_server::StartOptions;
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, ()>::start_link(Options::unique("v1")).unwrap();
    ///     let a = Agent::start_link_opts(|| 5, StartOptions::new().name(reg.via("five"))).unwrap();
    ///     assert_eq!(Agent::<i32>::new(reg.via("five")).get(|n| *n).unwrap(), 5);
    ///     assert_eq!(reg.whereis(&"five").unwrap(), a.pid());
    /// })
    /// .unwrap();
    /// ```
    pub fn via(&self, key: K) -> Arc<ViaName<K, V>>
    where
        V: Default,
    {
        via(self, key)
    }

    /// The via name of `key` in this registry, registered with `value` (see
    /// [`via_with_value`]).
    ///
    /// ```
    /// use ember_registry::{Options, Registry};
    /// ember_runtime::run(|| {
    ///     let reg = Registry::<&'static str, u8>::start_link(Options::unique("v2")).unwrap();
    ///     assert_eq!(*reg.via_with_value("k", 3).value(), 3);
    /// })
    /// .unwrap();
    /// ```
    pub fn via_with_value(&self, key: K, value: V) -> Arc<ViaName<K, V>> {
        via_with_value(self, key, value)
    }
}

/// The calling process, which must run in the registry's runtime.
fn caller<K, V>(tables: &Tables<K, V>) -> Result<Pid, RegistryError> {
    match try_self_pid() {
        Some(me) if me.node() == tables.node => Ok(me),
        _ => Err(RegistryError::NotAProcess),
    }
}

impl<K, V> StartedProcess for Registry<K, V> {
    /// The registry's top process (what a supervisor links to and stops).
    fn started_pid(&self) -> Pid {
        self.tables.sup.get().copied().unwrap_or(Pid::UNDEFINED)
    }
}
