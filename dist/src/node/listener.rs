//! The listener: accepts connections on the node's loopback port and runs
//! the acceptor's handshake on each, in a thread of its own, so a slow or
//! hostile peer holds up nobody else.

use super::{Inner, NodeError};
use crate::handshake::{self, Status};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The bound on one handshake's reads and writes.
const HANDSHAKE_BOUND: Duration = Duration::from_secs(10);

pub(super) fn start(node: Arc<Inner>, listener: TcpListener) -> Result<(), NodeError> {
    std::thread::Builder::new()
        .name(format!("ember-dist-listen {}", node.name))
        .spawn(move || {
            for stream in listener.incoming() {
                if node.stopped.load(Ordering::Acquire) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let node = node.clone();
                let _ =
                    std::thread::Builder::new().name("ember-dist-accept".into()).spawn(move || accept(&node, stream));
            }
        })
        .map(|_| ())
        .map_err(NodeError::Listen)
}

fn accept(node: &Arc<Inner>, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(HANDSHAKE_BOUND));
    let _ = stream.set_write_timeout(Some(HANDSHAKE_BOUND));
    let pending = match handshake::accept(&mut stream, &node.config) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = %e, "distribution: incoming handshake failed");
            return;
        }
    };
    let peer = crate::term::Atom::new(pending.peer_name());
    if node.conn(&peer).is_some() {
        // Connected already: the peer is told no (a simultaneous connect;
        // the connection that exists carries on).
        let _ = pending.refuse(Status::Nok);
        return;
    }
    match pending.respond(Status::Ok) {
        Ok(session) => {
            if super::peer::Conn::start(node, stream, session).is_none() {
                tracing::info!(%peer, "distribution: connection refused (stopping, or connected meanwhile)");
            }
        }
        Err(e) => tracing::info!(%peer, error = %e, "distribution: incoming handshake failed"),
    }
}
