//! A process's function before it runs: [`Entry`], which holds a small
//! closure in place instead of in a box.
//!
//! Every spawn hands the runtime a closure, which waits in the process's slot
//! until a worker first runs the process and moves it onto the new stack (or,
//! for a hibernating process, until the next message arrives). Boxing it cost
//! each spawn a `malloc` and a `free`, and a burst of spawns left its boxes
//! behind in the allocator's arena: they are all alive together before their
//! processes start, and glibc keeps the freed chunks resident (about 30 B per
//! process of the burst).
//!
//! Most closures a process is spawned with capture a pid and a few numbers,
//! so an `Entry` keeps any closure of up to [`INLINE`] bytes (with an
//! alignment of at most 8) inside itself, beside a pointer to the two
//! functions that run or drop it. A larger closure goes to the heap, and the
//! `Entry` holds its box the same way.
//!
//! Freeing the box before the call matters too: calling a `Box<dyn FnOnce>`
//! moves the closure onto the stack but frees the box only once the call
//! returns, and a process's function returns when the process ends. Both
//! ways of holding a closure here move it out (and free its box) before
//! calling it.

use super::Finish;
use std::mem::{ManuallyDrop, MaybeUninit};

/// Bytes of closure an [`Entry`] holds without a heap allocation. With the
/// pointer to its functions an `Entry` is 48 B, the size of the suspended
/// coroutine that shares the slot's body with it, so holding a closure in
/// place costs the slot nothing.
pub(crate) const INLINE: usize = 40;

/// The closure's storage: words, so anything aligned to 8 or less fits.
type Storage = MaybeUninit<[usize; INLINE / std::mem::size_of::<usize>()]>;

/// How to run or drop the closure held in an [`Entry`]'s storage.
struct Functions {
    /// Moves the closure out of the storage and calls it.
    start: unsafe fn(*mut Storage) -> Finish,
    /// Drops the closure in the storage without calling it.
    drop: unsafe fn(*mut Storage),
}

/// The functions of one closure type: an associated constant, so that a
/// reference to it is promoted to a `'static` (one table per type).
trait HasFunctions {
    /// For the closure itself in the storage.
    const IN_PLACE: Functions;
    /// For its box in the storage.
    const BOXED: Functions;
}

impl<F: FnOnce() -> Finish> HasFunctions for F {
    const IN_PLACE: Functions = Functions { start: start_in_place::<F>, drop: drop_in_place::<F> };
    const BOXED: Functions = Functions { start: start_boxed::<F>, drop: drop_in_place::<Box<F>> };
}

/// # Safety
///
/// `storage` holds a valid `F`, which the caller gives up.
unsafe fn start_in_place<F: FnOnce() -> Finish>(storage: *mut Storage) -> Finish {
    // SAFETY: the caller's obligation; the storage is aligned for `F` (checked
    // by `holding` when the entry was made), and is never read again.
    let f = unsafe { storage.cast::<F>().read() };
    f()
}

/// # Safety
///
/// `storage` holds a valid `Box<F>`, which the caller gives up.
unsafe fn start_boxed<F: FnOnce() -> Finish>(storage: *mut Storage) -> Finish {
    // The block ends the box's life: a moved-from box is freed at the end
    // of its scope, so the closure is out and the box freed before the call.
    let f = {
        // SAFETY: as for `start_in_place`; a box fits any storage.
        let boxed = unsafe { storage.cast::<Box<F>>().read() };
        *boxed
    };
    f()
}

/// # Safety
///
/// `storage` holds a valid `F`, which the caller gives up.
unsafe fn drop_in_place<F>(storage: *mut Storage) {
    // SAFETY: as for `start_in_place`.
    unsafe { storage.cast::<F>().drop_in_place() }
}

/// Whether a value of type `T` can be held in an entry's storage.
const fn fits<T>() -> bool {
    std::mem::size_of::<T>() <= std::mem::size_of::<Storage>()
        && std::mem::align_of::<T>() <= std::mem::align_of::<Storage>()
}

/// A process's function, not yet called: the closure itself when it fits in
/// [`INLINE`] bytes, its box otherwise.
///
/// Dropping an `Entry` drops the closure (a process killed before it ran);
/// [`Entry::start`] calls it.
pub(crate) struct Entry {
    functions: &'static Functions,
    storage: Storage,
}

// SAFETY: an `Entry` is made only from a `Send` closure (see `new`), and it
// holds nothing else: moving it to another thread moves that closure.
unsafe impl Send for Entry {}

impl Entry {
    /// Holds `f` in place if it fits, in a box otherwise.
    #[inline]
    pub(crate) fn new<F: FnOnce() -> Finish + Send + 'static>(f: F) -> Entry {
        if fits::<F>() {
            // SAFETY: `F` fits, and `IN_PLACE` is `F`'s.
            unsafe { Entry::holding(f, &<F as HasFunctions>::IN_PLACE) }
        } else {
            // SAFETY: a box fits, and `BOXED` is for `Box<F>`.
            unsafe { Entry::holding(Box::new(f), &<F as HasFunctions>::BOXED) }
        }
    }

    /// Holds `value` in the storage, run and dropped by `functions`.
    ///
    /// # Safety
    ///
    /// `functions` must be for a `T` held in the storage.
    #[inline]
    unsafe fn holding<T>(value: T, functions: &'static Functions) -> Entry {
        assert!(fits::<T>(), "what an entry holds fits its storage");
        let mut storage = Storage::uninit();
        // SAFETY: `T` fits the storage in size and alignment (above); the
        // storage is fresh, so nothing is overwritten.
        unsafe { storage.as_mut_ptr().cast::<T>().write(value) };
        Entry { functions, storage }
    }

    /// Calls the function, having moved it out of this entry (and freed its
    /// box, if it had one).
    #[inline]
    pub(crate) fn start(self) -> Finish {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: the storage holds what `functions` belongs to (both were
        // set together by `holding`); `this` is never dropped, so
        // the closure is given up here, once.
        unsafe { (this.functions.start)(&mut this.storage) }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // SAFETY: as in `start`: the storage holds the closure, and `self` is
        // not used again.
        unsafe { (self.functions.drop)(&mut self.storage) }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::reason::Reason;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Counts its drops.
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn exit_reason(finish: Finish) -> Reason {
        match finish {
            Finish::Exit(reason) => reason,
            Finish::Hibernate(_) => panic!("expected an exit"),
        }
    }

    #[test]
    fn an_entry_is_the_size_of_a_suspended_coroutine() {
        assert_eq!(std::mem::size_of::<Entry>(), 48);
        assert!(std::mem::size_of::<super::super::Body>() <= 56);
    }

    #[test]
    fn a_small_closure_is_held_in_place_and_called_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let captured = Counted(drops.clone());
        let words = [1u64, 2, 3];
        let f = move || {
            let _keep = &captured;
            Finish::Exit(Reason::custom(format!("{}", words.iter().sum::<u64>())))
        };
        assert!(fits::<Arc<AtomicUsize>>() && std::mem::size_of_val(&f) <= INLINE);
        let entry = Entry::new(f);
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        assert_eq!(exit_reason(entry.start()), Reason::custom(String::from("6")));
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the captures are dropped once, by the call");
    }

    #[test]
    fn a_large_closure_is_boxed_and_called_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let captured = Counted(drops.clone());
        let big = [7u8; 200];
        let f = move || {
            let _keep = &captured;
            Finish::Exit(Reason::custom(format!("{}", big.iter().map(|&b| b as u32).sum::<u32>())))
        };
        assert!(std::mem::size_of_val(&f) > INLINE);
        let entry = Entry::new(f);
        assert_eq!(exit_reason(entry.start()), Reason::custom(String::from("1400")));
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_over_aligned_closure_is_boxed() {
        #[repr(align(16))]
        struct Wide(u8);
        let wide = Wide(5);
        let f = move || Finish::Exit(Reason::custom(format!("{}", wide.0)));
        assert!(!fits::<Wide>());
        assert_eq!(exit_reason(Entry::new(f).start()), Reason::custom(String::from("5")));
    }

    #[test]
    fn an_entry_dropped_unstarted_drops_its_closure_once() {
        for big in [false, true] {
            let drops = Arc::new(AtomicUsize::new(0));
            let captured = Counted(drops.clone());
            let entry = if big {
                let pad = [0u8; 100];
                Entry::new(move || {
                    let _keep = (&captured, pad);
                    Finish::Exit(Reason::Normal)
                })
            } else {
                Entry::new(move || {
                    let _keep = &captured;
                    Finish::Exit(Reason::Normal)
                })
            };
            // Moved around as the runtime does (into the slot, out to a worker).
            let moved = vec![entry].pop().unwrap();
            drop(moved);
            assert_eq!(drops.load(Ordering::Relaxed), 1, "big: {big}");
        }
    }

    #[test]
    fn a_panicking_closure_drops_its_captures_once() {
        for big in [false, true] {
            let drops = Arc::new(AtomicUsize::new(0));
            let captured = Counted(drops.clone());
            let pad = [0u8; 100];
            let entry = if big {
                Entry::new(move || {
                    let _keep = (&captured, pad);
                    panic!("boom")
                })
            } else {
                Entry::new(move || {
                    let _keep = &captured;
                    panic!("boom")
                })
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || entry.start()));
            assert!(result.is_err());
            assert_eq!(drops.load(Ordering::Relaxed), 1, "big: {big}");
        }
    }
}
