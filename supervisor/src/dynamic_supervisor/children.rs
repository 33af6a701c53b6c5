//! The children of a DynamicSupervisor: records in start order
//! ([`StartOrder`]), found by pid through a hash map. Insert, remove and
//! lookup by pid are O(1); so are the counts, kept up to date.

use crate::child_spec::{ChildSpec, ChildType};
use crate::children::{ChildCounts, ChildPid, ChildSummary};
use crate::shutdown::{PidMap, Stopping};
use crate::start_order::{Key, StartOrder};
use ember_runtime::Pid;

/// One child: its pid (the old one while a restart is pending) and spec.
pub(super) struct Child<A> {
    pub(super) pid: Pid,
    pub(super) restarting: bool,
    pub(super) spec: ChildSpec<A>,
}

impl<A> Child<A> {
    pub(super) fn stopping(&self) -> Stopping {
        Stopping { pid: self.pid, shutdown: self.spec.get_shutdown(), restart: self.spec.get_restart() }
    }
}

/// The children in start order, a map from pid to record, and the counts
/// of `count_children`.
pub(super) struct Children<A> {
    order: StartOrder<Child<A>>,
    by_pid: PidMap<Key>,
    restarting: usize,
    supervisors: usize,
}

impl<A> Children<A> {
    pub(super) fn new() -> Self {
        Children { order: StartOrder::new(), by_pid: PidMap::default(), restarting: 0, supervisors: 0 }
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    pub(super) fn get(&self, pid: Pid) -> Option<&Child<A>> {
        self.by_pid.get(&pid).map(|&k| self.order.get(k))
    }

    /// Adds a running child at the end of the start order.
    pub(super) fn push(&mut self, pid: Pid, spec: ChildSpec<A>) {
        if spec.get_type() == ChildType::Supervisor {
            self.supervisors += 1;
        }
        let key = self.order.push_back(Child { pid, restarting: false, spec });
        self.by_pid.insert(pid, key);
    }

    pub(super) fn remove(&mut self, pid: Pid) -> Option<Child<A>> {
        let key = self.by_pid.remove(&pid)?;
        let child = self.order.remove(key);
        if child.restarting {
            self.restarting -= 1;
        }
        if child.spec.get_type() == ChildType::Supervisor {
            self.supervisors -= 1;
        }
        Some(child)
    }

    pub(super) fn set_restarting(&mut self, pid: Pid) {
        let child = self.order.get_mut(self.by_pid[&pid]);
        if !child.restarting {
            child.restarting = true;
            self.restarting += 1;
        }
    }

    /// The children in start order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Child<A>> {
        self.order.iter().map(|(_, child)| child)
    }

    pub(super) fn summaries(&self) -> Vec<ChildSummary> {
        let mut out = Vec::with_capacity(self.len());
        out.extend(self.iter().map(|c| ChildSummary {
            id: None,
            pid: if c.restarting { ChildPid::Restarting } else { ChildPid::Running(c.pid) },
            kind: c.spec.get_type(),
        }));
        out
    }

    pub(super) fn counts(&self) -> ChildCounts {
        ChildCounts {
            specs: self.len(),
            active: self.len() - self.restarting,
            supervisors: self.supervisors,
            workers: self.len() - self.supervisors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child_spec::Started;

    #[test]
    fn children_keep_start_order_and_counts() {
        let pids: Vec<Pid> =
            ember_runtime::run(|| (0..5).map(|_| ember_runtime::spawn(|| {})).collect::<Vec<_>>()).unwrap();
        let mut c: Children<()> = Children::new();
        for (i, &p) in pids.iter().enumerate() {
            let spec = ChildSpec::new("c", || Started::Ignore);
            c.push(p, if i == 4 { spec.supervisor() } else { spec });
        }
        c.remove(pids[0]);
        c.remove(pids[2]);
        c.set_restarting(pids[4]);
        let order: Vec<Pid> = c.iter().map(|ch| ch.pid).collect();
        assert_eq!(order, vec![pids[1], pids[3], pids[4]]);
        assert_eq!(c.counts(), ChildCounts { specs: 3, active: 2, supervisors: 1, workers: 2 });
        c.remove(pids[4]);
        c.remove(pids[1]);
        c.remove(pids[3]);
        assert_eq!(c.iter().count(), 0);
        assert_eq!(c.counts(), ChildCounts::default());
    }
}
