//! Process priorities (Erlang `process_flag(priority, Level)`).
//!
//! The levels and what they mean follow the BEAM: while a `Max` process is
//! runnable on a worker, that worker runs nothing else; then `High`; `Normal`
//! and `Low` share the normal queues, where a `Low` process runs only every
//! [`LOW_TURN`]th time it reaches the front (it goes to the back the other
//! times, unless nothing else waits). How the workers keep the queues is in
//! `scheduler::worker`; this module keeps the level of each process and the
//! count the workers read to skip the urgent queues when no process is
//! above `Normal`.

use super::current::current;
use super::Slot;
use crate::scheduler::Scheduler;
use std::sync::atomic::Ordering;

/// How often a `Low` process runs when it reaches the front of a queue with
/// other work behind it: once in this many turns (the BEAM's
/// `RESCHEDULE_LOW`).
pub(crate) const LOW_TURN: u8 = 8;

/// A process's scheduling priority (Erlang `process_flag(priority, _)`).
///
/// A worker runs its runnable `Max` processes first, then its `High` ones,
/// then `Normal` and `Low` together, a `Low` process getting one turn in
/// [eight](https://www.erlang.org/doc/apps/erts/erlang#process_flag_priority)
/// when others wait. A process above `Normal` that never suspends starves
/// the rest of its worker, as on the BEAM: keep them short.
///
/// ```
/// use ember_runtime::{process_info, self_pid, set_priority, Priority};
/// ember_runtime::run(|| {
///     assert_eq!(set_priority(Priority::High), Priority::Normal);
///     assert_eq!(process_info(self_pid()).unwrap().priority, Priority::High);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Runs when nothing else waits, or one turn in eight.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Runs before `Normal` and `Low`.
    High,
    /// Runs before everything else. The BEAM reserves it for its own
    /// service processes; so should programs.
    Max,
}

impl Priority {
    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_u8(level: u8) -> Priority {
        match level {
            0 => Priority::Low,
            2 => Priority::High,
            3 => Priority::Max,
            _ => Priority::Normal,
        }
    }

    /// Whether a worker queues it apart, ahead of `Normal`.
    pub(crate) fn is_urgent(self) -> bool {
        self >= Priority::High
    }
}

/// Sets the calling process's priority; returns the previous one (Erlang
/// `process_flag(priority, Level)`). It takes effect the next time the
/// process is queued.
///
/// ```
/// use ember_runtime::{set_priority, spawn_opt, receive, send, self_pid, Priority, SpawnOptions};
/// ember_runtime::run(|| {
///     let me = self_pid();
///     let (pid, _) = spawn_opt(move || send(me, set_priority(Priority::Low)), SpawnOptions::new().priority(Priority::High));
///     assert_eq!(receive::<Priority>(), Priority::High);
///     let _ = pid;
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn set_priority(priority: Priority) -> Priority {
    let cur = current();
    cur.charge(1);
    set_slot_priority(cur.sched(), cur.slot(), priority)
}

/// Sets the priority of the process in `slot` (its owner, its spawner or
/// its terminator), keeping the scheduler's count of urgent processes.
pub(crate) fn set_slot_priority(sched: &Scheduler, slot: &Slot, priority: Priority) -> Priority {
    let previous = Priority::from_u8(slot.priority.swap(priority.to_u8(), Ordering::Relaxed));
    match (previous.is_urgent(), priority.is_urgent()) {
        (false, true) => {
            sched.urgent_processes.fetch_add(1, Ordering::Relaxed);
        }
        (true, false) => {
            sched.urgent_processes.fetch_sub(1, Ordering::Relaxed);
        }
        _ => {}
    }
    previous
}

/// The priority of the process in `slot`.
pub(crate) fn priority_of(slot: &Slot) -> Priority {
    Priority::from_u8(slot.priority.load(Ordering::Relaxed))
}
