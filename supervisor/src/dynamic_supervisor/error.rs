//! Why a DynamicSupervisor request failed: [`StartChildError`] and
//! [`TerminateChildError`].

use crate::child_spec::ChildSpecError;
use ember_runtime::gen_server::CallError;
use ember_runtime::{Pid, Reason};
use std::fmt;
/// Why [`DynamicSupervisor::start_child`](super::DynamicSupervisor::start_child) failed. (On success it returns a
/// [`StartedChild`](crate::StartedChild): `Running(pid)`, `RunningInfo(pid, info)` or `Ignored`
/// — Elixir's `{:ok, pid}`, `{:ok, pid, info}`, `:ignore`.)
///
/// ```
/// use ember_runtime::gen_server::CallError;
/// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, StartChildError};
/// use ember_supervisor::{ChildSpec, ChildSpecError};
/// ember_runtime::run(|| {
///     // Checked in the caller: this supervisor does not even exist.
///     let unnamed = ChildSpec::agent(|| 0).id_as("");
///     let err = DynamicSupervisor::start_child("nobody", unnamed).unwrap_err();
///     assert_eq!(err, StartChildError::InvalidSpec(ChildSpecError::MissingId));
///     let err = DynamicSupervisor::start_child("nobody", ChildSpec::agent(|| 0)).unwrap_err();
///     assert_eq!(err, StartChildError::Call(CallError::NoProc));
///     // A spec whose start function takes a `String`, for a supervisor whose
///     // extra arguments are a `u32`.
///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().extra_arguments(1u32)).unwrap();
///     let spec = ChildSpec::with_args("w", |_: String| ember_runtime::Pid::UNDEFINED);
///     let err = DynamicSupervisor::start_child(sup, spec).unwrap_err();
///     assert!(matches!(err, StartChildError::ArgumentType { expected: "u32", .. }));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum StartChildError {
    /// The supervisor already has `max_children` children (`{:error, :max_children}`).
    MaxChildren,
    /// The child spec is invalid; found in the caller, the supervisor was
    /// not contacted (`{:error, {:invalid_..., _}}`).
    InvalidSpec(ChildSpecError),
    /// The start function found its name taken by this process
    /// (`{:error, {:already_started, pid}}`).
    AlreadyStarted(Pid),
    /// The start function failed with this reason (`{:error, reason}`).
    Failed(Reason),
    /// The spec's argument type is not the supervisor's extra-argument type.
    ArgumentType {
        /// The supervisor's extra-argument type.
        expected: &'static str,
        /// The spec's argument type.
        given: &'static str,
    },
    /// The supervisor could not be called (no process, or it exited).
    Call(CallError),
}

impl fmt::Display for StartChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartChildError::MaxChildren => f.write_str("max_children: the supervisor is full"),
            StartChildError::InvalidSpec(e) => write!(f, "invalid child spec: {e}"),
            StartChildError::AlreadyStarted(p) => write!(f, "already_started: {p}"),
            StartChildError::Failed(r) => write!(f, "the child failed to start: {r:?}"),
            StartChildError::ArgumentType { expected, given } => {
                write!(f, "the supervisor's extra arguments are {expected}, the child spec takes {given}")
            }
            StartChildError::Call(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartChildError {}

/// Why [`DynamicSupervisor::terminate_child`](super::DynamicSupervisor::terminate_child) failed.
///
/// ```
/// use ember_runtime::gen_server::CallError;
/// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, TerminateChildError};
/// ember_runtime::run(|| {
///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
///     let stranger = ember_runtime::self_pid(); // not one of its children
///     assert_eq!(DynamicSupervisor::terminate_child(sup, stranger), Err(TerminateChildError::NotFound));
///     let err = DynamicSupervisor::terminate_child("nobody", stranger).unwrap_err();
///     assert_eq!(err, TerminateChildError::Call(CallError::NoProc));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum TerminateChildError {
    /// The pid is not a child of this supervisor (`{:error, :not_found}`).
    NotFound,
    /// The supervisor could not be called.
    Call(CallError),
}

impl fmt::Display for TerminateChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TerminateChildError::NotFound => f.write_str("not_found: not a child of this supervisor"),
            TerminateChildError::Call(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TerminateChildError {}
