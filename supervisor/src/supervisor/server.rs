//! The supervisor process: OTP's `supervisor.erl` for the static
//! strategies, in the same order — init, requests, child exits, restarts
//! and intensity, stopping children, bookkeeping.
//!
//! **Bookkeeping.** The children live in *start order* (OTP keeps its
//! `Ids` list in the reverse order; walking ours backwards is that list),
//! in a table that finds a child by id or by pid in O(1) (`children.rs`).
//! A child is `Running(pid)`, `Restarting(old)` (a restart failed and a
//! retry is pending) or `Undefined` (not running: terminated on request, or
//! its start returned ignore).
//!
//! **Orderings.** Children are started in start order and stopped in
//! reverse start order, one at a time. `terminate_children(from)` and
//! `start_children(from)` work on the children from `from` on: all of them
//! for one_for_all (`from` = `None`), the dead child and those after it for
//! rest_for_one — OTP's `split_child`.

use super::children::{ChildRecord, Children, State};
use super::{AutoShutdown, Flags, InitError, StartedChild, Strategy, SupervisorError};
use crate::child_spec::{ChildId, ChildSpec, ChildSpecError, ChildType, Restart, Started};
use crate::children::{ChildCounts, ChildPid, ChildSummary};
use crate::report::{self, Context};
use crate::restart::Intensity;
use crate::shutdown::shutdown_child;
use crate::start_order::Key;
use ember_runtime::gen_server::{
    self, AlreadyStarted, CallResult, GenServer, Info, Init, Next, ReplyTo, Server, StartError, StartOptions,
};
use ember_runtime::{self_pid, trap_exit, Action, Exit, Pid, Reason};
use std::collections::HashSet;
use std::fmt;

/// What computes the flags, the children and the value the process owns,
/// in the supervisor's process.
pub(super) type InitFn = Box<dyn FnOnce() -> Option<(Flags, Vec<ChildSpec>, Owned)> + Send>;

/// A value the supervisor process keeps until it exits (see
/// `Supervisor::start_link_owning`).
pub(super) type Owned = Option<Box<dyn std::any::Any + Send>>;

/// The argument of the supervisor's `init`.
pub(super) struct InitArg {
    init: InitFn,
    module: &'static str,
    name: Option<String>,
}

/// Starts a supervisor process (both start functions end here).
pub(super) fn start_link(
    init: InitFn,
    module: &'static str,
    options: StartOptions,
) -> Result<super::Supervisor, StartError> {
    let name = options.get_name().map(|n| n.to_string());
    let server = gen_server::start_link::<SupervisorServer>(InitArg { init, module, name }, options)?;
    Ok(super::Supervisor { server })
}

/// Requests served by `handle_call`.
pub(super) enum Request {
    StartChild(ChildSpec),
    TerminateChild(ChildId),
    RestartChild(ChildId),
    DeleteChild(ChildId),
    WhichChildren,
    CountChildren,
    GetChildspec(ChildId),
    WhichChild(ChildId),
    GetCallbackModule,
}

/// Replies to [`Request`]s.
#[derive(Debug)]
pub(super) enum Response {
    Started(Result<StartedChild, SupervisorError>),
    Done(Result<(), SupervisorError>),
    Children(Vec<ChildSummary>),
    Counts(ChildCounts),
    Spec(Result<ChildSpec, SupervisorError>),
    Child(Result<ChildSummary, SupervisorError>),
    Module(&'static str),
}

/// The supervisor's message to itself after a failed restart (OTP's
/// `{try_again_restart, Id}` cast).
pub(super) struct TryAgain(ChildId);

/// The reason of the `shutdown` report (OTP's atom).
struct ReachedMaxRestartIntensity;

impl fmt::Debug for ReachedMaxRestartIntensity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reached_max_restart_intensity")
    }
}

/// Whether the supervisor carries on or stops with `shutdown` (intensity
/// reached, or an automatic shutdown).
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Shutdown,
}

impl Flow {
    /// What the GenServer loop does next.
    fn action(self) -> Action<()> {
        match self {
            Flow::Continue => Action::NoReply,
            Flow::Shutdown => Action::Stop(Reason::Shutdown),
        }
    }
}

/// The supervisor process's state.
pub(super) struct SupervisorServer {
    /// The name in reports: the registered name, or `<pid> (module)`.
    name: String,
    /// What `get_callback_module` answers.
    module: &'static str,
    flags: Flags,
    intensity: Intensity,
    children: Children,
    /// Dropped with the state, when the process exits however it exits.
    _owned: Owned,
}

// ---------------------------------------------------------------------------
// Checking flags and child specs.
// ---------------------------------------------------------------------------

/// Checks one spec for a supervisor with this auto_shutdown (OTP's
/// `check_childspec`): `missing_id`, then significance.
fn check_childspec(spec: &ChildSpec, auto_shutdown: Option<AutoShutdown>) -> Result<(), ChildSpecError> {
    if spec.id().as_str().is_empty() {
        return Err(ChildSpecError::MissingId);
    }
    if spec.is_significant() && auto_shutdown == Some(AutoShutdown::Never) {
        return Err(ChildSpecError::BadCombination("{auto_shutdown, never} with {significant, true}"));
    }
    spec.validate()
}

/// Checks a list of child specs as a supervisor's `init` would (OTP's
/// `check_childspecs/2`): each spec, then duplicate ids. With
/// `auto_shutdown` given, also checks that significant children are allowed.
///
/// ```
/// use ember_supervisor::{check_childspecs, AutoShutdown, ChildSpec, ChildSpecError, Restart};
/// let w = || ember_runtime::Pid::UNDEFINED;
/// let specs = [ChildSpec::new("a", w), ChildSpec::new("a", w)];
/// assert_eq!(check_childspecs(&specs, None), Err(ChildSpecError::DuplicateChildName("a".into())));
/// let significant = [ChildSpec::new("t", w).restart(Restart::Transient).significant(true)];
/// assert!(check_childspecs(&significant, None).is_ok());
/// assert!(check_childspecs(&significant, Some(AutoShutdown::Never)).is_err());
/// ```
pub fn check_childspecs(specs: &[ChildSpec], auto_shutdown: Option<AutoShutdown>) -> Result<(), ChildSpecError> {
    let mut ids = HashSet::with_capacity(specs.len());
    for spec in specs {
        check_childspec(spec, auto_shutdown)?;
        if !ids.insert(spec.id()) {
            return Err(ChildSpecError::DuplicateChildName(spec.id().clone()));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The behaviour.
// ---------------------------------------------------------------------------

impl GenServer for SupervisorServer {
    type Arg = InitArg;
    type Call = Request;
    type Reply = Response;
    type Cast = TryAgain;
    type Continue = ();

    /// Trap exits, check the flags and specs, start the children in order.
    fn init(arg: InitArg) -> Init<Self> {
        trap_exit(true);
        let name = arg.name.unwrap_or_else(|| format!("{} ({})", self_pid(), arg.module));
        let Some((flags, specs, owned)) = (arg.init)() else {
            return Init::Ignore;
        };
        if let Err(e) = flags.validate() {
            return Init::Stop(InitError::SupervisorData(e).into_reason());
        }
        if let Err(e) = check_childspecs(&specs, Some(flags.get_auto_shutdown())) {
            return Init::Stop(InitError::StartSpec(e).into_reason());
        }
        let mut sup = SupervisorServer {
            name,
            module: arg.module,
            flags,
            intensity: Intensity::new(flags.get_max_restarts(), flags.get_max_seconds()),
            children: Children::new(specs),
            _owned: owned,
        };
        match sup.start_children(None) {
            // Static supervisors have little to do: give the stack back.
            Ok(()) => Init::OkThen(sup, Next::Hibernate),
            Err((id, reason)) => {
                sup.terminate_children(None);
                Init::Stop(InitError::FailedToStartChild { id, reason }.into_reason())
            }
        }
    }

    fn handle_call(&mut self, request: Request, _from: ReplyTo<Response>) -> CallResult<Self> {
        CallResult::Reply(match request {
            Request::StartChild(spec) => Response::Started(self.handle_start_child(spec)),
            Request::TerminateChild(id) => Response::Done(self.handle_terminate_child(&id)),
            Request::RestartChild(id) => Response::Started(self.handle_restart_child(&id)),
            Request::DeleteChild(id) => Response::Done(self.handle_delete_child(&id)),
            Request::WhichChildren => Response::Children(self.which_children()),
            Request::CountChildren => Response::Counts(self.count_children()),
            Request::GetChildspec(id) => Response::Spec(self.find(&id).map(|k| self.children.get(k).spec.clone())),
            Request::WhichChild(id) => Response::Child(self.find(&id).map(|k| summary(self.children.get(k)))),
            Request::GetCallbackModule => Response::Module(self.module),
        })
    }

    /// A retry of a failed restart, if the child still waits for one (a
    /// `terminate_child` served meanwhile cancels it).
    fn handle_cast(&mut self, TryAgain(id): TryAgain) -> Action<()> {
        match self.children.find(&id) {
            Some(k) if matches!(self.children.get(k).state(), State::Restarting(_)) => self.restart(k).action(),
            _ => Action::NoReply,
        }
    }

    /// `Exit` from a child: restart it or not. Any other message is
    /// reported and dropped. (The parent's `Exit` never gets here: the
    /// GenServer loop runs `terminate` for it.)
    fn handle_info(&mut self, message: Info) -> Action<()> {
        match message.downcast::<Exit>() {
            Ok(exit) => self.child_exited(exit.from, exit.reason).action(),
            Err(message) => {
                report::unexpected_message(&self.name, &message);
                Action::NoReply
            }
        }
    }

    /// Stop every child, in reverse start order.
    fn terminate(&mut self, _reason: &Reason) {
        self.terminate_children(None);
    }
}

impl SupervisorServer {
    // -----------------------------------------------------------------------
    // Requests.
    // -----------------------------------------------------------------------

    fn handle_start_child(&mut self, spec: ChildSpec) -> Result<StartedChild, SupervisorError> {
        check_childspec(&spec, Some(self.flags.get_auto_shutdown())).map_err(SupervisorError::InvalidSpec)?;
        if let Some(k) = self.children.find(spec.id()) {
            return Err(match self.children.get(k).state() {
                State::Running(pid) => SupervisorError::AlreadyStarted(pid),
                _ => SupervisorError::AlreadyPresent,
            });
        }
        let child = ChildRecord::new(spec);
        match self.do_start_child(&child, true) {
            Ok(StartedChild::Ignored) if child.is_temporary() => Ok(StartedChild::Ignored),
            Ok(started) => {
                let k = self.children.push(child);
                self.started(k, &started);
                Ok(started)
            }
            Err(reason) => Err(start_failure(reason)),
        }
    }

    fn handle_terminate_child(&mut self, id: &ChildId) -> Result<(), SupervisorError> {
        let k = self.find(id)?;
        self.do_terminate(k);
        self.del_child(k);
        Ok(())
    }

    fn handle_restart_child(&mut self, id: &ChildId) -> Result<StartedChild, SupervisorError> {
        let k = self.find(id)?;
        match self.children.get(k).state() {
            State::Undefined => {
                let started = self.do_start_child(self.children.get(k), true).map_err(start_failure)?;
                if started.pid().is_some() {
                    self.started(k, &started);
                }
                Ok(started)
            }
            State::Restarting(_) => Err(SupervisorError::Restarting),
            State::Running(_) => Err(SupervisorError::Running),
        }
    }

    fn handle_delete_child(&mut self, id: &ChildId) -> Result<(), SupervisorError> {
        let k = self.find(id)?;
        match self.children.get(k).state() {
            State::Undefined => {
                self.children.remove(k);
                Ok(())
            }
            State::Restarting(_) => Err(SupervisorError::Restarting),
            State::Running(_) => Err(SupervisorError::Running),
        }
    }

    /// Most recently started first.
    fn which_children(&self) -> Vec<ChildSummary> {
        self.children.iter().rev().map(summary).collect()
    }

    fn count_children(&self) -> ChildCounts {
        let mut counts = ChildCounts { specs: self.children.len(), ..ChildCounts::default() };
        for c in self.children.iter() {
            if c.pid().is_some_and(|p| p.is_alive()) {
                counts.active += 1;
            }
            match c.spec.get_type() {
                ChildType::Supervisor => counts.supervisors += 1,
                ChildType::Worker => counts.workers += 1,
            }
        }
        counts
    }

    // -----------------------------------------------------------------------
    // A child exited (SEMANTICS.md §4.5).
    // -----------------------------------------------------------------------

    fn child_exited(&mut self, pid: Pid, reason: Reason) -> Flow {
        // Not (or no longer) a child: an old incarnation, or a stranger.
        let Some(k) = self.children.running(pid) else {
            return Flow::Continue;
        };
        let child = self.children.get(k);
        let restart = child.spec.get_restart();
        if restart == Restart::Permanent || (restart == Restart::Transient && !reason.is_clean()) {
            self.report(Context::ChildTerminated, k, &reason);
            return self.restart(k);
        }
        if !reason.is_clean() {
            // A temporary child that crashed: reported, never restarted.
            self.report(Context::ChildTerminated, k, &reason);
        }
        let significant = child.spec.is_significant();
        self.del_child(k);
        self.auto_shutdown(significant)
    }

    /// After a significant child exited and was not restarted (§4.9).
    fn auto_shutdown(&self, significant: bool) -> Flow {
        match self.flags.get_auto_shutdown() {
            AutoShutdown::Never => Flow::Continue,
            _ if !significant => Flow::Continue,
            AutoShutdown::AnySignificant => Flow::Shutdown,
            AutoShutdown::AllSignificant => {
                if self.children.iter().any(|c| c.state() != State::Undefined && c.spec.is_significant()) {
                    Flow::Continue
                } else {
                    Flow::Shutdown
                }
            }
        }
    }

    // -----------------------------------------------------------------------
    // Restarts and intensity (SEMANTICS.md §4.6).
    // -----------------------------------------------------------------------

    /// Restarts child `k` by the strategy; every call is one restart
    /// attempt for the intensity.
    fn restart(&mut self, k: Key) -> Flow {
        if !self.intensity.add_restart() {
            self.report(Context::Shutdown, k, &Reason::custom(ReachedMaxRestartIntensity));
            self.del_child(k);
            return Flow::Shutdown;
        }
        let id = self.children.get(k).id().clone();
        let restarting = self.children.get(k).restarting();
        match self.flags.get_strategy() {
            Strategy::OneForOne => match self.do_start_child(self.children.get(k), false) {
                Ok(started) => self.started(k, &started),
                Err(reason) => {
                    self.children.set_state(k, restarting);
                    self.report(Context::StartError, k, &reason);
                    try_again(id);
                }
            },
            Strategy::OneForAll => {
                self.del_child(k);
                self.restart_multiple_children(&id, restarting, None);
            }
            Strategy::RestForOne => {
                self.children.set_state(k, State::Undefined);
                self.restart_multiple_children(&id, restarting, Some(k));
            }
        }
        Flow::Continue
    }

    /// one_for_all and rest_for_one: stop the children from `from` on
    /// (reverse order), start them again (start order). If one fails, the
    /// ones before it run, it is marked restarting, the ones after it stay
    /// not running, and the retry is for it.
    fn restart_multiple_children(&mut self, id: &ChildId, restarting: State, from: Option<Key>) {
        self.terminate_children(from);
        if let Err((failed, _reason)) = self.start_children(from) {
            let state = if failed == *id { restarting } else { State::Restarting(None) };
            if let Some(f) = self.children.find(&failed) {
                self.children.set_state(f, state);
            }
            try_again(failed);
        }
    }

    // -----------------------------------------------------------------------
    // Starting and stopping children.
    // -----------------------------------------------------------------------

    /// Starts the children from `from` on (`None`: all), in start order
    /// (OTP's `start_children`). A temporary child whose start returns
    /// ignore is dropped. Stops at the first failure: `Err((id, reason))`,
    /// after the `start_error` report.
    fn start_children(&mut self, from: Option<Key>) -> Result<(), (ChildId, Reason)> {
        let mut at = from.or_else(|| self.children.first());
        while let Some(k) = at {
            at = self.children.next(k);
            match self.do_start_child(self.children.get(k), false) {
                Ok(started) if started.pid().is_some() => self.started(k, &started),
                Ok(_ignored) if self.children.get(k).is_temporary() => {
                    self.children.remove(k);
                }
                Ok(_ignored) => self.children.set_state(k, State::Undefined),
                Err(reason) => {
                    self.report(Context::StartError, k, &reason);
                    return Err((self.children.get(k).id().clone(), reason));
                }
            }
        }
        Ok(())
    }

    /// Runs a child's start function (OTP's `do_start_child`), with a
    /// progress report when it starts: info level for init and restarts,
    /// debug for `start_child`/`restart_child` requests.
    fn do_start_child(&self, child: &ChildRecord, requested: bool) -> Result<StartedChild, Reason> {
        let started = match child.spec.start(()) {
            Started::Ok(pid) => StartedChild::Running(pid),
            Started::OkInfo(pid, info) => StartedChild::RunningInfo(pid, info),
            Started::Ignore => return Ok(StartedChild::Ignored),
            Started::Error(reason) => return Err(reason),
        };
        if let Some(pid) = started.pid() {
            report::progress(&self.name, child.id(), pid, requested);
        }
        Ok(started)
    }

    /// Records that child `k` started (running, or not if it ignored). A
    /// temporary child that runs is never started again: its start function
    /// and what it captured are dropped now (OTP saves no start arguments
    /// for it).
    fn started(&mut self, k: Key, started: &StartedChild) {
        self.children.set_state(k, started.pid().map_or(State::Undefined, State::Running));
        if started.pid().is_some() && self.children.get(k).is_temporary() {
            self.children.drop_start(k);
        }
    }

    /// Stops the children from `from` on (`None`: all), in reverse start
    /// order (OTP's `terminate_children`): temporary ones are dropped, the
    /// others are left not running.
    fn terminate_children(&mut self, from: Option<Key>) {
        let mut at = self.children.last();
        while let Some(k) = at {
            at = if Some(k) == from { None } else { self.children.prev(k) };
            self.do_terminate(k);
            self.del_child(k);
        }
    }

    /// Stops child `k` if it runs, with its shutdown procedure; an
    /// unexpected exit reason is reported, never fatal.
    fn do_terminate(&mut self, k: Key) {
        let child = self.children.get(k);
        if let Some(pid) = child.pid() {
            if let Err(reason) = shutdown_child(pid, child.spec.get_shutdown(), child.spec.get_restart()) {
                self.report(Context::ShutdownError, k, &reason);
            }
        }
    }

    // -----------------------------------------------------------------------
    // Bookkeeping.
    // -----------------------------------------------------------------------

    fn find(&self, id: &ChildId) -> Result<Key, SupervisorError> {
        self.children.find(id).ok_or(SupervisorError::NotFound)
    }

    /// A child that will not run any more: dropped if temporary, else kept
    /// not running (OTP's `del_child`).
    fn del_child(&mut self, k: Key) {
        if self.children.get(k).is_temporary() {
            self.children.remove(k);
        } else {
            self.children.set_state(k, State::Undefined);
        }
    }

    fn report(&self, context: Context, k: Key, reason: &Reason) {
        let child = self.children.get(k);
        let pid = match child.state() {
            State::Running(p) | State::Restarting(Some(p)) => Some(p),
            _ => None,
        };
        report::error(&self.name, context, Some(child.id()), pid, reason);
    }
}

/// The `which_children` entry of a child.
fn summary(c: &ChildRecord) -> ChildSummary {
    ChildSummary {
        id: Some(c.id().clone()),
        pid: match c.state() {
            State::Running(p) => ChildPid::Running(p),
            State::Restarting(_) => ChildPid::Restarting,
            State::Undefined => ChildPid::Undefined,
        },
        kind: c.spec.get_type(),
    }
}

/// The error of a requested start (start_child, restart_child): a name
/// clash comes back as `AlreadyStarted`, anything else as `StartFailed`.
fn start_failure(reason: Reason) -> SupervisorError {
    match reason.downcast_ref::<AlreadyStarted>() {
        Some(AlreadyStarted(pid)) => SupervisorError::AlreadyStarted(*pid),
        None => SupervisorError::StartFailed(reason),
    }
}

/// Asks the supervisor (the caller) to retry the restart of `id` after the
/// messages already queued.
fn try_again(id: ChildId) {
    Server::<SupervisorServer>::new(self_pid()).cast(TryAgain(id));
}
