//! The server loop (SEMANTICS.md §3.2).
//!
//! The loop is an ordinary function that *returns* when the server
//! hibernates (handing the runtime a closure that resumes the loop on a fresh
//! stack when the next message arrives) or exits — no unwinding on either
//! path, so hibernating after every message stays cheap.

use super::call::{refuse_wrong_server, CallMsg, CastMsg, SysMsg};
use super::{reply, Action, CallResult, GenServer, Info, Next, ProcessName, ReplyTo, Timeout};
use crate::mailbox::receive::try_receive_idle;
use crate::pid::Pid;
use crate::process::current::current;
use crate::process::Finish;
use crate::reason::Reason;
use crate::signal::Exit;
use std::any::{Any, TypeId};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A running server: its state and start settings.
pub(crate) struct Loop<S> {
    state: S,
    parent: Pid,
    /// Boxed: most servers have no name, and a hibernated server's whole
    /// state is this struct on the heap (a thin pointer keeps it in a
    /// smaller allocation).
    name: Option<Box<ProcessName>>,
    hibernate_after: Option<Duration>,
}

impl<S: GenServer> Loop<S> {
    pub(crate) fn new(state: S, parent: Pid, name: Option<ProcessName>, hibernate_after: Option<Duration>) -> Self {
        Loop { state, parent, name: name.map(Box::new), hibernate_after }
    }
}

/// Runs a callback; a panic or `exit(reason)` inside it becomes `Err(reason)`.
/// A fatal exit signal keeps unwinding: the server dies without `terminate`.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Reason> {
    crate::process::api::catch_exit(f)
}

/// What to do after a callback: keep going (maybe with a `Next`), or exit
/// (terminate has already run).
type Step<C> = Result<Option<Next<C>>, Reason>;

/// The message a server was handling when it stopped, for its terminate
/// report: what kind, the type it was read as, and who called.
#[derive(Clone, Copy)]
struct LastMessage {
    kind: &'static str,
    type_name: &'static str,
    client: Option<Pid>,
}

impl LastMessage {
    fn of<T>(kind: &'static str) -> Self {
        LastMessage { kind, type_name: std::any::type_name::<T>(), client: None }
    }
}

/// The type name of a message served by `handle_info`, when it is one the
/// runtime knows (a message is a `dyn Any`, which keeps no name).
fn info_type_name(info: &Info) -> &'static str {
    fn name<T: Any>(info: &Info) -> Option<&'static str> {
        info.is::<T>().then(std::any::type_name::<T>)
    }
    name::<Exit>(info)
        .or_else(|| name::<crate::Down>(info))
        .or_else(|| name::<Timeout>(info))
        .or_else(|| name::<&'static str>(info))
        .or_else(|| name::<String>(info))
        .unwrap_or("<a message of another type>")
}

pub(crate) fn enter_loop<S: GenServer>(mut server: Loop<S>, mut next: Option<Next<S::Continue>>) -> Finish {
    loop {
        let waited = match next.take() {
            Some(Next::Continue(value)) => {
                next = match server.run_continue(value) {
                    Ok(n) => n,
                    Err(reason) => return Finish::Exit(reason),
                };
                continue;
            }
            Some(Next::Hibernate) => return hibernate(server),
            Some(Next::Timeout(d)) => receive_next(Some(d)).map(|m| m.unwrap_or_else(|| Box::new(Timeout))),
            None => match server.hibernate_after {
                Some(idle) => match receive_next(Some(idle)) {
                    Ok(None) => return hibernate(server),
                    other => other.map(|m| m.expect("a message")),
                },
                None => receive_next(None).map(|m| m.expect("no timeout")),
            },
        };
        let message = match waited {
            Ok(m) => m,
            // An exit signal killed the server while it waited: return to the
            // process's entry, dropping the state on the way — no unwinding,
            // and no `terminate` (the server runs no code once killed).
            Err(reason) => {
                current().return_to_exit();
                return Finish::Exit(reason);
            }
        };
        next = match server.dispatch(message) {
            Ok(n) => n,
            Err(reason) => return Finish::Exit(reason),
        };
    }
}

/// The next message, `None` on timeout, `Err` when an exit signal kills the
/// server meanwhile.
fn receive_next(timeout: Option<Duration>) -> Result<Option<Box<dyn Any + Send>>, Reason> {
    // The loop's own frames and the server's (`Send`) state are all that is
    // on the stack here: a safe point, the server floats while it waits.
    try_receive_idle(|_| Some(()), timeout).map(|found| found.map(|(_, m)| m)).map_err(|(reason, _)| reason)
}

fn hibernate<S: GenServer>(server: Loop<S>) -> Finish {
    Finish::Hibernate(crate::process::Entry::new(move || enter_loop(server, None)))
}

impl<S: GenServer> Loop<S> {
    fn dispatch(&mut self, message: Box<dyn Any + Send>) -> Step<S::Continue> {
        // Published for introspection; only this process writes it.
        let cur = current();
        let handled = &cur.slot().messages_handled;
        handled.store(handled.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        let message = match message.downcast::<CallMsg>() {
            Ok(call) => return self.run_call(*call),
            Err(m) => m,
        };
        let message = match message.downcast::<CastMsg<S::Cast>>() {
            Ok(cast) => {
                let CastMsg(request) = *cast;
                let result = guarded(|| self.state.handle_cast(request));
                return self.after_action(result, LastMessage::of::<S::Cast>("cast"));
            }
            Err(m) => m,
        };
        let message = match message.downcast::<SysMsg>() {
            Ok(sys) => match *sys {
                SysMsg::Stop(reason) => return Err(self.terminate(reason, LastMessage::of::<SysMsg>("stop"))),
            },
            Err(m) => m,
        };
        if let Some(exit) = message.downcast_ref::<Exit>() {
            if exit.from == self.parent && current().slot().trap_exit.load(Ordering::Relaxed) {
                let reason = exit.reason.clone();
                return Err(self.terminate(reason, LastMessage::of::<Exit>("EXIT from parent")));
            }
        }
        let info = Info::from_box(message);
        let last = LastMessage { kind: "info", type_name: info_type_name(&info), client: None };
        let result = guarded(|| self.state.handle_info(info));
        self.after_action(result, last)
    }

    fn run_call(&mut self, call: CallMsg) -> Step<S::Continue> {
        let CallMsg { server, from, tag, request, reply: reply_type } = call;
        let speaks = server == S::protocol() && reply_type == TypeId::of::<S::Reply>();
        let request = match request.downcast::<S::Call>() {
            Ok(request) if speaks => *request,
            // Meant for another server type: answer at once, serve on.
            _ => {
                refuse_wrong_server::<S>(from, tag);
                return Ok(None);
            }
        };
        let from = ReplyTo::<S::Reply>::new(from, tag);
        let last = LastMessage { client: Some(from.pid), ..LastMessage::of::<S::Call>("call") };
        match guarded(|| self.state.handle_call(request, from)) {
            Ok(CallResult::Reply(r)) => {
                reply(from, r);
                Ok(None)
            }
            Ok(CallResult::ReplyThen(r, next)) => {
                reply(from, r);
                Ok(Some(next))
            }
            Ok(CallResult::NoReply) => Ok(None),
            Ok(CallResult::NoReplyThen(next)) => Ok(Some(next)),
            Ok(CallResult::Stop(reason)) => Err(self.terminate(reason, last)),
            Ok(CallResult::StopReply(reason, r)) => {
                let reason = self.terminate(reason, last);
                reply(from, r);
                Err(reason)
            }
            Err(reason) => Err(self.terminate(reason, last)),
        }
    }

    fn run_continue(&mut self, value: S::Continue) -> Step<S::Continue> {
        let result = guarded(|| self.state.handle_continue(value));
        self.after_action(result, LastMessage::of::<S::Continue>("continue"))
    }

    fn after_action(&mut self, result: Result<Action<S::Continue>, Reason>, what: LastMessage) -> Step<S::Continue> {
        match result {
            Ok(Action::NoReply) => Ok(None),
            Ok(Action::NoReplyThen(next)) => Ok(Some(next)),
            Ok(Action::Stop(reason)) | Err(reason) => Err(self.terminate(reason, what)),
        }
    }

    /// Runs `terminate`; returns the exit reason (a panic in `terminate`
    /// replaces it). Logs the terminate report for non-clean reasons: the
    /// server's pid, name and type, the reason, the last message and, for a
    /// call, the client; the state only through `format_status`.
    fn terminate(&mut self, reason: Reason, last: LastMessage) -> Reason {
        let reason = match guarded(|| self.state.terminate(&reason)) {
            Ok(()) => reason,
            Err(panic) => panic,
        };
        if !reason.is_clean() {
            self.report(&reason, last);
        }
        reason
    }

    fn report(&self, reason: &Reason, last: LastMessage) {
        let pid = current().pid();
        let name = self.name.as_ref().map(|n| n.to_string());
        // `format_status` is user code: a panic in it costs the report its
        // state, not the server its exit reason.
        let state = match guarded(|| self.state.format_status().map(|s| format!("{s:?}"))) {
            Ok(state) => state,
            Err(panic) => Some(format!("<format_status panicked: {panic:?}>")),
        };
        let mut text = format!(
            "GenServer {} ({pid}) terminating: {reason:?}; last message: {} ({})",
            name.as_deref().unwrap_or(std::any::type_name::<S>()),
            last.kind,
            last.type_name
        );
        if let Some(client) = last.client {
            text.push_str(&format!(" from {client}"));
        }
        if let Some(state) = &state {
            text.push_str(&format!("; state: {state}"));
        }
        tracing::error!(
            target: "ember::gen_server",
            pid = %pid,
            server = std::any::type_name::<S>(),
            name = name.as_deref(),
            reason = ?reason,
            last_message = last.kind,
            last_message_type = last.type_name,
            client = last.client.map(tracing::field::display),
            state = state.as_deref(),
            "{text}"
        );
    }
}
