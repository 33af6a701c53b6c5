//! A snapshot of a whole runtime: every live process's [`ProcessInfo`] and
//! the scheduler's counters, for tools that look inside a running node (the
//! observer, `ember-top`, metrics exporters).
//!
//! Taking one stops nothing: each process's slot lock is held just long
//! enough to copy its fields, one slot at a time, and the counters are read
//! with relaxed loads, so a snapshot is not an instant of the whole runtime
//! but a walk across it (a process may be listed in a state a moment older
//! than another's). What it costs the runtime while nobody looks is the
//! counters themselves: see `scheduler::counters` and the busy sampling in
//! `scheduler::sysmon`.

use crate::process::current::{current, Current};
use crate::process::info::{info_of, ProcessInfo};
use crate::scheduler::sysmon::Role;
use crate::scheduler::Scheduler;
use std::sync::atomic::Ordering;

/// A runtime seen from inside: its processes and its scheduler's counters
/// (see the module docs of [`snapshot`] for how consistent it is).
///
/// It serializes with serde (the observer sends it as JSON).
///
/// ```
/// ember_runtime::run(|| {
///     let snap = ember_runtime::snapshot();
///     assert!(snap.processes.iter().any(|p| p.pid == ember_runtime::self_pid()));
///     assert!(!snap.workers.is_empty());
///     let json = serde_json::to_string(&snap).unwrap();
///     assert!(json.contains("\"busy_ratio\""));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The runtime's node number (the first field of its pids).
    pub node: u32,
    /// Milliseconds since the runtime started.
    pub uptime_ms: u64,
    /// Every live process.
    pub processes: Vec<ProcessInfo>,
    /// Every worker thread started so far (the workers proper, then the
    /// spares the system monitor started while a worker was held).
    pub workers: Vec<WorkerInfo>,
    /// Processes queued in the global injector (spawned or woken from
    /// outside the workers), not yet taken by a worker.
    pub injector_len: usize,
    /// Timers armed from outside the workers, not yet fired (each worker's
    /// own are in [`WorkerInfo::timers_pending`]).
    pub external_timers_pending: usize,
    /// The stack pool.
    pub stacks: StackUsage,
    /// Threads of the blocking pool.
    pub blocking_threads: usize,
}

/// One worker thread, in a [`Snapshot`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WorkerInfo {
    /// Its index (the thread is named `ember-worker-INDEX`).
    pub index: usize,
    /// What it does now.
    pub role: WorkerRole,
    /// Running a process right now.
    pub running: bool,
    /// Held: one process has run on it past the hold threshold without
    /// returning to the runtime (see `Builder::hold_threshold`).
    pub held: bool,
    /// The fraction of the last quarter second it spent running processes
    /// (sampled every millisecond by the system monitor; 0 when every
    /// worker is asleep).
    pub busy_ratio: f64,
    /// Milliseconds spent running processes since the runtime started
    /// (sampled the same way): the difference between two snapshots over
    /// the time between them is the busy ratio of that interval.
    pub busy_ms: u64,
    /// Processes queued to run on it: its stealable queue, its run-next
    /// slot and its pinned queue (the latter as published every 64 runs).
    pub run_queue_len: usize,
    /// Started processes pinned to it.
    pub pinned_processes: usize,
    /// Times it took work from another worker or the injector while out of
    /// local work.
    pub steals: u64,
    /// Times it went to sleep for lack of work.
    pub parks: u64,
    /// Its timers not yet fired.
    pub timers_pending: usize,
}

/// What a worker thread does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerRole {
    /// Runs floating and pinned processes.
    Active,
    /// A spare no longer needed, running only the processes pinned to it.
    Draining,
    /// A spare, asleep until the system monitor needs it.
    Spare,
}

/// The stack pool's usage, in a [`Snapshot`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StackUsage {
    /// Stacks held by processes.
    pub in_use: usize,
    /// Stacks kept for reuse (in the pool and the workers' caches).
    pub pooled: usize,
    /// Address space mapped for stacks, in bytes (virtual, not resident).
    pub bytes_mapped: usize,
}

/// A snapshot of the caller's runtime (see [`Snapshot`]).
///
/// ```
/// ember_runtime::run(|| {
///     let snap = ember_runtime::snapshot();
///     assert_eq!(snap.node, ember_runtime::self_pid().node());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn snapshot() -> Snapshot {
    let cur = current();
    cur.charge(1);
    snapshot_of(cur.sched(), Some(&cur))
}

/// `by`: the process taking the snapshot, which pays a reduction per slot
/// (so a walk over a large table yields every slice, as any work does).
pub(crate) fn snapshot_of(sched: &Scheduler, by: Option<&Current>) -> Snapshot {
    let node = sched.node;
    let processes = sched
        .table
        .slots()
        .filter_map(|slot| {
            if let Some(cur) = by {
                cur.charge(1);
            }
            info_of(sched, slot, slot.pid(node))
        })
        .collect();
    let started = sched.sysmon.started();
    let workers = sched.workers[..started]
        .iter()
        .enumerate()
        .map(|(index, w)| {
            let run_next = usize::from(w.run_next.peek() != crate::scheduler::RUN_NEXT_EMPTY);
            WorkerInfo {
                index,
                role: match w.watch.role() {
                    Role::Draining => WorkerRole::Draining,
                    Role::Spare | Role::NotStarted => WorkerRole::Spare,
                    Role::Active => WorkerRole::Active,
                },
                running: w.watch.is_running(),
                held: w.watch.is_held(),
                busy_ratio: w.watch.recent_busy_ratio(),
                busy_ms: w.watch.busy_nanos() / 1_000_000,
                run_queue_len: w.stealer.len()
                    + run_next
                    + w.counters.pinned_queued.load(Ordering::Relaxed)
                    + w.pinned.len(),
                pinned_processes: w.watch.pinned_live(),
                steals: w.counters.steals.load(Ordering::Relaxed),
                parks: w.counters.parks.load(Ordering::Relaxed),
                timers_pending: sched.timers[index].len(),
            }
        })
        .collect();
    let stacks = sched.stacks.stats();
    Snapshot {
        node,
        uptime_ms: sched.start.elapsed().as_millis() as u64,
        processes,
        workers,
        injector_len: sched.injector.len(),
        external_timers_pending: sched.timers[sched.timers.len() - 1].len(),
        stacks: StackUsage {
            in_use: stacks.stacks_in_use,
            pooled: stacks.stacks_free + stacks.stacks_cached,
            bytes_mapped: stacks.bytes_mapped,
        },
        blocking_threads: sched.blocking.threads(),
    }
}
