//! Control messages: the signals one node sends another once connected.
//!
//! On the wire a control message is a tuple whose first element is its
//! operation number, optionally followed by a second term, the payload (the
//! message of a send, the reason of a `PAYLOAD_*` exit). [`Control`] is one
//! value per *meaning*: a send is one variant whether it came as `SEND` or
//! `SEND_SENDER`, an exit one whether it came as `EXIT`, `EXIT_TT` or
//! `PAYLOAD_EXIT`. [`Control::to_wire`] picks the form the connection's flags
//! allow; sequential-trace tokens of the `_TT` forms are dropped on receipt
//! (this crate does not run `seq_trace`).

use crate::flags::DistFlags;
use crate::term::{Atom, Pid, Reference, Term};
use std::fmt;

/// A process to monitor: by pid, or by registered name on the peer node.
///
/// ```
/// use ember_dist::{control::ProcessRef, Atom};
/// let by_name = ProcessRef::Name(Atom::new("counter"));
/// assert!(matches!(by_name, ProcessRef::Name(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessRef {
    /// A process identifier.
    Pid(Pid),
    /// A registered name on the node that holds the process.
    Name(Atom),
}

impl ProcessRef {
    fn to_term(&self) -> Term {
        match self {
            ProcessRef::Pid(p) => Term::Pid(p.clone()),
            ProcessRef::Name(a) => Term::Atom(a.clone()),
        }
    }
}

/// One control message, with its payload.
///
/// ```
/// use ember_dist::{control::Control, Atom, DistFlags, Pid, Term};
/// let p = |id| Pid { node: Atom::new("a@h"), id, serial: 0, creation: 1 };
/// let exit = Control::Exit { from: p(1), to: p(2), reason: Term::atom("normal") };
/// let (tuple, payload) = exit.to_wire(DistFlags::DEFAULT);
/// assert_eq!(Control::from_wire(tuple, payload).unwrap(), exit);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    /// `from` links to `to` (LINK, 1).
    Link {
        /// The process that links.
        from: Pid,
        /// The process linked to.
        to: Pid,
    },
    /// A message to a pid (SEND 2 / SEND_SENDER 22). `from` is `None` when the
    /// peer used the old SEND form, which does not name the sender.
    Send {
        /// The sender, if known.
        from: Option<Pid>,
        /// The receiver.
        to: Pid,
        /// The message.
        message: Term,
    },
    /// A message to a registered name (REG_SEND, 6).
    RegSend {
        /// The sender.
        from: Pid,
        /// The name on the receiving node.
        to: Atom,
        /// The message.
        message: Term,
    },
    /// A message to a process alias (ALIAS_SEND, 33): how `gen_server:call`
    /// replies travel since OTP 24.
    AliasSend {
        /// The sender.
        from: Pid,
        /// The alias.
        alias: Reference,
        /// The message.
        message: Term,
    },
    /// A link broke (EXIT 3 / PAYLOAD_EXIT 24).
    Exit {
        /// The process that exited.
        from: Pid,
        /// The linked process.
        to: Pid,
        /// The exit reason.
        reason: Term,
    },
    /// `exit(To, Reason)` called by `from` (EXIT2 8 / PAYLOAD_EXIT2 26).
    Exit2 {
        /// The process that called `exit/2`.
        from: Pid,
        /// The target.
        to: Pid,
        /// The reason.
        reason: Term,
    },
    /// `from` removes its link to `to` (UNLINK_ID, 35).
    UnlinkId {
        /// Identifies this unlink among those not yet acknowledged (≥ 1).
        id: u64,
        /// The process that unlinks.
        from: Pid,
        /// The process unlinked from.
        to: Pid,
    },
    /// The acknowledgement of an [`Control::UnlinkId`] (UNLINK_ID_ACK, 36).
    UnlinkIdAck {
        /// The id of the unlink acknowledged.
        id: u64,
        /// The process that received the unlink.
        from: Pid,
        /// The process that sent it.
        to: Pid,
    },
    /// `from` monitors `to` (MONITOR_P, 19).
    MonitorP {
        /// The monitoring process.
        from: Pid,
        /// The monitored process, by pid or name.
        to: ProcessRef,
        /// The monitor reference.
        reference: Reference,
    },
    /// `from` removes its monitor (DEMONITOR_P, 20).
    DemonitorP {
        /// The monitoring process.
        from: Pid,
        /// The monitored process.
        to: ProcessRef,
        /// The monitor reference.
        reference: Reference,
    },
    /// A monitored process exited (MONITOR_P_EXIT 21 / PAYLOAD_MONITOR_P_EXIT 28).
    MonitorPExit {
        /// The monitored process, as it was monitored.
        from: ProcessRef,
        /// The monitoring process.
        to: Pid,
        /// The monitor reference.
        reference: Reference,
        /// The exit reason.
        reason: Term,
    },
    /// A control message this crate does not interpret (GROUP_LEADER,
    /// SPAWN_REQUEST, ...), kept whole.
    Other {
        /// The control tuple.
        control: Term,
        /// The payload, if one followed.
        payload: Option<Term>,
    },
}

/// A control tuple that does not have the shape its operation requires.
///
/// ```
/// use ember_dist::{control::Control, Term};
/// assert!(Control::from_wire(Term::tuple(vec![Term::Int(1)]), None).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadControl(pub String);

impl fmt::Display for BadControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad control message: {}", self.0)
    }
}

impl std::error::Error for BadControl {}

const LINK: i64 = 1;
const SEND: i64 = 2;
const EXIT: i64 = 3;
const REG_SEND: i64 = 6;
const EXIT2: i64 = 8;
const SEND_TT: i64 = 12;
const EXIT_TT: i64 = 13;
const REG_SEND_TT: i64 = 16;
const EXIT2_TT: i64 = 18;
const MONITOR_P: i64 = 19;
const DEMONITOR_P: i64 = 20;
const MONITOR_P_EXIT: i64 = 21;
const SEND_SENDER: i64 = 22;
const SEND_SENDER_TT: i64 = 23;
const PAYLOAD_EXIT: i64 = 24;
const PAYLOAD_EXIT_TT: i64 = 25;
const PAYLOAD_EXIT2: i64 = 26;
const PAYLOAD_EXIT2_TT: i64 = 27;
const PAYLOAD_MONITOR_P_EXIT: i64 = 28;
const ALIAS_SEND: i64 = 33;
const ALIAS_SEND_TT: i64 = 34;
const UNLINK_ID: i64 = 35;
const UNLINK_ID_ACK: i64 = 36;

/// The operations that carry a payload term after the control tuple.
pub(crate) fn has_payload(op: i64) -> bool {
    matches!(
        op,
        SEND | REG_SEND
            | SEND_TT
            | REG_SEND_TT
            | SEND_SENDER
            | SEND_SENDER_TT
            | PAYLOAD_EXIT
            | PAYLOAD_EXIT_TT
            | PAYLOAD_EXIT2
            | PAYLOAD_EXIT2_TT
            | PAYLOAD_MONITOR_P_EXIT
            | ALIAS_SEND
            | ALIAS_SEND_TT
            | 29 // SPAWN_REQUEST: the argument list
            | 30 // SPAWN_REQUEST_TT
    )
}

/// The operation number of a control tuple, if it has one.
pub(crate) fn operation(control: &Term) -> Option<i64> {
    control.as_tuple()?.first()?.as_i64()
}

fn pid(t: &Term, what: &str) -> Result<Pid, BadControl> {
    match t {
        Term::Pid(p) => Ok(p.clone()),
        other => Err(BadControl(format!("{what} is {other}, not a pid"))),
    }
}

fn reference(t: &Term) -> Result<Reference, BadControl> {
    match t {
        Term::Ref(r) => Ok(r.clone()),
        other => Err(BadControl(format!("{other} is not a reference"))),
    }
}

fn process(t: &Term) -> Result<ProcessRef, BadControl> {
    match t {
        Term::Pid(p) => Ok(ProcessRef::Pid(p.clone())),
        Term::Atom(a) => Ok(ProcessRef::Name(a.clone())),
        other => Err(BadControl(format!("{other} is neither a pid nor a name"))),
    }
}

fn unlink_id(t: &Term) -> Result<u64, BadControl> {
    let id = match t {
        Term::Int(i) => u64::try_from(*i).ok(),
        Term::BigInt(b) => u64::try_from(b).ok(),
        _ => None,
    };
    id.filter(|&i| i >= 1).ok_or_else(|| BadControl(format!("unlink id {t} is not in 1..2^64")))
}

fn id_term(id: u64) -> Term {
    Term::integer(id.into())
}

impl Control {
    /// Interprets a control tuple and its payload, as received.
    ///
    /// ```
    /// use ember_dist::{control::Control, Atom, Pid, Term};
    /// let p = |id| Pid { node: Atom::new("a@h"), id, serial: 0, creation: 1 };
    /// let tuple = Term::tuple(vec![Term::Int(1), Term::Pid(p(1)), Term::Pid(p(2))]);
    /// assert_eq!(Control::from_wire(tuple, None).unwrap(), Control::Link { from: p(1), to: p(2) });
    /// ```
    pub fn from_wire(control: Term, payload: Option<Term>) -> Result<Control, BadControl> {
        let Some(op) = operation(&control) else {
            return Err(BadControl(format!("{control} is not a control tuple")));
        };
        if has_payload(op) != payload.is_some() {
            return Err(BadControl(format!("operation {op} with a missing or unexpected payload")));
        }
        let e = control.as_tuple().unwrap_or(&[]);
        let need = |n: usize| -> Result<(), BadControl> {
            if e.len() == n {
                Ok(())
            } else {
                Err(BadControl(format!("operation {op} with {} elements, not {n}", e.len())))
            }
        };
        let msg = || payload.clone().unwrap_or_else(Term::nil);
        Ok(match op {
            LINK => {
                need(3)?;
                Control::Link { from: pid(&e[1], "sender")?, to: pid(&e[2], "receiver")? }
            }
            SEND | SEND_TT => {
                need(if op == SEND { 3 } else { 4 })?;
                Control::Send { from: None, to: pid(&e[2], "receiver")?, message: msg() }
            }
            SEND_SENDER | SEND_SENDER_TT => {
                need(if op == SEND_SENDER { 3 } else { 4 })?;
                Control::Send { from: Some(pid(&e[1], "sender")?), to: pid(&e[2], "receiver")?, message: msg() }
            }
            REG_SEND | REG_SEND_TT => {
                need(if op == REG_SEND { 4 } else { 5 })?;
                let Term::Atom(name) = &e[3] else {
                    return Err(BadControl(format!("registered name {} is not an atom", e[3])));
                };
                Control::RegSend { from: pid(&e[1], "sender")?, to: name.clone(), message: msg() }
            }
            ALIAS_SEND | ALIAS_SEND_TT => {
                need(if op == ALIAS_SEND { 3 } else { 4 })?;
                Control::AliasSend { from: pid(&e[1], "sender")?, alias: reference(&e[2])?, message: msg() }
            }
            EXIT | EXIT2 => {
                need(4)?;
                let (from, to, reason) = (pid(&e[1], "sender")?, pid(&e[2], "receiver")?, e[3].clone());
                if op == EXIT {
                    Control::Exit { from, to, reason }
                } else {
                    Control::Exit2 { from, to, reason }
                }
            }
            EXIT_TT | EXIT2_TT => {
                need(5)?;
                let (from, to, reason) = (pid(&e[1], "sender")?, pid(&e[2], "receiver")?, e[4].clone());
                if op == EXIT_TT {
                    Control::Exit { from, to, reason }
                } else {
                    Control::Exit2 { from, to, reason }
                }
            }
            PAYLOAD_EXIT | PAYLOAD_EXIT_TT | PAYLOAD_EXIT2 | PAYLOAD_EXIT2_TT => {
                need(if op % 2 == 0 { 3 } else { 4 })?;
                let (from, to, reason) = (pid(&e[1], "sender")?, pid(&e[2], "receiver")?, msg());
                if op <= PAYLOAD_EXIT_TT {
                    Control::Exit { from, to, reason }
                } else {
                    Control::Exit2 { from, to, reason }
                }
            }
            UNLINK_ID | UNLINK_ID_ACK => {
                need(4)?;
                let (id, from, to) = (unlink_id(&e[1])?, pid(&e[2], "sender")?, pid(&e[3], "receiver")?);
                if op == UNLINK_ID {
                    Control::UnlinkId { id, from, to }
                } else {
                    Control::UnlinkIdAck { id, from, to }
                }
            }
            MONITOR_P | DEMONITOR_P => {
                need(4)?;
                let (from, to, reference) = (pid(&e[1], "monitoring process")?, process(&e[2])?, reference(&e[3])?);
                if op == MONITOR_P {
                    Control::MonitorP { from, to, reference }
                } else {
                    Control::DemonitorP { from, to, reference }
                }
            }
            MONITOR_P_EXIT => {
                need(5)?;
                Control::MonitorPExit {
                    from: process(&e[1])?,
                    to: pid(&e[2], "monitoring process")?,
                    reference: reference(&e[3])?,
                    reason: e[4].clone(),
                }
            }
            PAYLOAD_MONITOR_P_EXIT => {
                need(4)?;
                Control::MonitorPExit {
                    from: process(&e[1])?,
                    to: pid(&e[2], "monitoring process")?,
                    reference: reference(&e[3])?,
                    reason: msg(),
                }
            }
            _ => Control::Other { control, payload },
        })
    }

    /// The control tuple and payload to send on a connection that uses
    /// `flags` (`SEND_SENDER` and the `PAYLOAD_*` exits when negotiated).
    ///
    /// ```
    /// use ember_dist::{control::Control, Atom, DistFlags, Pid, Term};
    /// let p = |id| Pid { node: Atom::new("a@h"), id, serial: 0, creation: 1 };
    /// let send = Control::Send { from: Some(p(1)), to: p(2), message: Term::atom("hi") };
    /// let (control, payload) = send.to_wire(DistFlags::DEFAULT);
    /// assert_eq!(control.as_tuple().unwrap()[0], Term::Int(22)); // SEND_SENDER
    /// assert_eq!(payload, Some(Term::atom("hi")));
    /// ```
    pub fn to_wire(&self, flags: DistFlags) -> (Term, Option<Term>) {
        let t = Term::Tuple;
        let p = |p: &Pid| Term::Pid(p.clone());
        let payload_exits = flags.contains(DistFlags::EXIT_PAYLOAD);
        match self {
            Control::Link { from, to } => (t(vec![Term::Int(LINK), p(from), p(to)]), None),
            Control::Send { from: Some(from), to, message } if flags.contains(DistFlags::SEND_SENDER) => {
                (t(vec![Term::Int(SEND_SENDER), p(from), p(to)]), Some(message.clone()))
            }
            Control::Send { to, message, .. } => {
                (t(vec![Term::Int(SEND), Term::atom(""), p(to)]), Some(message.clone()))
            }
            Control::RegSend { from, to, message } => {
                (t(vec![Term::Int(REG_SEND), p(from), Term::atom(""), Term::Atom(to.clone())]), Some(message.clone()))
            }
            Control::AliasSend { from, alias, message } => {
                (t(vec![Term::Int(ALIAS_SEND), p(from), Term::Ref(alias.clone())]), Some(message.clone()))
            }
            Control::Exit { from, to, reason } | Control::Exit2 { from, to, reason } => {
                let exit2 = matches!(self, Control::Exit2 { .. });
                if payload_exits {
                    let op = if exit2 { PAYLOAD_EXIT2 } else { PAYLOAD_EXIT };
                    (t(vec![Term::Int(op), p(from), p(to)]), Some(reason.clone()))
                } else {
                    let op = if exit2 { EXIT2 } else { EXIT };
                    (t(vec![Term::Int(op), p(from), p(to), reason.clone()]), None)
                }
            }
            Control::UnlinkId { id, from, to } => (t(vec![Term::Int(UNLINK_ID), id_term(*id), p(from), p(to)]), None),
            Control::UnlinkIdAck { id, from, to } => {
                (t(vec![Term::Int(UNLINK_ID_ACK), id_term(*id), p(from), p(to)]), None)
            }
            Control::MonitorP { from, to, reference } => {
                (t(vec![Term::Int(MONITOR_P), p(from), to.to_term(), Term::Ref(reference.clone())]), None)
            }
            Control::DemonitorP { from, to, reference } => {
                (t(vec![Term::Int(DEMONITOR_P), p(from), to.to_term(), Term::Ref(reference.clone())]), None)
            }
            Control::MonitorPExit { from, to, reference, reason } => {
                if payload_exits {
                    let c =
                        vec![Term::Int(PAYLOAD_MONITOR_P_EXIT), from.to_term(), p(to), Term::Ref(reference.clone())];
                    (t(c), Some(reason.clone()))
                } else {
                    let c = vec![
                        Term::Int(MONITOR_P_EXIT),
                        from.to_term(),
                        p(to),
                        Term::Ref(reference.clone()),
                        reason.clone(),
                    ];
                    (t(c), None)
                }
            }
            Control::Other { control, payload } => (control.clone(), payload.clone()),
        }
    }
}
