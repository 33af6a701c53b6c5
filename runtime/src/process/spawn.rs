//! Spawning processes.
//!
//! Spawning allocates a slot (from the worker's free list, no shared lock in
//! the common case), boxes the closure and queues the slot index; no stack is
//! taken until the process first runs, so a million processes spawned in a
//! burst cost a million slots and closures, not a million stacks.

use super::current::{current, Current};
use super::priority::{set_slot_priority, Priority};
use super::{Body, Entry, ExitHook, Finish};
use crate::pid::{Pid, Ref};
use crate::process::Control;
use crate::reason::Reason;
use crate::scheduler::worker::WorkerLocal;
use crate::scheduler::Scheduler;
use std::fmt;
use std::sync::atomic::Ordering;

/// Options for [`spawn_opt`].
///
/// ```
/// use ember_runtime::{spawn_opt, SpawnOptions, receive, Down};
/// ember_runtime::run(|| {
///     let (pid, monitor) = spawn_opt(|| {}, SpawnOptions::new().monitor().stack_size(64 * 1024));
///     let down: Down = receive();
///     assert_eq!(Some(down.monitor), monitor);
///     assert_eq!(down.pid, pid);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct SpawnOptions {
    pub(crate) link: bool,
    pub(crate) monitor: bool,
    pub(crate) stack_size: Option<usize>,
    pub(crate) free_migration: bool,
    pub(crate) priority: Priority,
    /// The label it starts with (a behaviour's type name).
    pub(crate) label: Option<fn() -> &'static str>,
}

impl SpawnOptions {
    /// No link, no monitor, the runtime's default stack size.
    ///
    /// ```
    /// let _ = ember_runtime::SpawnOptions::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Link the new process to the caller, atomically with its creation.
    ///
    /// ```
    /// let _ = ember_runtime::SpawnOptions::new().link();
    /// ```
    pub fn link(mut self) -> Self {
        self.link = true;
        self
    }

    /// Monitor the new process, atomically with its creation.
    ///
    /// ```
    /// let _ = ember_runtime::SpawnOptions::new().monitor();
    /// ```
    pub fn monitor(mut self) -> Self {
        self.monitor = true;
        self
    }

    /// The new process's [`Priority`] (Erlang `spawn_opt`'s
    /// `{priority, Level}`); `Normal` by default.
    ///
    /// ```
    /// use ember_runtime::{process_info, receive, spawn_opt, Priority, SpawnOptions};
    /// ember_runtime::run(|| {
    ///     let (pid, _) = spawn_opt(|| { receive::<()>(); }, SpawnOptions::new().priority(Priority::High));
    ///     assert_eq!(process_info(pid).unwrap().priority, Priority::High);
    ///     ember_runtime::send(pid, ());
    /// })
    /// .unwrap();
    /// ```
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Usable stack bytes for this process (rounded up to the stack pool's
    /// size classes).
    ///
    /// ```
    /// let _ = ember_runtime::SpawnOptions::new().stack_size(256 * 1024);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Lets the process move to another worker thread at every suspension,
    /// instead of staying pinned to the thread it started on (see the
    /// runtime's architecture notes, "Placement"). A floating process is
    /// rebalanced by work stealing and keeps running while its worker is held
    /// by another process, at no other cost.
    ///
    /// # Safety
    ///
    /// Every runtime call that may suspend the process (`receive`, `sleep`,
    /// `blocking`, `yield_now`, a call to a server, a send that spends the
    /// slice...) may resume it on another OS thread. The caller promises
    /// that at none of them the process's stack holds **thread-bound
    /// state**: a borrow of a `thread_local!` value, a guard of a lock owned
    /// by a thread (`std::sync::MutexGuard`, `StdoutLock`, any reentrant
    /// lock), a `!Send` value shared with thread-local state (an `Rc` also
    /// stored in a thread-local, a `rand::ThreadRng`), or anything else whose
    /// correctness depends on the OS thread staying the same. Holding any of
    /// these across a suspension of a freely migrating process is a data race,
    /// i.e. undefined behaviour. While the process unwinds it is pinned
    /// anyway (the runtime ensures that).
    ///
    /// ```
    /// use ember_runtime::{receive, send, self_pid, spawn_opt, SpawnOptions};
    /// ember_runtime::run(|| {
    ///     let me = self_pid();
    ///     // SAFETY: the process holds only plain `Send` data across its receive.
    ///     let options = unsafe { SpawnOptions::new().free_migration() };
    ///     let (pid, _) = spawn_opt(move || send(me, receive::<u32>() + 1), options);
    ///     send(pid, 1u32);
    ///     assert_eq!(receive::<u32>(), 2);
    /// })
    /// .unwrap();
    /// ```
    pub unsafe fn free_migration(mut self) -> Self {
        self.free_migration = true;
        self
    }
}

/// Why a process could not be spawned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// The process table is full (64M live processes): Erlang's `system_limit`.
    SystemLimit,
    /// The runtime is shutting down.
    ShuttingDown,
    /// [`SpawnOptions::stack_size`] asked for more than the largest stack
    /// the runtime supports.
    StackTooLarge {
        /// The usable bytes asked for.
        requested: usize,
        /// The largest usable stack, in bytes.
        max: usize,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::SystemLimit => f.write_str("system_limit: the process table is full"),
            SpawnError::ShuttingDown => f.write_str("the runtime is shutting down"),
            SpawnError::StackTooLarge { requested, max } => write!(
                f,
                "a process stack of {requested} bytes was asked for (SpawnOptions::stack_size), but the largest \
                 supported is {max} bytes"
            ),
        }
    }
}

impl std::error::Error for SpawnError {}

/// Spawns a process running `f`. Must be called from inside a process.
///
/// The new process starts with an empty mailbox, not linked or monitored.
///
/// ```
/// use ember_runtime::{spawn, send, receive, self_pid};
/// let n: u32 = ember_runtime::run(|| {
///     let me = self_pid();
///     spawn(move || send(me, 42u32));
///     receive::<u32>()
/// })
/// .unwrap();
/// assert_eq!(n, 42);
/// ```
#[track_caller]
pub fn spawn<F: FnOnce() + Send + 'static>(f: F) -> Pid {
    spawn_opt(f, SpawnOptions::new()).0
}

/// Spawns a process linked to the caller (atomically: there is no moment at
/// which the child could die unlinked).
///
/// ```
/// use ember_runtime::{spawn_link, receive, trap_exit, Exit, Reason};
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let child = spawn_link(|| ember_runtime::exit(Reason::custom("boom")));
///     let exit: Exit = receive();
///     assert_eq!(exit.from, child);
///     assert_eq!(exit.reason, Reason::custom("boom"));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn spawn_link<F: FnOnce() + Send + 'static>(f: F) -> Pid {
    spawn_opt(f, SpawnOptions::new().link()).0
}

/// Spawns a process and monitors it, atomically.
///
/// ```
/// use ember_runtime::{spawn_monitor, receive, Down, Reason};
/// ember_runtime::run(|| {
///     let (pid, monitor) = spawn_monitor(|| {});
///     let down: Down = receive();
///     assert_eq!((down.pid, down.monitor, down.reason), (pid, monitor, Reason::Normal));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn spawn_monitor<F: FnOnce() + Send + 'static>(f: F) -> (Pid, Ref) {
    let (pid, monitor) = spawn_opt(f, SpawnOptions::new().monitor());
    (pid, monitor.expect("monitor requested"))
}

/// Spawns a process with options; returns its pid and, when
/// [`SpawnOptions::monitor`] was asked for, the monitor reference.
///
/// Panics (ending the calling process, not the runtime) when the process
/// table is full; see [`try_spawn_opt`] for an error value instead.
///
/// ```
/// use ember_runtime::{spawn_opt, SpawnOptions};
/// ember_runtime::run(|| {
///     let (_pid, monitor) = spawn_opt(|| {}, SpawnOptions::new());
///     assert!(monitor.is_none());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn spawn_opt<F: FnOnce() + Send + 'static>(f: F, options: SpawnOptions) -> (Pid, Option<Ref>) {
    match try_spawn_opt(f, options) {
        Ok(r) => r,
        Err(e) => panic!("ember: spawn failed: {e}"),
    }
}

/// Like [`spawn_opt`], with the failure as an error value.
///
/// ```
/// use ember_runtime::{try_spawn_opt, SpawnOptions};
/// ember_runtime::run(|| {
///     assert!(try_spawn_opt(|| {}, SpawnOptions::new()).is_ok());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn try_spawn_opt<F: FnOnce() + Send + 'static>(
    f: F,
    options: SpawnOptions,
) -> Result<(Pid, Option<Ref>), SpawnError> {
    let cur = current();
    cur.charge(1);
    let entry = Entry::new(move || {
        f();
        Finish::Exit(Reason::Normal)
    });
    spawn_entry(cur.sched(), Some(&cur), entry, &options, None)
}

/// Spawns a process whose function decides itself whether to exit or
/// hibernate (used by the behaviours, which hibernate by returning).
pub(crate) fn spawn_entry(
    sched: &Scheduler,
    parent: Option<&Current>,
    entry: Entry,
    options: &SpawnOptions,
    on_exit: Option<ExitHook>,
) -> Result<(Pid, Option<Ref>), SpawnError> {
    let stack_size = options.stack_size.unwrap_or(sched.config.stack_size);
    if stack_size > crate::stack::MAX_STACK {
        return Err(SpawnError::StackTooLarge { requested: stack_size, max: crate::stack::MAX_STACK });
    }
    let index = match WorkerLocal::current_of(sched) {
        Some(worker) => worker.take_slot().ok_or(SpawnError::SystemLimit)?,
        None => sched.table.take_one().map_err(|_| SpawnError::SystemLimit)?,
    };
    let slot = sched.table.get(index).expect("allocated index has a slot");
    // SAFETY: the index came off a free list, so the slot is FREE and not
    // reachable by anyone else until `spawned()` publishes it below (stale
    // wakers only act on IDLE/RUNNING states).
    let local = unsafe { slot.local() };
    local.body = Body::Fresh(entry);
    // Checked above: at most `MAX_STACK` (1 GiB), so it fits the slot's u32.
    local.stack_size = stack_size as u32;
    local.hibernated = false;
    local.free_migration = options.free_migration;
    local.exit_reason = None;
    local.returning_to_exit = false;
    local.budget = 0;
    let exit_hook = on_exit.is_some();
    if let Some(hook) = on_exit {
        // Before the slot is published (and before the flag below is set).
        sched.side.exit_hooks.set(index, hook);
    }
    let pid = slot.pid(sched.node);
    let parent_pid = parent.map(|p| p.pid());
    let monitor = match (options.monitor, parent_pid) {
        (true, Some(_)) => Some(Ref::new()),
        _ => None,
    };
    slot.messages_handled.store(0, Ordering::Relaxed);
    slot.reported.reset();
    let started_ms = sched.coarse_millis();
    {
        let mut shared = slot.shared.lock();
        shared.alive = true;
        shared.parent = parent_pid.map_or(super::NO_PARENT, |p| (p.index, p.serial));
        shared.started_ms = started_ms as u32;
        if let Some(parent) = parent_pid {
            if options.link {
                shared.relations.make().links.insert_new(parent, ());
            }
            if let Some(m) = monitor {
                shared.relations.make().monitored_by.insert_new(m, parent);
            }
        }
        // The previous occupant's label went at its exit.
        shared.label = options.label;
        shared.exit_hook = exit_hook;
    }
    if let Some(parent) = parent {
        if options.link || monitor.is_some() {
            let mut shared = parent.slot().shared.lock();
            if options.link {
                shared.relations.make().links.insert_new(pid, ());
            }
            if let Some(m) = monitor {
                shared.relations.make().monitors.insert_new(m, (pid, None));
            }
        }
    }
    sched.table.live.fetch_add(1, Ordering::AcqRel);
    set_slot_priority(sched, slot, options.priority);
    slot.run.spawned();
    // The child goes to the spawner's run-next: a spawner that waits for its
    // child (a supervisor starting one, a call that spawns a worker) hands
    // its core straight to it. Whatever it displaces becomes stealable.
    sched.schedule_woken(index);
    if sched.shutting_down.load(Ordering::SeqCst) {
        sched.deliver(pid, Box::new(Control::Terminate(Reason::Shutdown)), true, true);
    }
    Ok((pid, monitor))
}

/// Spawns from outside any process (a plain thread holding the runtime).
pub(crate) fn spawn_detached(
    sched: &Scheduler,
    entry: Entry,
    stack_size: Option<usize>,
    on_exit: Option<ExitHook>,
) -> Result<Pid, SpawnError> {
    let options = SpawnOptions { stack_size, ..SpawnOptions::default() };
    spawn_entry(sched, None, entry, &options, on_exit).map(|(pid, _)| pid)
}
