//! The work-stealing scheduler.
//!
//! # Shape
//!
//! N worker threads (default: available parallelism), plus spare workers the
//! system monitor ([`sysmon`]) starts while a worker is held. Each owns
//!
//! * a FIFO run queue (`crossbeam_deque::Worker`) of *floating* processes,
//!   which other workers steal from;
//! * a queue of the processes *pinned* to it, which only it runs, fed by its
//!   own wake-ups and, from other threads, by its [`pinned`] inbox;
//! * a one-slot **run-next** for the process it just woke or spawned: the
//!   receiver of a message runs next on the sender's core (message-passing
//!   locality, like Go's `runnext`), so a ping-pong pair or a
//!   request/spawn/reply chain never touches a queue; an idle worker that
//!   has searched for a while may take it if it floats;
//! * a timer wheel (`timer`), a stack cache and a list of free slot indices.
//!
//! Where a process may run is decided in [`placement`]: a started process is
//! pinned to the thread it runs on, except at its safe points (not started,
//! hibernated, a behaviour's idle receive), because its stack may hold
//! thread-bound state (a thread-local borrow, a `MutexGuard`).
//!
//! A global `Injector` takes floating work pushed from outside the workers
//! (spawns and wake-ups from plain threads, the blocking pool and timers
//! fired by another thread). Idle workers steal from random victims, then
//! park; the protocol that keeps them from sleeping on queued work and from
//! waking for every message is in [`idle`] (and [`pinned`] for the inbox).
//!
//! Run queues hold slot indices. A process is in at most one queue at a time
//! and a wake-up is never lost: see [`state`].
//!
//! # Priorities
//!
//! A process's [`Priority`](crate::Priority) decides which of its worker's
//! queues it waits in: `Max` and `High` processes in queues of their own,
//! pinned and floating, which the worker empties first (`Max` before
//! `High`); `Normal` and `Low` in the queues above, where a `Low` process
//! gets one turn in eight when it reaches the front with work behind it.
//! While no process is above `Normal` (a count in the scheduler says so),
//! workers skip the urgent queues with one load. The urgent floating queues
//! are stolen from first, and floating urgent processes pushed from outside
//! the workers have injectors of their own. The run-next slot knows no
//! priority, but the urgent queues are looked at before it.
//!
//! # Fairness
//!
//! Every runtime call costs reductions ([`budget`]). A process that spent its
//! slice (see `Builder::budget`) yields at its next runtime call and goes to
//! the back of its queue. A worker alternates between its pinned and its
//! floating queue, and every 61st pick looks at the injector first, so work
//! from outside is not starved by a busy local queue. A process that does
//! not return to the runtime at all holds its worker; [`sysmon`] notices and
//! hands the worker's floating work and timers to a spare thread.

pub(crate) mod blocking;
pub(crate) mod budget;
pub(crate) mod counters;
pub(crate) mod idle;
pub(crate) mod park;
pub(crate) mod pinned;
pub(crate) mod placement;
pub(crate) mod shutdown;
pub(crate) mod state;
pub(crate) mod sysmon;
pub(crate) mod worker;

use crate::name::Names;
use crate::pid::Pid;
use crate::process::table::Table;
use crate::process::Slot;
use crate::stack::{StackConfig, StackPool};
use crate::timer::TimerQueue;
use crossbeam_deque::{Injector, Stealer};
use parking_lot::{Condvar, Mutex, RwLock};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use self::blocking::{BlockingJob, BlockingPool};
use self::idle::Idle;
use self::park::Parker;

/// Why a process's coroutine handed control back to its worker.
pub(crate) enum Suspend {
    /// Waiting for a wake-up (a message, a signal, a timer).
    Wait,
    /// Spent its slice, or `yield_now()`: run again later.
    Yield,
    /// Run this job on the blocking pool, then wake the process.
    Blocking(BlockingJob),
}

/// Settings fixed when a runtime is built.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) stack_size: usize,
    pub(crate) stack: StackConfig,
    pub(crate) budget: u32,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) thread_name: String,
    /// The serial of fresh slots (a test hook: 0 in production).
    pub(crate) first_serial: u32,
    /// How long shutdown waits for processes before it abandons them.
    pub(crate) shutdown_timeout: Duration,
    /// Spare workers the system monitor may start beyond `workers`.
    pub(crate) max_spare_workers: usize,
    /// How long a worker may run one process before the monitor counts it
    /// as held.
    pub(crate) hold_threshold: Duration,
}

/// Per-worker state other threads touch, on its own cache lines (the
/// run-next slots of neighbouring workers must not share a line).
#[repr(align(128))]
pub(crate) struct WorkerShared {
    pub(crate) stealer: Stealer<u32>,
    /// The worker's floating `Max` and `High` processes (see
    /// [`LocalQueues::urgent`]).
    pub(crate) urgent_stealers: [Stealer<u32>; 2],
    pub(crate) parker: Parker,
    /// The run-next slot (see `RunNext`).
    pub(crate) run_next: RunNext,
    /// Processes pinned to this worker, handed over by other threads.
    pub(crate) pinned: pinned::PinnedInbox,
    /// What the system monitor watches (see [`sysmon`]).
    pub(crate) watch: sysmon::Watch,
    /// What the worker counts about itself (see [`counters`]).
    pub(crate) counters: counters::WorkerCounters,
}

/// The stealable run queues a worker thread owns: its floating processes,
/// and apart from them, its floating `Max` (`urgent[0]`) and `High`
/// (`urgent[1]`) ones, which it runs first.
pub(crate) struct LocalQueues {
    pub(crate) floating: crossbeam_deque::Worker<u32>,
    pub(crate) urgent: [crossbeam_deque::Worker<u32>; 2],
}

impl LocalQueues {
    fn new() -> Self {
        let fifo = crossbeam_deque::Worker::new_fifo;
        LocalQueues { floating: fifo(), urgent: [fifo(), fifo()] }
    }
}

/// A worker's one-slot run-next: the process it woke or spawned last, run as
/// soon as the current process suspends, on the same core (message-passing
/// locality: a request/reply chain stays on one worker and never touches the
/// deque). Only its owner puts into it; an idle worker that has spun for a
/// while may take from it, so a process stuck behind a long-running one is
/// not stranded while another core idles (Go steals `runnext` the same way).
pub(crate) struct RunNext(std::sync::atomic::AtomicU32);

pub(crate) const RUN_NEXT_EMPTY: u32 = u32::MAX;

impl RunNext {
    fn new() -> Self {
        RunNext(std::sync::atomic::AtomicU32::new(RUN_NEXT_EMPTY))
    }

    /// Owner: puts `index`, returning what it displaced.
    pub(crate) fn put(&self, index: u32) -> Option<u32> {
        let previous = self.0.swap(index, Ordering::AcqRel);
        (previous != RUN_NEXT_EMPTY).then_some(previous)
    }

    /// Thief: takes the process there if it floats. A process pinned to the
    /// slot's owner stays; should the slot be refilled with a pinned process
    /// between the check and the swap, the thief's `run` sends it home.
    pub(crate) fn take_floating(&self, sched: &Scheduler) -> Option<u32> {
        let index = self.0.load(Ordering::Relaxed);
        if index == RUN_NEXT_EMPTY || sched.home_of(index) != placement::FLOATING {
            return None;
        }
        self.0.compare_exchange(index, RUN_NEXT_EMPTY, Ordering::AcqRel, Ordering::Relaxed).ok()
    }

    pub(crate) fn peek(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Owner: takes whatever is there.
    pub(crate) fn take(&self) -> Option<u32> {
        if self.0.load(Ordering::Relaxed) == RUN_NEXT_EMPTY {
            return None;
        }
        let index = self.0.swap(RUN_NEXT_EMPTY, Ordering::AcqRel);
        (index != RUN_NEXT_EMPTY).then_some(index)
    }
}

/// Everything the workers and processes of one runtime share.
pub(crate) struct Scheduler {
    pub(crate) node: u32,
    pub(crate) config: Config,
    pub(crate) table: Table,
    pub(crate) injector: Injector<u32>,
    /// The injector of floating `Max` (0) and `High` (1) processes.
    pub(crate) urgent_injector: [Injector<u32>; 2],
    /// The first `config.workers` are the workers proper; the rest are
    /// spares, started by the system monitor when it needs them. Each on
    /// cache lines of its own: a worker writes its run-next slot and run
    /// marks all the time, and others write its pinned inbox.
    pub(crate) workers: Box<[crossbeam_utils::CachePadded<WorkerShared>]>,
    pub(crate) idle: Idle,
    pub(crate) stacks: StackPool,
    /// One timer queue per worker (spares included), plus one for timers
    /// armed from outside.
    pub(crate) timers: Box<[TimerQueue]>,
    pub(crate) names: Names,
    pub(crate) blocking: BlockingPool,
    pub(crate) start: Instant,
    /// Set once the runtime kills everything that is left.
    pub(crate) shutting_down: AtomicBool,
    /// Set when shutdown gives up waiting: suspended processes are abandoned
    /// instead of resumed (see `shutdown`).
    pub(crate) abandoning: AtomicBool,
    /// Set once every process has exited: workers leave their loops.
    pub(crate) stop: AtomicBool,
    /// Signalled when the last live process exits during shutdown.
    pub(crate) exited: (Mutex<()>, Condvar),
    /// The system monitor's own state.
    pub(crate) sysmon: sysmon::Monitor,
    /// Live processes at `High` or `Max` priority: while there are none,
    /// workers do not look at their urgent queues (see `process::priority`).
    /// Every pick reads it: on a line of its own, away from the counters
    /// idle workers write.
    pub(crate) urgent_processes: crossbeam_utils::CachePadded<std::sync::atomic::AtomicUsize>,
    /// Who hears the system monitor's events (`system_monitor`).
    pub(crate) system_monitor: crate::system_monitor::Subscription,
    /// Milliseconds since `start`, kept by the system monitor (see
    /// `coarse_millis`).
    pub(crate) clock: crate::clock::CoarseClock,
    /// What few processes have: labels they set, exit hooks (see
    /// `process::side`).
    pub(crate) side: crate::process::side::SideTables,
}

/// The runtimes of this OS process, by node number, so that a pid can be
/// resolved from any thread.
static NODES: RwLock<Vec<Weak<Scheduler>>> = RwLock::new(Vec::new());

impl Scheduler {
    /// Builds the shared state; returns it with the per-worker run queues,
    /// which the caller hands to the worker threads.
    pub(crate) fn new(config: Config) -> (Arc<Scheduler>, Vec<LocalQueues>) {
        let slots = config.workers + config.max_spare_workers;
        let queues: Vec<_> = (0..slots).map(|_| LocalQueues::new()).collect();
        let workers = queues
            .iter()
            .map(|q| {
                crossbeam_utils::CachePadded::new(WorkerShared {
                    stealer: q.floating.stealer(),
                    urgent_stealers: [q.urgent[0].stealer(), q.urgent[1].stealer()],
                    parker: Parker::new(),
                    run_next: RunNext::new(),
                    pinned: pinned::PinnedInbox::new(),
                    watch: sysmon::Watch::new(),
                    counters: counters::WorkerCounters::new(),
                })
            })
            .collect();
        let start = Instant::now();
        let timers = (0..=slots).map(|_| TimerQueue::new(start)).collect();
        let mut nodes = NODES.write();
        let node = nodes.len() as u32;
        let sched = Arc::new(Scheduler {
            node,
            table: Table::new(config.first_serial),
            injector: Injector::new(),
            urgent_injector: [Injector::new(), Injector::new()],
            workers,
            idle: Idle::new(slots),
            stacks: StackPool::new(config.stack.clone()),
            timers,
            names: Names::default(),
            blocking: BlockingPool::new(config.max_blocking_threads, config.blocking_keep_alive),
            start,
            shutting_down: AtomicBool::new(false),
            abandoning: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            exited: (Mutex::new(()), Condvar::new()),
            sysmon: sysmon::Monitor::new(),
            urgent_processes: crossbeam_utils::CachePadded::new(std::sync::atomic::AtomicUsize::new(0)),
            system_monitor: crate::system_monitor::Subscription::new(),
            clock: crate::clock::CoarseClock::new(),
            side: Default::default(),
            config,
        });
        nodes.push(Arc::downgrade(&sched));
        (sched, queues)
    }

    /// Takes the next node number for a remote node (see `crate::node`): the
    /// runtimes and the remote nodes of this OS process share one numbering,
    /// so a pid's `node` alone says whether it is local to some runtime.
    pub(crate) fn reserve_remote_node() -> u32 {
        let mut nodes = NODES.write();
        nodes.push(Weak::new());
        (nodes.len() - 1) as u32
    }

    /// The runtime a pid belongs to, from any thread.
    pub(crate) fn of_node(node: u32) -> Option<Arc<Scheduler>> {
        NODES.read().get(node as usize)?.upgrade()
    }

    /// The slot of a pid of this runtime (which may hold another process by
    /// now: compare serials under the slot lock before acting).
    #[inline]
    pub(crate) fn slot(&self, pid: Pid) -> Option<&Slot> {
        debug_assert_eq!(pid.node, self.node);
        self.table.get(pid.index)
    }

    /// Milliseconds since the runtime started, as the system monitor last
    /// read them (one load; see `clock`): for spawn times, which every spawn
    /// records.
    #[inline]
    pub(crate) fn coarse_millis(&self) -> u64 {
        self.clock.now_ms(self.start)
    }

    /// Wakes a sleeping worker if work was published and nobody is searching.
    #[inline]
    pub(crate) fn notify(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.workers[w].parker.unpark();
        }
    }

    /// Wakes every sleeping worker (shutdown, timers armed from outside).
    pub(crate) fn unpark_all(&self) {
        for worker in self.workers.iter() {
            worker.parker.unpark();
        }
    }

    /// Wakes `pid` without delivering anything (timers, blocking jobs).
    pub(crate) fn wake(&self, pid: Pid) {
        if let Some(slot) = self.slot(pid) {
            if slot.serial.load(Ordering::Acquire) == pid.serial && slot.run.wake() {
                self.schedule_woken(slot.index);
            }
        }
    }
}
