//! `gen_server` calls between nodes: the `{'$gen_call', {From, Tag},
//! Request}` shape OTP sends, and the `{Tag, Reply}` answer.

use super::Inner;
use crate::control::Control;
use crate::serde_term::{from_term, to_term};
use crate::term::{Atom, Pid as DistPid, Term};
use ember_runtime::gen_server::{CallError, GenServer, Server};
use ember_runtime::{Down, Pid, Reason, Select};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The parts of a `{'$gen_call', {From, Tag}, Request}` term.
pub(crate) fn gen_call_parts(msg: &Term) -> Option<(&DistPid, &Term, &Term)> {
    let [op, from, request] = msg.as_tuple()? else { return None };
    if op.as_atom() != Some("$gen_call") {
        return None;
    }
    let [Term::Pid(from), tag] = from.as_tuple()? else { return None };
    Some((from, tag, request))
}

/// Answers a `gen_server:call` from another node: `{Tag, Reply}` to the
/// caller, by alias when the tag is `[alias | Ref]` (OTP 24+).
pub(crate) fn gen_reply(node: &Arc<Inner>, from: &DistPid, tag: &Term, reply: Term) {
    let message = Term::tuple(vec![tag.clone(), reply]);
    let Some(conn) = node.conn(&from.node) else { return };
    let sender = node.sender();
    match tag {
        Term::ImproperList(head, alias) if matches!(&head[..], [a] if a.as_atom() == Some("alias")) => {
            if let Term::Ref(alias) = &**alias {
                conn.push(Control::AliasSend { from: sender, alias: alias.clone(), message });
            }
        }
        _ => conn.push(Control::Send { from: Some(sender), to: from.clone(), message }),
    }
}

/// An adapter: receives the `'$gen_call'` terms for `name`, and runs each
/// in a process of its own that decodes the request into the server's
/// `Call`, calls it, and sends the encoded reply back.
pub(super) fn spawn_adapter<G>(node: Weak<Inner>, name: String) -> Pid
where
    G: GenServer,
    G::Call: DeserializeOwned,
    G::Reply: Serialize,
{
    ember_runtime::spawn(move || loop {
        let msg: Term = ember_runtime::receive();
        let Some(node) = node.upgrade().filter(|n| !n.is_stopped()) else { return };
        if node.exposed.read().get(&name) != Some(&ember_runtime::self_pid()) {
            return; // exposed again, by a newer adapter
        }
        let name = name.clone();
        ember_runtime::spawn(move || {
            let Some((from, tag, request)) = gen_call_parts(&msg) else { return };
            let reply = match from_term::<G::Call>(request.clone()) {
                Ok(call) => {
                    let Some(server) = ember_runtime::node::whereis_on(node.runtime, name.as_str()) else { return };
                    // A server that exits before replying: the caller's
                    // monitor on it says so, nothing to send.
                    let Ok(reply) = Server::<G>::new(server).call_timeout(call, None) else { return };
                    match to_term(&reply) {
                        Ok(t) => t,
                        Err(e) => Term::tuple(vec![Term::atom("error"), Term::binary(e.to_string().as_bytes())]),
                    }
                }
                Err(_) => {
                    Term::tuple(vec![Term::atom("error"), Term::tuple(vec![Term::atom("bad_call"), request.clone()])])
                }
            };
            gen_reply(&node, from, tag, reply);
        });
    })
}

/// `gen_server:call({name, node}, request, timeout)` from the calling
/// process to a server on another node: the same monitor, tag and
/// `'$gen_call'` shape OTP uses, so any `gen_server` (or `GenServer` exposed
/// with [`super::Node::expose`]) answers.
pub(super) fn call(
    node: &Arc<Inner>,
    name: &str,
    peer: &str,
    request: Term,
    timeout: Duration,
) -> Result<Term, CallError> {
    let conn = node.connect(peer).map_err(|_| CallError::Exited(ember_runtime::node::noconnection()))?;
    let me = ember_runtime::self_pid();
    let monitor = conn.monitor_name(node, &Atom::new(name));
    let tag = Term::Ref(node.own_ref(monitor));
    let from = Term::tuple(vec![Term::Pid(node.own_pid(me)), tag.clone()]);
    conn.push(Control::RegSend {
        from: node.own_pid(me),
        to: Atom::new(name),
        message: Term::tuple(vec![Term::atom("$gen_call"), from, request]),
    });
    let is_reply = |t: &Term| matches!(t.as_tuple(), Some([t0, _]) if *t0 == tag);
    let result = Select::new()
        .on_if(is_reply, |t: Term| Ok(t.as_tuple().map(|t| t[1].clone()).unwrap_or(Term::nil())))
        .on_if(
            |d: &Down| d.monitor == monitor,
            |d: Down| {
                Err(if d.reason == Reason::NoProc || d.reason.downcast_ref::<Term>() == Some(&Term::atom("noproc")) {
                    CallError::NoProc
                } else {
                    CallError::Exited(d.reason)
                })
            },
        )
        .after(timeout, || Err(CallError::Timeout))
        .wait();
    if result.is_ok() || matches!(result, Err(CallError::Timeout)) {
        ember_runtime::demonitor_flush(monitor);
    }
    result
}
