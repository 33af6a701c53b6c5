//! Slab mappings and carving stacks out of them.
//!
//! A slab is one anonymous mapping holding many stacks of one size class, laid
//! out back to back, each as `[guard page][usable bytes]`:
//!
//! ```text
//!  low                                                               high
//!  | guard | usable ... | guard | usable ... | guard | usable ... |  ...
//!  ^ limit of stack 0   ^ base of stack 0 = limit of stack 1
//! ```
//!
//! A [`Carver`] owns the slabs of one class. It hands out never-used stacks
//! from a bump index into the newest slab and maps a new slab, twice as large
//! as the previous one (up to [`MAX_SLAB_STACKS`] stacks), when it runs out.
//! Slabs are never unmapped while the pool lives.

use super::StackError;
use std::io;
use std::ptr;

/// Stacks in the first slab of a class.
pub(crate) const FIRST_SLAB_STACKS: usize = 32;

/// Most stacks in one slab: with 128 KiB stacks, a 4 GiB slab. One million
/// stacks then take about forty mappings.
pub(crate) const MAX_SLAB_STACKS: usize = 32 * 1024;

/// Most bytes in one slab (caps the slabs of the large classes).
const MAX_SLAB_BYTES: usize = if usize::BITS >= 64 { 8 << 30 } else { 256 << 20 };

/// One anonymous read-write mapping holding stacks of one size class.
#[derive(Debug)]
pub(crate) struct Slab {
    /// Start of the mapping.
    addr: usize,
    /// Length of the mapping in bytes.
    len: usize,
}

impl Slab {
    /// Maps `len` bytes of address space, reserved lazily.
    ///
    /// `MAP_NORESERVE`: a slab is mostly address space that will never be
    /// touched, so it must not count against the overcommit heuristic.
    /// `MADV_NOHUGEPAGE`: with transparent huge pages set to `always`, the first
    /// touch of a stack would otherwise fault in 2 MiB for a handful of KiB.
    fn map(len: usize) -> Result<Slab, StackError> {
        // SAFETY: a fresh anonymous mapping at an address the kernel picks; no
        // existing memory is affected.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(StackError::Mmap { bytes: len, source: io::Error::last_os_error() });
        }
        #[cfg(target_os = "linux")]
        // SAFETY: the range is the mapping we just created; the advice only
        // changes how future faults are served. Failure is harmless.
        unsafe {
            libc::madvise(p, len, libc::MADV_NOHUGEPAGE);
        }
        Ok(Slab { addr: p as usize, len })
    }
}

/// The slabs of one size class, and the bump index of never-used stacks.
#[derive(Debug)]
pub(crate) struct Carver {
    /// Bytes per stack: guard page plus usable bytes.
    stride: usize,
    /// Every slab mapped for this class, oldest first.
    slabs: Vec<Slab>,
    /// Next never-used stack in the newest slab.
    next: usize,
    /// Stacks in the newest slab.
    capacity: usize,
    /// Sum of the slab lengths.
    mapped_bytes: usize,
}

impl Carver {
    /// A carver for stacks of `stride` bytes (guard included); maps nothing yet.
    pub(crate) fn new(stride: usize) -> Self {
        Carver { stride, slabs: Vec::new(), next: 0, capacity: 0, mapped_bytes: 0 }
    }

    /// The low address (the guard page) of a never-used stack, mapping a new
    /// slab when the newest one is used up. The stack has no guard yet.
    pub(crate) fn carve(&mut self) -> Result<usize, StackError> {
        if self.next == self.capacity {
            let stacks = self.next_slab_stacks();
            let slab = Slab::map(stacks * self.stride)?;
            self.mapped_bytes += slab.len;
            self.slabs.push(slab);
            self.next = 0;
            self.capacity = stacks;
        }
        let slab = self.slabs.last().expect("a slab was just mapped");
        let addr = slab.addr + self.next * self.stride;
        self.next += 1;
        Ok(addr)
    }

    /// How many stacks the next slab holds: twice the previous one, within
    /// [`MAX_SLAB_STACKS`] and [`MAX_SLAB_BYTES`], at least one.
    fn next_slab_stacks(&self) -> usize {
        let doubled = if self.capacity == 0 { FIRST_SLAB_STACKS } else { self.capacity.saturating_mul(2) };
        doubled.min(MAX_SLAB_STACKS).min(MAX_SLAB_BYTES / self.stride).max(1)
    }

    /// The number of slabs mapped.
    pub(crate) fn slabs(&self) -> usize {
        self.slabs.len()
    }

    /// Bytes of address space mapped.
    pub(crate) fn mapped_bytes(&self) -> usize {
        self.mapped_bytes
    }

    /// Unmaps every slab.
    ///
    /// # Safety
    ///
    /// No stack carved from these slabs may be in use or used afterwards.
    pub(crate) unsafe fn unmap_all(&mut self) {
        for slab in self.slabs.drain(..) {
            // SAFETY: the slab is our own mapping and, by the caller's
            // contract, no stack in it is referenced any more.
            let rc = unsafe { libc::munmap(slab.addr as *mut libc::c_void, slab.len) };
            debug_assert_eq!(rc, 0, "munmap of a stack slab failed");
        }
        self.next = 0;
        self.capacity = 0;
        self.mapped_bytes = 0;
    }
}

/// `MADV_DONTNEED` on `len` bytes at `addr`: the pages go back to the kernel
/// and read as zero on the next touch. Returns whether the kernel agreed.
///
/// # Safety
///
/// The range must be page-aligned memory of a slab that nobody uses (a free
/// stack's usable bytes): its contents are discarded.
pub(crate) unsafe fn discard(addr: usize, len: usize) -> bool {
    // SAFETY: forwarded from the caller: our own, unused, page-aligned range.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slabs_grow_geometrically_up_to_the_cap() {
        let mut c = Carver::new(4096 + 16384);
        let mut sizes = Vec::new();
        let mut capacity = 0;
        for _ in 0..12 {
            let next = c.next_slab_stacks();
            sizes.push(next);
            // Pretend the slab is mapped and full, without mapping it.
            capacity = next;
            c.capacity = capacity;
            c.next = capacity;
        }
        assert_eq!(capacity, MAX_SLAB_STACKS);
        assert_eq!(&sizes[..4], &[32, 64, 128, 256]);
        assert_eq!(sizes[10], MAX_SLAB_STACKS);
        // Huge stacks: a few per slab, at least one.
        let c = Carver::new(1 << 30 | 4096);
        assert!((1..=8).contains(&c.next_slab_stacks()));
    }

    #[test]
    fn carving_is_contiguous_and_maps_lazily() {
        let stride = 4096 + 16384;
        let mut c = Carver::new(stride);
        assert_eq!((c.slabs(), c.mapped_bytes()), (0, 0));
        let first = c.carve().unwrap();
        assert_eq!((c.slabs(), c.mapped_bytes()), (1, FIRST_SLAB_STACKS * stride));
        for i in 1..FIRST_SLAB_STACKS {
            assert_eq!(c.carve().unwrap(), first + i * stride);
        }
        c.carve().unwrap();
        assert_eq!((c.slabs(), c.mapped_bytes()), (2, 3 * FIRST_SLAB_STACKS * stride));
        // SAFETY: nothing carved here is in use.
        unsafe { c.unmap_all() };
        assert_eq!((c.slabs(), c.mapped_bytes()), (0, 0));
    }
}
