//! The registry's top process: a [`Supervisor`] of the partition processes,
//! as Elixir builds `Registry` on `Supervisor`.
//!
//! It is registered under the registry's name and, in its `init` (which runs
//! in the new process), publishes the tables in the
//! [directory](crate::directory) and gives one child per partition,
//! `0..P`, started in order, each linked to it. Partitions have no
//! registered names (Elixir names them `"<name>.PIDPartition<i>"`; here
//! that is only their child id): when a killed registry is restarted at once
//! by its supervisor, the old partitions may still be finishing their exit,
//! and a name clash would make the restart fail until the supervisor's
//! restart intensity ran out.
//!
//! Everything a supervisor does is the supervisor's: restarts within OTP's
//! default intensity (3 restarts in 5 seconds, whole seconds; beyond it the
//! registry shuts everything down and exits with `shutdown`), a failed
//! restart retried after the messages already queued, partitions stopped in
//! reverse order with `shutdown` then `kill` after 5 seconds, waiting on a
//! monitor, and the supervisor's reports. The registry adds the strategy
//! and the clearing of tables, done by each partition's start function:
//!
//! * **unique keys — one_for_all**: a pid table holds keys of every key
//!   table, so all partitions are stopped (in reverse order) and started
//!   again, and the start of partition 0, which comes first, clears every
//!   table;
//! * **duplicate keys — one_for_one**: a partition's pid table and key table
//!   hold the same entries, so the start of partition `i` clears only its
//!   own tables.
//!
//! Processes registered through a partition are linked to it: when it dies,
//! they get its exit signal (and die, unless they trap exits).
//!
//! The tables are owned by the top process (`Supervisor::start_link_owning`):
//! in every case — killed included — they are marked closed and withdrawn
//! from the directory when it exits, before its exit signals go out.

use crate::directory;
use crate::options::Keys;
use crate::partition::Partition;
use crate::table::Tables;
use ember_runtime::gen_server::{self, StartError, StartOptions};
use ember_runtime::{self_pid, Name};
use ember_supervisor::{ChildSpec, Flags, Strategy, Supervisor};
use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Starts the top process of the registry `name`, which owns `tables`.
pub(crate) fn start_link<K, V>(tables: Arc<Tables<K, V>>, name: Name) -> Result<Supervisor, StartError>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Supervisor::start_link_owning("Registry", StartOptions::new().name(name), move || {
        let _ = tables.sup.set(self_pid());
        directory::publish(&tables);
        let strategy = match tables.keys {
            Keys::Unique => Strategy::OneForAll,
            Keys::Duplicate(_) => Strategy::OneForOne,
        };
        let children = (0..tables.partitions()).map(|i| partition(&tables, i)).collect();
        Some((Flags::new(strategy), children, Owner(tables)))
    })
}

/// The child spec of partition `i`: its start clears the tables the new
/// partition takes over, then starts it.
fn partition<K, V>(tables: &Arc<Tables<K, V>>, i: usize) -> ChildSpec
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let tables = tables.clone();
    ChildSpec::new(format!("PIDPartition{i}"), move || {
        match tables.keys {
            // one_for_all: every partition restarts, partition 0 first.
            Keys::Unique if i == 0 => tables.clear(0..tables.partitions()),
            Keys::Unique => {}
            Keys::Duplicate(_) => tables.clear(i..i + 1),
        }
        gen_server::start_link::<Partition<K, V>>((tables.clone(), i), StartOptions::new())
    })
}

/// What the top process owns: its tables, closed and withdrawn from the
/// directory when it exits.
struct Owner<K: Send + Sync + 'static, V: Send + Sync + 'static>(Arc<Tables<K, V>>);

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> Drop for Owner<K, V> {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        directory::withdraw(&self.0);
    }
}
