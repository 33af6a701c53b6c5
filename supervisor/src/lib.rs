//! # ember-supervisor
//!
//! Supervision trees, as in OTP: [`ChildSpec`]s describe how to start,
//! restart and stop children; `Supervisor` runs a static list of children
//! with the one_for_one, one_for_all or rest_for_one strategy;
//! `DynamicSupervisor` starts children on demand and holds millions of them;
//! `PartitionSupervisor` runs N copies of one child and routes by key.
//!
//! Every supervisor is an ordinary Ember process that traps exits; the shared
//! pieces live here: [`child_spec`], restart [`Intensity`], the child
//! [`shutdown`] procedures and [`report`]s.
//!
//! A small tree: a root supervisor over an Agent and a DynamicSupervisor
//! that starts jobs on demand.
//!
//! ```
//! use ember_supervisor::{ChildSpec, DynamicSupervisor, DynamicSupervisorOptions, Supervisor, SupervisorOptions};
//!
//! ember_runtime::run(|| {
//!     let children = vec![
//!         ChildSpec::agent(|| 0u64).id_as("hits"),
//!         DynamicSupervisor::child_spec(DynamicSupervisorOptions::new().name("jobs")),
//!     ];
//!     let root = Supervisor::start_link(children, SupervisorOptions::one_for_one().name("root")).unwrap();
//!     DynamicSupervisor::start_child("jobs", ChildSpec::agent(|| "job 1")).unwrap();
//!
//!     let counts = root.count_children().unwrap();
//!     assert_eq!((counts.workers, counts.supervisors), (1, 1));
//!     assert_eq!(DynamicSupervisor::count_children("jobs").unwrap().active, 1);
//! })
//! .unwrap();
//! ```
#![deny(missing_docs)]

pub mod child_spec;
pub mod children;
pub mod dynamic_supervisor;
pub mod partition_supervisor;
pub mod report;
pub mod restart;
pub mod shutdown;
mod start_order;
pub mod supervisor;

pub use child_spec::{Child, ChildId, ChildSpec, ChildSpecError, ChildType, Restart, Shutdown, Started};
pub use children::{ChildCounts, ChildPid, ChildSummary};
pub use dynamic_supervisor::{
    DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule, DynamicSupervisorOptions,
    StartChildError, TerminateChildError,
};
pub use partition_supervisor::{
    via_partition, PartitionKey, PartitionSupervisor, PartitionSupervisorOptions, PartitionVia, ResizeError,
};
pub use restart::{Intensity, DEFAULT_MAX_RESTARTS, DEFAULT_MAX_SECONDS};
pub use supervisor::{
    check_childspecs, AutoShutdown, Flags, FlagsError, InitError, StartedChild, Strategy, Supervisor, SupervisorError,
    SupervisorModule, SupervisorOptions,
};
