//! An Ember node in an Erlang cluster: phase 2, the protocol under Ember's
//! processes.
//!
//! [`Node::start`] registers the node with EPMD, listens on loopback, and
//! starts a `net_kernel` process, so that `net_adm:ping('ember@localhost')`
//! answers `pong`. Each connected peer has a connection: a reader thread that
//! turns control messages into local signals, and a writer thread fed by a
//! queue, which every process sending to that node pushes to through the
//! runtime's routing hook ([`ember_runtime::node::Route`]). So plain
//! [`ember_runtime::send`], `link`, `monitor` and `Pid::exit` work on the
//! pids of other nodes, [`ember_runtime::send_named`] and `Server::call` on
//! `(name, node)` reach names registered there (through
//! [`ember_runtime::node::Distribution`]), and messages from them arrive as
//! [`Term`] values in the ordinary mailbox.
//!
//! ```no_run
//! use ember_dist::node::Node;
//! use ember_dist::{Cookie, Term};
//! ember_runtime::run(|| {
//!     let node = Node::start("ember@localhost", Cookie::new("secret")).unwrap();
//!     ember_runtime::register("echo", ember_runtime::self_pid()).unwrap();
//!     let msg: Term = ember_runtime::receive();
//!     println!("got {msg}");
//!     node.stop();
//! })
//! .unwrap();
//! ```

mod dial;
mod gen;
mod listener;
mod net_kernel;
mod outbox;
mod peer;
mod reason;
mod wire;

pub use gen::TermServer;
pub use reason::{reason_to_term, term_to_reason};
pub use wire::{register_call_types, register_cast_type};

use crate::connection::Limits;
use crate::control::Control;
use crate::cookie::Cookie;
use crate::epmd::{Epmd, EpmdError, Registration};
use crate::handshake::{Config, HandshakeError};
use crate::term::{Atom, Pid as DistPid, Reference, Term};
use ember_runtime::node::{Distribution, RemoteCall, RemoteCast, RemoteReply};
use ember_runtime::{Name, Pid, Ref};
use parking_lot::{Mutex, RwLock};
use peer::Conn;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Why a node could not start, or a peer could not be reached.
///
/// ```
/// use ember_dist::node::NodeError;
/// let e = NodeError::BadName("nohost".into());
/// assert!(e.to_string().contains("nohost"));
/// ```
#[derive(Debug)]
pub enum NodeError {
    /// Not `alive@host`, or a host that is not this machine's loopback.
    BadName(String),
    /// [`Node::start`] was called outside an Ember process.
    NotInProcess,
    /// This runtime already runs a node.
    AlreadyStarted,
    /// Listening failed.
    Listen(std::io::Error),
    /// EPMD: not running, the name is taken, ...
    Epmd(EpmdError),
    /// The peer is not registered with its EPMD.
    NotRegistered(String),
    /// The TCP connection to the peer failed.
    Connect(std::io::Error),
    /// The handshake failed (a wrong cookie, among others).
    Handshake(HandshakeError),
    /// The node was stopped.
    Stopped,
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeError::BadName(n) => write!(f, "bad node name {n:?}: expected alive@host, host on loopback"),
            NodeError::NotInProcess => write!(f, "Node::start must be called from an Ember process"),
            NodeError::AlreadyStarted => write!(f, "this runtime already runs a distribution node"),
            NodeError::Listen(e) => write!(f, "cannot listen: {e}"),
            NodeError::Epmd(e) => write!(f, "epmd: {e}"),
            NodeError::NotRegistered(n) => write!(f, "node {n} is not registered with epmd"),
            NodeError::Connect(e) => write!(f, "cannot connect: {e}"),
            NodeError::Handshake(e) => write!(f, "handshake: {e}"),
            NodeError::Stopped => write!(f, "the node is stopped"),
        }
    }
}

impl std::error::Error for NodeError {}

impl From<EpmdError> for NodeError {
    fn from(e: EpmdError) -> NodeError {
        NodeError::Epmd(e)
    }
}

impl From<HandshakeError> for NodeError {
    fn from(e: HandshakeError) -> NodeError {
        NodeError::Handshake(e)
    }
}

/// The default of [`Builder::outbox_limit`]: 16 MiB per peer.
pub const DEFAULT_OUTBOX_LIMIT: usize = 16 << 20;

/// Options for [`Node`]: the listen address (loopback only), the tick time,
/// the connection limits, whether to register with EPMD.
///
/// ```no_run
/// use ember_dist::node::Builder;
/// use ember_dist::Cookie;
/// ember_runtime::run(|| {
///     let node = Builder::new("ember@localhost", Cookie::new("c"))
///         .ticktime(std::time::Duration::from_secs(20))
///         .start()
///         .unwrap();
///     node.stop();
/// })
/// .unwrap();
/// ```
pub struct Builder {
    name: String,
    cookie: Cookie,
    listen: SocketAddr,
    ticktime: Duration,
    connect_timeout: Duration,
    outbox_limit: usize,
    limits: Limits,
    epmd: Epmd,
}

impl Builder {
    /// A node called `name` (`alive@host`) with `cookie`.
    ///
    /// ```
    /// let _ = ember_dist::node::Builder::new("a@localhost", ember_dist::Cookie::new("c"));
    /// ```
    pub fn new(name: &str, cookie: Cookie) -> Builder {
        Builder {
            name: name.to_owned(),
            cookie,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ticktime: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(7),
            outbox_limit: DEFAULT_OUTBOX_LIMIT,
            limits: Limits::default(),
            epmd: Epmd::localhost(),
        }
    }

    /// How long a connection may take to set up, EPMD lookup, TCP connect
    /// and handshake together (default 7 s, Erlang's `net_setuptime`). A
    /// dial that takes longer fails: what waited for it is handled as for
    /// an unreachable node.
    ///
    /// ```
    /// let _ = ember_dist::node::Builder::new("a@localhost", ember_dist::Cookie::new("c"))
    ///     .connect_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Where to listen (default `127.0.0.1:0`). Only a loopback address is
    /// accepted: this crate has no TLS, so distribution stays on the machine.
    ///
    /// ```
    /// let _ = ember_dist::node::Builder::new("a@localhost", ember_dist::Cookie::new("c"))
    ///     .listen("127.0.0.1:0".parse().unwrap());
    /// ```
    pub fn listen(mut self, addr: SocketAddr) -> Builder {
        self.listen = addr;
        self
    }

    /// Erlang's `net_ticktime` (default 60 s): a peer silent for this long is
    /// disconnected; we tick every quarter of it when idle.
    ///
    /// ```
    /// let _ = ember_dist::node::Builder::new("a@localhost", ember_dist::Cookie::new("c"))
    ///     .ticktime(std::time::Duration::from_secs(10));
    /// ```
    pub fn ticktime(mut self, ticktime: Duration) -> Builder {
        self.ticktime = ticktime.max(Duration::from_millis(400));
        self
    }

    /// The bound, in bytes, of what may wait to be written to one peer
    /// (default [`DEFAULT_OUTBOX_LIMIT`], 16 MiB; Erlang's
    /// `dist_buf_busy_limit`). Past it, a process that sends a message to
    /// that peer waits (sleeping: its worker runs other processes) until
    /// the socket has taken enough, as Erlang suspends a sender on a busy
    /// distribution port. A peer that takes nothing for a tick time loses
    /// the connection, with a report: links and monitors over it fire
    /// `noconnection`, and the waiting message is dropped. Signals (links,
    /// exits, monitors), the answers the node gives by itself (`noproc`,
    /// acks) and sends from outside processes never wait; if they pile up
    /// past twice the limit, the connection is closed the same way.
    ///
    /// ```
    /// let _ = ember_dist::node::Builder::new("a@localhost", ember_dist::Cookie::new("c"))
    ///     .outbox_limit(1 << 20);
    /// ```
    pub fn outbox_limit(mut self, bytes: usize) -> Builder {
        self.outbox_limit = bytes.max(1);
        self
    }

    /// The bounds every connection's reader enforces.
    ///
    /// ```
    /// let _ = ember_dist::node::Builder::new("a@localhost", ember_dist::Cookie::new("c"))
    ///     .limits(ember_dist::connection::Limits::default());
    /// ```
    pub fn limits(mut self, limits: Limits) -> Builder {
        self.limits = limits;
        self
    }

    /// Starts the node in the caller's runtime (call it from a process).
    pub fn start(self) -> Result<Node, NodeError> {
        let me = ember_runtime::try_self_pid().ok_or(NodeError::NotInProcess)?;
        let (alive, host) = split_name(&self.name)?;
        check_loopback_host(host, &self.name)?;
        if !self.listen.ip().is_loopback() {
            return Err(NodeError::BadName(format!("{} (listen address must be loopback)", self.listen)));
        }
        if node_of(me.node()).is_some() {
            return Err(NodeError::AlreadyStarted);
        }
        let listener = TcpListener::bind(self.listen).map_err(NodeError::Listen)?;
        let port = listener.local_addr().map_err(NodeError::Listen)?.port();
        let registration = self.epmd.register(alive, port, true)?;
        let creation = registration.creation();
        let config = Config::new(&self.name, self.cookie, creation)?;
        let inner = Arc::new(Inner {
            name: Atom::new(&self.name),
            creation,
            config,
            runtime: me.node(),
            epmd: self.epmd,
            ticktime: self.ticktime,
            connect_timeout: self.connect_timeout,
            outbox_limit: self.outbox_limit,
            limits: self.limits,
            registration: Mutex::new(Some(registration)),
            peers: Mutex::new(Peers::default()),
            connecting: Mutex::new(HashMap::new()),
            stopped: AtomicBool::new(false),
            port,
            exposed: RwLock::new(HashMap::new()),
            helpers: Mutex::new(Vec::new()),
        });
        LOCAL_NODES.write().push(inner.clone());
        ember_runtime::node::set_distribution(
            me.node(),
            Some(Arc::new(Hook { node: Arc::downgrade(&inner), name: self.name.clone() })),
        );
        net_kernel::start(&inner);
        listener::start(inner.clone(), listener)?;
        Ok(Node { inner })
    }
}

/// A running Ember node: a name in the cluster, its connections.
///
/// Cheap to clone. The node stops with [`Node::stop`], or when its runtime
/// shuts down (its `net_kernel` process exits).
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node({})", self.inner.name)
    }
}

impl Node {
    /// Starts `name` (`alive@localhost`) with `cookie`, with the
    /// [`Builder`]'s defaults. Call it from an Ember process.
    ///
    /// ```no_run
    /// ember_runtime::run(|| {
    ///     let node = ember_dist::node::Node::start("ember@localhost", ember_dist::Cookie::new("c")).unwrap();
    ///     node.stop();
    /// })
    /// .unwrap();
    /// ```
    pub fn start(name: &str, cookie: Cookie) -> Result<Node, NodeError> {
        Builder::new(name, cookie).start()
    }

    /// The node running in the caller's runtime, if any.
    ///
    /// ```
    /// ember_runtime::run(|| assert!(ember_dist::node::Node::current().is_none())).unwrap();
    /// ```
    pub fn current() -> Option<Node> {
        let me = ember_runtime::try_self_pid()?;
        node_of(me.node()).map(|inner| Node { inner })
    }

    /// The node's name, `alive@host`.
    pub fn name(&self) -> &str {
        self.inner.name.as_str()
    }

    /// The node's incarnation, from its EPMD registration.
    pub fn creation(&self) -> u32 {
        self.inner.creation
    }

    /// The port the node accepts connections on.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Connects to `peer` (`alive@host`) unless already connected.
    pub fn connect(&self, peer: &str) -> Result<(), NodeError> {
        self.inner.connect(peer).map(|_| ())
    }

    /// How many bytes wait to be written to `peer` (`None` when not
    /// connected): Erlang's distribution output queue size. At most about
    /// [`Builder::outbox_limit`] for messages (see there).
    pub fn queued_bytes(&self, peer: &str) -> Option<usize> {
        self.inner.conn(&Atom::new(peer)).map(|c| c.pending())
    }

    /// The names of the connected nodes.
    pub fn nodes(&self) -> Vec<String> {
        self.inner.peers.lock().conns.keys().map(|a| a.as_str().to_owned()).collect()
    }

    /// The Ember pid for a pid in a term from any node (a stale creation of
    /// this node gives a pid that names no process).
    pub fn pid(&self, pid: &DistPid) -> Pid {
        self.inner.local_pid(pid)
    }

    /// The term form of an Ember pid, to put in messages for other nodes.
    /// `None` for a pid of another runtime or a node this one does not know.
    pub fn dist_pid(&self, pid: Pid) -> Option<DistPid> {
        self.inner.dist_pid(pid)
    }

    /// Sends `message` to the process registered as `name` on `node` (Erlang
    /// `{Name, Node} ! Msg`): [`ember_runtime::send_named`]`((name, node),
    /// message)`, which also works from a plain thread here (the node's
    /// `net_kernel` is then the sender). Only a bad node name is an error.
    pub fn send_named(&self, name: &str, node: &str, message: Term) -> Result<(), NodeError> {
        split_name(node)?;
        self.inner.send_named(self.inner.sender_pid(), name, node, Box::new(message));
        Ok(())
    }

    /// Erlang's `monitor_node(Node, true)` for the caller: a `{nodedown,
    /// Node}` term arrives when the connection to `node` is lost, or at once
    /// if it cannot be made.
    pub fn monitor_node(&self, node: &str) {
        let me = ember_runtime::self_pid();
        match self.inner.connect(node) {
            Ok(conn) => conn.watch_node(me),
            Err(_) => ember_runtime::send(me, nodedown(node)),
        }
    }

    /// Serves Erlang's `gen_server:call({name, ThisNode}, Request)` with the
    /// Ember GenServer registered as `name`: the request is decoded into
    /// `G::Call` ([`crate::from_term`]), the reply encoded from `G::Reply`
    /// ([`crate::to_term`]). A request that does not decode is answered
    /// `{error, {bad_call, Request}}`. Call it from a process.
    pub fn expose<G>(&self, name: &str)
    where
        G: ember_runtime::GenServer,
        G::Call: serde::de::DeserializeOwned,
        G::Reply: serde::Serialize,
    {
        let adapter = gen::spawn_adapter::<G>(Arc::downgrade(&self.inner), name.to_owned());
        self.inner.helpers.lock().push(adapter);
        if let Some(old) = self.inner.exposed.write().insert(name.to_owned(), adapter) {
            // Exposed again: the newer adapter serves; the older one ends.
            ember_runtime::send(old, Term::nil());
        }
    }

    /// `gen_server:call({name, node}, request, timeout)` from the caller to
    /// a `gen_server` on another node (a BEAM one, or an Ember GenServer
    /// [exposed](Node::expose) there): `Server::<TermServer>::new((name,
    /// node)).call_timeout(request, Some(timeout))`. The reply is the raw
    /// term; decode it with [`crate::from_term`]. A lost connection is
    /// `CallError::Exited(noconnection)`.
    pub fn call(
        &self,
        name: &str,
        node: &str,
        request: Term,
        timeout: Duration,
    ) -> Result<Term, ember_runtime::CallError> {
        ember_runtime::Server::<TermServer>::new((name, node)).call_timeout(request, Some(timeout))
    }

    /// Erlang's `net_adm:ping/1`: whether `node` answers.
    pub fn ping(&self, node: &str) -> bool {
        self.inner.connect(node).is_ok()
    }

    /// Stops the node: unregisters from EPMD, stops listening, closes every
    /// connection (their links and monitors fire `noconnection`).
    pub fn stop(&self) {
        self.inner.stop();
    }
}

/// The node as its runtime's [`Distribution`]: the way of
/// `ember_runtime::send_named((name, node), ..)` and of `Server::call` on
/// `(name, node)`.
struct Hook {
    node: std::sync::Weak<Inner>,
    name: String,
}

impl Distribution for Hook {
    fn name(&self) -> &str {
        &self.name
    }

    fn send_named(&self, from: Pid, name: &Name, node: &str, msg: Box<dyn Any + Send>) {
        if let Some(inner) = self.node.upgrade() {
            inner.send_named(from, name.as_str(), node, msg);
        }
    }

    fn monitor_name(&self, from: Pid, name: &Name, node: &str) -> Ref {
        let conn = self.node.upgrade().map(|inner| inner.connect(node).map(|c| (inner, c)));
        match conn {
            Some(Ok((inner, conn))) => conn.monitor_name(&inner, &Atom::new(name.as_str())),
            _ => {
                let monitor = ember_runtime::node::record_monitor(Pid::UNDEFINED);
                ember_runtime::node::deliver_down(from, monitor, Pid::UNDEFINED, ember_runtime::node::noconnection());
                monitor
            }
        }
    }
}

/// `{nodedown, Node}`.
fn nodedown(node: &str) -> Term {
    Term::tuple(vec![Term::atom("nodedown"), Term::atom(node)])
}

fn split_name(name: &str) -> Result<(&str, &str), NodeError> {
    match name.split_once('@') {
        Some((alive, host)) if !alive.is_empty() && !host.is_empty() && !host.contains('@') => Ok((alive, host)),
        _ => Err(NodeError::BadName(name.to_owned())),
    }
}

/// Distribution stays on this machine: a host must resolve to loopback.
fn check_loopback_host(host: &str, name: &str) -> Result<(), NodeError> {
    use std::net::ToSocketAddrs;
    let ok = host == "localhost"
        || host.parse::<IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
        || (host, 0).to_socket_addrs().map(|mut a| a.any(|a| a.ip().is_loopback())).unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(NodeError::BadName(name.to_owned()))
    }
}

/// The nodes of this OS process, one per runtime at most.
static LOCAL_NODES: RwLock<Vec<Arc<Inner>>> = RwLock::new(Vec::new());

fn node_of(runtime: u32) -> Option<Arc<Inner>> {
    LOCAL_NODES.read().iter().find(|n| n.runtime == runtime && !n.stopped.load(Ordering::Acquire)).cloned()
}

#[derive(Default)]
struct Peers {
    /// Remote node numbers by (name, creation), and back.
    numbers: HashMap<(Atom, u32), u32>,
    by_number: HashMap<u32, (Atom, u32)>,
    /// The live connection to each peer.
    conns: HashMap<Atom, Arc<Conn>>,
    /// What waits for a dial under way, by peer, with the dial's number.
    dialing: HashMap<Atom, dial::Waiting>,
    next_dial: u64,
}

pub(crate) struct Inner {
    name: Atom,
    creation: u32,
    config: Config,
    runtime: u32,
    epmd: Epmd,
    ticktime: Duration,
    connect_timeout: Duration,
    outbox_limit: usize,
    limits: Limits,
    registration: Mutex<Option<Registration>>,
    peers: Mutex<Peers>,
    /// One connection attempt at a time per peer (so two callers do not
    /// both dial it): a lock per peer name ever dialled.
    connecting: Mutex<HashMap<Atom, Arc<Mutex<()>>>>,
    stopped: AtomicBool,
    port: u16,
    /// Names whose `gen_server:call`s a typed Ember GenServer serves, with
    /// the adapter process that decodes them (see [`Node::expose`]).
    exposed: RwLock<HashMap<String, Pid>>,
    /// The node's own processes (net_kernel, call adapters): told to end
    /// when the node stops.
    helpers: Mutex<Vec<Pid>>,
}

impl Inner {
    /// The node number for pids of `(name, creation)`, made on first sight
    /// (with a route that dials the node when something is sent to it).
    fn number(self: &Arc<Inner>, name: &Atom, creation: u32) -> u32 {
        let mut peers = self.peers.lock();
        if let Some(&n) = peers.numbers.get(&(name.clone(), creation)) {
            return n;
        }
        let n = ember_runtime::node::add_remote_node();
        peers.numbers.insert((name.clone(), creation), n);
        peers.by_number.insert(n, (name.clone(), creation));
        ember_runtime::node::set_route(n, self.idle_route(name, n));
        n
    }

    fn local_pid(self: &Arc<Inner>, pid: &DistPid) -> Pid {
        if pid.node == self.name {
            if pid.creation == self.creation {
                Pid::from_parts(self.runtime, pid.id, pid.serial)
            } else {
                Pid::UNDEFINED
            }
        } else {
            Pid::from_parts(self.number(&pid.node, pid.creation), pid.id, pid.serial)
        }
    }

    fn dist_pid(&self, pid: Pid) -> Option<DistPid> {
        if pid.node() == self.runtime {
            return Some(DistPid {
                node: self.name.clone(),
                id: pid.index(),
                serial: pid.serial(),
                creation: self.creation,
            });
        }
        let (node, creation) = self.peers.lock().by_number.get(&pid.node())?.clone();
        Some(DistPid { node, id: pid.index(), serial: pid.serial(), creation })
    }

    /// A local pid as a term pid (the caller knows it is local).
    fn own_pid(&self, pid: Pid) -> DistPid {
        DistPid { node: self.name.clone(), id: pid.index(), serial: pid.serial(), creation: self.creation }
    }

    /// The sender to name in a REG_SEND: the calling process, or the
    /// node's net_kernel outside processes.
    fn sender(&self) -> DistPid {
        self.own_pid(self.sender_pid())
    }

    fn sender_pid(&self) -> Pid {
        ember_runtime::try_self_pid()
            .filter(|p| p.node() == self.runtime)
            .or_else(|| ember_runtime::node::whereis_on(self.runtime, "net_kernel"))
            .unwrap_or(Pid::UNDEFINED)
    }

    /// `{name, node} ! msg` from the local `from` (the one path of
    /// `ember_runtime::send_named` and [`Node::send_named`]): a [`Term`],
    /// or a `Server::call`'s request ([`RemoteCall`]), whose caller is
    /// answered at once if the request has no term form.
    fn send_named(self: &Arc<Inner>, from: Pid, name: &str, node: &str, msg: Box<dyn Any + Send>) {
        if node == self.name.as_str() {
            // Only Node::send_named gets here (the runtime sends to its own
            // names itself), always with a Term.
            if let (Some(pid), Ok(term)) = (ember_runtime::node::whereis_on(self.runtime, name), msg.downcast::<Term>())
            {
                ember_runtime::send(pid, *term);
            }
            return;
        }
        let (message, call) = match msg.downcast::<RemoteCall>() {
            Ok(call) => match gen::gen_call_term(self, &call) {
                Ok(term) => (term, Some(call)),
                Err(why) => {
                    let reply = RemoteReply { tag: call.tag, value: Err(why) };
                    ember_runtime::node::deliver_reply(call.from, reply);
                    return;
                }
            },
            Err(msg) => match msg.downcast::<RemoteCast>() {
                Ok(cast) => match wire::encode(&*cast.request) {
                    Ok(request) => (Term::tuple(vec![Term::atom("$gen_cast"), request]), None),
                    Err(why) => {
                        tracing::warn!(name, node, %why, "distribution: a cast to another node was dropped");
                        return;
                    }
                },
                Err(msg) => match msg.downcast::<Term>() {
                    Ok(term) => (*term, None),
                    Err(_) => {
                        tracing::warn!(name, node, "distribution: a message to a remote name must be a Term (see ember_dist::to_term); dropped");
                        return;
                    }
                },
            },
        };
        let (peer, name) = (Atom::new(node), Atom::new(name));
        match (self.conn(&peer), call) {
            (Some(conn), call) => {
                if let Some(call) = call {
                    conn.expect_reply(call.tag, call.from, call.reply);
                }
                conn.push_message(Control::RegSend { from: self.own_pid(from), to: name, message });
            }
            // The call's monitor connected first; it has said noconnection
            // if the connection is gone.
            (None, Some(_)) => {}
            // Not connected: dial, the message waits (or is dropped if the
            // node cannot be reached).
            (None, None) => self.enqueue(&peer, dial::Pending::Named { from, name, message }),
        }
    }

    /// A local reference as the term Erlang sees.
    fn own_ref(&self, r: ember_runtime::Ref) -> Reference {
        let raw = r.as_u64();
        Reference { node: self.name.clone(), creation: self.creation, id: vec![raw as u32, (raw >> 32) as u32, 0] }
    }

    /// The local reference a term reference of this node stands for.
    fn local_ref(&self, r: &Reference) -> Option<ember_runtime::Ref> {
        if r.node != self.name || r.creation != self.creation || r.id.len() < 2 {
            return None;
        }
        Some(ember_runtime::node::ref_from_raw(u64::from(r.id[0]) | (u64::from(r.id[1]) << 32)))
    }

    fn conn(&self, name: &Atom) -> Option<Arc<Conn>> {
        self.peers.lock().conns.get(name).cloned()
    }

    /// The connection to `peer`, made if needed: the caller waits (off
    /// the scheduler's threads) at most the connect timeout.
    fn connect(self: &Arc<Inner>, peer: &str) -> Result<Arc<Conn>, NodeError> {
        if let Some(c) = self.conn(&Atom::new(peer)) {
            return Ok(c);
        }
        let this = self.clone();
        let peer = peer.to_owned();
        ember_runtime::blocking(move || this.dial(&peer))
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    fn stop(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        ember_runtime::node::set_distribution(self.runtime, None);
        // Woken, they see the flag and end (the net_kernel's name goes with it).
        for pid in self.helpers.lock().drain(..) {
            ember_runtime::send(pid, Term::nil());
        }
        self.registration.lock().take();
        let (conns, numbers, dialing) = {
            let mut peers = self.peers.lock();
            let conns: Vec<_> = peers.conns.drain().map(|(_, c)| c).collect();
            (conns, peers.by_number.keys().copied().collect::<Vec<_>>(), std::mem::take(&mut peers.dialing))
        };
        for c in conns {
            c.close();
        }
        // No more dialling: a node whose local node stopped is unreachable.
        for n in numbers {
            ember_runtime::node::set_route(n, None);
        }
        dialing.into_values().flat_map(|w| w.items).for_each(dial::unreachable);
        LOCAL_NODES.write().retain(|n| !std::ptr::eq(&**n, self));
        // Wake the listener out of accept.
        let _ = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], self.port)), Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_alive_at_a_loopback_host() {
        assert!(split_name("a@localhost").is_ok());
        assert!(split_name("nohost").is_err());
        assert!(split_name("@h").is_err());
        assert!(check_loopback_host("127.0.0.1", "a@127.0.0.1").is_ok());
        assert!(check_loopback_host("8.8.8.8", "a@8.8.8.8").is_err());
    }
}
