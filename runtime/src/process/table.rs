//! The process table: slots addressed by index, never freed while the runtime
//! lives, grown a segment at a time.
//!
//! Lookup is lock-free (a segment directory of atomic pointers), so turning a
//! pid into its slot costs two loads. Free slot indices are recycled through
//! per-worker lists (see `WorkerLocal::free_slots`) that spill into and refill
//! from the shared list here in batches, so spawn and exit do not touch a
//! shared lock or counter in the common case.

use super::Slot;
use parking_lot::Mutex;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

const SEGMENT_BITS: u32 = 10;
/// Slots per segment.
pub(crate) const SEGMENT: usize = 1 << SEGMENT_BITS;
/// Segments at most: 2^16 × 2^10 = 64M processes.
const MAX_SEGMENTS: usize = 1 << 16;
/// Indices handed out or returned at a time between a worker and the table.
pub(crate) const BATCH: usize = 256;

pub(crate) struct Table {
    segments: Box<[AtomicPtr<Slot>]>,
    /// The next index never handed out.
    fresh: AtomicU32,
    /// Recycled indices not held by any worker.
    free: Mutex<Vec<u32>>,
    /// Live processes (spawned and not yet fully exited).
    pub(crate) live: AtomicUsize,
    /// Slots retired because their serials ran out (see
    /// `process::exit::RETIRE_AT`).
    pub(crate) retired: AtomicUsize,
    /// The serial new slots start at (0; a test hook seeds it near the
    /// limit, see `Builder::first_serial`).
    first_serial: u32,
}

/// Raised when the table is full (64M live processes).
#[derive(Debug)]
pub(crate) struct TableFull;

impl Table {
    pub(crate) fn new(first_serial: u32) -> Self {
        let segments = (0..MAX_SEGMENTS).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
        Table {
            segments,
            fresh: AtomicU32::new(0),
            free: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
            retired: AtomicUsize::new(0),
            first_serial,
        }
    }

    /// The slot at `index`, if that index was ever handed out.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&Slot> {
        let seg = self.segments.get((index >> SEGMENT_BITS) as usize)?.load(Ordering::Acquire);
        if seg.is_null() {
            return None;
        }
        // SAFETY: a non-null segment pointer came from `Box::into_raw` of a
        // boxed slice of exactly SEGMENT slots (see `ensure_segment`) and is
        // only freed by `Drop` of the table, which outlives `&self`.
        Some(unsafe { &*seg.add(index as usize & (SEGMENT - 1)) })
    }

    /// Refills `out` with up to `BATCH` free indices: recycled ones first,
    /// then never-used ones.
    pub(crate) fn take_batch(&self, out: &mut Vec<u32>) -> Result<(), TableFull> {
        {
            let mut free = self.free.lock();
            if !free.is_empty() {
                let n = free.len().min(BATCH);
                let at = free.len() - n;
                out.extend(free.drain(at..));
                return Ok(());
            }
        }
        let start = self.fresh.fetch_add(BATCH as u32, Ordering::Relaxed);
        let end = start as usize + BATCH;
        if end > MAX_SEGMENTS * SEGMENT {
            self.fresh.fetch_sub(BATCH as u32, Ordering::Relaxed);
            return Err(TableFull);
        }
        self.ensure_segment(start as usize >> SEGMENT_BITS);
        self.ensure_segment((end - 1) >> SEGMENT_BITS);
        // Hand them out lowest index last, so a LIFO free list uses the lowest first.
        out.extend((start..end as u32).rev());
        Ok(())
    }

    /// One free index, for spawns from outside the workers.
    pub(crate) fn take_one(&self) -> Result<u32, TableFull> {
        if let Some(index) = self.free.lock().pop() {
            return Ok(index);
        }
        let index = self.fresh.fetch_add(1, Ordering::Relaxed);
        if index as usize >= MAX_SEGMENTS * SEGMENT {
            self.fresh.fetch_sub(1, Ordering::Relaxed);
            return Err(TableFull);
        }
        self.ensure_segment(index as usize >> SEGMENT_BITS);
        Ok(index)
    }

    /// Returns indices to the shared free list.
    pub(crate) fn give_back(&self, indices: impl IntoIterator<Item = u32>) {
        self.free.lock().extend(indices);
    }

    fn ensure_segment(&self, seg: usize) {
        if !self.segments[seg].load(Ordering::Acquire).is_null() {
            return;
        }
        let base = (seg << SEGMENT_BITS) as u32;
        let slots: Box<[Slot]> = (0..SEGMENT as u32).map(|i| Slot::new(base + i, self.first_serial)).collect();
        let raw = Box::into_raw(slots) as *mut Slot;
        if self.segments[seg].compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // Another thread installed the segment first.
            // SAFETY: `raw` came from `Box::into_raw` just above and was never published.
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(raw, SEGMENT)) });
        }
    }

    /// Every slot ever handed out (for shutdown sweeps and `processes()`).
    pub(crate) fn slots(&self) -> impl Iterator<Item = &Slot> {
        let fresh = (self.fresh.load(Ordering::Acquire) as usize).min(MAX_SEGMENTS * SEGMENT);
        (0..fresh as u32).filter_map(move |i| self.get(i))
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        for seg in self.segments.iter() {
            let raw = seg.load(Ordering::Acquire);
            if !raw.is_null() {
                // SAFETY: see `get`; the table is being dropped, so no
                // reference into the segment remains.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(raw, SEGMENT)) });
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn batches_and_lookup() {
        let t = Table::new(0);
        let mut v = Vec::new();
        t.take_batch(&mut v).unwrap();
        assert_eq!(v.len(), BATCH);
        assert_eq!(*v.last().unwrap(), 0);
        for &i in &v {
            assert_eq!(t.get(i).unwrap().index, i);
        }
        assert!(t.get(SEGMENT as u32 * 3).is_none());
        t.give_back(v.drain(..10));
        let mut w = Vec::new();
        t.take_batch(&mut w).unwrap();
        assert_eq!(w.len(), 10, "recycled indices first");
    }
}
