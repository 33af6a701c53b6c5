//! The small maps a slot keeps its links and monitors in.
//!
//! Most processes have a handful of links and monitors, a few (supervisors,
//! servers with many concurrent callers) have millions. [`SmallMap`] is a
//! vector while small — compact, no hashing — and becomes a boxed hash map
//! past [`SPILL`] entries, so insert, remove and lookup stay O(1) for the
//! big ones (a DynamicSupervisor with a million linked children must not
//! scan a million links per exit).

use crate::pid::{Pid, Ref};
use std::collections::HashMap;
use std::hash::Hash;

/// Entries kept in a vector before switching to a hash map.
const SPILL: usize = 16;

/// The big maps hash with rustc's FxHash (the `rustc-hash` crate, which every
/// Ember crate uses for its runtime-generated keys): pids and references
/// are made by the runtime, not chosen by an attacker, so a fast
/// non-cryptographic hash is enough.
pub(crate) type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

#[derive(Debug)]
pub(crate) enum SmallMap<K, V> {
    Small(Vec<(K, V)>),
    Large(Box<FastMap<K, V>>),
}

impl<K: Eq + Hash + Copy, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap::Small(Vec::new())
    }
}

impl<K: Eq + Hash + Copy, V> SmallMap<K, V> {
    pub(crate) fn contains(&self, key: &K) -> bool {
        match self {
            SmallMap::Small(v) => v.iter().any(|(k, _)| k == key),
            SmallMap::Large(m) => m.contains_key(key),
        }
    }

    /// Inserts unless present; returns whether it was inserted.
    pub(crate) fn insert(&mut self, key: K, value: V) -> bool {
        match self {
            SmallMap::Small(v) => {
                if v.iter().any(|(k, _)| *k == key) {
                    return false;
                }
                if v.len() < SPILL {
                    v.push((key, value));
                    return true;
                }
                let mut map: FastMap<K, V> = v.drain(..).collect();
                map.insert(key, value);
                *self = SmallMap::Large(Box::new(map));
                true
            }
            SmallMap::Large(m) => {
                if m.contains_key(&key) {
                    return false;
                }
                m.insert(key, value);
                true
            }
        }
    }

    /// Inserts a key known to be absent (a fresh reference, a new process).
    pub(crate) fn insert_new(&mut self, key: K, value: V) {
        match self {
            SmallMap::Small(v) if v.len() < SPILL => v.push((key, value)),
            _ => {
                self.insert(key, value);
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        match self {
            SmallMap::Small(v) => {
                let i = v.iter().position(|(k, _)| k == key)?;
                Some(v.swap_remove(i).1)
            }
            SmallMap::Large(m) => m.remove(key),
        }
    }

    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = (&K, &V)> + '_> {
        match self {
            SmallMap::Small(v) => Box::new(v.iter().map(|(k, v)| (k, v))),
            SmallMap::Large(m) => Box::new(m.iter()),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            SmallMap::Small(v) => v.is_empty(),
            SmallMap::Large(m) => m.is_empty(),
        }
    }

    /// Frees the capacity it does not use (all of it when empty).
    pub(crate) fn shrink_to_fit(&mut self) {
        match self {
            SmallMap::Small(v) => v.shrink_to_fit(),
            SmallMap::Large(m) => m.shrink_to_fit(),
        }
    }

    pub(crate) fn take(&mut self) -> Vec<(K, V)> {
        match self {
            // The common case (most processes exit with a few links and
            // monitors, or none): three words swapped.
            SmallMap::Small(v) => std::mem::take(v),
            SmallMap::Large(_) => take_large(self),
        }
    }
}

#[cold]
fn take_large<K: Eq + Hash + Copy, V>(map: &mut SmallMap<K, V>) -> Vec<(K, V)> {
    match std::mem::take(map) {
        SmallMap::Small(v) => v,
        SmallMap::Large(m) => m.into_iter().collect(),
    }
}

/// Linked processes.
pub(crate) type Links = SmallMap<Pid, ()>;
/// A monitor held: its target, and the name it was monitored by.
pub(crate) type Held = (Pid, Option<crate::name::Name>);
/// Monitors held, by reference.
pub(crate) type Monitors = SmallMap<Ref, Held>;
/// Monitors on this process, by reference: the watcher.
pub(crate) type MonitoredBy = SmallMap<Ref, Pid>;

/// The entries of a set taken out of it ([`SmallMap::take`]).
pub(crate) type Taken<K, V> = Vec<(K, V)>;

/// A process's links and monitors, in one box allocated on the first of
/// them: most processes have none, and three empty sets would cost every
/// slot 72 B (an idle process's slot is most of what it costs besides its
/// stack page). The box stays with the slot once allocated, across the
/// processes that reuse it, so a supervisor restarting a linked child
/// allocates nothing for it; a hibernating process whose sets are all empty
/// frees it (`process::hibernation`).
#[derive(Default)]
pub(crate) struct Relations(Option<Box<Sets>>);

/// The three sets of [`Relations`].
#[derive(Default)]
pub(crate) struct Sets {
    /// Linked processes (at most one link per pair).
    pub(crate) links: Links,
    /// Monitors this process holds: target, and the name if by name.
    pub(crate) monitors: Monitors,
    /// Monitors others hold on this process: the watcher.
    pub(crate) monitored_by: MonitoredBy,
}

impl Relations {
    /// The sets, if they were ever allocated.
    #[inline]
    pub(crate) fn get(&self) -> Option<&Sets> {
        self.0.as_deref()
    }

    /// The sets, to add to them: allocated on first use.
    #[inline]
    pub(crate) fn make(&mut self) -> &mut Sets {
        self.0.get_or_insert_with(Default::default)
    }

    /// Removes the link to `pid`; whether there was one.
    #[inline]
    pub(crate) fn remove_link(&mut self, pid: &Pid) -> bool {
        self.0.as_mut().is_some_and(|s| s.links.remove(pid).is_some())
    }

    /// Removes a monitor this process holds.
    #[inline]
    pub(crate) fn remove_monitor(&mut self, monitor: &Ref) -> Option<Held> {
        self.0.as_mut()?.monitors.remove(monitor)
    }

    /// Whether this process holds `monitor`.
    #[inline]
    pub(crate) fn has_monitor(&self, monitor: &Ref) -> bool {
        self.0.as_ref().is_some_and(|s| s.monitors.contains(monitor))
    }

    /// Removes a monitor held on this process; whether there was one.
    #[inline]
    pub(crate) fn remove_monitored_by(&mut self, monitor: &Ref) -> bool {
        self.0.as_mut().is_some_and(|s| s.monitored_by.remove(monitor).is_some())
    }

    /// Whether all three sets are empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|s| s.links.is_empty() && s.monitors.is_empty() && s.monitored_by.is_empty())
    }

    /// Frees the capacity the sets do not use: the box itself when all three
    /// are empty.
    pub(crate) fn shrink_to_fit(&mut self) {
        if self.is_empty() {
            self.0 = None;
        } else if let Some(sets) = self.0.as_mut() {
            sets.links.shrink_to_fit();
            sets.monitors.shrink_to_fit();
            sets.monitored_by.shrink_to_fit();
        }
    }

    /// Empties the links and the monitors held on this process (an exit
    /// answering the late ones), keeping the box.
    pub(crate) fn take_links_and_monitored_by(&mut self) -> (Taken<Pid, ()>, Taken<Ref, Pid>) {
        match self.0.as_mut() {
            Some(s) => (s.links.take(), s.monitored_by.take()),
            None => (Vec::new(), Vec::new()),
        }
    }

    /// Empties all three sets (an exit), keeping the box.
    pub(crate) fn take_all(&mut self) -> (Taken<Pid, ()>, Taken<Ref, Held>, Taken<Ref, Pid>) {
        match self.0.as_mut() {
            Some(s) => (s.links.take(), s.monitors.take(), s.monitored_by.take()),
            None => (Vec::new(), Vec::new(), Vec::new()),
        }
    }

    /// Whether the box is allocated (for tests of what a process keeps).
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.0.is_some()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn small_then_large() {
        let mut m: SmallMap<u32, u32> = SmallMap::default();
        for i in 0..100 {
            assert!(m.insert(i, i * 2));
            assert!(!m.insert(i, 0));
        }
        assert!(matches!(m, SmallMap::Large(_)));
        assert_eq!(m.remove(&7), Some(14));
        assert_eq!(m.remove(&7), None);
        assert!(m.contains(&8));
        assert_eq!(m.take().len(), 99);
        assert!(m.take().is_empty());
    }

    #[test]
    fn relations_allocate_on_the_first_entry_and_free_when_shrunk_empty() {
        let mut r = Relations::default();
        assert!(r.is_empty() && !r.is_allocated());
        let (pid, monitor) = (Pid::new(0, 1, 1), Ref::new());
        // Removing from nothing allocates nothing.
        assert!(!r.remove_link(&pid) && r.remove_monitor(&monitor).is_none() && !r.remove_monitored_by(&monitor));
        assert!(!r.has_monitor(&monitor) && !r.is_allocated());
        r.make().monitors.insert_new(monitor, (pid, None));
        r.make().links.insert_new(pid, ());
        assert!(r.is_allocated() && !r.is_empty() && r.has_monitor(&monitor));
        r.shrink_to_fit();
        assert!(r.is_allocated(), "not freed while it holds something");
        assert!(r.remove_monitor(&monitor).is_some());
        let (links, monitored_by) = r.take_links_and_monitored_by();
        assert_eq!((links.len(), monitored_by.len()), (1, 0));
        assert!(r.is_empty() && r.is_allocated(), "an exit keeps the box for the slot's next process");
        r.shrink_to_fit();
        assert!(!r.is_allocated());
    }
}
