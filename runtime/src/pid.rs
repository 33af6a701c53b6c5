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

/// A string that is not a pid in the `<node.index.serial>` form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePidError(String);

impl fmt::Display for ParsePidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a pid (expected <node.index.serial>): {:?}", self.0)
    }
}

impl std::error::Error for ParsePidError {}

impl std::str::FromStr for Pid {
    type Err = ParsePidError;

    /// Parses the form [`Pid`] displays as, `<node.index.serial>` (Erlang's
    /// `list_to_pid/1`): for tools that name a process in text, such as the
    /// observer. The pid may be dead or name no runtime; that is found out
    /// when it is used, as for any pid.
    ///
    /// ```
    /// let pid = ember_runtime::run(|| ember_runtime::self_pid()).unwrap();
    /// assert_eq!(pid.to_string().parse::<ember_runtime::Pid>(), Ok(pid));
    /// assert!("<1.2>".parse::<ember_runtime::Pid>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || ParsePidError(s.chars().take(64).collect());
        let inner = s.trim().strip_prefix('<').and_then(|r| r.strip_suffix('>')).ok_or_else(error)?;
        let mut parts = inner.split('.').map(|p| p.parse::<u32>().map_err(|_| error()));
        let (node, index, serial) =
            (parts.next().ok_or_else(error)??, parts.next().ok_or_else(error)??, parts.next().ok_or_else(error)??);
        if parts.next().is_some() {
            return Err(error());
        }
        Ok(Pid::new(node, index, serial))
    }
}

impl serde::Serialize for Pid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Pid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
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
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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

    #[test]
    fn pid_parses_what_it_displays_and_nothing_else() {
        let pid = Pid::new(1, 4_000_000_000, 7);
        assert_eq!(pid.to_string().parse::<Pid>(), Ok(pid));
        for bad in ["", "<>", "<1.2>", "<1.2.3.4>", "1.2.3", "<a.2.3>", "<1.2.3", "<-1.2.3>", "<1.2.99999999999>"] {
            assert!(bad.parse::<Pid>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn pid_serializes_as_its_display_form() {
        let pid = Pid::new(0, 12, 3);
        assert_eq!(serde_json::to_string(&pid).unwrap(), "\"<0.12.3>\"");
        assert_eq!(serde_json::from_str::<Pid>("\"<0.12.3>\"").unwrap(), pid);
        assert!(serde_json::from_str::<Pid>("\"<0.12>\"").is_err());
    }
}
