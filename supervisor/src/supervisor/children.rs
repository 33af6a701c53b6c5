//! The children of a static supervisor: records in start order
//! ([`StartOrder`]), found by id and, while they run, by pid through hash
//! maps — O(1) for every lookup, insert and removal, so a supervisor with
//! 100,000 children starts, restarts, terminates and deletes each of them
//! in constant time. (OTP scans its `Ids` list; its `scale_start_stop_many_children`
//! case asks only for near-linear growth.)
//!
//! The pid map holds exactly the children that are `Running`: every state
//! change goes through [`Children::set_state`], which keeps it so.

use crate::child_spec::{ChildId, ChildSpec, Restart};
use crate::shutdown::PidMap;
use crate::start_order::{Key, StartOrder};
use ember_runtime::Pid;
use std::collections::HashMap;

/// The state of one child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// Running with this pid.
    Running(Pid),
    /// A restart failed; a retry is pending. Holds the pid it had, if any
    /// (OTP's `{restarting, OldPid}`).
    Restarting(Option<Pid>),
    /// Not running.
    Undefined,
}

/// One child: its spec and state.
pub(super) struct ChildRecord {
    pub(super) spec: ChildSpec,
    state: State,
}

impl ChildRecord {
    pub(super) fn new(spec: ChildSpec) -> Self {
        ChildRecord { spec, state: State::Undefined }
    }

    pub(super) fn id(&self) -> &ChildId {
        self.spec.id()
    }

    pub(super) fn state(&self) -> State {
        self.state
    }

    pub(super) fn pid(&self) -> Option<Pid> {
        match self.state {
            State::Running(p) => Some(p),
            _ => None,
        }
    }

    pub(super) fn is_temporary(&self) -> bool {
        self.spec.get_restart() == Restart::Temporary
    }

    /// The state to keep when a restart fails (OTP's `restarting/1`: a pid
    /// becomes `{restarting, Pid}`, a restarting value stays as it is).
    pub(super) fn restarting(&self) -> State {
        match self.state {
            State::Running(p) => State::Restarting(Some(p)),
            State::Restarting(old) => State::Restarting(old),
            State::Undefined => State::Restarting(None),
        }
    }
}

/// The children, in start order, with their indexes.
pub(super) struct Children {
    order: StartOrder<ChildRecord>,
    by_id: HashMap<ChildId, Key>,
    by_pid: PidMap<Key>,
}

impl Children {
    /// The children of `specs` (ids already checked to be unique), none
    /// running.
    pub(super) fn new(specs: Vec<ChildSpec>) -> Self {
        let mut children = Children {
            order: StartOrder::new(),
            by_id: HashMap::with_capacity(specs.len()),
            by_pid: PidMap::default(),
        };
        for spec in specs {
            children.push(ChildRecord::new(spec));
        }
        children
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// The child with this id.
    pub(super) fn find(&self, id: &ChildId) -> Option<Key> {
        self.by_id.get(id).copied()
    }

    /// The child running as `pid`.
    pub(super) fn running(&self, pid: Pid) -> Option<Key> {
        self.by_pid.get(&pid).copied()
    }

    pub(super) fn get(&self, key: Key) -> &ChildRecord {
        self.order.get(key)
    }

    /// Appends a child (its id must not be taken): it starts after, and
    /// stops before, every child there is.
    pub(super) fn push(&mut self, child: ChildRecord) -> Key {
        let (id, pid) = (child.id().clone(), child.pid());
        let key = self.order.push_back(child);
        self.by_id.insert(id, key);
        if let Some(pid) = pid {
            self.by_pid.insert(pid, key);
        }
        key
    }

    pub(super) fn remove(&mut self, key: Key) -> ChildRecord {
        let child = self.order.remove(key);
        self.by_id.remove(child.id());
        if let Some(pid) = child.pid() {
            self.by_pid.remove(&pid);
        }
        child
    }

    pub(super) fn set_state(&mut self, key: Key, state: State) {
        let child = self.order.get_mut(key);
        if let State::Running(old) = child.state {
            self.by_pid.remove(&old);
        }
        if let State::Running(new) = state {
            self.by_pid.insert(new, key);
        }
        child.state = state;
    }

    /// Drops the start function of child `k` (a temporary child that runs).
    pub(super) fn drop_start(&mut self, key: Key) {
        self.order.get_mut(key).spec.drop_start();
    }

    pub(super) fn first(&self) -> Option<Key> {
        self.order.first()
    }

    pub(super) fn last(&self) -> Option<Key> {
        self.order.last()
    }

    pub(super) fn next(&self, key: Key) -> Option<Key> {
        self.order.next(key)
    }

    pub(super) fn prev(&self, key: Key) -> Option<Key> {
        self.order.prev(key)
    }

    /// The children in start order.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &ChildRecord> {
        self.order.iter().map(|(_, child)| child)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(c: &Children) -> Vec<String> {
        c.iter().map(|r| r.id().to_string()).collect()
    }

    #[test]
    fn lookups_follow_every_change_and_the_order_is_kept() {
        let pids: Vec<Pid> =
            ember_runtime::run(|| (0..3).map(|_| ember_runtime::spawn(|| {})).collect::<Vec<_>>()).unwrap();
        let spec = |id: &str| ChildSpec::new(id, || Pid::UNDEFINED);
        let mut c = Children::new(vec![spec("a"), spec("b"), spec("c")]);
        assert_eq!(ids(&c), ["a", "b", "c"]);
        let (a, b, cc) = (c.find(&"a".into()).unwrap(), c.find(&"b".into()).unwrap(), c.find(&"c".into()).unwrap());
        c.set_state(a, State::Running(pids[0]));
        c.set_state(b, State::Running(pids[1]));
        assert_eq!((c.running(pids[0]), c.running(pids[1])), (Some(a), Some(b)));
        // A restart gives b a new pid; the old one no longer finds it.
        c.set_state(b, State::Running(pids[2]));
        assert_eq!((c.running(pids[1]), c.running(pids[2])), (None, Some(b)));
        c.set_state(b, c.get(b).restarting());
        assert_eq!(c.get(b).state(), State::Restarting(Some(pids[2])));
        assert_eq!(c.running(pids[2]), None);
        // Removing the middle keeps the order; appending goes last.
        let removed = c.remove(b);
        assert_eq!(removed.id().as_str(), "b");
        assert_eq!(c.find(&"b".into()), None);
        let d = c.push(ChildRecord::new(spec("d")));
        assert_eq!(ids(&c), ["a", "c", "d"]);
        assert_eq!(c.iter().rev().map(|r| r.id().to_string()).collect::<Vec<_>>(), ["d", "c", "a"]);
        assert_eq!((c.first(), c.last(), c.next(a), c.prev(d)), (Some(a), Some(d), Some(cc), Some(cc)));
        c.remove(a);
        assert_eq!(c.running(pids[0]), None, "a removed running child leaves the pid map");
        assert_eq!(c.len(), 2);
    }
}
