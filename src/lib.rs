#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use ember_runtime::*;

/// Supervision: child specs, Supervisor, DynamicSupervisor,
/// PartitionSupervisor (the `ember-supervisor` crate).
pub use ember_supervisor as supervisor;

/// The Registry (the `ember-registry` crate).
pub use ember_registry as registry;

/// Erlang distribution: an Ember node in a BEAM cluster (`dist::node::Node`), terms, serde, EPMD, handshake, control messages (the `ember-dist` crate).
pub use ember_dist as dist;

#[doc = include_str!("../docs/guide.md")]
pub mod guide {}

/// What most programs need, in one import: `use ember::prelude::*;`.
pub mod prelude {
    pub use ember_runtime::agent::Agent;
    pub use ember_runtime::gen_server;
    pub use ember_runtime::gen_server::{
        reply, Action, CallError, CallResult, GenServer, Info, Init, Next, ReplyTo, Server, StartError, StartOptions,
        Timeout,
    };
    pub use ember_runtime::{
        blocking, cancel_timer, demonitor, demonitor_flush, exit, hibernate, link, monitor, process_info, receive,
        receive_if, receive_if_timeout, receive_timeout, register, self_pid, send, send_after, send_named, sleep,
        spawn, spawn_link, spawn_monitor, spawn_opt, trap_exit, unlink, whereis, yield_now, Down, Exit, Name, Pid,
        Reason, Ref, Select, SpawnOptions,
    };
    pub use ember_supervisor::{Child, ChildSpec, Restart, Shutdown};
    pub use ember_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    pub use ember_supervisor::{Strategy, Supervisor, SupervisorModule, SupervisorOptions};
}
