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
/// Monitors held, by reference: target and the name it was monitored by.
pub(crate) type Monitors = SmallMap<Ref, (Pid, Option<crate::name::Name>)>;
/// Monitors on this process, by reference: the watcher.
pub(crate) type MonitoredBy = SmallMap<Ref, Pid>;

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
}
