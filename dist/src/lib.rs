//! Erlang distribution for Ember, phase 1: the protocol layer.
//!
//! Everything an Ember node needs to speak to a BEAM node, over any byte
//! stream (`std::io::Read + Write`) and without Ember's scheduler:
//!
//! * [`Term`] and the external term format ([`etf`]), with a decoder that is
//!   safe on hostile input;
//! * [`to_term`] / [`from_term`]: serde between Rust types and terms, with the
//!   mapping documented in [`serde_term`];
//! * an EPMD client ([`epmd`]): register a node name, look a peer up;
//! * the version 6 handshake with cookie authentication ([`handshake`]), both
//!   as the side that connects and the side that accepts;
//! * framing, ticks, distribution headers with the atom cache, fragments and
//!   every control message of links, monitors, exits and sends
//!   ([`connection`], [`control`]).
//!
//! Phase 2, [`node`], puts this under Ember's processes: [`node::Node`]
//! starts a node, remote pids are ordinary `ember::Pid`s, and
//! `send`/`link`/`monitor`/`exit` reach them through their connection.
//! `docs/distribution.md` has the details and the mapping.
#![deny(missing_docs)]

pub mod connection;
pub mod control;
pub mod cookie;
pub mod epmd;
pub mod etf;
pub mod flags;
pub mod handshake;
pub mod node;
pub mod serde_term;
pub mod term;

pub use cookie::Cookie;
pub use flags::DistFlags;
pub use serde_term::{from_term, to_term};
pub use term::{Atom, BitString, Closure, Fun, Map, Pid, Port, Reference, Term};
