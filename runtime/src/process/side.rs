//! What few processes have, kept beside the process table rather than in
//! every slot (the slot is the fixed cost of every process).
//!
//! An entry is keyed by slot index and is valid while a flag in the slot's
//! `Shared` says so; the flag changes under the slot's lock, and a table's
//! lock is only ever taken inside it or with no slot lock held, never the
//! other way round. The exit takes the flag and removes the entry, so a
//! reused slot starts without one.

use super::sets::FastMap;
use super::ExitHook;
use parking_lot::Mutex;

/// One side table (see the module docs).
pub(crate) struct SideTable<T>(Mutex<FastMap<u32, T>>);

impl<T> Default for SideTable<T> {
    fn default() -> Self {
        SideTable(Mutex::new(FastMap::default()))
    }
}

impl<T> SideTable<T> {
    /// Sets the entry of slot `index`; returns the one it replaces.
    pub(crate) fn set(&self, index: u32, value: T) -> Option<T> {
        self.0.lock().insert(index, value)
    }

    /// Removes the entry of slot `index` (its process exited).
    pub(crate) fn remove(&self, index: u32) -> Option<T> {
        self.0.lock().remove(&index)
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.0.lock().len()
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Clone> SideTable<T> {
    pub(crate) fn get(&self, index: u32) -> Option<T> {
        self.0.lock().get(&index).cloned()
    }
}

/// The runtime's side tables.
#[derive(Default)]
pub(crate) struct SideTables {
    /// Labels processes set themselves (`set_label`); flag:
    /// `Shared::text_label`.
    pub(crate) labels: SideTable<String>,
    /// Called with the exit reason once the process has exited (how
    /// `Runtime::block_on` learns how its root process ended); flag:
    /// `Shared::exit_hook`.
    pub(crate) exit_hooks: SideTable<ExitHook>,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::process::current::current;
    use crate::{Reason, Runtime};

    #[test]
    fn a_root_process_hands_its_exit_to_block_on_and_leaves_no_hook_behind() {
        let rt = Runtime::new().unwrap();
        assert_eq!(rt.block_on(|| 7).unwrap(), 7);
        let failed: Result<(), Reason> = rt.block_on(|| crate::exit(Reason::custom("gone")));
        assert_eq!(failed, Err(Reason::custom("gone")));
        // Only the hook of the root asking is left.
        let hooks = rt.block_on(|| current().sched().side.exit_hooks.len()).unwrap();
        assert_eq!(hooks, 1);
    }
}
