//! Introspection: `process_info`, `processes`, `is_alive`.

use super::current::{current, try_current};
use crate::name::Name;
use crate::pid::{Pid, Ref};
use crate::scheduler::state;
use crate::scheduler::Scheduler;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a process is doing (Erlang `process_info(P, status)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Running on a worker right now.
    Running,
    /// In a run queue, waiting for a worker.
    Runnable,
    /// Suspended: waiting for a message, a timer or a blocking call.
    Waiting,
    /// Hibernating: holds no stack, waits for a message.
    Hibernating,
    /// Exiting: its exit is decided and its destructors are running (they
    /// may still use the runtime); it keeps its name, links and monitors
    /// until they are done.
    Exiting,
}

/// A snapshot of a process (Erlang `process_info/1`).
///
/// ```
/// use ember_runtime::{process_info, self_pid, trap_exit, Status};
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let info = process_info(self_pid()).unwrap();
///     assert_eq!(info.status, Status::Running);
///     assert!(info.trap_exit);
///     assert_eq!(info.message_queue_len, 0);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    /// The process.
    pub pid: Pid,
    /// What it is doing.
    pub status: Status,
    /// Messages waiting in its mailbox.
    pub message_queue_len: usize,
    /// Linked processes.
    pub links: Vec<Pid>,
    /// Monitors it holds: reference and target.
    pub monitors: Vec<(Ref, Pid)>,
    /// Processes monitoring it.
    pub monitored_by: Vec<Pid>,
    /// Its registered name.
    pub registered_name: Option<Name>,
    /// Whether it traps exits.
    pub trap_exit: bool,
    /// Reductions (runtime calls, weighted) it has spent.
    pub reductions: u64,
    /// Stack bytes in use at its last suspension (0 when it holds no stack).
    pub stack_bytes: usize,
    /// The deepest its stack has been seen to go since it got its stack, in
    /// bytes: sampled at runtime calls and suspensions, so a lower bound (a
    /// frame that goes deeper between two runtime calls is not seen).
    pub stack_high_water: usize,
}

/// Information about a live process, or `None` if it is not alive.
///
/// Works from a process or a plain thread.
///
/// ```
/// use ember_runtime::{process_info, spawn, receive, register};
/// ember_runtime::run(|| {
///     let pid = spawn(|| { receive::<()>(); });
///     register("waiter", pid).unwrap();
///     ember_runtime::send(pid, 1u8); // not what it waits for: stays queued
///     let info = process_info(pid).unwrap();
///     assert_eq!(info.registered_name.unwrap().as_str(), "waiter");
///     ember_runtime::send(pid, ());
/// })
/// .unwrap();
/// ```
pub fn process_info(pid: Pid) -> Option<ProcessInfo> {
    with_scheduler(pid, |sched| {
        let slot = sched.slot(pid)?;
        let shared = slot.shared.lock();
        if !shared.alive || slot.serial.load(Ordering::Relaxed) != pid.serial {
            return None;
        }
        let run = slot.run.load();
        let (stack_bytes, stack_high_water) = slot.stack_depth.load();
        let status = match run {
            _ if shared.exiting => Status::Exiting,
            state::RUNNING | state::NOTIFIED => Status::Running,
            state::SCHEDULED => Status::Runnable,
            _ if slot.hibernating.load(Ordering::Relaxed) => Status::Hibernating,
            _ => Status::Waiting,
        };
        Some(ProcessInfo {
            pid,
            status,
            message_queue_len: slot.mailbox_len.load(Ordering::Relaxed) + shared.inbox.len() - shared.controls as usize,
            links: shared.links.iter().map(|(p, _)| *p).collect(),
            monitors: shared.monitors.iter().map(|(r, (p, _))| (*r, *p)).collect(),
            monitored_by: shared.monitored_by.iter().map(|(_, p)| *p).collect(),
            registered_name: shared.name.clone(),
            trap_exit: slot.trap_exit.load(Ordering::Relaxed),
            reductions: slot.reductions.load(Ordering::Relaxed),
            stack_bytes,
            stack_high_water,
        })
    })
    .flatten()
}

/// Whether `pid` is alive: spawned and not yet ended (Erlang
/// `is_process_alive/1`). A process whose destructors are still running
/// after its exit was decided is alive (see [`Status::Exiting`]). Works from
/// any thread.
///
/// ```
/// use ember_runtime::{is_alive, spawn_monitor, receive, Down};
/// ember_runtime::run(|| {
///     let (pid, _) = spawn_monitor(|| {});
///     let _: Down = receive();
///     assert!(!is_alive(pid));
/// })
/// .unwrap();
/// ```
pub fn is_alive(pid: Pid) -> bool {
    with_scheduler(pid, |sched| match sched.slot(pid) {
        Some(slot) => {
            let shared = slot.shared.lock();
            shared.alive && slot.serial.load(Ordering::Relaxed) == pid.serial
        }
        None => false,
    })
    .unwrap_or(false)
}

/// Every live process of the caller's runtime (Erlang `processes/0`).
///
/// ```
/// ember_runtime::run(|| {
///     assert!(ember_runtime::processes().contains(&ember_runtime::self_pid()));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn processes() -> Vec<Pid> {
    let cur = current();
    live_processes(cur.sched())
}

pub(crate) fn live_processes(sched: &Scheduler) -> Vec<Pid> {
    sched
        .table
        .slots()
        .filter_map(|slot| {
            let shared = slot.shared.lock();
            shared.alive.then(|| slot.pid(sched.node))
        })
        .collect()
}

fn with_scheduler<T>(pid: Pid, f: impl FnOnce(&Scheduler) -> T) -> Option<T> {
    if let Some(cur) = try_current() {
        if cur.sched().node == pid.node {
            return Some(f(cur.sched()));
        }
    }
    let sched: Arc<Scheduler> = Scheduler::of_node(pid.node)?;
    Some(f(&sched))
}
