//! What travels on an observer connection: one JSON [`Request`] per line,
//! one JSON [`Reply`] per line.

use crate::pid::Pid;
use crate::snapshot::Snapshot;

/// The protocol's version, in [`Reply::Hello`].
pub const PROTOCOL_VERSION: u32 = 1;

/// A client's request, tagged by `op`: `{"op":"hello"}`,
/// `{"op":"snapshot"}`, `{"op":"kill","pid":"<0.42.0>"}`.
///
/// ```
/// use ember_runtime::observer::Request;
/// let r: Request = serde_json::from_str(r#"{"op":"snapshot"}"#).unwrap();
/// assert_eq!(r, Request::Snapshot);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Who is there: answered with [`Reply::Hello`].
    Hello,
    /// Everything: answered with [`Reply::Snapshot`].
    Snapshot,
    /// Kill a process of the node (untrappably, `Reason::Kill`): answered
    /// with [`Reply::Killed`], or an error if the observer is read-only.
    Kill {
        /// The process.
        pid: Pid,
    },
}

/// The node's answer, tagged by its one key: `{"hello":{...}}`,
/// `{"snapshot":{...}}`, `{"killed":{...}}` or `{"error":"..."}`.
///
/// ```
/// use ember_runtime::observer::Reply;
/// let r: Reply = serde_json::from_str(r#"{"error":"read-only"}"#).unwrap();
/// assert!(matches!(r, Reply::Error(e) if e == "read-only"));
/// ```
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum Reply {
    /// The observer's identity.
    Hello {
        /// [`PROTOCOL_VERSION`].
        version: u32,
        /// The node's number.
        node: u32,
        /// Whether this observer accepts kills.
        write: bool,
    },
    /// A snapshot of the node.
    Snapshot(Snapshot),
    /// The kill signal was sent.
    Killed {
        /// The process.
        pid: Pid,
        /// Whether it was alive when the signal was sent.
        was_alive: bool,
    },
    /// The request was refused or not understood.
    Error(String),
}
