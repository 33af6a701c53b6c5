//! The supervisor process (SEMANTICS.md §5): init, the requests, child
//! exits and restarts within the intensity, and the concurrent shutdown when
//! it terminates — Elixir's `DynamicSupervisor` callbacks, in that order.
use super::children::{Child, Children};
use super::error::{StartChildError, TerminateChildError};
use super::module::{DynamicInit, DynamicSupervisorModule};
use super::protocol::{Request, Response, Wire};
use crate::child_spec::{ChildSpec, Restart, Started};
use crate::report::{self, Context};
use crate::restart::Intensity;
use crate::shutdown::{self, Others, Stopping};
use crate::supervisor::{FlagsError, InitError, StartedChild};
use ember_runtime::gen_server::{Action, AlreadyStarted, CallResult, GenServer, Info, Init, ReplyTo};
use ember_runtime::{Exit, Pid, Reason};
use std::any::{type_name, Any, TypeId};
use std::fmt;

/// The message a supervisor sends itself to retry a failed restart
/// (Elixir's `{:"$gen_restart", pid}`).
struct GenRestart(Pid);

/// The reason of the `shutdown` report (OTP's atom).
struct ReachedMaxRestartIntensity;

impl fmt::Debug for ReachedMaxRestartIntensity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reached_max_restart_intensity")
    }
}

/// The supervisor's state.
pub(super) struct DynamicServer<M: DynamicSupervisorModule> {
    /// Its name in reports.
    name: String,
    /// What `get_callback_module` answers.
    module: &'static str,
    extra: M::Extra,
    max_children: Option<usize>,
    intensity: Intensity,
    children: Children<M::Extra>,
}

impl<M: DynamicSupervisorModule> GenServer for DynamicServer<M> {
    /// The module's argument, the registered name, the module's name.
    type Arg = (M::Arg, Option<String>, &'static str);
    type Call = Request;
    type Reply = Response;
    type Cast = ();
    type Continue = ();

    /// Callers cannot name `M`: every DynamicSupervisor answers to
    /// `Server<Wire>`.
    fn protocol() -> TypeId {
        TypeId::of::<Wire>()
    }

    // -- init (§5.2) --------------------------------------------------------

    fn init((arg, name, module): Self::Arg) -> Init<Self> {
        ember_runtime::trap_exit(true);
        let flags = match M::init(arg) {
            DynamicInit::Ok(flags) => flags,
            DynamicInit::Ignore => return Init::Ignore,
        };
        if flags.max_seconds == 0 {
            return Init::Stop(InitError::SupervisorData(FlagsError::InvalidPeriod(0)).into_reason());
        }
        let name = name.unwrap_or_else(|| format!("{} {}", ember_runtime::self_pid(), module));
        Init::Ok(DynamicServer {
            name,
            module,
            extra: flags.extra_arguments,
            max_children: flags.max_children,
            intensity: Intensity::new(flags.max_restarts, flags.max_seconds),
            children: Children::new(),
        })
    }

    // -- calls (§5.3, §5.5, §5.6) -------------------------------------------

    fn handle_call(&mut self, request: Request, _from: ReplyTo<Response>) -> CallResult<Self> {
        CallResult::Reply(match request {
            Request::StartChild { spec, arg_type } => Response::Started(self.start_new_child(spec, arg_type)),
            Request::TerminateChild(pid) => Response::Terminated(self.terminate_child(pid)),
            Request::WhichChildren => Response::Which(self.children.summaries()),
            Request::CountChildren => Response::Counts(self.children.counts()),
            Request::GetCallbackModule => Response::Module(self.module),
        })
    }

    // -- exits and retries (§5.4) -------------------------------------------

    fn handle_info(&mut self, message: Info) -> Action<()> {
        let message = match message.downcast::<Exit>() {
            Ok(Exit { from, reason }) => return self.child_exited(from, reason),
            Err(message) => message,
        };
        match message.downcast::<GenRestart>() {
            Ok(GenRestart(pid)) => {
                // Gone if terminate_child removed it meanwhile.
                if self.children.get(pid).is_some_and(|c| c.restarting) {
                    return self.restart(pid);
                }
            }
            Err(message) => {
                tracing::error!(
                    target: "ember::supervisor",
                    supervisor = self.name.as_str(),
                    "DynamicSupervisor {} received unexpected message: {:?}",
                    self.name,
                    message
                );
            }
        }
        Action::NoReply
    }

    // -- termination (§5.6) -------------------------------------------------

    fn terminate(&mut self, _reason: &Reason) {
        let stopping: Vec<Stopping> = self.children.iter().filter(|c| !c.restarting).map(Child::stopping).collect();
        self.children = Children::new();
        for (pid, reason) in shutdown::shutdown_children(stopping, Others::Drop) {
            report::error(&self.name, Context::ShutdownError, None, Some(pid), &reason);
        }
    }
}

impl<M: DynamicSupervisorModule> DynamicServer<M> {
    fn start_new_child(
        &mut self,
        spec: Box<dyn Any + Send>,
        arg_type: &'static str,
    ) -> Result<StartedChild, StartChildError> {
        let spec = match spec.downcast::<ChildSpec<M::Extra>>() {
            Ok(spec) => *spec,
            Err(_) => return Err(StartChildError::ArgumentType { expected: type_name::<M::Extra>(), given: arg_type }),
        };
        if self.max_children.is_some_and(|max| self.children.len() >= max) {
            return Err(StartChildError::MaxChildren);
        }
        let mut spec = spec;
        let started = spec.start(self.extra.clone());
        if spec.get_restart() == Restart::Temporary {
            // Never started again: keep nothing it captured (Elixir keeps
            // no start arguments for a temporary child).
            spec.drop_start();
        }
        match started {
            Started::Ok(pid) => {
                self.children.push(pid, spec);
                Ok(StartedChild::Running(pid))
            }
            Started::OkInfo(pid, info) => {
                self.children.push(pid, spec);
                Ok(StartedChild::RunningInfo(pid, info))
            }
            Started::Ignore => Ok(StartedChild::Ignored),
            Started::Error(reason) => Err(match reason.downcast_ref::<AlreadyStarted>() {
                Some(&AlreadyStarted(pid)) => StartChildError::AlreadyStarted(pid),
                None => StartChildError::Failed(reason),
            }),
        }
    }

    fn terminate_child(&mut self, pid: Pid) -> Result<(), TerminateChildError> {
        let child = self.children.get(pid).ok_or(TerminateChildError::NotFound)?;
        if !child.restarting {
            let stopping = child.stopping();
            for (pid, reason) in shutdown::shutdown_children([stopping], Others::Keep) {
                report::error(&self.name, Context::ShutdownError, None, Some(pid), &reason);
            }
        }
        self.children.remove(pid);
        Ok(())
    }

    /// A linked process exited: if it is a child, restart or forget it.
    fn child_exited(&mut self, pid: Pid, reason: Reason) -> Action<()> {
        let Some(child) = self.children.get(pid) else {
            return Action::NoReply;
        };
        if child.restarting {
            return Action::NoReply;
        }
        match (child.spec.get_restart(), reason.is_clean()) {
            (Restart::Permanent, _) | (Restart::Transient, false) => {
                report::error(&self.name, Context::ChildTerminated, None, Some(pid), &reason);
                self.restart(pid)
            }
            (Restart::Transient | Restart::Temporary, true) => {
                self.children.remove(pid);
                Action::NoReply
            }
            (Restart::Temporary, false) => {
                report::error(&self.name, Context::ChildTerminated, None, Some(pid), &reason);
                self.children.remove(pid);
                Action::NoReply
            }
        }
    }

    /// Restarts the child known as `pid` (its old pid), within the intensity.
    fn restart(&mut self, pid: Pid) -> Action<()> {
        if !self.intensity.add_restart() {
            let reason = Reason::custom(ReachedMaxRestartIntensity);
            report::error(&self.name, Context::Shutdown, None, Some(pid), &reason);
            self.children.remove(pid);
            return Action::Stop(Reason::Shutdown);
        }
        let spec = self.children.get(pid).expect("restarting a known child").spec.clone();
        match spec.start(self.extra.clone()) {
            Started::Ok(new) | Started::OkInfo(new, _) => {
                self.children.remove(pid);
                self.children.push(new, spec);
            }
            Started::Ignore => {
                self.children.remove(pid);
            }
            Started::Error(reason) => {
                report::error(&self.name, Context::StartError, None, Some(pid), &reason);
                self.children.set_restarting(pid);
                ember_runtime::send(ember_runtime::self_pid(), GenRestart(pid));
            }
        }
        Action::NoReply
    }
}
