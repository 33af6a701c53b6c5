//! Remote nodes: the hook through which another crate (`ember-dist`) carries
//! messages and signals to processes on other nodes.
//!
//! A [`Pid`] is `(node, index, serial)`. Runtimes and remote nodes of this OS
//! process share one node numbering: the first runtime is node 0, further
//! runtimes and every remote node a distribution layer meets take the next
//! numbers ([`add_remote_node`]). Local paths never look here: `send`,
//! `link`, `monitor` and exit signals compare `pid.node` with the caller's
//! runtime once, and only a pid of another node reaches this module.
//!
//! A remote node has a [`Route`] while it is connected ([`set_route`]). The
//! runtime hands the route every message and signal aimed at a pid of that
//! node; the route encodes it and queues it for the connection. Without a
//! route the node is unreachable: messages are dropped (as sends to a dead
//! pid are), links and monitors fire `noconnection` at once.
//!
//! Names on other nodes go through the runtime's [`Distribution`], one per
//! runtime ([`set_distribution`]): [`crate::send_named`] on
//! `(name, node)`, and `Server::call` / `Server::cast` on it, whose typed
//! requests cross as [`RemoteCall`] / [`RemoteCast`] and whose answer
//! comes back as a [`RemoteReply`] ([`deliver_reply`]).
//!
//! The other direction, signals that arrive from a connection, uses the
//! functions of this module ([`deliver_exit`], [`deliver_down`],
//! [`add_link`], [`add_monitor`], ...), which work from any thread.
//!
//! The runtime keeps the link and monitor state of a remote pair in the
//! local process only (its links, its monitors, who monitors it); a route
//! keeps whatever per-connection sets it needs to fire `noconnection` when the
//! connection is lost. A stale entry there is harmless: an exit signal for a
//! link that no longer exists and a `Down` for a monitor that was removed are
//! dropped by the receiver.

use crate::mailbox::deliver::send_control;
use crate::name::Name;
use crate::pid::{Pid, Ref};
use crate::process::Control;
use crate::reason::Reason;
use crate::scheduler::Scheduler;
use parking_lot::RwLock;
use std::any::{Any, TypeId};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A signal from a local process to a process of a remote node.
///
/// ```
/// use ember_runtime::node::Signal;
/// use ember_runtime::{Pid, Reason};
/// let s = Signal::Exit { from: Pid::UNDEFINED, to: Pid::UNDEFINED, reason: Reason::Normal, link: true };
/// assert!(matches!(s, Signal::Exit { link: true, .. }));
/// ```
#[derive(Debug)]
pub enum Signal {
    /// `from` linked to `to` (the local side of the link is already made).
    Link {
        /// The local process.
        from: Pid,
        /// The remote process.
        to: Pid,
    },
    /// `from` removed its link to `to`.
    Unlink {
        /// The local process.
        from: Pid,
        /// The remote process.
        to: Pid,
    },
    /// An exit signal: because `from` exited while linked to `to` (`link`),
    /// or `from` called `to.exit(reason)`.
    Exit {
        /// The local process.
        from: Pid,
        /// The remote process.
        to: Pid,
        /// The reason.
        reason: Reason,
        /// Whether a link broke (Erlang `EXIT`) or `exit/2` was called (`EXIT2`).
        link: bool,
    },
    /// `from` monitors `to` under `monitor`.
    Monitor {
        /// The local process.
        from: Pid,
        /// The remote process.
        to: Pid,
        /// The monitor reference.
        monitor: Ref,
    },
    /// `from` removed its monitor `monitor` on `to`.
    Demonitor {
        /// The local process.
        from: Pid,
        /// The remote process.
        to: Pid,
        /// The monitor reference.
        monitor: Ref,
    },
    /// The local process `from`, which the remote `to` monitored under
    /// `monitor` (see [`add_monitor`]), exited.
    Down {
        /// The local process that exited.
        from: Pid,
        /// The remote watcher.
        to: Pid,
        /// The monitor reference the route gave to [`add_monitor`].
        monitor: Ref,
        /// The exit reason.
        reason: Reason,
    },
}

/// Carries messages and signals to one connected remote node.
///
/// Implemented by the distribution layer; its methods are called by the
/// sending process (or the runtime thread that runs an exit), so they only
/// encode and queue, never block.
///
/// ```
/// use ember_runtime::node::{Route, Signal};
/// use ember_runtime::Pid;
/// use std::any::Any;
/// struct Nowhere;
/// impl Route for Nowhere {
///     fn message(&self, _from: Option<Pid>, _to: Pid, _msg: Box<dyn Any + Send>) {}
///     fn signal(&self, _signal: Signal) {}
/// }
/// let node = ember_runtime::node::add_remote_node();
/// ember_runtime::node::set_route(node, Some(std::sync::Arc::new(Nowhere)));
/// ```
pub trait Route: Send + Sync + 'static {
    /// A message from `from` (`None` outside any process) to `to`.
    fn message(&self, from: Option<Pid>, to: Pid, msg: Box<dyn Any + Send>);
    /// A link, unlink, exit, monitor or `Down` signal.
    fn signal(&self, signal: Signal);
}

/// What a node number is, for the numbers below `ROUTES.len()`.
#[derive(Clone)]
enum Entry {
    /// A runtime of this OS process (its pids never reach this module).
    Runtime,
    /// A remote node, with its route while connected.
    Remote(Option<Arc<dyn Route>>),
}

/// The remote nodes, by node number.
static ROUTES: RwLock<Vec<Entry>> = RwLock::new(Vec::new());

/// Takes a node number for a remote node, never used before and never
/// reused (a pid of a node that went away stays dead). The node starts
/// without a route.
///
/// ```
/// let a = ember_runtime::node::add_remote_node();
/// let b = ember_runtime::node::add_remote_node();
/// assert_ne!(a, b);
/// assert!(ember_runtime::node::is_remote(ember_runtime::Pid::from_parts(a, 1, 0)));
/// ```
pub fn add_remote_node() -> u32 {
    let node = Scheduler::reserve_remote_node();
    let mut routes = ROUTES.write();
    if routes.len() <= node as usize {
        routes.resize(node as usize + 1, Entry::Runtime);
    }
    routes[node as usize] = Entry::Remote(None);
    node
}

/// Connects (`Some`) or disconnects (`None`) a remote node taken with
/// [`add_remote_node`]. Other node numbers are left alone.
///
/// ```
/// let node = ember_runtime::node::add_remote_node();
/// ember_runtime::node::set_route(node, None);
/// ```
pub fn set_route(node: u32, route: Option<Arc<dyn Route>>) {
    let mut routes = ROUTES.write();
    if let Some(entry @ Entry::Remote(_)) = routes.get_mut(node as usize) {
        *entry = Entry::Remote(route);
    }
}

/// The route of a remote node, if it is connected.
pub(crate) fn route(node: u32) -> Option<Arc<dyn Route>> {
    match ROUTES.read().get(node as usize)? {
        Entry::Remote(route) => route.clone(),
        Entry::Runtime => None,
    }
}

/// Whether `pid` names a process of a remote node (one taken with
/// [`add_remote_node`]), connected or not.
///
/// ```
/// ember_runtime::run(|| assert!(!ember_runtime::node::is_remote(ember_runtime::self_pid()))).unwrap();
/// ```
pub fn is_remote(pid: Pid) -> bool {
    matches!(ROUTES.read().get(pid.node as usize), Some(Entry::Remote(_)))
}

/// A message or control signal for a pid of no live runtime: handed to its
/// node's route, if there is one. Returns whether a route took it.
pub(crate) fn deliver_remote(pid: Pid, msg: crate::process::Message, control: bool) -> bool {
    let Some(route) = route(pid.node) else {
        return false;
    };
    if !control {
        let from = crate::process::current::try_current().map(|cur| cur.pid());
        route.message(from, pid, msg);
        return true;
    }
    match msg.downcast::<Control>().map(|c| *c) {
        Ok(Control::Exit { from, reason, link }) => route.signal(Signal::Exit { from, to: pid, reason, link }),
        Ok(Control::Down { monitor, pid: from, reason }) => {
            route.signal(Signal::Down { from, to: pid, monitor, reason })
        }
        // Shutdown signals are for local processes only.
        Ok(Control::Terminate(_)) | Err(_) => return false,
    }
    true
}

/// Makes a pid from its parts: the node number, the process index, the
/// serial. For the distribution layer, which converts pids to and from the
/// external format; a made-up pid names no process.
///
/// ```
/// let pid = ember_runtime::Pid::from_parts(3, 40, 1);
/// assert_eq!(pid.to_string(), "<3.40.1>");
/// assert_eq!((pid.node(), pid.index(), pid.serial()), (3, 40, 1));
/// ```
impl Pid {
    /// See the type-level example above.
    pub const fn from_parts(node: u32, index: u32, serial: u32) -> Pid {
        Pid::new(node, index, serial)
    }

    /// The process index within its node.
    ///
    /// ```
    /// assert_eq!(ember_runtime::Pid::from_parts(0, 7, 2).index(), 7);
    /// ```
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The serial (how many times the index was used before).
    ///
    /// ```
    /// assert_eq!(ember_runtime::Pid::from_parts(0, 7, 2).serial(), 2);
    /// ```
    pub fn serial(&self) -> u32 {
        self.serial
    }
}

/// The raw value of a reference and back, for the distribution layer (a
/// local reference travels as an Erlang reference of this node). A made-up
/// reference matches no monitor.
///
/// ```
/// let r = ember_runtime::Ref::new();
/// assert_eq!(ember_runtime::node::ref_from_raw(r.as_u64()), r);
/// ```
pub fn ref_from_raw(raw: u64) -> Ref {
    Ref::from_raw(raw)
}

/// The process registered under `name` in the runtime numbered `node`, from
/// any thread (the distribution layer resolves `REG_SEND` with it).
///
/// ```
/// use ember_runtime::{register, self_pid};
/// ember_runtime::run(|| {
///     register("here", self_pid()).unwrap();
///     let me = self_pid();
///     assert_eq!(ember_runtime::node::whereis_on(me.node(), "here"), Some(me));
/// })
/// .unwrap();
/// ```
pub fn whereis_on(node: u32, name: impl Into<Name>) -> Option<Pid> {
    Scheduler::of_node(node)?.names.whereis(&name.into())
}

/// The slot of a live local pid, locked, or `None`.
fn with_live<R>(pid: Pid, f: impl FnOnce(&mut crate::process::Shared) -> R) -> Option<R> {
    let sched = Scheduler::of_node(pid.node)?;
    let slot = sched.slot(pid)?;
    let mut shared = slot.shared.lock();
    if !shared.alive || slot.serial.load(Ordering::Relaxed) != pid.serial {
        return None;
    }
    Some(f(&mut shared))
}

/// Records a link between the local process `local` and the remote
/// `remote`, as when `remote` called `link`. Returns false if `local` is
/// not alive (the caller answers with a `noproc` exit).
///
/// ```
/// use ember_runtime::node::{add_link, add_remote_node};
/// ember_runtime::run(|| {
///     let remote = ember_runtime::Pid::from_parts(add_remote_node(), 1, 0);
///     assert!(add_link(ember_runtime::self_pid(), remote));
///     assert_eq!(ember_runtime::process_info(ember_runtime::self_pid()).unwrap().links, vec![remote]);
/// })
/// .unwrap();
/// ```
pub fn add_link(local: Pid, remote: Pid) -> bool {
    with_live(local, |shared| {
        shared.relations.make().links.insert(remote, ());
    })
    .is_some()
}

/// Removes the link between `local` and `remote`, as when `remote` called
/// `unlink` (no exit signal follows).
///
/// ```
/// use ember_runtime::node::{add_link, add_remote_node, remove_link};
/// ember_runtime::run(|| {
///     let remote = ember_runtime::Pid::from_parts(add_remote_node(), 1, 0);
///     add_link(ember_runtime::self_pid(), remote);
///     remove_link(ember_runtime::self_pid(), remote);
///     assert!(ember_runtime::process_info(ember_runtime::self_pid()).unwrap().links.is_empty());
/// })
/// .unwrap();
/// ```
pub fn remove_link(local: Pid, remote: Pid) {
    with_live(local, |shared| {
        shared.relations.remove_link(&remote);
    });
}

/// Records that the remote `watcher` monitors the local `local` under
/// `monitor` (a reference the caller made with [`Ref::new`] and maps to
/// the remote one). When `local` exits, the route gets a [`Signal::Down`].
/// Returns false if `local` is not alive (answer `noproc`).
///
/// ```
/// use ember_runtime::node::{add_monitor, add_remote_node};
/// ember_runtime::run(|| {
///     let remote = ember_runtime::Pid::from_parts(add_remote_node(), 1, 0);
///     assert!(add_monitor(ember_runtime::self_pid(), ember_runtime::Ref::new(), remote));
/// })
/// .unwrap();
/// ```
pub fn add_monitor(local: Pid, monitor: Ref, watcher: Pid) -> bool {
    with_live(local, |shared| shared.relations.make().monitored_by.insert_new(monitor, watcher)).is_some()
}

/// Removes a monitor recorded with [`add_monitor`].
///
/// ```
/// use ember_runtime::node::{add_monitor, add_remote_node, remove_monitor};
/// ember_runtime::run(|| {
///     let remote = ember_runtime::Pid::from_parts(add_remote_node(), 1, 0);
///     let m = ember_runtime::Ref::new();
///     add_monitor(ember_runtime::self_pid(), m, remote);
///     remove_monitor(ember_runtime::self_pid(), m);
/// })
/// .unwrap();
/// ```
pub fn remove_monitor(local: Pid, monitor: Ref) {
    with_live(local, |shared| {
        shared.relations.remove_monitored_by(&monitor);
    });
}

/// Delivers an exit signal from the remote `from` to the local `to`: a
/// broken link (`link`: acted on only if the two are still linked) or
/// `exit/2`. The usual rules decide (trap_exit, `kill`, `normal`).
///
/// ```
/// use ember_runtime::node::{add_link, add_remote_node, deliver_exit};
/// use ember_runtime::{receive, self_pid, trap_exit, Exit, Reason};
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let remote = ember_runtime::Pid::from_parts(add_remote_node(), 1, 0);
///     add_link(self_pid(), remote);
///     deliver_exit(self_pid(), remote, Reason::custom("gone"), true);
///     let exit: Exit = receive();
///     assert_eq!((exit.from, exit.reason), (remote, Reason::custom("gone")));
/// })
/// .unwrap();
/// ```
pub fn deliver_exit(to: Pid, from: Pid, reason: Reason, link: bool) -> bool {
    send_control(to, Control::Exit { from, reason, link }, true)
}

/// Delivers the `Down` of the monitor `monitor` the local `to` holds on the
/// remote `from` (dropped if the monitor was removed meanwhile).
///
/// ```
/// use ember_runtime::node::{add_remote_node, deliver_down};
/// use ember_runtime::{monitor, receive, Down, Reason};
/// ember_runtime::run(|| {
///     let node = add_remote_node(); // not connected: the monitor fires at once
///     let remote = ember_runtime::Pid::from_parts(node, 1, 0);
///     let m = monitor(remote);
///     let down: Down = receive();
///     assert_eq!(down.monitor, m);
///     deliver_down(ember_runtime::self_pid(), m, remote, Reason::Normal); // dropped: already fired
/// })
/// .unwrap();
/// ```
pub fn deliver_down(to: Pid, monitor: Ref, from: Pid, reason: Reason) -> bool {
    send_control(to, Control::Down { monitor, pid: from, reason }, false)
}

/// The reason a link or monitor over a lost (or never made) connection
/// fires with: Erlang's `noconnection`.
///
/// ```
/// assert!(ember_runtime::node::noconnection().is_noconnection());
/// ```
pub fn noconnection() -> Reason {
    Reason::custom(NoConnection)
}

/// The value of the [`noconnection`] reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoConnection;

impl Reason {
    /// Whether this is the `noconnection` reason of a lost connection.
    ///
    /// ```
    /// assert!(!ember_runtime::Reason::Normal.is_noconnection());
    /// ```
    pub fn is_noconnection(&self) -> bool {
        self.downcast_ref::<NoConnection>().is_some()
    }
}

/// `link` from the current process to a remote pid: the link is recorded
/// locally, then announced; without a connection it breaks at once with
/// `noconnection` (as in OTP).
pub(crate) fn link_remote(cur: &crate::process::current::Current, pid: Pid) {
    let me = cur.pid();
    let new = cur.slot().shared.lock().relations.make().links.insert(pid, ());
    if !new {
        return;
    }
    match route(pid.node) {
        Some(route) => route.signal(Signal::Link { from: me, to: pid }),
        None => {
            deliver_exit(me, pid, noconnection(), true);
        }
    }
}

/// `unlink` of a remote pid (already removed locally).
pub(crate) fn unlink_remote(me: Pid, pid: Pid) {
    if let Some(route) = route(pid.node) {
        route.signal(Signal::Unlink { from: me, to: pid });
    }
}

/// `monitor` of a remote pid: recorded locally, then announced; without a
/// connection the `Down` (`noconnection`) comes at once.
pub(crate) fn monitor_remote(cur: &crate::process::current::Current, pid: Pid, monitor: Ref, name: Option<Name>) {
    let me = cur.pid();
    cur.slot().shared.lock().relations.make().monitors.insert_new(monitor, (pid, name));
    match route(pid.node) {
        Some(route) => route.signal(Signal::Monitor { from: me, to: pid, monitor }),
        None => {
            deliver_down(me, monitor, pid, noconnection());
        }
    }
}

/// A monitor on a remote pid was removed (demonitor, or the watcher exited).
pub(crate) fn demonitor_remote(me: Pid, pid: Pid, monitor: Ref) {
    if let Some(route) = route(pid.node) {
        route.signal(Signal::Demonitor { from: me, to: pid, monitor });
    }
}

/// Records, in the calling process, a monitor on the remote `target` that
/// the distribution layer announces itself (a monitor by registered name,
/// which the runtime's [`crate::monitor_name`] cannot resolve for another
/// node). Its `Down` comes through [`deliver_down`]; `demonitor` and the
/// caller's exit reach the route as [`Signal::Demonitor`].
///
/// ```
/// use ember_runtime::node::{add_remote_node, deliver_down, record_monitor};
/// use ember_runtime::{receive, self_pid, Down, Pid, Reason};
/// ember_runtime::run(|| {
///     let target = Pid::from_parts(add_remote_node(), 0, 0);
///     let m = record_monitor(target);
///     deliver_down(self_pid(), m, target, Reason::NoProc);
///     assert_eq!(receive::<Down>().monitor, m);
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn record_monitor(target: Pid) -> Ref {
    let cur = crate::process::current::current();
    let monitor = Ref::new();
    cur.slot().shared.lock().relations.make().monitors.insert_new(monitor, (target, None));
    monitor
}

/// The distribution layer of one runtime: this node's name in a cluster,
/// and the way to names registered on other nodes. `ember_dist` installs one
/// per node it starts ([`set_distribution`]); [`crate::send_named`] and
/// `Server::call` on a [`Dest::Remote`](crate::Dest::Remote) go through it.
///
/// ```
/// use ember_runtime::node::{set_distribution, Distribution, RemoteCall};
/// use ember_runtime::{Name, Pid, Ref};
/// use std::any::Any;
/// use std::sync::Arc;
/// /// Knows its name, reaches nobody.
/// struct Alone;
/// impl Distribution for Alone {
///     fn name(&self) -> &str { "alone@localhost" }
///     fn send_named(&self, _from: Pid, _name: &Name, _node: &str, _msg: Box<dyn Any + Send>) {}
///     fn monitor_name(&self, _from: Pid, _name: &Name, _node: &str) -> Ref {
///         ember_runtime::node::record_monitor(Pid::UNDEFINED)
///     }
/// }
/// ember_runtime::run(|| {
///     let me = ember_runtime::self_pid();
///     set_distribution(me.node(), Some(Arc::new(Alone)));
///     ember_runtime::register("me", me).unwrap();
///     // This node's own name: a local send.
///     ember_runtime::send_named(("me", "alone@localhost"), 1u8).unwrap();
///     assert_eq!(ember_runtime::receive::<u8>(), 1);
///     set_distribution(me.node(), None);
/// })
/// .unwrap();
/// ```
pub trait Distribution: Send + Sync + 'static {
    /// This node's name, `alive@host`.
    fn name(&self) -> &str;
    /// `{name, node} ! msg` from the local process `from`, for a `node`
    /// other than this one. Never blocks: a node not yet connected is
    /// dialled meanwhile. `msg` may be a [`RemoteCall`] or a [`RemoteCast`].
    fn send_named(&self, from: Pid, name: &Name, node: &str, msg: Box<dyn Any + Send>);
    /// Called in the process `from`: monitors the process registered as
    /// `name` on `node` ([`record_monitor`] and announce it), connecting
    /// first if needed (bounded in time). When the node cannot be reached,
    /// the monitor's `Down` says [`noconnection`] at once.
    fn monitor_name(&self, from: Pid, name: &Name, node: &str) -> Ref;
}

/// The distributions, by runtime node number.
static DISTRIBUTIONS: RwLock<Vec<(u32, Arc<dyn Distribution>)>> = RwLock::new(Vec::new());

/// Installs (`Some`) or removes (`None`) the distribution of the runtime
/// numbered `runtime` (see [`Distribution`]).
pub fn set_distribution(runtime: u32, distribution: Option<Arc<dyn Distribution>>) {
    let mut all = DISTRIBUTIONS.write();
    all.retain(|(n, _)| *n != runtime);
    if let Some(d) = distribution {
        all.push((runtime, d));
    }
}

/// The distribution of the runtime numbered `runtime`, if one is installed.
pub(crate) fn distribution(runtime: u32) -> Option<Arc<dyn Distribution>> {
    DISTRIBUTIONS.read().iter().find(|(n, _)| *n == runtime).map(|(_, d)| d.clone())
}

/// Whether `node` is the name of the caller's own node.
#[track_caller]
pub(crate) fn is_this_node(node: &Name) -> bool {
    let Some(cur) = crate::process::current::try_current() else { return false };
    distribution(cur.sched().node).is_some_and(|d| d.name() == node.as_str())
}

/// `{name, node} ! msg` for another node: handed to the distribution, or
/// dropped without one (as a send to an unreachable node is).
pub(crate) fn send_named_remote(
    cur: &crate::process::current::Current,
    name: &Name,
    node: &Name,
    msg: crate::process::Message,
) {
    if let Some(d) = distribution(cur.sched().node) {
        d.send_named(cur.pid(), name, node.as_str(), msg);
    }
}

/// A `gen_server` call to a name on another node, as `Server::call` sends
/// it through [`Distribution::send_named`]: the distribution encodes it as
/// OTP's `{'$gen_call', {From, [alias | Tag]}, Request}` and answers the
/// caller with a [`RemoteReply`] through [`deliver_reply`].
#[derive(Debug)]
pub struct RemoteCall {
    /// The calling process.
    pub from: Pid,
    /// The call's tag: the monitor on the server, also the reply's alias.
    pub tag: Ref,
    /// The request: the handle's `Call` value.
    pub request: Box<dyn Any + Send>,
    /// The type the caller waits for: the handle's `Reply`.
    pub reply: TypeId,
}

/// A `gen_server` cast to a name on another node, as `Server::cast` sends
/// it through [`Distribution::send_named`]: the distribution encodes it as
/// OTP's `{'$gen_cast', Request}` (a request with no term form is dropped,
/// as a cast to nobody is).
#[derive(Debug)]
pub struct RemoteCast {
    /// The request: the handle's `Cast` value.
    pub request: Box<dyn Any + Send>,
}

/// The answer to a [`RemoteCall`]: the reply, as a value of the caller's
/// `Reply` type, or why the request or reply could not cross.
#[derive(Debug)]
pub struct RemoteReply {
    /// The call's tag.
    pub tag: Ref,
    /// The reply (of the type the call named), or an explanation.
    pub value: Result<Box<dyn Any + Send>, String>,
}

/// Delivers the answer of a [`RemoteCall`] to its caller, from any thread,
/// if the caller still waits for it (it still holds the call's monitor);
/// otherwise drops it, as a late reply is. Returns whether it was delivered.
///
/// ```
/// use ember_runtime::node::{deliver_reply, RemoteReply};
/// ember_runtime::run(|| {
///     let tag = ember_runtime::Ref::new(); // no such call: dropped
///     assert!(!deliver_reply(ember_runtime::self_pid(), RemoteReply { tag, value: Err("late".into()) }));
/// })
/// .unwrap();
/// ```
pub fn deliver_reply(to: Pid, reply: RemoteReply) -> bool {
    let Some(sched) = Scheduler::of_node(to.node) else { return false };
    let tag = reply.tag;
    // The caller's monitor is a remote one: it removes it (and tells the
    // other node) when the call returns.
    sched.deliver_reply(to, tag, Box::new(reply), false)
}
