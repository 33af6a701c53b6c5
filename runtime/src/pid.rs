//! Process identifiers and unique references.
//!
//! A [`Pid`] names one process of one runtime for ever: it carries the slot
//! index of the process table and the slot's *serial* at spawn time. When the
//! process exits, the slot's serial moves on, so an old pid never aliases the
//! process that reuses the slot (sending to it is a silent no-op, as on the
//! BEAM). The third field says which runtime ("node") the pid belongs to, so a
//! plain OS thread can send to any pid without holding a runtime handle.
//!
//! A [`Ref`] is a value unique within the OS process, used for monitors,
//! timers and call tags (Erlang's `make_ref()`).

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The identifier of a process.
///
/// `Pid` is a small `Copy` value (12 bytes). It displays like Erlang's pids,
/// `<node.index.serial>`, where `node` numbers the runtimes of this OS process
/// in creation order (the first runtime is node 0, so pids of an ordinary
/// program read `<0.123.0>`), and the remote nodes a distribution layer
/// meets take the following numbers (see [`crate::node`]).
///
/// A pid outlives its process: once the process has exited, the pid is *dead*
/// (its slot may be reused by a new process, which gets a different pid).
///
/// ```
/// let (me, child) = ember_runtime::run(|| {
///     let child = ember_runtime::spawn(|| {});
///     (ember_runtime::self_pid(), child)
/// })
/// .unwrap();
/// assert_ne!(me, child);
/// assert!(me.to_string().starts_with("<"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid {
    pub(crate) node: u32,
    pub(crate) index: u32,
    pub(crate) serial: u32,
}

impl Pid {
    pub(crate) const fn new(node: u32, index: u32, serial: u32) -> Pid {
        Pid { node, index, serial }
    }

    /// The runtime ("node") this pid belongs to.
    ///
    /// ```
    /// let node = ember_runtime::run(|| ember_runtime::self_pid().node()).unwrap();
    /// let _ = node;
    /// ```
    pub fn node(&self) -> u32 {
        self.node
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}.{}>", self.node, self.index, self.serial)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A reference unique within this OS process (Erlang's `make_ref()`).
///
/// Monitors, timers and call tags are identified by a `Ref`.
///
/// ```
/// use ember_runtime::Ref;
/// assert_ne!(Ref::new(), Ref::new());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref(u64);

/// References are handed out to threads in blocks, so making one is a
/// thread-local increment and never contends on a shared counter.
const REF_BLOCK: u64 = 1 << 16;
static NEXT_REF_BLOCK: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static REF_RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

impl Ref {
    /// Makes a fresh reference, different from every other one made in this
    /// OS process.
    ///
    /// ```
    /// let a = ember_runtime::Ref::new();
    /// let b = a;
    /// assert_eq!(a, b);
    /// ```
    // Not inlined: the thread-local must be re-read after every context
    // switch, so its address must never be cached by a caller's frame.
    #[inline(never)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Ref {
        REF_RANGE.with(|range| {
            let (mut next, mut end) = range.get();
            if next == end {
                let block = NEXT_REF_BLOCK.fetch_add(1, Ordering::Relaxed);
                next = block * REF_BLOCK;
                end = next + REF_BLOCK;
            }
            range.set((next + 1, end));
            Ref(next)
        })
    }

    /// A reference from its raw value (`crate::node::ref_from_raw`).
    pub(crate) const fn from_raw(raw: u64) -> Ref {
        Ref(raw)
    }

    /// The raw value, for diagnostics.
    ///
    /// ```
    /// assert!(ember_runtime::Ref::new().as_u64() > 0);
    /// ```
    pub fn as_u64(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Ref<{}.{}>", self.0 / REF_BLOCK, self.0 % REF_BLOCK)
    }
}

impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_unique_across_threads() {
        let handles: Vec<_> =
            (0..4).map(|_| std::thread::spawn(|| (0..100_000).map(|_| Ref::new()).collect::<Vec<_>>())).collect();
        let mut all: Vec<Ref> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn pid_display() {
        assert_eq!(Pid::new(0, 123, 0).to_string(), "<0.123.0>");
        assert_eq!(format!("{:?}", Pid::new(1, 2, 3)), "<1.2.3>");
    }
}
