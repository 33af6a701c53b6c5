//! One connection to a peer node: a writer thread fed by a queue (every
//! local process that sends to the peer pushes to it through the [`Route`]),
//! a reader thread that turns the peer's control messages into local
//! signals, and the per-connection sets that say what fires `noconnection`
//! when the connection is lost.

use super::dial::{unreachable, unreachable_signal, Pending};
use super::outbox::{Outbox, PushError, Room};
use super::{nodedown, reason_to_term, term_to_reason, Inner};
use crate::connection::{Incoming, Reader, Writer};
use crate::control::{Control, ProcessRef};
use crate::handshake::Session;
use crate::term::{Atom, Pid as DistPid, Reference, Term};
use ember_runtime::node::{self as rt, Route, Signal};
use ember_runtime::{Pid, Ref};
use parking_lot::Mutex;
use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::io::BufReader;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// The links and monitors that cross this connection.
#[derive(Default)]
struct Sets {
    /// (local, remote) linked pairs.
    links: HashSet<(Pid, Pid)>,
    /// Monitors local processes hold on remote ones: ref → (watcher,
    /// target, how the peer was told: by pid or by name).
    monitors: HashMap<Ref, (Pid, Pid, ProcessRef)>,
    /// Monitors remote processes hold on local ones, by their reference:
    /// (the local reference given to the runtime, the local target, how it
    /// was monitored).
    monitored: HashMap<Reference, (Ref, Pid, ProcessRef)>,
    /// The other way: local reference → (remote reference, remote watcher).
    monitored_by_local: HashMap<Ref, (Reference, DistPid)>,
    /// Local processes that called `monitor_node` on this peer.
    node_watchers: Vec<Pid>,
    /// `Server::call`s waiting for the peer's answer: tag → (caller, the
    /// reply type it waits for). An entry goes with the reply, the call's
    /// `Down`, its demonitor (the call ended), or the connection.
    calls: HashMap<Ref, (Pid, TypeId)>,
    next_unlink_id: u64,
    closed: bool,
}

pub(crate) struct Conn {
    node: Weak<Inner>,
    peer: Atom,
    peer_creation: u32,
    number: u32,
    ticktime: Duration,
    out: Outbox,
    stream: TcpStream,
    sets: Mutex<Sets>,
}

impl Conn {
    /// Takes over an authenticated stream: registers the connection, its
    /// route, and starts its threads. `None` if the node is stopping or the
    /// peer is connected already.
    pub(crate) fn start(node: &Arc<Inner>, stream: TcpStream, session: Session) -> Option<Arc<Conn>> {
        let peer = Atom::new(&session.peer_name);
        let number = node.number(&peer, session.peer_creation);
        // Each frame is one write already: Nagle's algorithm would only hold
        // small messages back for the peer's delayed ack (OTP sets nodelay
        // on distribution sockets too).
        let _ = stream.set_nodelay(true);
        let read_half = stream.try_clone().ok()?;
        let write_half = stream.try_clone().ok()?;
        // Silence for a whole tick time means the peer is gone.
        let _ = read_half.set_read_timeout(Some(node.ticktime));
        let _ = write_half.set_write_timeout(Some(node.ticktime));
        let writer = Writer::new(Vec::new(), &session, &node.limits);
        let out = Outbox::new(stream.try_clone().ok()?, writer, node.outbox_limit);
        let conn = Arc::new(Conn {
            node: Arc::downgrade(node),
            peer: peer.clone(),
            peer_creation: session.peer_creation,
            number,
            ticktime: node.ticktime,
            out,
            stream,
            sets: Mutex::new(Sets::default()),
        });
        let stale = {
            let mut peers = node.peers.lock();
            if node.stopped.load(std::sync::atomic::Ordering::Acquire) || peers.conns.contains_key(&peer) {
                return None;
            }
            peers.conns.insert(peer.clone(), conn.clone());
            // What waited for this peer goes first, before any later send:
            // under the lock, so that no sender sees the connection before
            // its earlier messages are in it.
            if let Some(waiting) = peers.dialing.remove(&peer) {
                for item in waiting.items {
                    conn.deliver(node, item, false);
                }
            }
            // Pids of the peer's older incarnations name no process: no
            // dialling for them any more.
            let stale: Vec<u32> =
                peers.numbers.iter().filter(|((name, _), &n)| *name == peer && n != number).map(|(_, &n)| n).collect();
            stale
        };
        for n in stale {
            rt::set_route(n, None);
        }
        rt::set_route(number, Some(Arc::new(ConnRoute(Arc::downgrade(&conn))) as Arc<dyn Route>));
        let tick = node.ticktime / 4;
        let name = format!("ember-dist-w {}", session.peer_name);
        let w = conn.clone();
        let spawned = std::thread::Builder::new().name(name).spawn(move || w.write_loop(write_half, tick));
        if spawned.is_err() {
            conn.close();
            return None;
        }
        let reader = Reader::new(BufReader::new(read_half), node.limits.clone());
        let name = format!("ember-dist-r {}", session.peer_name);
        let r = conn.clone();
        if std::thread::Builder::new().name(name).spawn(move || r.read_loop(reader)).is_err() {
            conn.close();
            return None;
        }
        Some(conn)
    }

    /// Sends a control message that cannot wait for room (a signal, often
    /// from the runtime's exit paths; see [`Outbox`]). A connection whose
    /// socket fails is closed by its writer thread; one whose outbox
    /// overflows is ended here, with a report.
    pub(crate) fn push(&self, control: Control) {
        if let Err(e) = self.out.push(&control, Room::Bounded) {
            self.push_failed(e);
        }
    }

    /// Sends a message: a sender in a process waits (sleeping, so its
    /// worker runs others) until the outbox has room, as Erlang suspends a
    /// sender on a busy distribution port. A peer that takes nothing for a
    /// tick time meanwhile loses the connection (with a report), and the
    /// message is dropped; a slow one only makes the sender wait longer.
    /// Outside processes, nothing waits (as for a signal).
    pub(crate) fn push_message(&self, control: Control) {
        let room = if ember_runtime::try_self_pid().is_some() { Room::Wait } else { Room::Bounded };
        let mut waited: Option<(usize, Instant, Duration)> = None;
        loop {
            match self.out.push(&control, room) {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => return self.push_failed(e),
            }
            let now = Instant::now();
            let pending = self.out.pending();
            let (last, deadline, step) = waited.get_or_insert((pending, now + self.ticktime, Duration::from_millis(1)));
            if pending < *last {
                // Progress: the peer reads, slowly.
                (*last, *deadline) = (pending, now + self.ticktime);
            } else if now >= *deadline {
                return self.stalled();
            }
            ember_runtime::sleep(*step);
            *step = (*step * 2).min(Duration::from_millis(16));
        }
    }

    fn push_failed(&self, e: PushError) {
        match e {
            PushError::Io(e) => tracing::info!(peer = %self.peer, error = %e, "distribution: write failed"),
            PushError::Overflow(_) => {
                tracing::warn!(peer = %self.peer, error = %e, "distribution: connection closed: the outbox overflowed");
                // The reader sees the socket end and closes the connection
                // (not here: the caller may hold the connection's locks).
                let _ = self.stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// The outbox stayed full, the peer taking nothing, for a tick time.
    fn stalled(&self) {
        tracing::warn!(
            peer = %self.peer,
            pending = self.out.pending(),
            "distribution: connection closed: the peer took nothing from a full outbox for a tick time"
        );
        self.out.close();
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Bytes waiting to be written to the peer.
    pub(crate) fn pending(&self) -> usize {
        self.out.pending()
    }

    /// Something that waited for this connection (see [`super::dial`]):
    /// sent now, or unreachable if it was for an older incarnation of the
    /// peer.
    /// `wait`: whether a message may wait for room (not when the caller
    /// holds the node's locks).
    pub(super) fn deliver(&self, node: &Inner, item: Pending, wait: bool) {
        let send = |control| if wait { self.push_message(control) } else { self.push(control) };
        match item {
            Pending::Message { number, from, to, message } if number == self.number => {
                send(self.send_control(node, from, to, message))
            }
            Pending::Signal { number, signal } if number == self.number => self.signal(node, signal),
            Pending::Named { from, name, message } => {
                send(Control::RegSend { from: node.own_pid(from), to: name, message })
            }
            stale => unreachable(stale),
        }
    }

    /// The `SEND` of a message from a local process (or a plain thread) to
    /// a pid of the peer.
    fn send_control(&self, node: &Inner, from: Option<Pid>, to: Pid, message: Term) -> Control {
        let from = from.filter(|p| p.node() == node.runtime).map(|p| node.own_pid(p));
        Control::Send { from, to: self.remote_pid(to), message }
    }

    /// The calling process monitors the process registered as `name` on
    /// the peer; the monitor's `Down` comes as for any remote monitor.
    pub(crate) fn monitor_name(&self, node: &Inner, name: &Atom) -> Ref {
        let me = ember_runtime::self_pid();
        // The pid a `Down` names: none is known, the name stands for it.
        let target = Pid::from_parts(self.number, u32::MAX, u32::MAX);
        let monitor = rt::record_monitor(target);
        let mut sets = self.sets.lock();
        if sets.closed {
            drop(sets);
            rt::deliver_down(me, monitor, target, rt::noconnection());
            return monitor;
        }
        let how = ProcessRef::Name(name.clone());
        sets.monitors.insert(monitor, (me, target, how.clone()));
        self.push(Control::MonitorP { from: node.own_pid(me), to: how, reference: node.own_ref(monitor) });
        monitor
    }

    /// A call from `caller` tagged `tag` is about to be sent: its answer
    /// (`ALIAS_SEND` to the tag) is decoded as `reply` and delivered.
    pub(crate) fn expect_reply(&self, tag: Ref, caller: Pid, reply: TypeId) {
        let mut sets = self.sets.lock();
        if !sets.closed {
            sets.calls.insert(tag, (caller, reply));
        }
    }

    pub(crate) fn watch_node(&self, pid: Pid) {
        let mut sets = self.sets.lock();
        if sets.closed {
            drop(sets);
            ember_runtime::send(pid, nodedown(self.peer.as_str()));
        } else {
            sets.node_watchers.push(pid);
        }
    }

    fn remote_pid(&self, pid: Pid) -> DistPid {
        DistPid { node: self.peer.clone(), id: pid.index(), serial: pid.serial(), creation: self.peer_creation }
    }

    /// The writer thread: writes what senders could not, and ticks.
    fn write_loop(self: Arc<Self>, stream: TcpStream, tick: Duration) {
        let _close = CloseOnDrop(self.clone());
        if let Err(e) = self.out.run(stream, tick) {
            tracing::info!(peer = %self.peer, error = %e, "distribution: write failed");
        }
    }

    fn read_loop(self: Arc<Self>, mut reader: Reader<BufReader<TcpStream>>) {
        // However this thread ends (a panic included), the connection ends
        // with it and its links and monitors fire.
        let _close = CloseOnDrop(self.clone());
        loop {
            match reader.read() {
                Ok(Incoming::Tick) => {}
                Ok(Incoming::Message(control)) => {
                    let Some(node) = self.node.upgrade() else { break };
                    self.incoming(&node, control);
                }
                Err(e) => {
                    if !self.sets.lock().closed {
                        tracing::info!(peer = %self.peer, error = %e, "distribution: connection lost");
                    }
                    break;
                }
            }
        }
    }

    /// The tag of `{[alias | Tag], Reply}`, the answer to a call of ours.
    fn reply_tag(node: &Inner, message: &Term) -> Option<Ref> {
        let [Term::ImproperList(head, tail), _] = message.as_tuple()? else { return None };
        let (Some(alias), Term::Ref(tag)) = (head.first(), &**tail) else { return None };
        (head.len() == 1 && alias.as_atom() == Some("alias")).then(|| node.local_ref(tag)).flatten()
    }

    /// `message` (`{Tag, Reply}`) answers the call `tag`, if one waits:
    /// the reply, decoded as its caller's type, goes to the caller.
    fn answer(&self, tag: Ref, message: &Term) {
        let Some((caller, reply)) = self.sets.lock().calls.remove(&tag) else { return };
        let value = match message.as_tuple() {
            Some([_, reply_term]) => super::wire::decode(reply, reply_term.clone()),
            _ => Err(format!("not a gen_server reply: {message}")),
        };
        rt::deliver_reply(caller, rt::RemoteReply { tag, value });
    }

    /// A pid of this node, as the peer names it (`None`: another node's, or
    /// an older incarnation of this one: no process).
    fn ours(node: &Inner, pid: &DistPid) -> Option<Pid> {
        (pid.node == node.name && pid.creation == node.creation)
            .then(|| Pid::from_parts(node.runtime, pid.id, pid.serial))
    }

    /// A pid of the peer. A control message only speaks for the peer's own
    /// processes: a pid of a third node (or of an incarnation the peer does
    /// not have) is refused, so a peer can neither relay through this node
    /// nor make it number nodes without end.
    fn theirs(&self, pid: &DistPid) -> Option<Pid> {
        (pid.node == self.peer && pid.creation == self.peer_creation)
            .then(|| Pid::from_parts(self.number, pid.id, pid.serial))
    }

    /// A control message from the peer, acted on locally. One that names
    /// pids it has no business naming is dropped.
    fn incoming(&self, node: &Inner, control: Control) {
        if self.act(node, control).is_none() {
            tracing::debug!(peer = %self.peer, "distribution: a control message with foreign pids dropped");
        }
    }

    fn act(&self, node: &Inner, control: Control) -> Option<()> {
        match control {
            Control::Send { to, message, .. } => {
                let to = Self::ours(node, &to)?;
                // A peer that answers a call by pid rather than by alias
                // (the gen_server of an OTP before 24).
                if let Some(tag) = Self::reply_tag(node, &message) {
                    if self.sets.lock().calls.get(&tag).is_some_and(|(caller, _)| *caller == to) {
                        self.answer(tag, &message);
                        return Some(());
                    }
                }
                ember_runtime::send(to, message);
            }
            Control::RegSend { to, message, .. } => {
                if let Some(adapter) = node.exposed.read().get(to.as_str()) {
                    if super::gen::gen_call_parts(&message).is_some() {
                        ember_runtime::send(*adapter, message);
                        return Some(());
                    }
                }
                if let Some(pid) = rt::whereis_on(node.runtime, to.as_str()) {
                    ember_runtime::send(pid, message);
                }
            }
            // Ember's aliases are the tags of its calls to other nodes: the
            // answer `{[alias | Tag], Reply}` of an expected call.
            Control::AliasSend { alias, message, .. } => {
                self.answer(node.local_ref(&alias)?, &message);
            }
            Control::Link { from, to } => {
                let (remote, local) = (self.theirs(&from)?, Self::ours(node, &to));
                match local {
                    Some(local) if rt::add_link(local, remote) => {
                        self.sets.lock().links.insert((local, remote));
                    }
                    // The reader's answers never wait: a reader blocked on a
                    // full outbox would stop reading, and two nodes doing
                    // so would wait on each other.
                    _ => self.push(Control::Exit { from: to, to: from, reason: Term::atom("noproc") }),
                }
            }
            Control::UnlinkId { id, from, to } => {
                let (remote, local) = (self.theirs(&from)?, Self::ours(node, &to)?);
                rt::remove_link(local, remote);
                self.sets.lock().links.remove(&(local, remote));
                self.push(Control::UnlinkIdAck { id, from: to, to: from });
            }
            Control::UnlinkIdAck { .. } => {}
            Control::Exit { from, to, reason } => {
                let (remote, local) = (self.theirs(&from)?, Self::ours(node, &to)?);
                self.sets.lock().links.remove(&(local, remote));
                rt::deliver_exit(local, remote, term_to_reason(reason), true);
            }
            Control::Exit2 { from, to, reason } => {
                let (remote, local) = (self.theirs(&from)?, Self::ours(node, &to)?);
                rt::deliver_exit(local, remote, term_to_reason(reason), false);
            }
            Control::MonitorP { from, to, reference } => {
                let watcher = self.theirs(&from)?;
                let target = match &to {
                    ProcessRef::Pid(p) => Self::ours(node, p),
                    ProcessRef::Name(n) => rt::whereis_on(node.runtime, n.as_str()),
                };
                let local_ref = Ref::new();
                let added = target.is_some_and(|t| {
                    let mut sets = self.sets.lock();
                    let ok = rt::add_monitor(t, local_ref, watcher);
                    if ok {
                        sets.monitored.insert(reference.clone(), (local_ref, t, to.clone()));
                        sets.monitored_by_local.insert(local_ref, (reference.clone(), from.clone()));
                    }
                    ok
                });
                if !added {
                    self.push(Control::MonitorPExit { from: to, to: from, reference, reason: Term::atom("noproc") });
                }
            }
            Control::DemonitorP { reference, .. } => {
                let removed = {
                    let mut sets = self.sets.lock();
                    let r = sets.monitored.remove(&reference);
                    if let Some((local_ref, _, _)) = &r {
                        sets.monitored_by_local.remove(local_ref);
                    }
                    r
                };
                if let Some((local_ref, target, _)) = removed {
                    rt::remove_monitor(target, local_ref);
                }
            }
            Control::MonitorPExit { to, reference, reason, .. } => {
                let monitor = node.local_ref(&reference)?;
                let watcher = Self::ours(node, &to)?;
                // Only monitors made over this connection: the target is
                // the one recorded, whatever the peer says.
                let (_, target, _) = {
                    let mut sets = self.sets.lock();
                    sets.calls.remove(&monitor);
                    sets.monitors.remove(&monitor)?
                };
                rt::deliver_down(watcher, monitor, target, term_to_reason(reason));
            }
            Control::Other { control, .. } => {
                tracing::debug!(peer = %self.peer, %control, "distribution: control message ignored");
            }
        }
        Some(())
    }

    /// Ends the connection (idempotent): every link over it fires
    /// `noconnection`, every monitor delivers it, `monitor_node` watchers
    /// get `{nodedown, Node}`.
    pub(crate) fn close(&self) {
        let sets = {
            let mut sets = self.sets.lock();
            if sets.closed {
                return;
            }
            sets.closed = true;
            std::mem::take(&mut *sets)
        };
        // From now on a send to the peer dials it again.
        let node = self.node.upgrade();
        rt::set_route(self.number, node.as_ref().and_then(|n| n.idle_route(&self.peer, self.number)));
        let _ = self.stream.shutdown(Shutdown::Both);
        self.out.close();
        if let Some(node) = node {
            let mut peers = node.peers.lock();
            if peers.conns.get(&self.peer).is_some_and(|c| std::ptr::eq(&**c, self)) {
                peers.conns.remove(&self.peer);
            }
        }
        for (local, remote) in sets.links {
            rt::deliver_exit(local, remote, rt::noconnection(), true);
        }
        for (monitor, (watcher, target, _)) in sets.monitors {
            rt::deliver_down(watcher, monitor, target, rt::noconnection());
        }
        for (_, (local_ref, target, _)) in sets.monitored {
            rt::remove_monitor(target, local_ref);
        }
        for watcher in sets.node_watchers {
            ember_runtime::send(watcher, nodedown(self.peer.as_str()));
        }
    }

    /// A signal from a local process to one on the peer.
    fn signal(&self, node: &Inner, signal: Signal) {
        let mut sets = self.sets.lock();
        if sets.closed {
            drop(sets);
            // Lost meanwhile: answer as for an unreachable node.
            return unreachable_signal(signal);
        }
        // Pushed under the lock, so the queue's order is the sets' order.
        match signal {
            Signal::Link { from, to } => {
                sets.links.insert((from, to));
                self.push(Control::Link { from: node.own_pid(from), to: self.remote_pid(to) });
            }
            Signal::Unlink { from, to } => {
                sets.links.remove(&(from, to));
                sets.next_unlink_id += 1;
                let id = sets.next_unlink_id;
                self.push(Control::UnlinkId { id, from: node.own_pid(from), to: self.remote_pid(to) });
            }
            Signal::Exit { from, to, reason, link } => {
                let (from_pid, to_pid, reason) = (node.own_pid(from), self.remote_pid(to), reason_to_term(&reason));
                if link {
                    sets.links.remove(&(from, to));
                    self.push(Control::Exit { from: from_pid, to: to_pid, reason });
                } else {
                    self.push(Control::Exit2 { from: from_pid, to: to_pid, reason });
                }
            }
            Signal::Monitor { from, to, monitor } => {
                let how = ProcessRef::Pid(self.remote_pid(to));
                sets.monitors.insert(monitor, (from, to, how.clone()));
                self.push(Control::MonitorP { from: node.own_pid(from), to: how, reference: node.own_ref(monitor) });
            }
            Signal::Demonitor { from, monitor, .. } => {
                sets.calls.remove(&monitor);
                if let Some((_, _, how)) = sets.monitors.remove(&monitor) {
                    self.push(Control::DemonitorP {
                        from: node.own_pid(from),
                        to: how,
                        reference: node.own_ref(monitor),
                    });
                }
            }
            Signal::Down { from, to: _, monitor, reason } => {
                if let Some((reference, watcher)) = sets.monitored_by_local.remove(&monitor) {
                    let how = sets.monitored.remove(&reference).map(|(_, _, how)| how);
                    let from = how.unwrap_or_else(|| ProcessRef::Pid(node.own_pid(from)));
                    self.push(Control::MonitorPExit { from, to: watcher, reference, reason: reason_to_term(&reason) });
                }
            }
        }
    }
}

struct CloseOnDrop(Arc<Conn>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The runtime's handle on a connection: what a local process's send,
/// link, monitor or exit to a pid of the peer becomes.
struct ConnRoute(Weak<Conn>);

impl Route for ConnRoute {
    fn message(&self, from: Option<Pid>, to: Pid, msg: Box<dyn Any + Send>) {
        let Some(conn) = self.0.upgrade() else { return };
        let Some(node) = conn.node.upgrade() else { return };
        let Ok(message) = msg.downcast::<Term>() else {
            tracing::warn!(%to, "distribution: a message to a remote pid must be a Term (see ember_dist::to_term); dropped");
            return;
        };
        conn.push_message(conn.send_control(&node, from, to, *message));
    }

    fn signal(&self, signal: Signal) {
        let Some(conn) = self.0.upgrade() else { return };
        let Some(node) = conn.node.upgrade() else { return };
        conn.signal(&node, signal);
    }
}
