//! The registry's top process: a small supervisor of the partition processes
//! (Elixir's `Registry.Supervisor`).
//!
//! It is registered under the registry's name, traps exits, publishes the
//! tables in the [directory](crate::directory), and starts partition `0..P`
//! in order, each linked to it. Partitions have no registered names (Elixir
//! names them `"<name>.PIDPartition<i>"`): when a killed registry is
//! restarted at once by its supervisor, the old partitions may still be
//! finishing their exit, and a name clash would make the restart fail until
//! the supervisor's restart intensity ran out.
//!
//! When a partition exits, it restarts as a supervisor would (SEMANTICS.md
//! §4.5–4.6, default intensity: 3 restarts in 5 seconds, beyond which it
//! shuts everything down and exits with `shutdown`):
//!
//! * **unique keys — one_for_all**: a pid table holds keys of every key
//!   table, so all partitions are stopped (in reverse order), all tables are
//!   cleared, and all partitions are started again;
//! * **duplicate keys — one_for_one**: a partition's pid table and key table
//!   hold the same entries, so only that partition's tables are cleared and
//!   that partition restarted.
//!
//! Processes registered through a partition are linked to it: when it dies,
//! they get its exit signal (and die, unless they trap exits).
//!
//! When the top process stops (its parent's exit signal, `Registry::stop`),
//! it shuts the partitions down (`shutdown`, then `kill` after 5 seconds),
//! and in every case — killed included — marks the tables closed and
//! withdraws them from the directory as its state is dropped.

use crate::directory;
use crate::options::Keys;
use crate::partition::Partition;
use crate::table::Tables;
use ember_runtime::gen_server::{self, GenServer, Info, Init, StartOptions};
use ember_runtime::{receive_if, receive_if_timeout, self_pid, trap_exit, Action, Exit, Pid, Reason};
use std::collections::VecDeque;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Restarts allowed within [`MAX_SECONDS`] (OTP's default intensity).
const MAX_RESTARTS: usize = 3;
/// The intensity period.
const MAX_SECONDS: Duration = Duration::from_secs(5);
/// How long a partition may take to shut down before it is killed.
const SHUTDOWN: Duration = Duration::from_secs(5);

/// The top process's state.
pub(crate) struct Top<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    tables: Arc<Tables<K, V>>,
    /// Partition pids, by index ([`Pid::UNDEFINED`] while not running).
    children: Vec<Pid>,
    restarts: VecDeque<Instant>,
}

impl<K, V> GenServer for Top<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    type Arg = Arc<Tables<K, V>>;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();

    fn init(tables: Self::Arg) -> Init<Self> {
        trap_exit(true);
        let _ = tables.sup.set(self_pid());
        let p = tables.partitions();
        let mut top = Top { tables, children: vec![Pid::UNDEFINED; p], restarts: VecDeque::new() };
        if let Err(reason) = top.start_range(0..p) {
            top.shutdown_all();
            return Init::Stop(reason);
        }
        directory::publish(&top.tables);
        Init::Ok(top)
    }

    fn handle_info(&mut self, message: Info) -> Action<()> {
        let Ok(exit) = message.downcast::<Exit>() else { return Action::NoReply };
        match self.children.iter().position(|&c| c == exit.from) {
            Some(i) => self.restart(i, exit.reason),
            None => Action::NoReply,
        }
    }

    fn terminate(&mut self, _reason: &Reason) {
        self.shutdown_all();
    }
}

impl<K, V> Drop for Top<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn drop(&mut self) {
        self.tables.closed.store(true, std::sync::atomic::Ordering::Release);
        directory::withdraw(&self.tables);
    }
}

impl<K, V> Top<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Starts partitions `range`, in order.
    fn start_range(&mut self, range: std::ops::Range<usize>) -> Result<(), Reason> {
        for i in range {
            let server = gen_server::start_link::<Partition<K, V>>((self.tables.clone(), i), StartOptions::new())
                .map_err(|e| e.reason())?;
            self.children[i] = server.pid().unwrap_or(Pid::UNDEFINED);
        }
        Ok(())
    }

    /// A partition exited: restart it (and its siblings for unique keys).
    ///
    /// A restart whose start fails (a partition killed during its `init`,
    /// which it can be: it publishes itself in the tables there) is tried
    /// again, counting as another restart, as OTP's supervisor does — the
    /// registry gives up only when the intensity runs out.
    fn restart(&mut self, i: usize, reason: Reason) -> Action<()> {
        let mut reason = reason;
        loop {
            match self.try_restart(i, reason) {
                Ok(action) => return action,
                Err(failed) => reason = failed,
            }
        }
    }

    /// One restart attempt: `Err(reason)` when starting failed.
    fn try_restart(&mut self, i: usize, reason: Reason) -> Result<Action<()>, Reason> {
        self.children[i] = Pid::UNDEFINED;
        tracing::error!(
            target: "ember::registry",
            registry = %self.tables.name,
            partition = i,
            reason = ?reason,
            "Child {}.PIDPartition{} of Registry {} terminated: {:?}",
            self.tables.name,
            i,
            self.tables.name,
            reason
        );
        let now = Instant::now();
        self.restarts.push_back(now);
        while self.restarts.front().is_some_and(|t| now.duration_since(*t) > MAX_SECONDS) {
            self.restarts.pop_front();
        }
        if self.restarts.len() > MAX_RESTARTS {
            tracing::error!(
                target: "ember::registry",
                registry = %self.tables.name,
                "Registry {} shutting down: reached_max_restart_intensity",
                self.tables.name
            );
            self.shutdown_all();
            return Ok(Action::Stop(Reason::Shutdown));
        }
        let range = match self.tables.keys {
            Keys::Unique => {
                self.shutdown_all();
                0..self.children.len()
            }
            Keys::Duplicate(_) => i..i + 1,
        };
        self.tables.clear(range.clone());
        match self.start_range(range) {
            Ok(()) => Ok(Action::NoReply),
            Err(reason) => {
                // Unique keys: the partitions started before the failure
                // go too, all restart together on the next attempt.
                if let Keys::Unique = self.tables.keys {
                    self.shutdown_all();
                }
                Err(reason)
            }
        }
    }

    /// Shuts every running partition down, in reverse order.
    fn shutdown_all(&mut self) {
        for i in (0..self.children.len()).rev() {
            let pid = std::mem::replace(&mut self.children[i], Pid::UNDEFINED);
            if pid != Pid::UNDEFINED {
                shutdown(pid);
            }
        }
    }
}

/// OTP's worker shutdown: `shutdown`, then `kill` if it takes too long.
fn shutdown(pid: Pid) {
    pid.exit(Reason::Shutdown);
    if receive_if_timeout(|e: &Exit| e.from == pid, SHUTDOWN).is_none() {
        pid.exit(Reason::Kill);
        let _ = receive_if(|e: &Exit| e.from == pid);
    }
}
