//! The hierarchical timer wheel itself; see the [module documentation](super)
//! for the design and the exact guarantees.

use slab::Slab;
use std::fmt;
use std::num::NonZeroU64;
use std::time::{Duration, Instant};

/// log2 of the number of slots per level.
const SLOT_BITS: u32 = 6;

/// Number of slots per level (64: one bit each in a `u64` occupancy bitmap).
const SLOTS: usize = 1 << SLOT_BITS;

/// Mask extracting a slot number from a shifted time.
const SLOT_MASK: u64 = SLOTS as u64 - 1;

/// Number of levels. Level `l` has slots `64^l` ms wide, so the wheel spans
/// `64^LEVELS = 2^36` ms (about 2.2 years) before deadlines wrap around the
/// top level.
pub(super) const LEVELS: usize = 6;

/// The wheel's clock never goes past this many ms (about 146 million years),
/// which keeps all slot arithmetic far away from `u64` overflow. Deadlines are
/// not clamped: one beyond this bound simply never fires.
const MAX_ELAPSED: u64 = 1 << 62;

/// The null link of the intrusive lists.
const NIL: u32 = u32::MAX;

/// Which list an entry is linked into.
///
/// An enum rather than a bare `u8` so that the type has a niche, which lets
/// the `Vacant`/`Occupied` enum inside the slab be exactly as large as an
/// [`Entry`] (no separate discriminant word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Place {
    /// Level 0 (1 ms slots).
    L0 = 0,
    /// Level 1 (64 ms slots).
    L1 = 1,
    /// Level 2 (4.096 s slots).
    L2 = 2,
    /// Level 3 (~4.4 min slots).
    L3 = 3,
    /// Level 4 (~4.7 h slots).
    L4 = 4,
    /// Level 5 (~12.4 day slots; also holds deadlines beyond the wheel's span).
    L5 = 5,
    /// The list of timers whose deadline had already passed when they were
    /// inserted; they fire on the next advance.
    Expired = 6,
}

/// [`Place`] of each level, indexed by level.
const LEVEL_PLACES: [Place; LEVELS] = [Place::L0, Place::L1, Place::L2, Place::L3, Place::L4, Place::L5];

/// One pending timer, stored in the slab and linked into exactly one list.
struct Entry<T> {
    /// The caller's payload, handed back by `cancel` or `advance`.
    value: T,
    /// Deadline in whole ms since the wheel's start, rounded up.
    deadline: u64,
    /// Unique per insertion, to tell a live key from a stale one whose slab
    /// slot has been reused.
    generation: NonZeroU64,
    /// Previous entry in the list, or [`NIL`] for the list's head.
    prev: u32,
    /// Next entry in the list, or [`NIL`] for the list's tail.
    next: u32,
    /// Slot within the level (unused for [`Place::Expired`]).
    slot: u8,
    /// The level (or the expired list) the entry is linked into.
    place: Place,
}

/// Handle to a timer inserted into a [`TimerWheel`], used to cancel it.
///
/// A key stays valid until its timer fires or is cancelled; after that it is
/// *stale* and every operation on it is a no-op, even if the wheel's storage
/// slot has since been reused by another timer (each insertion carries a
/// unique 64-bit generation, which never wraps in practice).
/// `Option<TimerKey>` is as large as `TimerKey` (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey {
    /// Index of the entry in the slab.
    index: u32,
    /// Generation of the entry when the key was issued.
    generation: NonZeroU64,
}

impl TimerKey {
    /// The key's two parts, for a holder that packs them with other fields
    /// (`time::PendingWake`).
    pub(crate) fn into_parts(self) -> (u32, NonZeroU64) {
        (self.index, self.generation)
    }

    /// The key [`into_parts`](Self::into_parts) took apart.
    pub(crate) fn from_parts(index: u32, generation: NonZeroU64) -> Self {
        TimerKey { index, generation }
    }
}

/// A hierarchical hashed timer wheel with 1 ms resolution, generic over the
/// timers' payload `T`. See the [module documentation](super).
pub(crate) struct TimerWheel<T> {
    /// Time zero of the wheel; all times are whole ms since this instant.
    start: Instant,
    /// The wheel's clock, in ms since `start`: every timer whose deadline is
    /// `<= elapsed` has fired, except those in the expired list.
    elapsed: u64,
    /// Storage of the pending timers.
    entries: Slab<Entry<T>>,
    /// Head of each slot's list, per level.
    heads: [[u32; SLOTS]; LEVELS],
    /// Per level, bit `s` is set iff slot `s` is non-empty.
    occupied: [u64; LEVELS],
    /// Head of the expired list (timers inserted with a deadline that had
    /// already passed).
    expired: u32,
    /// Generation of the next inserted timer.
    next_generation: NonZeroU64,
}

impl<T> TimerWheel<T> {
    /// Creates an empty wheel whose time zero is `start`.
    ///
    /// Time is measured in whole milliseconds since `start`; instants before
    /// `start` count as `start`.
    pub fn new(start: Instant) -> Self {
        TimerWheel {
            start,
            elapsed: 0,
            entries: Slab::new(),
            heads: [[NIL; SLOTS]; LEVELS],
            occupied: [0; LEVELS],
            expired: NIL,
            next_generation: NonZeroU64::MIN,
        }
    }

    /// Arms a timer that fires at `deadline` carrying `value`; O(1).
    ///
    /// The deadline is rounded *up* to a whole ms, so the timer never fires
    /// before it. A deadline not after the wheel's clock (the last `now`
    /// passed to [`advance`](Self::advance)) fires on the next `advance`.
    ///
    /// # Panics
    ///
    /// If about 2^32 timers are pending at once.
    pub fn insert(&mut self, deadline: Instant, value: T) -> TimerKey {
        let deadline = self.deadline_ms(deadline);
        let generation = self.next_generation;
        self.next_generation = generation.checked_add(1).expect("timer generations exhausted");
        let index = self.entries.vacant_key();
        let index = match u32::try_from(index) {
            Ok(index) if index != NIL => index,
            _ => panic!("too many pending timers"),
        };
        let (place, slot, next) = self.file(index, deadline);
        self.entries.insert(Entry { value, deadline, generation, prev: NIL, next, slot, place });
        if next != NIL {
            self.entries[next as usize].prev = index;
        }
        TimerKey { index, generation }
    }

    /// Disarms the timer of `key` and returns its payload; O(1).
    ///
    /// Returns `None`, and changes nothing, if the key is stale: its timer
    /// already fired (was returned by [`advance`](Self::advance)) or was
    /// already cancelled.
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let index = key.index as usize;
        let entry = self.entries.get(index)?;
        if entry.generation != key.generation {
            return None;
        }
        let links = (entry.prev, entry.next, entry.place, entry.slot);
        self.unlink(links);
        Some(self.entries.remove(index).value)
    }

    /// Returns an instant at or before which the next timer is due, or `None`
    /// if no timer is pending; O(levels).
    ///
    /// The result is never later than the earliest pending deadline (rounded
    /// up to a ms), but may be earlier: when the earliest timer sits in a
    /// coarse slot, this is the start of that slot. In every case an
    /// [`advance`](Self::advance) to the returned instant (or later) makes
    /// progress: it fires at least one timer or moves a coarse slot's timers
    /// to finer levels, so looping on `next_deadline` + `advance` terminates
    /// after at most about `levels` iterations per timer. If timers inserted
    /// with a deadline already passed are pending, this returns an instant
    /// that is not after the wheel's clock. Also returns `None` in the
    /// absurd case where the instant is not representable.
    pub fn next_deadline(&self) -> Option<Instant> {
        let when = if self.expired != NIL { self.elapsed } else { self.next_expiration()?.2 };
        self.start.checked_add(Duration::from_millis(when))
    }

    /// Advances the wheel's clock to `now` (rounded down to a whole ms) and
    /// appends the payload of every timer whose (rounded-up) deadline is
    /// `<= now` to `fired`, in unspecified order.
    ///
    /// Every such timer fires on the first call whose `now` reaches its
    /// deadline, and none fires earlier. The cost is O(fired + number of
    /// non-empty slots crossed); a timer is moved between levels at most once
    /// per level on its way down (plus once per 2^36 ms for deadlines beyond
    /// the wheel's span). A `now` earlier than a previous one does not move
    /// the clock back; it only fires the already-expired timers that are due
    /// at that `now`.
    pub fn advance(&mut self, now: Instant, fired: &mut Vec<T>) {
        let now = self.now_ms(now);
        if self.expired != NIL {
            self.fire_expired(now, fired);
        }
        while let Some((level, slot, start)) = self.next_expiration() {
            if start > now {
                break;
            }
            // Every non-empty slot starts after `elapsed`, and this one is
            // the earliest, so moving the clock here skips nothing.
            self.elapsed = start;
            let mut index = std::mem::replace(&mut self.heads[level][slot], NIL);
            self.occupied[level] &= !(1 << slot);
            while index != NIL {
                let entry = &self.entries[index as usize];
                let (next, deadline) = (entry.next, entry.deadline);
                if deadline <= start {
                    fired.push(self.entries.remove(index as usize).value);
                } else {
                    // Lands in a finer level (or back in the top level for
                    // deadlines beyond the span), in a slot starting after
                    // `start`.
                    self.link(index, deadline);
                }
                index = next;
            }
        }
        if now > self.elapsed {
            self.elapsed = now;
        }
    }

    /// Returns the number of pending timers.
    #[allow(dead_code)] // part of the API; used by tests and diagnostics
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns `true` if no timer is pending.
    #[allow(dead_code)] // part of the API; used by tests and diagnostics
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Fires the entries of the expired list due at `now`; keeps the others.
    #[cold]
    fn fire_expired(&mut self, now: u64, fired: &mut Vec<T>) {
        let mut index = std::mem::replace(&mut self.expired, NIL);
        while index != NIL {
            let entry = &self.entries[index as usize];
            let (next, deadline) = (entry.next, entry.deadline);
            if deadline <= now {
                fired.push(self.entries.remove(index as usize).value);
            } else {
                // Only reachable when `now` went backwards.
                self.link(index, deadline);
            }
            index = next;
        }
    }

    /// Returns `(level, slot, start)` of the non-empty slot that starts
    /// first, `start` in ms since `self.start`.
    ///
    /// Each level's non-empty slots lie within the current slot of the next
    /// level up, so the lowest non-empty level holds the earliest slot.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let (slot, start) = self.next_slot(level);
        debug_assert!((level + 1..LEVELS).filter(|&l| self.occupied[l] != 0).all(|l| self.next_slot(l).1 > start));
        Some((level, slot, start))
    }

    /// Returns the first non-empty slot of `level` (which must have one) and
    /// the time it starts: the smallest instant after `elapsed` whose digit
    /// at `level` is the slot number and whose finer digits are zero.
    fn next_slot(&self, level: usize) -> (usize, u64) {
        let shift = level as u32 * SLOT_BITS;
        let current = (self.elapsed >> shift) & SLOT_MASK;
        // Search starts with the slot after the current one and wraps around
        // (only the top level can hold slots at or before the current one).
        let first = (current + 1) & SLOT_MASK;
        let rotated = self.occupied[level].rotate_right(first as u32);
        let slot = (u64::from(rotated.trailing_zeros()) + first) & SLOT_MASK;
        let span = 1u64 << (shift + SLOT_BITS);
        let mut start = (self.elapsed & !(span - 1)) + (slot << shift);
        if slot <= current {
            start += span;
        }
        (slot as usize, start)
    }

    /// Links the (unlinked) entry at `index`, due at `deadline`, at the head
    /// of the list its deadline belongs to, given the current clock.
    #[inline]
    fn link(&mut self, index: u32, deadline: u64) {
        let (place, slot, next) = self.file(index, deadline);
        let entry = &mut self.entries[index as usize];
        entry.prev = NIL;
        entry.next = next;
        entry.place = place;
        entry.slot = slot;
        if next != NIL {
            self.entries[next as usize].prev = index;
        }
    }

    /// Makes `index` the head of the list where a timer due at `deadline`
    /// belongs given the current clock (marking the slot occupied), and
    /// returns that list's place, slot and former head. The caller finishes
    /// linking: the entry's fields, and the former head's `prev`.
    #[inline]
    fn file(&mut self, index: u32, deadline: u64) -> (Place, u8, u32) {
        if deadline <= self.elapsed {
            let next = std::mem::replace(&mut self.expired, index);
            return (Place::Expired, 0, next);
        }
        let level = level_for(self.elapsed, deadline);
        let slot = ((deadline >> (level as u32 * SLOT_BITS)) & SLOT_MASK) as usize;
        self.occupied[level] |= 1 << slot;
        let next = std::mem::replace(&mut self.heads[level][slot], index);
        (LEVEL_PLACES[level], slot as u8, next)
    }

    /// Unlinks an entry, given its `(prev, next, place, slot)`, from its list,
    /// keeping the list's head and its slot's occupancy bit up to date. The
    /// entry itself is left as is.
    #[inline]
    fn unlink(&mut self, (prev, next, place, slot): (u32, u32, Place, u8)) {
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else if place == Place::Expired {
            self.expired = next;
        } else {
            let (level, slot) = (place as usize, slot as usize);
            self.heads[level][slot] = next;
            if next == NIL {
                self.occupied[level] &= !(1 << slot);
            }
        }
    }

    /// Converts a deadline to whole ms since `start`, rounding up.
    fn deadline_ms(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        let sub_ms = d.subsec_nanos().div_ceil(1_000_000);
        d.as_secs().saturating_mul(1000).saturating_add(u64::from(sub_ms))
    }

    /// Converts a current time to whole ms since `start`, rounding down.
    fn now_ms(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.start);
        let ms = d.as_secs().saturating_mul(1000).saturating_add(u64::from(d.subsec_millis()));
        ms.min(MAX_ELAPSED)
    }
}

/// Returns the level at which a timer due at `deadline` (> `elapsed`) is
/// filed: the level of the most significant 6-bit digit in which the two
/// times differ, capped at the top level.
#[inline]
fn level_for(elapsed: u64, deadline: u64) -> usize {
    let masked = (elapsed ^ deadline) | SLOT_MASK;
    let significant = 63 - masked.leading_zeros();
    ((significant / SLOT_BITS) as usize).min(LEVELS - 1)
}

impl<T> fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("start", &self.start)
            .field("elapsed_ms", &self.elapsed)
            .field("len", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// Size in bytes of one slab slot holding a timer with payload `T`, for the
/// memory report in the tests (mirrors `slab`'s private `Entry` enum).
#[cfg(test)]
pub(super) fn slot_size<T>() -> usize {
    #[allow(dead_code)]
    enum SlabEntry<E> {
        Vacant(usize),
        Occupied(E),
    }
    std::mem::size_of::<SlabEntry<Entry<T>>>()
}

#[cfg(test)]
impl<T> TimerWheel<T> {
    /// The wheel's clock, in ms since its start.
    pub(super) fn elapsed_ms(&self) -> u64 {
        self.elapsed
    }

    /// Capacity of the slab (allocated timer slots).
    pub(super) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Checks every structural invariant; panics on violation.
    pub(super) fn check_invariants(&self) {
        let mut seen = 0;
        let mut walk = |head: u32, place: Place, slot: usize| {
            let mut prev = NIL;
            let mut index = head;
            while index != NIL {
                let e = &self.entries[index as usize];
                assert_eq!(e.prev, prev);
                assert_eq!(e.place, place);
                if place == Place::Expired {
                    assert!(e.deadline <= self.elapsed);
                } else {
                    assert!(e.deadline > self.elapsed);
                    let level = place as usize;
                    assert_eq!(e.slot as usize, slot);
                    assert_eq!(level_for(self.elapsed, e.deadline), level);
                    let (_, start) = self.next_slot_of(level, slot);
                    assert!(start <= e.deadline, "slot starts after the deadline");
                }
                seen += 1;
                prev = index;
                index = e.next;
            }
        };
        walk(self.expired, Place::Expired, 0);
        for (level, heads) in self.heads.iter().enumerate() {
            for (slot, &head) in heads.iter().enumerate() {
                assert_eq!(head != NIL, self.occupied[level] & (1 << slot) != 0);
                walk(head, LEVEL_PLACES[level], slot);
            }
        }
        assert_eq!(seen, self.entries.len());
    }

    /// `next_slot` restricted to one given slot.
    fn next_slot_of(&self, level: usize, slot: usize) -> (usize, u64) {
        let mut probe = TimerWheel::<()>::new(self.start);
        probe.elapsed = self.elapsed;
        probe.occupied[level] = 1 << slot;
        probe.next_slot(level)
    }
}
