//! The observer: a node opts in to being looked at from outside with
//! [`serve`], and tools such as `ember-top` (crate `ember-observer`) attach
//! to it over a Unix socket (the default) or loopback TCP.
//!
//! `serve` is behind the `observer` feature (`ember = { features =
//! ["observer"] }`): its JSON codec, serde_json, implements `PartialEq`
//! between the integer types and its `Value`, which makes an ordinary
//! `assert_eq!(x, v.iter().sum())` ambiguous in a crate that links it.
//! [`metrics`] is behind the `metrics` feature.
//!
//! ```
//! use ember_runtime::observer::{self, Access, Reply, Request};
//! use std::io::{BufRead, BufReader, Write};
//!
//! ember_runtime::run(|| {
//!     let path = std::env::temp_dir().join(format!("ember-doc-observer-{}.sock", std::process::id()));
//!     let server = observer::serve_with(&format!("unix:{}", path.display()), Access::ReadOnly).unwrap();
//!     // A client, here in the same node: one JSON request per line, one
//!     // JSON reply per line.
//!     let mut conn = ember_runtime::net::UnixStream::connect(&path).unwrap();
//!     conn.write_all(b"{\"op\":\"snapshot\"}\n").unwrap();
//!     let mut line = String::new();
//!     BufReader::new(&conn).read_line(&mut line).unwrap();
//!     match serde_json::from_str::<Reply>(&line).unwrap() {
//!         Reply::Snapshot(snap) => assert!(snap.processes.iter().any(|p| p.pid == server.pid())),
//!         other => panic!("{other:?}"),
//!     }
//!     server.stop();
//! })
//! .unwrap();
//! ```
//!
//! # Protocol
//!
//! Newline-delimited JSON: each line the client writes is one [`Request`],
//! answered by one line holding a [`Reply`]. A line that is not a request
//! (bad JSON, an unknown `op`, a pid that does not parse, more than
//! [`MAX_REQUEST`] bytes) gets a `{"error": "..."}` reply; the connection
//! then goes on, except after an over-long line, which closes it.
//!
//! # Never stalling the node
//!
//! The observer is ordinary processes: an acceptor and one process per
//! connection (at most [`MAX_CONNECTIONS`]), labelled `observer acceptor` and `observer connection`. A
//! snapshot walks the process table one slot lock at a time and yields
//! every slice (see [`crate::snapshot`]); writing a large reply to a slow
//! client parks only its connection's process. A kill is refused unless the
//! observer was started with [`Access::ReadWrite`].

#[cfg(feature = "observer")]
mod addr;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "observer")]
mod protocol;
#[cfg(feature = "observer")]
mod serve;

#[cfg(feature = "observer")]
pub use addr::{ObserverAddr, ParseAddrError};
#[cfg(feature = "observer")]
pub use protocol::{Reply, Request, PROTOCOL_VERSION};
#[cfg(feature = "observer")]
pub use serve::{serve, serve_with, Access, Observer, MAX_CONNECTIONS, MAX_REQUEST};
