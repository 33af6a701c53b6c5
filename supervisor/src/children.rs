//! What supervisors report about their children (`which_children`,
//! `count_children`), shared by every supervisor kind.

use crate::child_spec::{ChildId, ChildType};
use ember_runtime::Pid;

/// The state of one child (OTP: a pid, `restarting`, or `undefined`).
///
/// ```
/// use ember_supervisor::{ChildPid, ChildSpec, Supervisor, SupervisorOptions};
/// ember_runtime::run(|| {
///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
///     let sup = Supervisor::start_link(vec![ChildSpec::new("w", w)], SupervisorOptions::one_for_one()).unwrap();
///     assert!(matches!(sup.which_children().unwrap()[0].pid, ChildPid::Running(_)));
///     sup.terminate_child("w").unwrap();
///     assert_eq!(sup.which_children().unwrap()[0].pid, ChildPid::Undefined);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildPid {
    /// Running with this pid.
    Running(Pid),
    /// A restart failed and is being retried.
    Restarting,
    /// Not running (stopped by `terminate_child`, or its start returned
    /// ignore).
    Undefined,
}

impl ChildPid {
    /// The pid, when running.
    ///
    /// ```
    /// use ember_supervisor::ChildPid;
    /// assert_eq!(ChildPid::Undefined.pid(), None);
    /// ```
    pub fn pid(&self) -> Option<Pid> {
        match self {
            ChildPid::Running(p) => Some(*p),
            _ => None,
        }
    }
}

/// One entry of `which_children`.
///
/// ```
/// use ember_supervisor::{ChildPid, ChildSpec, ChildSummary, ChildType, Supervisor, SupervisorOptions};
/// ember_runtime::run(|| {
///     let spec = ChildSpec::new("db", || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); }));
///     let sup = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
///     let ChildSummary { id, pid, kind } = sup.which_children().unwrap().remove(0);
///     assert_eq!(id.unwrap().as_str(), "db");
///     assert!(matches!(pid, ChildPid::Running(p) if p.is_alive()));
///     assert_eq!(kind, ChildType::Worker);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildSummary {
    /// The child's id (`None` for DynamicSupervisor children, whose ids are
    /// ignored — OTP's `undefined`).
    pub id: Option<ChildId>,
    /// Its state.
    pub pid: ChildPid,
    /// Worker or supervisor.
    pub kind: ChildType,
}

/// The result of `count_children`.
///
/// ```
/// use ember_supervisor::{ChildCounts, ChildSpec, Supervisor, SupervisorOptions};
/// ember_runtime::run(|| {
///     let w = || ember_runtime::spawn_link(|| loop { ember_runtime::receive::<()>(); });
///     let subtree = Supervisor::child_spec("subtree", vec![], SupervisorOptions::one_for_one());
///     let sup = Supervisor::start_link(vec![ChildSpec::new("w", w), subtree], SupervisorOptions::one_for_one())
///         .unwrap();
///     sup.terminate_child("w").unwrap(); // still counted, no longer active
///     assert_eq!(sup.count_children().unwrap(), ChildCounts { specs: 2, active: 1, supervisors: 1, workers: 1 });
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildCounts {
    /// All child specs (running or not, restarting included).
    pub specs: usize,
    /// Children running (for a static supervisor: with a pid that is alive).
    pub active: usize,
    /// Children of type supervisor, running or not.
    pub supervisors: usize,
    /// Children of type worker, running or not.
    pub workers: usize,
}
