//! The shared tables of one registry, and every read and write on them.
//!
//! A registry with `P` partitions has `P` **key tables** and `P` **pid
//! tables**, each behind its own reader-writer lock, all in one [`Tables`]
//! value shared (through an `Arc`) by the registry's processes and by every
//! [`Registry`](crate::Registry) handle. Reads and writes are done by the
//! calling process itself, with no message to any registry process — like
//! Elixir's public ETS tables.
//!
//! * A key table maps a key to its entry (unique) or entries (duplicate):
//!   `(pid, value)`.
//! * A pid table maps a registered process to the keys it registered in this
//!   partition (with the index of the key table holding each), and records
//!   the partition process that **owns** it: the process every registered
//!   process of this partition is linked to, and which deletes a process's
//!   entries when its exit signal arrives.
//!
//! Which partition (SEMANTICS.md §7.1):
//!
//! | keys | key table | pid table |
//! |---|---|---|
//! | unique | hash(key) | hash(pid) |
//! | duplicate by pid | hash(pid) | hash(pid) |
//! | duplicate by key | hash(key) | hash(key) |
//!
//! # Registering
//!
//! The caller links itself to the pid table's owner, inserts its pid entry,
//! then its key entry — pid entry first, so that from the moment a key entry
//! exists, the owner will find it when the process dies. A process only dies
//! at a runtime call, and there is none between the two inserts, so the exit
//! signal that starts the cleanup always comes after both.
//!
//! # Restarts
//!
//! When partition processes restart, the tables they owned are cleared. Each
//! pid table carries an **epoch**: a restart bumps it (with the owner set to
//! "none") under the pid table's lock, then clears the key tables. A writer
//! reads the owner and epoch together, and inserts its key entry only if the
//! epoch is unchanged, checked under the key table's lock — so no entry can
//! land in a table after it was cleared and outlive the restart.

use crate::error::RegistryError;
use crate::options::{Keys, MetaValue, Options, PartitionBy};
use crate::RegistryEvent;
use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};
use crossbeam_utils::CachePadded;
use ember_runtime::{Name, Pid};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{OnceLock, PoisonError};

/// How many times a write retries while a partition restarts.
const RESTART_RETRIES: usize = 1_000;

/// The entries of one key table.
pub(crate) enum KeyMap<K, V> {
    /// At most one entry per key.
    Unique(HashMap<K, (Pid, V)>),
    /// Any number of entries per key; `len` counts them all.
    Duplicate { map: HashMap<K, Vec<(Pid, V)>>, len: usize },
}

impl<K: Hash + Eq, V> KeyMap<K, V> {
    fn new(keys: Keys) -> Self {
        match keys {
            Keys::Unique => KeyMap::Unique(HashMap::new()),
            Keys::Duplicate(_) => KeyMap::Duplicate { map: HashMap::new(), len: 0 },
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            KeyMap::Unique(map) => map.len(),
            KeyMap::Duplicate { len, .. } => *len,
        }
    }

    fn clear(&mut self) {
        match self {
            KeyMap::Unique(map) => map.clear(),
            KeyMap::Duplicate { map, len } => {
                map.clear();
                *len = 0;
            }
        }
    }

    /// Calls `f` with every entry under `key`.
    pub(crate) fn for_key(&self, key: &K, mut f: impl FnMut(Pid, &V)) {
        match self {
            KeyMap::Unique(map) => {
                if let Some((pid, v)) = map.get(key) {
                    f(*pid, v)
                }
            }
            KeyMap::Duplicate { map, .. } => {
                for (pid, v) in map.get(key).map(|v| v.as_slice()).unwrap_or(&[]) {
                    f(*pid, v)
                }
            }
        }
    }

    /// Calls `f` with every entry.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&K, Pid, &V)) {
        match self {
            KeyMap::Unique(map) => {
                for (k, (pid, v)) in map {
                    f(k, *pid, v)
                }
            }
            KeyMap::Duplicate { map, .. } => {
                for (k, entries) in map {
                    for (pid, v) in entries {
                        f(k, *pid, v)
                    }
                }
            }
        }
    }

    /// Removes the entries of `pid` under `key` for which `pred` holds;
    /// returns (entries of `pid` under `key` before, removed).
    fn remove_where(&mut self, key: &K, pid: Pid, mut pred: impl FnMut(&V) -> bool) -> (usize, usize) {
        match self {
            KeyMap::Unique(map) => match map.get(key) {
                Some((holder, v)) if *holder == pid => {
                    if pred(v) {
                        map.remove(key);
                        (1, 1)
                    } else {
                        (1, 0)
                    }
                }
                _ => (0, 0),
            },
            KeyMap::Duplicate { map, len } => {
                let Some(entries) = map.get_mut(key) else { return (0, 0) };
                let mut total = 0;
                let before = entries.len();
                entries.retain(|(p, v)| {
                    if *p != pid {
                        return true;
                    }
                    total += 1;
                    !pred(v)
                });
                let removed = before - entries.len();
                *len -= removed;
                if entries.is_empty() {
                    map.remove(key);
                }
                (total, removed)
            }
        }
    }
}

/// A key table.
///
/// Behind a *sharded* reader-writer lock: a reader locks only the shard of
/// its worker thread, so lookups from processes on different cores do not
/// contend on one lock word; a writer locks every shard. Lookups are far
/// more frequent than writes.
pub(crate) struct KeyPart<K, V> {
    map: ShardedLock<KeyMap<K, V>>,
}

impl<K, V> KeyPart<K, V> {
    /// Read access. Not inlined: the lock picks its shard from a
    /// thread-local, whose address must be computed afresh at every call
    /// (the calling process may have moved to another worker thread since
    /// its last one).
    #[inline(never)]
    pub(crate) fn read(&self) -> ShardedLockReadGuard<'_, KeyMap<K, V>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Write access. A panic while writing (in a user `Hash`, `Eq` or
    /// `Clone`, or an `unregister_match` predicate) leaves the table usable.
    pub(crate) fn write(&self) -> ShardedLockWriteGuard<'_, KeyMap<K, V>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The contents of a pid table.
pub(crate) struct PidTable<K> {
    /// The partition process owning this table ([`Pid::UNDEFINED`] while it
    /// restarts).
    pub(crate) owner: Pid,
    /// Registered process → (key, index of its key table), once per entry.
    pub(crate) entries: HashMap<Pid, Vec<(K, u32)>>,
}

/// A pid table and its epoch.
pub(crate) struct PidPart<K> {
    pub(crate) table: RwLock<PidTable<K>>,
    /// Bumped (under the table's write lock) whenever the table is cleared.
    epoch: AtomicU64,
}

/// One registry's tables. See the [module docs](self).
pub(crate) struct Tables<K, V> {
    pub(crate) name: Name,
    pub(crate) node: u32,
    pub(crate) keys: Keys,
    pub(crate) listeners: Vec<Name>,
    pub(crate) key_parts: Box<[CachePadded<KeyPart<K, V>>]>,
    pub(crate) pid_parts: Box<[CachePadded<PidPart<K>>]>,
    pub(crate) meta: RwLock<HashMap<String, MetaValue>>,
    /// Set when the registry's top process exits: handles then look the
    /// name up again (the registry may have been restarted).
    pub(crate) closed: AtomicBool,
    /// The registry's top process.
    pub(crate) sup: OnceLock<Pid>,
}

/// What a write found.
enum Insert {
    Done,
    Taken(Pid),
    /// The tables were cleared by a restart meanwhile: start again.
    Retry,
}

impl<K, V> Tables<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(options: &Options, node: u32) -> Self {
        let p = options.partitions;
        Tables {
            name: options.name.clone(),
            node,
            keys: options.keys,
            listeners: options.listeners.clone(),
            key_parts: (0..p)
                .map(|_| CachePadded::new(KeyPart { map: ShardedLock::new(KeyMap::new(options.keys)) }))
                .collect(),
            pid_parts: (0..p)
                .map(|_| {
                    CachePadded::new(PidPart {
                        table: RwLock::new(PidTable { owner: Pid::UNDEFINED, entries: HashMap::new() }),
                        epoch: AtomicU64::new(0),
                    })
                })
                .collect(),
            meta: RwLock::new(options.meta.iter().cloned().collect()),
            closed: AtomicBool::new(false),
            sup: OnceLock::new(),
        }
    }

    /// The number of partitions.
    pub(crate) fn partitions(&self) -> usize {
        self.key_parts.len()
    }

    /// The partition of `value`: FxHash (fast, no random seed; only the
    /// balance of the partitions depends on it, and each table's own map
    /// uses the standard, DoS-resistant hasher), reduced with its high bits.
    #[inline]
    fn index<T: Hash + ?Sized>(&self, value: &T) -> usize {
        let p = self.key_parts.len();
        if p == 1 {
            return 0;
        }
        let mut h = rustc_hash::FxHasher::default();
        value.hash(&mut h);
        ((u128::from(h.finish()) * p as u128) >> 64) as usize
    }

    /// The key table holding `key` registered by `pid`.
    #[inline]
    pub(crate) fn key_index(&self, key: &K, pid: Pid) -> usize {
        match self.keys {
            Keys::Unique | Keys::Duplicate(PartitionBy::Key) => self.index(key),
            Keys::Duplicate(PartitionBy::Pid) => self.index(&pid),
        }
    }

    /// The pid table recording `key` registered by `pid`.
    #[inline]
    pub(crate) fn pid_index(&self, key: &K, pid: Pid) -> usize {
        match self.keys {
            Keys::Unique | Keys::Duplicate(PartitionBy::Pid) => self.index(&pid),
            Keys::Duplicate(PartitionBy::Key) => self.index(key),
        }
    }

    /// The key tables that may hold `key`: one, or all of them for
    /// duplicate keys partitioned by pid.
    pub(crate) fn key_scope(&self, key: &K) -> std::ops::Range<usize> {
        match self.keys {
            Keys::Unique | Keys::Duplicate(PartitionBy::Key) => {
                let i = self.index(key);
                i..i + 1
            }
            Keys::Duplicate(PartitionBy::Pid) => 0..self.partitions(),
        }
    }

    /// The pid tables that may hold entries of `pid`.
    fn pid_scope(&self, pid: Pid) -> std::ops::Range<usize> {
        match self.keys {
            Keys::Unique | Keys::Duplicate(PartitionBy::Pid) => {
                let i = self.index(&pid);
                i..i + 1
            }
            Keys::Duplicate(PartitionBy::Key) => 0..self.partitions(),
        }
    }

    /// The partition serving lock `key`.
    pub(crate) fn lock_index(&self, key: &K) -> usize {
        self.index(key)
    }

    /// The owner of pid table `i`.
    pub(crate) fn owner(&self, i: usize) -> Pid {
        self.pid_parts[i].table.read().owner
    }

    /// Registers the calling process `me` under `key` (SEMANTICS.md §7.2).
    /// Returns the owner of the pid table (Elixir's `{:ok, owner}`).
    pub(crate) fn register(&self, me: Pid, key: K, value: V) -> Result<Pid, RegistryError> {
        let ki = self.key_index(&key, me);
        let pi = self.pid_index(&key, me);
        let part = &self.pid_parts[pi];
        let event_value = (!self.listeners.is_empty()).then(|| value.clone());
        let mut value = Some(value);
        for attempt in 0..RESTART_RETRIES {
            if attempt > 0 {
                ember_runtime::yield_now();
            }
            let (owner, epoch) = {
                let t = part.table.read();
                (t.owner, part.epoch.load(Ordering::Acquire))
            };
            if owner == Pid::UNDEFINED || ember_runtime::link(owner).is_err() {
                // The partition is restarting.
                continue;
            }
            if !owner.is_alive() {
                // Dead, and we trap exits: `link` succeeded and left an
                // `Exit` with reason `noproc` in our mailbox. Undo both and
                // wait for the new owner.
                ember_runtime::unlink(owner);
                let _ = ember_runtime::receive_if_timeout(
                    |e: &ember_runtime::Exit| e.from == owner && e.reason == ember_runtime::Reason::NoProc,
                    std::time::Duration::ZERO,
                );
                continue;
            }
            {
                let mut t = part.table.write();
                if t.owner != owner {
                    continue;
                }
                t.entries.entry(me).or_default().push((key.clone(), ki as u32));
            }
            let outcome = {
                let mut map = self.key_parts[ki].write();
                if part.epoch.load(Ordering::Acquire) != epoch {
                    Insert::Retry
                } else {
                    match &mut *map {
                        KeyMap::Unique(map) => match map.get(&key) {
                            Some((holder, _)) if *holder == me => Insert::Taken(me),
                            Some((holder, _)) if holder.is_alive() => Insert::Taken(*holder),
                            _ => {
                                // Free, or held by a dead process not yet cleaned up.
                                map.insert(key.clone(), (me, value.take().expect("inserted once")));
                                Insert::Done
                            }
                        },
                        KeyMap::Duplicate { map, len } => {
                            map.entry(key.clone()).or_default().push((me, value.take().expect("inserted once")));
                            *len += 1;
                            Insert::Done
                        }
                    }
                }
            };
            match outcome {
                Insert::Done => {
                    if let Some(value) = event_value {
                        self.notify(RegistryEvent::Register { registry: self.name.clone(), key, pid: me, value });
                    }
                    return Ok(owner);
                }
                Insert::Taken(holder) => {
                    let none_left = self.remove_pid_entries(pi, me, &key, 1);
                    if holder != me && none_left {
                        ember_runtime::unlink(owner);
                    }
                    return Err(RegistryError::AlreadyRegistered(holder));
                }
                Insert::Retry => {
                    self.remove_pid_entries(pi, me, &key, 1);
                }
            }
        }
        Err(RegistryError::Unavailable(self.name.clone()))
    }

    /// Removes up to `n` pid entries `(me, key)` from pid table `pi`;
    /// returns whether `me` has no entries left there.
    fn remove_pid_entries(&self, pi: usize, me: Pid, key: &K, n: usize) -> bool {
        let mut t = self.pid_parts[pi].table.write();
        let Some(list) = t.entries.get_mut(&me) else { return true };
        let mut left = n;
        list.retain(|(k, _)| {
            if left > 0 && k == key {
                left -= 1;
                false
            } else {
                true
            }
        });
        if list.is_empty() {
            t.entries.remove(&me);
            true
        } else {
            false
        }
    }

    /// Removes the caller's entries under `key` whose value satisfies
    /// `pred` (all of them for `unregister`). When none are left under
    /// `key`, the caller is unlinked from the owner if it has no keys left
    /// in that partition, and the listeners hear of it.
    pub(crate) fn unregister_where(&self, me: Pid, key: &K, pred: impl FnMut(&V) -> bool, all: bool) {
        let ki = self.key_index(key, me);
        let pi = self.pid_index(key, me);
        let (total, removed) = self.key_parts[ki].write().remove_where(key, me, pred);
        if removed == total {
            // Everything under `key` is gone (or there was nothing).
            let (owner, none_left) = {
                let mut t = self.pid_parts[pi].table.write();
                let none_left = match t.entries.get_mut(&me) {
                    Some(list) => {
                        list.retain(|(k, _)| k != key);
                        list.is_empty()
                    }
                    None => true,
                };
                if none_left {
                    t.entries.remove(&me);
                }
                (t.owner, none_left)
            };
            if none_left && owner != Pid::UNDEFINED {
                ember_runtime::unlink(owner);
            }
            if all || removed > 0 {
                self.notify(RegistryEvent::Unregister { registry: self.name.clone(), key: key.clone(), pid: me });
            }
        } else if removed > 0 {
            self.remove_pid_entries(pi, me, key, removed);
        }
    }

    /// Replaces the value of the caller's unique `key` with `f(old)`.
    pub(crate) fn update_value(&self, me: Pid, key: &K, f: impl FnOnce(&V) -> V) -> Option<(V, V)> {
        let ki = self.key_index(key, me);
        let old = {
            let map = self.key_parts[ki].read();
            match &*map {
                KeyMap::Unique(map) => match map.get(key) {
                    Some((holder, v)) if *holder == me => v.clone(),
                    _ => return None,
                },
                KeyMap::Duplicate { .. } => return None,
            }
        };
        // Only the holder changes its own entry while it lives, so the
        // callback runs with no lock held.
        let new = f(&old);
        if let KeyMap::Unique(map) = &mut *self.key_parts[ki].write() {
            if let Some((holder, v)) = map.get_mut(key) {
                if *holder == me {
                    *v = new.clone();
                }
            }
        }
        Some((new, old))
    }

    /// Deletes every entry of the dead process `dead` recorded in pid table
    /// `pi` (run by the owner when `dead`'s exit signal arrives).
    pub(crate) fn cleanup(&self, pi: usize, dead: Pid) {
        let Some(mut list) = self.pid_parts[pi].table.write().entries.remove(&dead) else { return };
        list.sort_unstable_by_key(|(_, ki)| *ki);
        let mut i = 0;
        while i < list.len() {
            let ki = list[i].1;
            let mut map = self.key_parts[ki as usize].write();
            while i < list.len() && list[i].1 == ki {
                map.remove_where(&list[i].0, dead, |_| true);
                i += 1;
            }
        }
    }

    /// Clears pid tables and key tables `parts` (before their partitions
    /// restart). See the module docs.
    pub(crate) fn clear(&self, parts: impl Iterator<Item = usize> + Clone) {
        for i in parts.clone() {
            let part = &self.pid_parts[i];
            let mut t = part.table.write();
            part.epoch.fetch_add(1, Ordering::AcqRel);
            t.owner = Pid::UNDEFINED;
            t.entries.clear();
        }
        for i in parts {
            self.key_parts[i].write().clear();
        }
    }

    /// Publishes `owner` as the owner of pid table `i`.
    pub(crate) fn set_owner(&self, i: usize, owner: Pid) {
        self.pid_parts[i].table.write().owner = owner;
    }

    /// Every entry under `key` (all partitions for duplicate keys by pid).
    pub(crate) fn lookup(&self, key: &K) -> Vec<(Pid, V)> {
        let mut out = Vec::with_capacity(self.keys.is_unique() as usize);
        for i in self.key_scope(key) {
            self.key_parts[i].read().for_key(key, |pid, v| out.push((pid, v.clone())));
        }
        out
    }

    /// The unique holder of `key`, if alive (`whereis_name`).
    pub(crate) fn whereis(&self, key: &K) -> Option<Pid> {
        let i = self.index(key);
        let pid = match &*self.key_parts[i].read() {
            KeyMap::Unique(map) => map.get(key).map(|(pid, _)| *pid)?,
            KeyMap::Duplicate { .. } => return None,
        };
        pid.is_alive().then_some(pid)
    }

    /// The entries under `key` whose value satisfies `pred`.
    pub(crate) fn match_values(&self, key: &K, mut pred: impl FnMut(&V) -> bool) -> Vec<(Pid, V)> {
        let mut out = Vec::new();
        for i in self.key_scope(key) {
            self.key_parts[i].read().for_key(key, |pid, v| {
                if pred(v) {
                    out.push((pid, v.clone()))
                }
            });
        }
        out
    }

    /// How many entries under `key` have a value satisfying `pred`.
    pub(crate) fn count_match(&self, key: &K, mut pred: impl FnMut(&V) -> bool) -> usize {
        let mut n = 0;
        for i in self.key_scope(key) {
            self.key_parts[i].read().for_key(key, |_, v| n += pred(v) as usize);
        }
        n
    }

    /// The number of entries.
    pub(crate) fn count(&self) -> usize {
        self.key_parts.iter().map(|p| p.read().len()).sum()
    }

    /// The keys `pid` registered (once each for unique registries).
    pub(crate) fn keys_of(&self, pid: Pid) -> Vec<K> {
        let mut out: Vec<K> = Vec::new();
        for i in self.pid_scope(pid) {
            if let Some(list) = self.pid_parts[i].table.read().entries.get(&pid) {
                out.extend(list.iter().map(|(k, _)| k.clone()));
            }
        }
        if self.keys.is_unique() {
            let mut seen = std::collections::HashSet::with_capacity(out.len());
            out.retain(|k| seen.insert(k.clone()));
        }
        out
    }

    /// The values `pid` registered under `key`.
    pub(crate) fn values_of(&self, key: &K, pid: Pid) -> Vec<V> {
        let i = self.key_index(key, pid);
        let mut out = Vec::new();
        self.key_parts[i].read().for_key(key, |p, v| {
            if p == pid {
                out.push(v.clone())
            }
        });
        out
    }

    /// Sends `event` to every listener (by name; a listener not registered
    /// is skipped).
    fn notify(&self, event: RegistryEvent<K, V>) {
        if let Some((last, rest)) = self.listeners.split_last() {
            for listener in rest {
                let _ = ember_runtime::send_named(listener.clone(), event.clone());
            }
            let _ = ember_runtime::send_named(last.clone(), event);
        }
    }
}
