//! Introspection: `process_info`, `processes`, `is_alive`, `set_label`.

use super::current::{current, try_current};
use super::priority::{priority_of, Priority};
use super::{Letter, Slot, NO_PARENT};
use crate::name::Name;
use crate::pid::{Pid, Ref};
use crate::scheduler::state;
use crate::scheduler::Scheduler;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a process is doing (Erlang `process_info(P, status)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// What a monitor in [`ProcessInfo::monitors`] watches.
///
/// ```
/// use ember_runtime::{monitor, monitor_name, process_info, receive, register, self_pid, spawn, Monitored};
/// ember_runtime::run(|| {
///     let pid = spawn(|| { receive::<()>(); });
///     register("worker", pid).unwrap();
///     let by_pid = monitor(pid);
///     let by_name = monitor_name("worker");
///     let mut listed = process_info(self_pid()).unwrap().monitors;
///     listed.sort_by_key(|(r, _)| *r != by_pid);
///     assert_eq!(listed[0], (by_pid, Monitored::Process(pid)));
///     assert_eq!(listed[1], (by_name, Monitored::Name { name: "worker".into(), pid }));
///     ember_runtime::send(pid, ());
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitored {
    /// A monitor made with [`monitor`](crate::monitor): the process.
    Process(Pid),
    /// A monitor made with [`monitor_name`](crate::monitor_name): the name,
    /// and the process it resolved to when the monitor was made.
    Name {
        /// The name the monitor was made with.
        name: Name,
        /// The process the name resolved to.
        pid: Pid,
    },
}

impl Monitored {
    /// The monitored process.
    ///
    /// ```
    /// use ember_runtime::{Monitored, Pid};
    /// assert_eq!(Monitored::Process(Pid::UNDEFINED).pid(), Pid::UNDEFINED);
    /// ```
    pub fn pid(&self) -> Pid {
        match self {
            Monitored::Process(pid) | Monitored::Name { pid, .. } => *pid,
        }
    }
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
///
/// It serializes (serde) with `message_queue_len` named `mailbox_len`, as
/// the observer shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ProcessInfo {
    /// The process.
    pub pid: Pid,
    /// What it is doing.
    pub status: Status,
    /// Its label (see [`set_label`]): a behaviour's is its module's type
    /// name unless it set one.
    pub label: Option<String>,
    /// Messages waiting in its mailbox.
    #[serde(rename = "mailbox_len")]
    pub message_queue_len: usize,
    /// Linked processes.
    pub links: Vec<Pid>,
    /// Monitors it holds: reference and target. A monitor made with
    /// [`monitor_name`](crate::monitor_name) lists the name it was made
    /// with, as OTP lists `{process, {Name, Node}}`.
    pub monitors: Vec<(Ref, Monitored)>,
    /// Processes monitoring it.
    pub monitored_by: Vec<Pid>,
    /// Its registered name.
    pub registered_name: Option<Name>,
    /// Whether it traps exits.
    pub trap_exit: bool,
    /// Its scheduling priority (`normal` when a snapshot from an older node
    /// does not say).
    #[serde(default)]
    pub priority: Priority,
    /// Reductions (runtime calls, weighted) it has spent.
    pub reductions: u64,
    /// Stack bytes in use at its last suspension (0 when it holds no stack).
    pub stack_bytes: usize,
    /// The deepest its stack has been seen to go since it got its stack, in
    /// bytes: sampled at runtime calls and suspensions, so a lower bound (a
    /// frame that goes deeper between two runtime calls is not seen).
    pub stack_high_water: usize,
    /// An estimate of the memory the process holds, in bytes: its slot, the
    /// stack it uses and its queued messages' envelopes (not what the
    /// messages themselves point to).
    pub memory: usize,
    /// The process that spawned it (`None`: spawned from outside the
    /// runtime); a supervisor's children have the supervisor.
    pub parent: Option<Pid>,
    /// When it was spawned, in milliseconds since its runtime started (to a
    /// few milliseconds).
    pub started_ms: u64,
    /// Messages a behaviour (GenServer, supervisor, agent...) has handled:
    /// calls, casts and infos; 0 for a plain process. It counts modulo
    /// 2^32 (a viewer shows its rate).
    pub messages_handled: u64,
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
    with_scheduler(pid, |sched| info_of(sched, sched.slot(pid)?, pid)).flatten()
}

/// The info of `pid`, which names `slot`, if it is alive (holds the slot
/// lock while it copies the fields).
pub(crate) fn info_of(sched: &Scheduler, slot: &Slot, pid: Pid) -> Option<ProcessInfo> {
    {
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
        let message_queue_len =
            slot.mailbox_len.load(Ordering::Relaxed) + shared.inbox.len() - shared.controls as usize;
        let memory = std::mem::size_of::<Slot>()
            + stack_bytes
            + (message_queue_len + shared.controls as usize) * std::mem::size_of::<Letter>();
        let sets = shared.relations.get();
        Some(ProcessInfo {
            pid,
            status,
            label: match shared.label {
                _ if shared.text_label => sched.side.labels.get(slot.index),
                Some(type_name) => Some(type_name().to_owned()),
                None => None,
            },
            message_queue_len,
            links: sets.map(|s| s.links.iter().map(|(p, _)| *p).collect()).unwrap_or_default(),
            monitors: sets
                .into_iter()
                .flat_map(|s| s.monitors.iter())
                .map(|(r, (pid, name))| {
                    let target = match name {
                        Some(name) => Monitored::Name { name: name.clone(), pid: *pid },
                        None => Monitored::Process(*pid),
                    };
                    (*r, target)
                })
                .collect(),
            monitored_by: sets.map(|s| s.monitored_by.iter().map(|(_, p)| *p).collect()).unwrap_or_default(),
            registered_name: shared.name.as_deref().cloned(),
            trap_exit: slot.trap_exit.load(Ordering::Relaxed),
            priority: priority_of(slot),
            reductions: slot.reductions.load(Ordering::Relaxed),
            stack_bytes,
            stack_high_water,
            memory,
            parent: (shared.parent != NO_PARENT).then(|| Pid::new(pid.node, shared.parent.0, shared.parent.1)),
            started_ms: u64::from(shared.started_ms),
            messages_handled: u64::from(slot.messages_handled.load(Ordering::Relaxed)),
        })
    }
}

/// Labels the calling process for introspection (Elixir's
/// `Process.set_label/1`): `process_info`, [`crate::snapshot`] and the
/// observer show it. A behaviour starts labelled with its module's type
/// name; this replaces that. The label is only for people: nothing looks
/// processes up by it (use [`crate::register`] for that).
///
/// ```
/// use ember_runtime::{process_info, self_pid, set_label};
/// ember_runtime::run(|| {
///     set_label("ingest worker");
///     assert_eq!(process_info(self_pid()).unwrap().label.as_deref(), Some("ingest worker"));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn set_label(label: impl Into<String>) {
    let cur = current();
    cur.charge(1);
    let label = label.into();
    let slot = cur.slot();
    let old = {
        let mut shared = slot.shared.lock();
        shared.text_label = true;
        cur.sched().side.labels.set(slot.index, label)
    };
    drop(old);
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
    with_scheduler(pid, |sched| alive_in(sched, pid)).unwrap_or(false)
}

/// [`is_alive`] for a pid of `sched`'s node.
pub(crate) fn alive_in(sched: &Scheduler, pid: Pid) -> bool {
    match sched.slot(pid) {
        Some(slot) => {
            let shared = slot.shared.lock();
            shared.alive && slot.serial.load(Ordering::Relaxed) == pid.serial
        }
        None => false,
    }
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

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::process::current::current;
    use crate::{process_info, receive, send, set_label, spawn, spawn_monitor, Down};

    #[test]
    fn a_label_set_by_a_process_goes_with_it_and_its_slot_starts_unlabelled() {
        crate::run(|| {
            let me = crate::self_pid();
            let (labelled, _) = spawn_monitor(move || {
                set_label("first");
                set_label("second");
                send(me, ());
            });
            receive::<()>();
            let down: Down = receive();
            assert_eq!(down.pid, labelled);
            let cur = current();
            assert!(cur.sched().side.labels.is_empty(), "the exit removed its label");
            // The worker reuses the freed slot first.
            let next = spawn(|| {
                receive::<()>();
            });
            assert_eq!(next.index, labelled.index, "the same slot");
            assert_eq!(process_info(next).expect("alive").label, None);
            send(next, ());
        })
        .unwrap();
    }
}
