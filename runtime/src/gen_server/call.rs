//! The call, cast, reply and stop protocols.
//!
//! A call monitors the server, sends it the request tagged with the monitor
//! reference, and waits for either the reply carrying that tag or the
//! monitor's `Down`. The reply is delivered only while the caller still holds
//! the monitor (see `Scheduler::deliver_reply`): once the call has returned —
//! replied, timed out or failed — the monitor is gone and a late reply is
//! dropped before it reaches the mailbox, which is what process aliases do
//! for `gen_server:call` in OTP 24+. The reply also ends the caller's side
//! of the monitor (the alias's `reply_demonitor`): a second reply to the
//! same call is dropped, and the caller removes only the server's side.
//!
//! The monitor and the request are one step
//! (`signal::monitor_with_request`): one lock of the caller's slot, where
//! its side of the monitor is recorded and its mailbox end read, and one of
//! the server's, where the server's side is recorded and the request queued.
//!
//! A request names the protocol of the handle it was made with
//! ([`GenServer::protocol`], the handle's server type by default) and the
//! reply type the caller waits for. A server that speaks another protocol,
//! or whose types differ, cannot serve it: it answers at once with
//! [`WrongServer`], and the call fails with [`CallError::WrongServer`]
//! rather than waiting for its timeout.

use super::{GenServer, ReplyTo};
use crate::mailbox::receive::{marker, receive_after};
use crate::name::Dest;
use crate::pid::Pid;
use crate::pid::Ref;
use crate::process::current::{current, try_current};
use crate::reason::Reason;
use crate::scheduler::Scheduler;
use crate::signal::{demonitor_flush, monitor, monitor_with_request, remove_target_side, Down};
use std::any::{Any, TypeId};
use std::fmt;
use std::time::Duration;

/// What answered a call.
enum Answer {
    Reply,
    Down,
    WrongServer,
}

/// A call request on the wire. Not generic, so that any server recognises
/// it as a call, even one meant for another server type.
pub(crate) struct CallMsg {
    /// The protocol of the caller's handle type ([`GenServer::protocol`]).
    pub(crate) server: TypeId,
    pub(crate) from: Pid,
    pub(crate) tag: Ref,
    /// The handle's `Call` value.
    pub(crate) request: Box<dyn Any + Send>,
    /// The handle's `Reply` type: what the caller waits for.
    pub(crate) reply: TypeId,
}

/// A server's answer to a call meant for another server type.
pub(crate) struct WrongServer {
    tag: Ref,
    actual: &'static str,
}

/// Answers a call whose handle was made for another server type: the caller
/// fails at once with [`CallError::WrongServer`].
pub(crate) fn refuse_wrong_server<S>(from: Pid, tag: Ref) {
    let to = ReplyTo::<()>::new(from, tag);
    deliver_reply(to, Box::new(WrongServer { tag, actual: std::any::type_name::<S>() }));
}

/// A cast request on the wire.
pub(crate) struct CastMsg<C>(pub(crate) C);

/// A reply on the wire.
pub(crate) struct ReplyMsg<R> {
    tag: Ref,
    value: R,
}

/// A system request (only `stop` for now).
pub(crate) enum SysMsg {
    Stop(Reason),
}

/// Why a call (or stop) failed.
#[derive(Clone, Debug, PartialEq)]
pub enum CallError {
    /// No process at the address (nothing was sent), or it was not alive.
    NoProc,
    /// No reply within the timeout.
    Timeout,
    /// The server exited with this reason before replying.
    Exited(Reason),
    /// The server is the caller itself.
    CallingSelf,
    /// The process is a server of another type than the handle's: it could
    /// not read the request, and answered so at once.
    WrongServer {
        /// The server type of the handle ([`Server<S>`](super::Server)'s `S`).
        expected: &'static str,
        /// The type of the server that received the call.
        actual: &'static str,
    },
    /// A call to another node: the request has no term form, or the reply
    /// does not read as the handle's `Reply` (with the explanation).
    BadTerm(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NoProc => f.write_str("noproc: no server at this address"),
            CallError::Timeout => f.write_str("timeout: the server did not reply in time"),
            CallError::Exited(r) => write!(f, "the server exited: {r:?}"),
            CallError::CallingSelf => f.write_str("calling_self: a server cannot call itself"),
            CallError::WrongServer { expected, actual } => {
                write!(f, "wrong_server: the call was for a {expected}, the process is a {actual}")
            }
            CallError::BadTerm(why) => write!(f, "bad_term: {why}"),
        }
    }
}

impl std::error::Error for CallError {}

pub(crate) fn call<S: GenServer>(
    dest: &Dest,
    request: S::Call,
    timeout: Option<Duration>,
) -> Result<S::Reply, CallError> {
    let cur = current();
    if let Dest::Remote(name, node) = &*dest.local() {
        return call_remote::<S>(&cur, name, node, request, timeout);
    }
    let pid = dest.whereis().ok_or(CallError::NoProc)?;
    if pid == cur.pid() {
        return Err(CallError::CallingSelf);
    }
    cur.charge(1);
    let server_name = std::any::type_name::<S>();
    let request = Box::new(request);
    let from = cur.pid();
    let call = |tag| CallMsg { server: S::protocol(), from, tag, request, reply: TypeId::of::<S::Reply>() };
    // The reply and the monitor's `Down` can only be newer than `mark`: the
    // receives below skip whatever the caller's mailbox already holds.
    let (tag, mark) = if pid.node == cur.sched().node {
        let tag = Ref::new();
        (tag, monitor_with_request(&cur, pid, tag, Box::new(call(tag))))
    } else {
        // A remote pid: the runtime's monitor and send reach its node.
        let mark = marker(&cur);
        let tag = monitor(pid);
        crate::mailbox::send(pid, call(tag));
        (tag, mark)
    };
    let got = receive_after(
        mark,
        |m| {
            if let Some(r) = m.downcast_ref::<ReplyMsg<S::Reply>>() {
                (r.tag == tag).then_some(Answer::Reply)
            } else if let Some(d) = m.downcast_ref::<Down>() {
                (d.monitor == tag).then_some(Answer::Down)
            } else if let Some(w) = m.downcast_ref::<WrongServer>() {
                (w.tag == tag).then_some(Answer::WrongServer)
            } else {
                None
            }
        },
        timeout,
    );
    match got {
        Some((Answer::Reply, msg)) => {
            // The reply took the caller's side of the monitor with it.
            remove_target_side(&cur, pid, tag);
            Ok(msg.downcast::<ReplyMsg<S::Reply>>().expect("matched").value)
        }
        Some((Answer::WrongServer, msg)) => {
            remove_target_side(&cur, pid, tag);
            let actual = msg.downcast::<WrongServer>().expect("matched").actual;
            Err(CallError::WrongServer { expected: server_name, actual })
        }
        Some((Answer::Down, msg)) => Err(server_down(msg)),
        None => {
            // A reply delivered meanwhile took the caller's side: the server's
            // side is then removed here.
            if !demonitor_flush(tag) {
                remove_target_side(&cur, pid, tag);
            }
            // A reply delivered before the monitor went away may be waiting.
            match receive_after(
                mark,
                |m| m.downcast_ref::<ReplyMsg<S::Reply>>().is_some_and(|r| r.tag == tag).then_some(()),
                Some(Duration::ZERO),
            ) {
                Some((_, msg)) => Ok(msg.downcast::<ReplyMsg<S::Reply>>().expect("matched").value),
                None => Err(CallError::Timeout),
            }
        }
    }
}

/// What a call returns when the server's `Down` came first (`msg`, matched
/// as a `Down` of the call's monitor).
fn server_down(msg: crate::process::Message) -> CallError {
    match msg.downcast::<Down>().expect("matched").reason {
        Reason::NoProc => CallError::NoProc,
        reason => CallError::Exited(reason),
    }
}

/// A call to `{name, node}` on another node: the same protocol (a monitor,
/// its reference as the tag, the reply or the `Down`, whichever comes
/// first), carried by the runtime's distribution, which encodes the request
/// and decodes the reply (see [`crate::node::RemoteCall`]).
fn call_remote<S: GenServer>(
    cur: &crate::process::current::Current,
    name: &crate::name::Name,
    node: &crate::name::Name,
    request: S::Call,
    timeout: Option<Duration>,
) -> Result<S::Reply, CallError> {
    use crate::node::{RemoteCall, RemoteReply};
    let Some(dist) = crate::node::distribution(cur.sched().node) else {
        return Err(CallError::Exited(crate::node::noconnection()));
    };
    let mark = marker(cur);
    let me = cur.pid();
    let tag = dist.monitor_name(me, name, node.as_str());
    let call = RemoteCall { from: me, tag, request: Box::new(request), reply: TypeId::of::<S::Reply>() };
    dist.send_named(me, name, node.as_str(), Box::new(call));
    let got = receive_after(
        mark,
        |m| {
            if let Some(r) = m.downcast_ref::<RemoteReply>() {
                (r.tag == tag).then_some(Answer::Reply)
            } else if let Some(d) = m.downcast_ref::<Down>() {
                (d.monitor == tag).then_some(Answer::Down)
            } else {
                None
            }
        },
        timeout,
    );
    let reply = |msg: crate::process::Message| {
        let value = msg.downcast::<RemoteReply>().expect("matched").value.map_err(CallError::BadTerm)?;
        value
            .downcast::<S::Reply>()
            .map(|v| *v)
            .map_err(|_| CallError::BadTerm(format!("the reply is not a {}", std::any::type_name::<S::Reply>())))
    };
    match got {
        Some((Answer::Reply | Answer::WrongServer, msg)) => {
            demonitor_flush(tag);
            reply(msg)
        }
        Some((Answer::Down, msg)) => Err(server_down(msg)),
        None => {
            demonitor_flush(tag);
            match receive_after(
                mark,
                |m| m.downcast_ref::<RemoteReply>().is_some_and(|r| r.tag == tag).then_some(()),
                Some(Duration::ZERO),
            ) {
                Some((_, msg)) => reply(msg),
                None => Err(CallError::Timeout),
            }
        }
    }
}

pub(crate) fn cast<C: Send + 'static>(dest: &Dest, request: C) {
    if let Dest::Remote(name, node) = &*dest.local() {
        // `{'$gen_cast', Request}` from the distribution; nowhere to go
        // outside a process (no node to send from).
        if let Some(cur) = try_current() {
            let cast = crate::node::RemoteCast { request: Box::new(request) };
            crate::node::send_named_remote(&cur, name, node, Box::new(cast));
        }
        return;
    }
    if let Some(pid) = dest.whereis() {
        crate::mailbox::send(pid, CastMsg(request));
    }
}

/// Replies to a call from any process (or thread): the `from` handle of
/// `handle_call`. Replying to a caller that is gone or has timed out does
/// nothing.
///
/// ```
/// use ember_runtime::gen_server::{reply, start_link, CallResult, GenServer, Init, ReplyTo, StartOptions};
///
/// /// Replies from another process, later.
/// struct Deferred;
/// impl GenServer for Deferred {
///     type Arg = (); type Call = u32; type Reply = u32; type Cast = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::Ok(Deferred) }
///     fn handle_call(&mut self, n: u32, from: ReplyTo<u32>) -> CallResult<Self> {
///         ember_runtime::spawn(move || reply(from, n * 2));
///         CallResult::NoReply
///     }
/// }
///
/// ember_runtime::run(|| {
///     let s = start_link::<Deferred>((), StartOptions::new()).unwrap();
///     assert_eq!(s.call(21).unwrap(), 42);
/// })
/// .unwrap();
/// ```
pub fn reply<R: Send + 'static>(to: ReplyTo<R>, value: R) {
    deliver_reply(to, Box::new(ReplyMsg { tag: to.tag, value }));
}

/// Delivers an answer to a caller, if it still waits for it.
fn deliver_reply<R>(to: ReplyTo<R>, msg: Box<dyn Any + Send>) {
    match try_current() {
        Some(cur) if cur.sched().node == to.pid.node => {
            cur.charge(1);
            cur.sched().deliver_reply(to.pid, to.tag, msg, true);
        }
        _ => {
            if let Some(sched) = Scheduler::of_node(to.pid.node) {
                sched.deliver_reply(to.pid, to.tag, msg, true);
            }
        }
    }
}

pub(crate) fn stop(dest: &Dest, reason: Reason, timeout: Option<Duration>) -> Result<(), CallError> {
    let cur = current();
    let pid = dest.whereis().ok_or(CallError::NoProc)?;
    if pid == cur.pid() {
        return Err(CallError::CallingSelf);
    }
    let mark = marker(&cur);
    let m = monitor(pid);
    crate::mailbox::send(pid, SysMsg::Stop(reason.clone()));
    let got =
        receive_after(mark, |msg| msg.downcast_ref::<Down>().is_some_and(|d| d.monitor == m).then_some(()), timeout);
    match got {
        Some((_, msg)) => {
            let down = msg.downcast::<Down>().expect("matched");
            if down.reason == reason {
                Ok(())
            } else if down.reason == Reason::NoProc {
                Err(CallError::NoProc)
            } else {
                Err(CallError::Exited(down.reason))
            }
        }
        None => {
            demonitor_flush(m);
            Err(CallError::Timeout)
        }
    }
}
