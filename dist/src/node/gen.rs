//! `gen_server` calls between nodes: the `{'$gen_call', {From, Tag},
//! Request}` shape OTP sends, and the `{Tag, Reply}` answer.

use super::Inner;
use crate::control::Control;
use crate::term::{Pid as DistPid, Term};
use std::sync::Arc;

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
