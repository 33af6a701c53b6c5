//! Connecting on demand, as Erlang's auto-connect does: a message, link,
//! monitor or exit signal for a node that is known but not connected (a
//! pid seen in a term, a node whose connection was lost) or a
//! `send_named((name, node))` to a node not yet connected queues here and
//! starts a dial. The sender never waits: the dial runs on a thread of its
//! own, bounded by the node's connect timeout. When the connection comes
//! up (dialled, or accepted from the peer meanwhile), the queue goes into
//! it first, in order, before any later send; when the dial fails, the
//! queue gets what an unreachable node gives in OTP: messages are dropped,
//! links break and monitors fire with `noconnection`.

use super::{check_loopback_host, split_name, Inner, NodeError};
use crate::handshake;
use crate::term::{Atom, Term};
use ember_runtime::node::{self as rt, Route, Signal};
use ember_runtime::Pid;
use std::any::Any;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// At most this many messages and signals wait for one dial, and at most
/// the node's outbox limit in bytes (the first always waits); more are
/// treated as if the dial had failed (a node that cannot be reached soon
/// must not make its senders' queue grow without end).
pub(super) const MAX_PENDING: usize = 4096;

/// What waits for one dial.
pub(super) struct Waiting {
    /// The dial's number (see `Inner::dial_done`).
    id: u64,
    pub(super) items: Vec<Pending>,
    /// About how many bytes `items` take on the wire.
    bytes: usize,
}

/// What waits for a connection.
pub(super) enum Pending {
    /// A message to a pid of the remote node numbered `number`.
    Message { number: u32, from: Option<Pid>, to: Pid, message: Term },
    /// A link, unlink, exit, monitor or demonitor for a pid of `number`.
    Signal { number: u32, signal: Signal },
    /// `{name, node} ! message`.
    Named { from: Pid, name: Atom, message: Term },
}

impl Pending {
    /// About how many bytes this takes on the wire.
    fn size(&self) -> usize {
        match self {
            Pending::Message { message, .. } | Pending::Named { message, .. } => wire_size(message),
            Pending::Signal { .. } => 64,
        }
    }
}

/// About how many bytes `term` takes on the wire: its binaries and atoms,
/// and 9 bytes for every term. Bounds what waits for a dial without
/// encoding it (no recursion: a term may be deep).
fn wire_size(term: &Term) -> usize {
    let mut size = 0usize;
    let mut stack = vec![term];
    while let Some(t) = stack.pop() {
        size = size.saturating_add(9);
        match t {
            Term::Atom(a) => size = size.saturating_add(a.as_str().len()),
            Term::Binary(b) => size = size.saturating_add(b.len()),
            Term::BitString(b) => size = size.saturating_add(b.bytes().len()),
            Term::List(items) | Term::Tuple(items) => stack.extend(items),
            Term::ImproperList(items, tail) => {
                stack.extend(items);
                stack.push(tail);
            }
            Term::Map(m) => m.iter().for_each(|(k, v)| stack.extend([k, v])),
            _ => {}
        }
    }
    size
}

/// What an unreachable node gives: the message is dropped; a link breaks
/// and a monitor fires with `noconnection`, at once.
pub(super) fn unreachable(item: Pending) {
    match item {
        Pending::Signal { signal, .. } => unreachable_signal(signal),
        Pending::Message { .. } | Pending::Named { .. } => {}
    }
}

/// [`unreachable`] for one signal.
pub(super) fn unreachable_signal(signal: Signal) {
    match signal {
        Signal::Link { from, to } => {
            rt::deliver_exit(from, to, rt::noconnection(), true);
        }
        Signal::Monitor { from, to, monitor } => {
            rt::deliver_down(from, monitor, to, rt::noconnection());
        }
        _ => {}
    }
}

/// The runtime's route to a known remote node while no connection carries
/// it: everything sent through it waits for a dial.
pub(super) struct DialRoute {
    pub(super) node: Weak<Inner>,
    pub(super) peer: Atom,
    pub(super) number: u32,
}

impl Route for DialRoute {
    fn message(&self, from: Option<Pid>, to: Pid, msg: Box<dyn Any + Send>) {
        let Ok(message) = msg.downcast::<Term>() else {
            tracing::warn!(%to, "distribution: a message to a remote pid must be a Term (see ember_dist::to_term); dropped");
            return;
        };
        let item = Pending::Message { number: self.number, from, to, message: *message };
        match self.node.upgrade() {
            Some(node) => node.enqueue(&self.peer, item),
            None => unreachable(item),
        }
    }

    fn signal(&self, signal: Signal) {
        let item = Pending::Signal { number: self.number, signal };
        match self.node.upgrade() {
            Some(node) => node.enqueue(&self.peer, item),
            None => unreachable(item),
        }
    }
}

impl Inner {
    /// The route for the node numbered `number` (called `peer`) while it
    /// is not connected: a [`DialRoute`], or none once the node is stopped.
    pub(super) fn idle_route(self: &Arc<Inner>, peer: &Atom, number: u32) -> Option<Arc<dyn Route>> {
        (!self.is_stopped())
            .then(|| Arc::new(DialRoute { node: Arc::downgrade(self), peer: peer.clone(), number }) as Arc<dyn Route>)
    }

    /// Queues `item` for `peer` and dials it if no dial is under way; or
    /// hands it to the connection if one came up meanwhile.
    pub(super) fn enqueue(self: &Arc<Inner>, peer: &Atom, item: Pending) {
        let mut peers = self.peers.lock();
        if let Some(conn) = peers.conns.get(peer).cloned() {
            drop(peers);
            conn.deliver(self, item, true);
            return;
        }
        if self.is_stopped() {
            drop(peers);
            return unreachable(item);
        }
        let size = item.size();
        if let Some(waiting) = peers.dialing.get_mut(peer) {
            if waiting.items.len() < MAX_PENDING && waiting.bytes.saturating_add(size) <= self.outbox_limit {
                waiting.bytes += size;
                waiting.items.push(item);
            } else {
                drop(peers);
                tracing::warn!(%peer, "distribution: too much waits for the connection; treated as unreachable");
                unreachable(item);
            }
            return;
        }
        peers.next_dial += 1;
        let id = peers.next_dial;
        peers.dialing.insert(peer.clone(), Waiting { id, items: vec![item], bytes: size });
        drop(peers);
        let (this, name) = (self.clone(), peer.clone());
        let dial = move || {
            if let Err(e) = this.dial(name.as_str()) {
                tracing::info!(peer = %name, error = %e, "distribution: auto-connect failed");
            }
            // Connected: the queue went into the connection. Failed: what
            // waited gets noconnection.
            this.dial_done(&name, id);
        };
        if std::thread::Builder::new().name(format!("ember-dist-dial {peer}")).spawn(dial).is_err() {
            self.dial_done(peer, id);
        }
    }

    /// The dial `id` for `peer` ended: what still waits for it (nothing, if
    /// a connection came up) is unreachable. A newer dial's queue (the
    /// connection came up and was lost again since) is left to it.
    fn dial_done(&self, peer: &Atom, id: u64) {
        let items = {
            let mut peers = self.peers.lock();
            match peers.dialing.get(peer) {
                Some(waiting) if waiting.id == id => peers.dialing.remove(peer).map(|w| w.items),
                _ => None,
            }
        };
        items.unwrap_or_default().into_iter().for_each(unreachable);
    }

    /// Connects to `peer`: EPMD, TCP, handshake, all within the node's
    /// connect timeout. Blocks: call it off the scheduler's threads.
    pub(super) fn dial(self: &Arc<Inner>, peer: &str) -> Result<Arc<super::peer::Conn>, NodeError> {
        let deadline = Instant::now() + self.connect_timeout;
        let atom = Atom::new(peer);
        let (alive, host) = split_name(peer)?;
        check_loopback_host(host, peer)?;
        // One dial at a time per peer, so two callers do not both connect
        // (and a peer that does not answer holds up only its own dials).
        let lock = self.connecting.lock().entry(atom.clone()).or_default().clone();
        let _one = lock.try_lock_until(deadline).ok_or_else(|| NodeError::Connect(timed_out()))?;
        if self.is_stopped() {
            return Err(NodeError::Stopped);
        }
        if let Some(c) = self.conn(&atom) {
            return Ok(c);
        }
        let left = || left(deadline).map_err(NodeError::Connect);
        let entry = self.epmd.clone().timeout(left()?).port_please(alive)?;
        let entry = entry.ok_or_else(|| NodeError::NotRegistered(peer.to_owned()))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], entry.port));
        let stream = TcpStream::connect_timeout(&addr, left()?).map_err(NodeError::Connect)?;
        let mut bounded = Bounded { stream, deadline };
        let session = handshake::connect(&mut bounded, &self.config, peer)?;
        // Accepted from the peer meanwhile: that connection carries on.
        super::peer::Conn::start(self, bounded.stream, session).or_else(|| self.conn(&atom)).ok_or(NodeError::Stopped)
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connect timeout")
}

/// The time left before `deadline`, or a timeout error.
fn left(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(timed_out())
    } else {
        Ok(left)
    }
}

/// A stream whose reads and writes all end by one deadline: each waits at
/// most for the time left, so a peer that stalls the handshake cannot hold
/// a dial longer than the connect timeout.
struct Bounded {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(left(self.deadline)?))?;
        self.stream.read(buf)
    }
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(left(self.deadline)?))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
