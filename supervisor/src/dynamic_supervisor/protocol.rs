//! The wire protocol between the API and the supervisor process: one
//! request type for every DynamicSupervisor, whatever its extra-argument
//! type (the child spec travels as `Box<dyn Any>`), so a request is never
//! mistaken for an unexpected message.

use super::error::{StartChildError, TerminateChildError};
use crate::children::{ChildCounts, ChildSummary};
use crate::supervisor::StartedChild;
use ember_runtime::gen_server::{CallError, GenServer, Init, Server};
use ember_runtime::{Dest, Pid};
use std::any::Any;

/// The wire protocol: one request type for every supervisor, whatever its
/// extra-argument type, so a request never goes unrecognised.
pub(super) enum Request {
    StartChild { spec: Box<dyn Any + Send>, arg_type: &'static str },
    TerminateChild(Pid),
    WhichChildren,
    CountChildren,
    GetCallbackModule,
}

pub(super) enum Response {
    Started(Result<StartedChild, StartChildError>),
    Terminated(Result<(), TerminateChildError>),
    Which(Vec<ChildSummary>),
    Counts(ChildCounts),
    Module(&'static str),
}

/// A GenServer type with the supervisor's request and reply types, to call
/// any DynamicSupervisor through a typed [`Server`] handle. Never started.
pub(super) struct Wire;

impl GenServer for Wire {
    type Arg = ();
    type Call = Request;
    type Reply = Response;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ignore
    }
}

pub(super) fn call(sup: impl Into<Dest>, request: Request) -> Result<Response, CallError> {
    Server::<Wire>::new(sup).call_timeout(request, None)
}
