//! Registered names, `via` naming, and the ways to address a process.
//!
//! * Local names ([`register`], [`whereis`], [`send_named`]): one name per
//!   process, one process per name, released automatically when the process
//!   exits — *before* its exit signals and `Down` messages go out, so whoever
//!   hears of the exit can register the name again at once.
//! * [`Via`]: a naming scheme provided by someone else (Erlang's
//!   `{via, Module, Term}`); the Registry crate implements it.
//! * [`Dest`]: a pid, a local name, a via name or a name on another node —
//!   what [`send_named`](crate::send_named) and behaviours accept wherever
//!   OTP accepts a "server reference".

use crate::pid::Pid;
use crate::process::current::current;
use parking_lot::RwLock;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A registered name.
///
/// ```
/// use ember_runtime::Name;
/// let n: Name = "stack".into();
/// assert_eq!(n.as_str(), "stack");
/// assert_eq!(n, Name::from(String::from("stack")));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Name(Arc<str>);

impl Name {
    /// The name as a string.
    ///
    /// ```
    /// assert_eq!(ember_runtime::Name::from("a").as_str(), "a");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name is `""`, which no registration accepts (see
    /// [`RegisterError::EmptyName`]).
    ///
    /// ```
    /// assert!(ember_runtime::Name::from("").is_empty());
    /// assert!(!ember_runtime::Name::from("a").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(Arc::from(s))
    }
}

impl From<&Name> for Name {
    fn from(n: &Name) -> Self {
        n.clone()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ":{}", self.0)
    }
}

/// Why [`register`] or [`unregister`] failed (Erlang raises `badarg` for all
/// of these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// The name is already registered, by this process.
    NameTaken(Pid),
    /// The process already has a name.
    AlreadyNamed(Name),
    /// The process is not alive.
    NoProc(Pid),
    /// Nothing is registered under the name.
    NotRegistered(Name),
    /// The name is empty: no process, registry key or partition supervisor
    /// may be named `""`.
    EmptyName,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::NameTaken(pid) => write!(f, "the name is already registered by {pid}"),
            RegisterError::AlreadyNamed(name) => {
                write!(f, "the process is already registered as {name}")
            }
            RegisterError::NoProc(pid) => write!(f, "noproc: {pid} is not alive"),
            RegisterError::NotRegistered(name) => write!(f, "no process is registered as {name}"),
            RegisterError::EmptyName => f.write_str("a name must not be empty"),
        }
    }
}

impl std::error::Error for RegisterError {}

/// No process answers to this address.
#[derive(Clone, Debug, PartialEq)]
pub enum NoProc {
    /// Nothing registered under this local name.
    Name(Name),
    /// The via scheme found nothing under this name.
    Via(String),
    /// The pid is dead.
    Pid(Pid),
}

impl fmt::Display for NoProc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoProc::Name(n) => write!(f, "noproc: no process is registered as {n}"),
            NoProc::Via(n) => write!(f, "noproc: no process is registered as {n}"),
            NoProc::Pid(p) => write!(f, "noproc: {p} is not alive"),
        }
    }
}

impl std::error::Error for NoProc {}

/// The local name table of one runtime.
#[derive(Default)]
pub(crate) struct Names {
    map: RwLock<HashMap<Name, Pid>>,
}

impl Names {
    pub(crate) fn whereis(&self, name: &Name) -> Option<Pid> {
        self.map.read().get(name).copied()
    }

    /// Drops `name` if it still belongs to `pid` (called on exit).
    pub(crate) fn release(&self, name: &Name, pid: Pid) {
        let mut map = self.map.write();
        if map.get(name) == Some(&pid) {
            map.remove(name);
        }
    }

    pub(crate) fn names(&self) -> Vec<Name> {
        self.map.read().keys().cloned().collect()
    }
}

/// Registers `pid` under `name` (Erlang `register/2`).
///
/// Fails if the name is taken, if the process already has a name, or if it is
/// not alive. The name is released when the process exits.
///
/// ```
/// use ember_runtime::{register, whereis, self_pid, RegisterError};
/// ember_runtime::run(|| {
///     let me = self_pid();
///     register("main", me).unwrap();
///     assert_eq!(whereis("main"), Some(me));
///     assert_eq!(register("main", me), Err(RegisterError::NameTaken(me)));
///     assert_eq!(register("other", me), Err(RegisterError::AlreadyNamed("main".into())));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn register(name: impl Into<Name>, pid: Pid) -> Result<(), RegisterError> {
    let cur = current();
    cur.charge(1);
    let name = name.into();
    if name.is_empty() {
        return Err(RegisterError::EmptyName);
    }
    let sched = cur.sched();
    let mut map = sched.names.map.write();
    if let Some(&holder) = map.get(&name) {
        return Err(RegisterError::NameTaken(holder));
    }
    let slot = (pid.node == sched.node).then(|| sched.slot(pid)).flatten().ok_or(RegisterError::NoProc(pid))?;
    let mut shared = slot.shared.lock();
    if !shared.alive || slot.serial.load(Ordering::Relaxed) != pid.serial {
        return Err(RegisterError::NoProc(pid));
    }
    if let Some(existing) = &shared.name {
        return Err(RegisterError::AlreadyNamed(Name::clone(existing)));
    }
    shared.name = Some(Box::new(name.clone()));
    map.insert(name, pid);
    Ok(())
}

/// Removes a registered name (Erlang `unregister/1`).
///
/// ```
/// use ember_runtime::{register, unregister, whereis, self_pid};
/// ember_runtime::run(|| {
///     register("x", self_pid()).unwrap();
///     unregister("x").unwrap();
///     assert_eq!(whereis("x"), None);
///     assert!(unregister("x").is_err());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn unregister(name: impl Into<Name>) -> Result<(), RegisterError> {
    let cur = current();
    cur.charge(1);
    let name = name.into();
    if name.is_empty() {
        return Err(RegisterError::EmptyName);
    }
    let sched = cur.sched();
    let mut map = sched.names.map.write();
    let pid = map.remove(&name).ok_or_else(|| RegisterError::NotRegistered(name.clone()))?;
    if let Some(slot) = sched.slot(pid) {
        let mut shared = slot.shared.lock();
        if slot.serial.load(Ordering::Relaxed) == pid.serial && shared.name.as_deref() == Some(&name) {
            shared.name = None;
        }
    }
    Ok(())
}

/// The pid registered under `name`, if any (Erlang `whereis/1`).
///
/// ```
/// ember_runtime::run(|| assert_eq!(ember_runtime::whereis("nobody"), None)).unwrap();
/// ```
#[track_caller]
pub fn whereis(name: impl Into<Name>) -> Option<Pid> {
    let cur = current();
    cur.charge(1);
    cur.sched().names.whereis(&name.into())
}

/// Every registered name of the caller's runtime (Erlang `registered/0`).
///
/// ```
/// use ember_runtime::{register, registered, self_pid};
/// ember_runtime::run(|| {
///     register("r", self_pid()).unwrap();
///     assert_eq!(registered(), vec!["r".into()]);
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn registered() -> Vec<Name> {
    current().sched().names.names()
}

/// Why a [`Via`] scheme refused to register a name.
#[derive(Clone, Debug, PartialEq)]
pub enum ViaError {
    /// The name is held by this live process.
    Taken(Pid),
    /// The scheme cannot register this name (for example a registry with
    /// duplicate keys), with an explanation.
    Refused(String),
}

impl fmt::Display for ViaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViaError::Taken(pid) => write!(f, "the name is already registered by {pid}"),
            ViaError::Refused(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ViaError {}

/// A naming scheme provided by a library (Erlang's `{via, Module, Name}`).
///
/// A `Via` value *is* one name in the scheme (the registry and the key): it
/// registers the calling process under it, unregisters it, and resolves it.
/// Behaviours (GenServer, supervisors) started with a `via` name call
/// [`Via::register_name`] from the new process itself, and
/// [`Via::unregister_name`] if it fails to start.
///
/// ```
/// use ember_runtime::{Pid, Via, ViaError, Dest};
/// use std::sync::{Arc, Mutex};
///
/// /// A toy scheme: one global slot.
/// #[derive(Debug, Default)]
/// struct OneSlot(Mutex<Option<Pid>>);
///
/// impl Via for OneSlot {
///     fn register_name(&self, pid: Pid) -> Result<(), ViaError> {
///         let mut slot = self.0.lock().unwrap();
///         match *slot {
///             Some(holder) if holder.is_alive() => Err(ViaError::Taken(holder)),
///             _ => { *slot = Some(pid); Ok(()) }
///         }
///     }
///     fn unregister_name(&self) { *self.0.lock().unwrap() = None; }
///     fn whereis_name(&self) -> Option<Pid> { *self.0.lock().unwrap() }
/// }
///
/// ember_runtime::run(|| {
///     let name = Arc::new(OneSlot::default());
///     name.register_name(ember_runtime::self_pid()).unwrap();
///     let dest = Dest::Via(name);
///     assert_eq!(dest.whereis(), Some(ember_runtime::self_pid()));
/// })
/// .unwrap();
/// ```
pub trait Via: fmt::Debug + Send + Sync + 'static {
    /// Registers `pid` (the calling process, when called by a behaviour)
    /// under this name.
    fn register_name(&self, pid: Pid) -> Result<(), ViaError>;
    /// Removes this name, if registered.
    fn unregister_name(&self);
    /// The process registered under this name, if any.
    fn whereis_name(&self) -> Option<Pid>;
    /// Sends a message to the process registered under this name.
    fn send(&self, msg: Box<dyn Any + Send>) -> Result<(), NoProc> {
        let pid = self.whereis_name().ok_or_else(|| NoProc::Via(format!("{self:?}")))?;
        crate::mailbox::deliver::send_message(pid, msg);
        Ok(())
    }
}

/// Where to find a process: a pid, a local name, a via name, or a name
/// registered on another node (OTP's "server reference", `{Name, Node}`
/// included).
///
/// ```
/// use ember_runtime::{Dest, register, self_pid};
/// ember_runtime::run(|| {
///     register("me", self_pid()).unwrap();
///     assert_eq!(Dest::from("me").whereis(), Some(self_pid()));
///     assert_eq!(Dest::from(self_pid()).whereis(), Some(self_pid()));
///     let remote = Dest::from(("me", "erl@localhost"));
///     assert_eq!(remote.to_string(), "{me, erl@localhost}");
///     assert_eq!(remote.whereis(), None); // resolved by the other node
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug)]
pub enum Dest {
    /// A process identifier.
    Pid(Pid),
    /// A locally registered name.
    Name(Name),
    /// A name in a [`Via`] scheme.
    Via(Arc<dyn Via>),
    /// `{Name, Node}`: the name registered on the node called `node`
    /// (`alive@host`), resolved there. Messages and calls go through the
    /// runtime's distribution hook ([`crate::node::Distribution`]); the
    /// node's own name stands for a local name.
    Remote(Name, Name),
}

impl Dest {
    /// Resolves the address now. A pid resolves to itself, alive or not; a
    /// name on another node is resolved there, so it gives `None` here.
    ///
    /// ```
    /// use ember_runtime::Dest;
    /// ember_runtime::run(|| assert_eq!(Dest::from("nobody").whereis(), None)).unwrap();
    /// ```
    #[track_caller]
    pub fn whereis(&self) -> Option<Pid> {
        match &*self.local() {
            Dest::Pid(pid) => Some(*pid),
            Dest::Name(name) => whereis(name),
            Dest::Via(via) => via.whereis_name(),
            Dest::Remote(..) => None,
        }
    }

    /// The address as this node sees it: `{Name, Node}` naming this very
    /// node is the local name (as in OTP); everything else is itself.
    #[track_caller]
    pub(crate) fn local(&self) -> std::borrow::Cow<'_, Dest> {
        match self {
            Dest::Remote(name, node) if crate::node::is_this_node(node) => {
                std::borrow::Cow::Owned(Dest::Name(name.clone()))
            }
            _ => std::borrow::Cow::Borrowed(self),
        }
    }

    /// The error value for this address when nothing answers.
    pub fn noproc(&self) -> NoProc {
        match self {
            Dest::Pid(pid) => NoProc::Pid(*pid),
            Dest::Name(name) => NoProc::Name(name.clone()),
            Dest::Via(via) => NoProc::Via(format!("{via:?}")),
            Dest::Remote(name, _) => NoProc::Name(name.clone()),
        }
    }
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Pid(pid) => write!(f, "{pid}"),
            Dest::Name(name) => write!(f, "{name}"),
            Dest::Via(via) => write!(f, "{via:?}"),
            Dest::Remote(name, node) => write!(f, "{{{name}, {node}}}"),
        }
    }
}

impl From<Pid> for Dest {
    fn from(pid: Pid) -> Self {
        Dest::Pid(pid)
    }
}

impl From<&str> for Dest {
    fn from(name: &str) -> Self {
        Dest::Name(name.into())
    }
}

impl From<String> for Dest {
    fn from(name: String) -> Self {
        Dest::Name(name.into())
    }
}

impl From<Name> for Dest {
    fn from(name: Name) -> Self {
        Dest::Name(name)
    }
}

impl From<&Name> for Dest {
    fn from(name: &Name) -> Self {
        Dest::Name(name.clone())
    }
}

/// `(name, node)`: Erlang's `{Name, Node}`.
impl<N: Into<Name>, M: Into<Name>> From<(N, M)> for Dest {
    fn from((name, node): (N, M)) -> Self {
        Dest::Remote(name.into(), node.into())
    }
}

impl<V: Via> From<Arc<V>> for Dest {
    fn from(via: Arc<V>) -> Self {
        Dest::Via(via)
    }
}

impl From<&Dest> for Dest {
    fn from(d: &Dest) -> Self {
        d.clone()
    }
}
