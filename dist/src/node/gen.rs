//! `gen_server` calls between nodes: the `{'$gen_call', {From, Tag},
//! Request}` shape OTP sends, and the `{Tag, Reply}` answer.

use super::Inner;
use crate::control::Control;
use crate::serde_term::{from_term, to_term};
use crate::term::{Pid as DistPid, Term};
use ember_runtime::gen_server::{GenServer, Init, Server};
use ember_runtime::node::RemoteCall;
use ember_runtime::Pid;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::{Arc, Weak};

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
                conn.push_message(Control::AliasSend { from: sender, alias: alias.clone(), message });
            }
        }
        _ => conn.push_message(Control::Send { from: Some(sender), to: from.clone(), message }),
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

/// The handle type for `gen_server` calls whose request and reply are
/// [`Term`]s: `Server::<TermServer>::new((name, node))` calls (and casts to) any
/// `gen_server` of another node (an Erlang one, or an Ember GenServer
/// [exposed](super::Node::expose) there) by OTP's protocol. It is never
/// started; typed handles work too, once their types are registered
/// ([`super::register_call_types`]).
///
/// ```no_run
/// use ember_dist::node::{Node, TermServer};
/// use ember_dist::{Cookie, Term};
/// use ember_runtime::Server;
/// ember_runtime::run(|| {
///     let node = Node::start("ember@localhost", Cookie::new("secret")).unwrap();
///     let cnt = Server::<TermServer>::new(("cnt", "erl@localhost"));
///     let reply = cnt.call(Term::tuple(vec![Term::atom("add"), Term::Int(5)]));
///     println!("{reply:?}");
///     node.stop();
/// })
/// .unwrap();
/// ```
pub enum TermServer {}

impl GenServer for TermServer {
    type Arg = ();
    type Call = Term;
    type Reply = Term;
    type Cast = Term;
    type Continue = ();
    /// A handle type only: starting it is refused.
    fn init(_: ()) -> Init<Self> {
        Init::Ignore
    }
}

/// The `{'$gen_call', {From, [alias | Tag]}, Request}` term of a call to
/// another node: OTP 24's form, whose answer comes back by `ALIAS_SEND`
/// to the tag (see `Conn::expect_reply`).
pub(super) fn gen_call_term(node: &Inner, call: &RemoteCall) -> Result<Term, String> {
    let request = super::wire::encode(&*call.request)?;
    let alias = Term::ImproperList(vec![Term::atom("alias")], Box::new(Term::Ref(node.own_ref(call.tag))));
    let from = Term::tuple(vec![Term::Pid(node.own_pid(call.from)), alias]);
    Ok(Term::tuple(vec![Term::atom("$gen_call"), from, request]))
}
