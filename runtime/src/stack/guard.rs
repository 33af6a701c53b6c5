//! Guard page installation.
//!
//! Every stack has one guard page at its low end, so that overflowing the
//! stack faults instead of silently scribbling over the stack below it. There
//! are two ways to make a page inaccessible inside a slab mapping:
//!
//! * `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+) puts a guard marker into the
//!   page table entry. The VMA is untouched, so a slab with thousands of
//!   guarded stacks is still a single kernel memory map. About 1 µs.
//! * `mprotect(PROT_NONE)` works everywhere, but it changes the protection of
//!   part of a VMA, which splits it: every guard costs two entries against
//!   `vm.max_map_count` (65,530 by default), just like corosensei's
//!   `DefaultStack`.
//!
//! [`GuardMode::Auto`] tries the madvise the first time a guard is needed and
//! falls back to `mprotect` for good when the kernel answers `EINVAL` (an
//! unknown advice). When `mprotect` fails with `ENOMEM` the map budget is
//! spent: the caller gets [`StackError::MapBudgetExhausted`] and may retry
//! once stacks have been released (reused stacks keep their guard).

use super::{GuardMode, StackError};
use std::io;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// `MADV_GUARD_INSTALL` from `<linux/mman.h>` (Linux 6.13+): make the range a
/// guard region that faults on any access, without creating a VMA.
pub(crate) const MADV_GUARD_INSTALL: libc::c_int = 102;

/// `MADV_GUARD_REMOVE` from `<linux/mman.h>` (Linux 6.13+): remove guard
/// markers from the range. The pool never removes a guard (slabs are unmapped
/// whole), so only the tests use it.
#[cfg(test)]
pub(crate) const MADV_GUARD_REMOVE: libc::c_int = 103;

/// Guard mode not decided yet (`Auto` before the first guard).
const UNDECIDED: u8 = 0;
/// Guards are installed with `madvise(MADV_GUARD_INSTALL)`.
const MADVISE: u8 = 1;
/// Guards are installed with `mprotect(PROT_NONE)`.
const MPROTECT: u8 = 2;

/// Installs guard pages for one pool, and remembers which mechanism works.
#[derive(Debug)]
pub(crate) struct Guards {
    /// The mode the pool was configured with.
    configured: GuardMode,
    /// The mechanism in effect: `UNDECIDED`, `MADVISE` or `MPROTECT`. Moves
    /// from `UNDECIDED` to one of the others, and from `MADVISE` to
    /// `MPROTECT` only under `Auto` if the kernel starts refusing the advice.
    state: AtomicU8,
    /// Test hook: the number of `mprotect` guards allowed before failing as
    /// the kernel does when `vm.max_map_count` is reached.
    mprotect_budget: Option<usize>,
    /// `mprotect` guards installed so far.
    mprotect_guards: AtomicUsize,
    /// The page size; a guard is one page.
    page: usize,
}

impl Guards {
    /// Guards for a pool configured with `mode` on a system with `page`-byte
    /// pages.
    pub(crate) fn new(mode: GuardMode, mprotect_budget: Option<usize>, page: usize) -> Self {
        let state = match mode {
            GuardMode::Auto => UNDECIDED,
            GuardMode::Madvise => MADVISE,
            GuardMode::Mprotect => MPROTECT,
        };
        Guards {
            configured: mode,
            state: AtomicU8::new(state),
            mprotect_budget,
            mprotect_guards: AtomicUsize::new(0),
            page,
        }
    }

    /// The mechanism in effect; `Auto` until the first guard is installed.
    pub(crate) fn mode(&self) -> GuardMode {
        match self.state.load(Ordering::Relaxed) {
            MADVISE => GuardMode::Madvise,
            MPROTECT => GuardMode::Mprotect,
            _ => GuardMode::Auto,
        }
    }

    /// The number of guards installed with `mprotect` (each one costs two
    /// kernel memory maps).
    pub(crate) fn mprotect_guards(&self) -> usize {
        self.mprotect_guards.load(Ordering::Relaxed)
    }

    /// Makes the page at `addr` a guard page.
    ///
    /// On error the page is left as it was (readable and writable), and the
    /// stack it belongs to must not be handed out.
    ///
    /// # Safety
    ///
    /// `addr` must be page-aligned, lie inside a live slab mapping of the
    /// pool, and belong to a stack that nobody uses (it has never been handed
    /// out), so that removing access to it cannot break any reference.
    pub(crate) unsafe fn install(&self, addr: usize) -> Result<(), StackError> {
        debug_assert_eq!(addr % self.page, 0);
        if self.state.load(Ordering::Relaxed) != MPROTECT {
            // SAFETY: forwarded from the caller (an unused page of ours).
            match unsafe { madvise_guard(addr, self.page) } {
                Ok(()) => {
                    let _ = self.state.compare_exchange(UNDECIDED, MADVISE, Ordering::Relaxed, Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    if self.configured == GuardMode::Madvise {
                        return Err(StackError::GuardUnsupported);
                    }
                    // An old kernel: the advice is unknown. Fall back for good.
                    self.state.store(MPROTECT, Ordering::Relaxed);
                }
                Err(e) => return Err(StackError::Guard(e)),
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.install_mprotect(addr) }
    }

    /// `mprotect(PROT_NONE)` guard, within the (simulated) map budget.
    ///
    /// # Safety
    ///
    /// As for [`Guards::install`].
    unsafe fn install_mprotect(&self, addr: usize) -> Result<(), StackError> {
        let exhausted =
            |count| StackError::MapBudgetExhausted { mprotect_guards: count, max_map_count: max_map_count() };
        if let Some(budget) = self.mprotect_budget {
            // Reserve one unit of the budget first, so that concurrent
            // allocations never exceed it.
            if let Err(count) = self
                .mprotect_guards
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < budget).then_some(n + 1))
            {
                return Err(exhausted(count));
            }
        }
        // SAFETY: `addr` is page-aligned and the page lies inside one of our
        // mappings (caller's contract); nobody references it, so taking away
        // access cannot invalidate anything.
        let rc = unsafe { libc::mprotect(addr as *mut libc::c_void, self.page, libc::PROT_NONE) };
        if rc == 0 {
            if self.mprotect_budget.is_none() {
                self.mprotect_guards.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if self.mprotect_budget.is_some() {
            self.mprotect_guards.fetch_sub(1, Ordering::Relaxed);
        }
        if err.raw_os_error() == Some(libc::ENOMEM) {
            // Splitting the VMA would exceed vm.max_map_count.
            Err(exhausted(self.mprotect_guards()))
        } else {
            Err(StackError::Guard(err))
        }
    }
}

/// `madvise(addr, len, MADV_GUARD_INSTALL)`, retried on `EINTR`/`EAGAIN`.
///
/// # Safety
///
/// `addr..addr + len` must be page-aligned memory of ours that nobody uses:
/// its contents are discarded and any later access faults.
#[cfg(target_os = "linux")]
unsafe fn madvise_guard(addr: usize, len: usize) -> io::Result<()> {
    loop {
        // SAFETY: the caller guarantees the range is ours and unused; the
        // advice only discards its (never used) contents and adds markers.
        let rc = unsafe { libc::madvise(addr as *mut libc::c_void, len, MADV_GUARD_INSTALL) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
            _ => return Err(err),
        }
    }
}

/// Guard markers are Linux-only: elsewhere report the advice as unknown, which
/// makes `Auto` fall back to `mprotect`.
///
/// # Safety
///
/// None needed; kept `unsafe` to match the Linux version.
#[cfg(not(target_os = "linux"))]
unsafe fn madvise_guard(_addr: usize, _len: usize) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

/// The current `vm.max_map_count`, for error messages.
fn max_map_count() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A private anonymous mapping of `pages` pages, unmapped on drop.
    struct Mapping {
        addr: usize,
        len: usize,
    }

    impl Mapping {
        fn new(pages: usize) -> Self {
            let len = pages * page();
            // SAFETY: a fresh anonymous mapping; no existing memory is affected.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(p, libc::MAP_FAILED);
            Mapping { addr: p as usize, len }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: the mapping is ours and nothing refers to it any more.
            unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
        }
    }

    fn page() -> usize {
        // SAFETY: sysconf has no preconditions.
        unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
    }

    #[test]
    fn auto_resolves_on_first_guard() {
        let map = Mapping::new(4);
        let guards = Guards::new(GuardMode::Auto, None, page());
        assert_eq!(guards.mode(), GuardMode::Auto);
        // SAFETY: the first page of our own, unused mapping.
        unsafe { guards.install(map.addr) }.unwrap();
        assert_ne!(guards.mode(), GuardMode::Auto);
        if guards.mode() == GuardMode::Madvise {
            assert_eq!(guards.mprotect_guards(), 0);
        } else {
            assert_eq!(guards.mprotect_guards(), 1);
        }
    }

    #[test]
    fn mprotect_budget_is_enforced_and_kept_on_failure() {
        let map = Mapping::new(8);
        let guards = Guards::new(GuardMode::Mprotect, Some(2), page());
        let install = |page_index: usize| {
            // SAFETY: a page of our own mapping, unused by anything.
            unsafe { guards.install(map.addr + page_index * page()) }
        };
        install(0).unwrap();
        install(2).unwrap();
        let err = install(4).unwrap_err();
        assert!(matches!(err, StackError::MapBudgetExhausted { mprotect_guards: 2, .. }), "{err:?}");
        assert_eq!(guards.mprotect_guards(), 2);
        // The refused page is still writable.
        // SAFETY: page 4 of our mapping, still read-write.
        unsafe { ((map.addr + 4 * page()) as *mut u8).write_volatile(1) };
    }

    /// The kernel refuses `MADV_GUARD_INSTALL` with `EINVAL` on `mlock`ed
    /// memory, as an old kernel does for the unknown advice: `Auto` must fall
    /// back to `mprotect` for good, and a forced `Madvise` must say why.
    #[test]
    fn auto_falls_back_to_mprotect_on_einval() {
        let map = Mapping::new(4);
        // SAFETY: locking pages of our own mapping changes no contents.
        let rc = unsafe { libc::mlock(map.addr as *const libc::c_void, map.len) };
        if rc != 0 {
            eprintln!("skipped: mlock failed: {}", io::Error::last_os_error());
            return;
        }
        // SAFETY: page 0 of our own mapping, unused.
        match unsafe { madvise_guard(map.addr, page()) } {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            other => {
                eprintln!("skipped: madvise guard on locked memory gave {other:?}, not EINVAL");
                return;
            }
        }
        let forced = Guards::new(GuardMode::Madvise, None, page());
        // SAFETY: page 2 of our own mapping, unused.
        let err = unsafe { forced.install(map.addr + 2 * page()) }.unwrap_err();
        assert!(matches!(err, StackError::GuardUnsupported), "{err:?}");

        let auto = Guards::new(GuardMode::Auto, None, page());
        // SAFETY: page 2 of our own mapping, unused.
        unsafe { auto.install(map.addr + 2 * page()) }.unwrap();
        assert_eq!((auto.mode(), auto.mprotect_guards()), (GuardMode::Mprotect, 1));
        // For good: the next guard goes straight to mprotect.
        // SAFETY: page 0 of our own mapping, unused.
        unsafe { auto.install(map.addr) }.unwrap();
        assert_eq!((auto.mode(), auto.mprotect_guards()), (GuardMode::Mprotect, 2));
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let guard_line = format!("{:x}-{:x} ---p", map.addr + 2 * page(), map.addr + 3 * page());
        assert!(maps.contains(&guard_line), "no PROT_NONE mapping {guard_line}");
    }

    #[test]
    fn madvise_guard_install_remove_roundtrip() {
        let map = Mapping::new(2);
        // SAFETY: our own unused page.
        match unsafe { madvise_guard(map.addr, page()) } {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return, // kernel < 6.13
            r => r.unwrap(),
        }
        // The page faults now (the pool's tests check that in a child process);
        // removing the marker makes it usable again, zero-filled.
        // SAFETY: our own page, guarded above and unused.
        let rc = unsafe { libc::madvise(map.addr as *mut libc::c_void, page(), MADV_GUARD_REMOVE) };
        assert_eq!(rc, 0);
        let p = map.addr as *mut u8;
        // SAFETY: the guard was removed; the page is read-write again.
        assert_eq!(unsafe { p.read_volatile() }, 0);
        // SAFETY: as above.
        unsafe { p.write_volatile(7) };
    }
}
