//! A minimal `net_kernel`: the registered process `net_adm:ping/1` asks
//! `{is_auth, Node}`; being connected means being authenticated, so the
//! answer is `yes` (and `ping` returns `pong`). Its exit (the runtime
//! shutting down) stops the node.

use super::gen::{gen_call_parts, gen_reply};
use super::Inner;
use crate::term::Term;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long a new net_kernel waits for a stopped node's to give the name up.
const OLD_BOUND: Duration = Duration::from_secs(5);

/// Stops the node when the net_kernel process ends, however it ends.
struct StopOnExit(Weak<Inner>);

impl Drop for StopOnExit {
    fn drop(&mut self) {
        if let Some(node) = self.0.upgrade() {
            node.stop();
        }
    }
}

pub(super) fn start(node: &Arc<Inner>) {
    let weak = Arc::downgrade(node);
    let pid = ember_runtime::spawn(move || {
        let _stop = StopOnExit(weak.clone());
        loop {
            let msg: Term = ember_runtime::receive();
            let Some(node) = weak.upgrade().filter(|n| !n.is_stopped()) else { return };
            if let Some((from, tag, request)) = gen_call_parts(&msg) {
                let reply = match request.as_tuple() {
                    Some([op, _]) if op.as_atom() == Some("is_auth") => Term::atom("yes"),
                    _ => Term::tuple(vec![Term::atom("error"), Term::atom("not_supported")]),
                };
                gen_reply(&node, from, tag, reply);
            }
        }
    });
    if ember_runtime::register("net_kernel", pid).is_err() {
        // The net_kernel of a node stopped in this runtime a moment ago may
        // still hold the name: wait (bounded) for it to end.
        if let Some(old) = ember_runtime::whereis("net_kernel") {
            let m = ember_runtime::monitor(old);
            let down = ember_runtime::receive_if_timeout::<ember_runtime::Down>(|d| d.monitor == m, OLD_BOUND);
            if down.is_none() {
                ember_runtime::demonitor_flush(m);
            }
        }
        if ember_runtime::register("net_kernel", pid).is_err() {
            tracing::warn!("distribution: the name net_kernel is taken; net_adm:ping will not answer");
        }
    }
    node.helpers.lock().push(pid);
}
