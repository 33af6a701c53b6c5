//! The per-process resource table: which sockets a process owns, so that
//! they are closed even when its stack is abandoned.
//!
//! # Ownership
//!
//! A socket is owned by the last process that used it: the one that opened
//! or accepted it, then whichever process makes a call on it (a socket
//! moved into a spawned closure or sent in a message changes owner at its
//! new holder's first call). Each claim adds a weak entry to the claimer's
//! table; entries of sockets that were dropped, or that another process
//! claimed since, are pruned as the table grows.
//!
//! # At exit
//!
//! * A process that **returned or unwound** ran its destructors: every
//!   socket object on its stack is dropped and closed. A socket still
//!   alive is held elsewhere (in a message, another process, a static), and
//!   keeps living there: the table only gives up ownership
//!   (`release`). This is ordinary Rust ownership; a socket
//!   that is `mem::forget`-ed leaks, as a `std` socket would.
//! * A process whose **stack is abandoned** (a stack overflow: no
//!   destructor of its frames runs) closes every socket it still owns
//!   (`close_owned`). Sockets on the dead stack have no
//!   object left to close them; a socket it owned that sits in a mailbox or
//!   in another process that never used it is closed too — its object
//!   stays safe to use (every call fails with `NotConnected`, and its fd
//!   number is never reused under it: see `source`), as a `gen_tcp` socket
//!   dies with its controlling process. What leaks is the socket's small
//!   heap state on the dead stack, not its fd.

use crate::pid::Pid;
use std::sync::Weak;

/// What the table needs of a socket.
pub(crate) trait Resource: Send + Sync {
    fn owned_by(&self, pid: Pid) -> bool;
    fn disown(&self, pid: Pid);
    fn force_close(&self);
}

/// A process's owned sockets (a field of the process's private `Local`
/// state: only the process, or the worker running its exit, touches it).
///
/// Boxed, and only once the process owns a socket: most processes never do,
/// and the slot is the fixed cost of every process.
#[derive(Default)]
pub(crate) struct ResourceTable(Option<Box<Owned>>);

#[derive(Default)]
struct Owned {
    entries: Vec<Weak<dyn Resource>>,
    /// Set when the process's stack is abandoned: its exit closes what it
    /// owns instead of releasing it.
    abandoned: bool,
}

impl ResourceTable {
    fn owned(&mut self) -> &mut Owned {
        self.0.get_or_insert_with(Default::default)
    }

    /// The process's stack is being abandoned (destructors of its frames
    /// will not run): at exit, close what it owns.
    pub(crate) fn mark_abandoned(&mut self) {
        self.owned().abandoned = true;
    }

    /// The exit procedure's step: closes or releases (see the module docs),
    /// and frees the table.
    pub(crate) fn on_exit(&mut self, pid: Pid) {
        let Some(owned) = self.0.take() else { return };
        if owned.abandoned {
            owned.close_owned(pid);
        } else {
            owned.release(pid);
        }
    }

    /// Adds a socket the process just claimed. Amortised O(1): when the
    /// vector is full, entries of dropped sockets are pruned first.
    pub(crate) fn add(&mut self, resource: Weak<dyn Resource>) {
        let entries = &mut self.owned().entries;
        if entries.len() == entries.capacity() && entries.len() >= 4 {
            entries.retain(|w| w.strong_count() > 0);
        }
        entries.push(resource);
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |owned| owned.entries.len())
    }
}

impl Owned {
    /// The process exited and its destructors ran: gives up ownership of
    /// whatever it still owns (held elsewhere; see the module docs).
    fn release(self, pid: Pid) {
        for entry in self.entries {
            if let Some(r) = entry.upgrade() {
                r.disown(pid);
            }
        }
    }

    /// The process's stack was abandoned: closes every socket it still
    /// owns.
    fn close_owned(self, pid: Pid) {
        for entry in self.entries {
            if let Some(r) = entry.upgrade() {
                if r.owned_by(pid) {
                    r.force_close();
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    struct Fake {
        owner: AtomicU64,
        closed: AtomicBool,
    }

    fn key(pid: Pid) -> u64 {
        (pid.index as u64) << 32 | pid.serial as u64
    }

    impl Resource for Fake {
        fn owned_by(&self, pid: Pid) -> bool {
            self.owner.load(Ordering::Relaxed) == key(pid)
        }
        fn disown(&self, pid: Pid) {
            if self.owned_by(pid) {
                self.owner.store(u64::MAX, Ordering::Relaxed);
            }
        }
        fn force_close(&self) {
            self.closed.store(true, Ordering::Relaxed);
        }
    }

    fn fake(owner: Pid) -> Arc<Fake> {
        Arc::new(Fake { owner: AtomicU64::new(key(owner)), closed: AtomicBool::new(false) })
    }

    #[test]
    fn dropped_entries_are_pruned_as_the_table_grows() {
        let me = Pid::new(0, 1, 0);
        let mut table = ResourceTable::default();
        for _ in 0..1000 {
            let r = fake(me);
            table.add(Arc::downgrade(&r) as Weak<dyn Resource>);
        }
        assert!(table.len() <= 8, "dead entries pruned: {}", table.len());
    }

    #[test]
    fn exit_releases_and_abandonment_closes_only_what_it_owns() {
        let me = Pid::new(0, 1, 0);
        let other = Pid::new(0, 2, 0);
        let mine = fake(me);
        let claimed_since = fake(other);
        let mut table = ResourceTable::default();
        table.add(Arc::downgrade(&mine) as Weak<dyn Resource>);
        table.add(Arc::downgrade(&claimed_since) as Weak<dyn Resource>);
        table.mark_abandoned();
        table.on_exit(me);
        assert!(mine.closed.load(Ordering::Relaxed));
        assert!(!claimed_since.closed.load(Ordering::Relaxed), "another process owns it now");

        let kept = fake(me);
        let mut table = ResourceTable::default();
        table.add(Arc::downgrade(&kept) as Weak<dyn Resource>);
        table.on_exit(me);
        assert!(!kept.closed.load(Ordering::Relaxed), "a normal exit only gives up ownership");
        assert!(!kept.owned_by(me));
        assert_eq!(table.len(), 0);
    }
}
