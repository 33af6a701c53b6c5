//! The call, cast, reply and stop protocols.
//!
//! A call monitors the server, sends it the request tagged with the monitor
//! reference, and waits for either the reply carrying that tag or the
//! monitor's `Down`. The reply is delivered only while the caller still holds
//! the monitor (see `Scheduler::deliver_reply`): once the call has returned —
//! replied, timed out or failed — the monitor is gone and a late reply is
//! dropped before it reaches the mailbox, which is what process aliases do
//! for `gen_server:call` in OTP 24+.

use super::ReplyTo;
use crate::mailbox::receive::{marker, receive_after};
use crate::name::Dest;
use crate::pid::Ref;
use crate::process::current::{current, try_current};
use crate::reason::Reason;
use crate::scheduler::Scheduler;
use crate::signal::{demonitor_flush, monitor, Down};
use std::fmt;
use std::time::Duration;

/// A call request on the wire.
pub(crate) struct CallMsg<C, R> {
    pub(crate) from: ReplyTo<R>,
    pub(crate) request: C,
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
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NoProc => f.write_str("noproc: no server at this address"),
            CallError::Timeout => f.write_str("timeout: the server did not reply in time"),
            CallError::Exited(r) => write!(f, "the server exited: {r:?}"),
            CallError::CallingSelf => f.write_str("calling_self: a server cannot call itself"),
        }
    }
}

impl std::error::Error for CallError {}

pub(crate) fn call<C: Send + 'static, R: Send + 'static>(
    dest: &Dest,
    request: C,
    timeout: Option<Duration>,
) -> Result<R, CallError> {
    let cur = current();
    let pid = dest.whereis().ok_or(CallError::NoProc)?;
    if pid == cur.pid() {
        return Err(CallError::CallingSelf);
    }
    // The reply and the monitor's `Down` can only be newer than this: the
    // receives below skip whatever the caller's mailbox already holds.
    let mark = marker(&cur);
    let tag = monitor(pid);
    crate::mailbox::send(pid, CallMsg { from: ReplyTo::<R>::new(cur.pid(), tag), request });
    let got = receive_after(
        mark,
        |m| {
            if let Some(r) = m.downcast_ref::<ReplyMsg<R>>() {
                (r.tag == tag).then_some(true)
            } else if let Some(d) = m.downcast_ref::<Down>() {
                (d.monitor == tag).then_some(false)
            } else {
                None
            }
        },
        timeout,
    );
    match got {
        Some((true, msg)) => {
            demonitor_flush(tag);
            Ok(msg.downcast::<ReplyMsg<R>>().expect("matched").value)
        }
        Some((false, msg)) => {
            let down = msg.downcast::<Down>().expect("matched");
            Err(match down.reason {
                Reason::NoProc => CallError::NoProc,
                reason => CallError::Exited(reason),
            })
        }
        None => {
            demonitor_flush(tag);
            // A reply delivered before the monitor went away may be waiting.
            match receive_after(
                mark,
                |m| m.downcast_ref::<ReplyMsg<R>>().is_some_and(|r| r.tag == tag).then_some(()),
                Some(Duration::ZERO),
            ) {
                Some((_, msg)) => Ok(msg.downcast::<ReplyMsg<R>>().expect("matched").value),
                None => Err(CallError::Timeout),
            }
        }
    }
}

pub(crate) fn cast<C: Send + 'static>(dest: &Dest, request: C) {
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
    let msg = Box::new(ReplyMsg { tag: to.tag, value });
    match try_current() {
        Some(cur) if cur.sched().node == to.pid.node => {
            cur.charge(1);
            cur.sched().deliver_reply(to.pid, to.tag, msg);
        }
        _ => {
            if let Some(sched) = Scheduler::of_node(to.pid.node) {
                sched.deliver_reply(to.pid, to.tag, msg);
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
