//! A partition process (Elixir's `Registry.Partition`).
//!
//! Partition `i` owns pid table `i`: every process that registers a key
//! recorded there links itself to this process, which traps exits. When such
//! a process exits, for any reason — `Kill` included, since a link delivers
//! `Killed` as an ordinary exit signal — its `Exit` message arrives here and
//! the partition deletes its entries. Cleanup is therefore asynchronous:
//! until the partition has read that message, lookups may return the dead
//! pid. Listeners are not told about this cleanup.
//!
//! The partition also serves [`Registry::lock`](crate::Registry::lock) for
//! the lock keys that hash to it (a FIFO queue per lock key; the holder is
//! monitored, so a dead holder releases the lock) and `sync` requests, which
//! it answers once every message that reached it before — in particular the
//! exit signal of any registered process whose death the caller has already
//! observed — has been handled.

use crate::table::Tables;
use ember_runtime::gen_server::{reply, CallResult, GenServer, Info, Init, ReplyTo};
use ember_runtime::{demonitor_flush, monitor, self_pid, trap_exit, Action, Down, Exit, Ref};
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

/// Requests a partition serves.
pub(crate) enum PartitionCall<K> {
    /// Reply once every earlier message has been handled.
    Sync,
    /// Take the lock `K`, waiting behind earlier takers.
    Lock(K),
}

/// Replies of a partition.
pub(crate) enum PartitionReply {
    /// To `Sync`.
    Synced,
    /// To `Lock`: the lock is yours; release it with `Unlock` and this tag.
    Locked(Ref),
}

/// Releases a lock (a cast: it may be sent while the holder unwinds).
pub(crate) struct Unlock<K>(pub(crate) K, pub(crate) Ref);

/// One lock key's holder and queue.
struct LockState {
    /// The monitor on the holder (also the tag it releases with).
    holder: Ref,
    waiters: VecDeque<ReplyTo<PartitionReply>>,
}

/// The partition's state.
pub(crate) struct Partition<K, V> {
    tables: Arc<Tables<K, V>>,
    index: usize,
    locks: HashMap<K, LockState>,
    /// Holder monitor → lock key.
    holders: HashMap<Ref, K>,
}

impl<K, V> GenServer for Partition<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    type Arg = (Arc<Tables<K, V>>, usize);
    type Call = PartitionCall<K>;
    type Reply = PartitionReply;
    type Cast = Unlock<K>;
    type Continue = ();

    fn init((tables, index): Self::Arg) -> Init<Self> {
        trap_exit(true);
        tables.set_owner(index, self_pid());
        Init::Ok(Partition { tables, index, locks: HashMap::new(), holders: HashMap::new() })
    }

    fn handle_call(&mut self, request: PartitionCall<K>, from: ReplyTo<PartitionReply>) -> CallResult<Self> {
        match request {
            PartitionCall::Sync => CallResult::Reply(PartitionReply::Synced),
            PartitionCall::Lock(key) => {
                if let Some(state) = self.locks.get_mut(&key) {
                    state.waiters.push_back(from);
                    CallResult::NoReply
                } else {
                    let holder = monitor(from.pid());
                    self.holders.insert(holder, key.clone());
                    self.locks.insert(key, LockState { holder, waiters: VecDeque::new() });
                    CallResult::Reply(PartitionReply::Locked(holder))
                }
            }
        }
    }

    fn handle_cast(&mut self, Unlock(key, tag): Unlock<K>) -> Action<()> {
        if self.locks.get(&key).is_some_and(|s| s.holder == tag) {
            self.holders.remove(&tag);
            demonitor_flush(tag);
            self.pass(key);
        }
        Action::NoReply
    }

    fn handle_info(&mut self, message: Info) -> Action<()> {
        let message = match message.downcast::<Exit>() {
            Ok(exit) => {
                self.tables.cleanup(self.index, exit.from);
                return Action::NoReply;
            }
            Err(m) => m,
        };
        if let Ok(down) = message.downcast::<Down>() {
            if let Some(key) = self.holders.remove(&down.monitor) {
                self.pass(key);
            }
        }
        Action::NoReply
    }
}

impl<K, V> Partition<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Hands lock `key` to the first live waiter, or frees it.
    fn pass(&mut self, key: K) {
        let Some(state) = self.locks.get_mut(&key) else { return };
        while let Some(next) = state.waiters.pop_front() {
            if next.pid().is_alive() {
                let holder = monitor(next.pid());
                state.holder = holder;
                self.holders.insert(holder, key);
                reply(next, PartitionReply::Locked(holder));
                return;
            }
            // A dead waiter is skipped.
        }
        self.locks.remove(&key);
    }
}
