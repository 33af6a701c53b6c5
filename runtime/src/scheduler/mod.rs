//! The work-stealing scheduler.
//!
//! # Shape
//!
//! N worker threads (default: available parallelism). Each owns
//!
//! * a FIFO run queue (`crossbeam_deque::Worker`) that other workers steal from;
//! * a one-slot **run-next** for the process it just woke or spawned: the
//!   receiver of a message runs next on the sender's core (message-passing
//!   locality, like Go's `runnext`), so a ping-pong pair or a
//!   request/spawn/reply chain never touches the deque; an idle worker that
//!   has searched for a while may take it;
//! * a timer wheel (`timer`), a stack cache and a list of free slot indices.
//!
//! A global `Injector` takes work pushed from outside the workers (spawns and
//! wake-ups from plain threads, the blocking pool and timers fired by another
//! thread). Idle workers steal from random victims, then park; the protocol
//! that keeps them from sleeping on queued work and from waking for every
//! message is in [`idle`].
//!
//! Run queues hold slot indices. A process is in at most one queue at a time
//! and a wake-up is never lost: see [`state`].
//!
//! # Fairness
//!
//! Every runtime call costs reductions. A process that spent its slice (see
//! `Builder::budget`) yields at its next runtime call and goes to the back of
//! its worker's queue. Every 61st pick, a worker looks at the injector first,
//! so work from outside is not starved by a busy local queue.

pub(crate) mod blocking;
pub(crate) mod budget;
pub(crate) mod idle;
pub(crate) mod park;
pub(crate) mod state;
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
use self::worker::WorkerLocal;

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
}

/// Per-worker state other threads touch.
pub(crate) struct Remote {
    pub(crate) stealer: Stealer<u32>,
    pub(crate) parker: Parker,
    /// The run-next slot (see `RunNext`).
    pub(crate) run_next: RunNext,
}

/// A worker's one-slot run-next: the process it woke or spawned last, run as
/// soon as the current process suspends, on the same core (message-passing
/// locality: a request/reply chain stays on one worker and never touches the
/// deque). Only its owner puts into it; an idle worker that has spun for a
/// while may take from it, so a process stuck behind a long-running one is
/// not stranded while another core idles (Go steals `runnext` the same way).
pub(crate) struct RunNext(std::sync::atomic::AtomicU32);

const RUN_NEXT_EMPTY: u32 = u32::MAX;

impl RunNext {
    fn new() -> Self {
        RunNext(std::sync::atomic::AtomicU32::new(RUN_NEXT_EMPTY))
    }

    /// Owner: puts `index`, returning what it displaced.
    pub(crate) fn put(&self, index: u32) -> Option<u32> {
        let previous = self.0.swap(index, Ordering::AcqRel);
        (previous != RUN_NEXT_EMPTY).then_some(previous)
    }

    /// Owner or thief: takes whatever is there.
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
    pub(crate) remotes: Box<[Remote]>,
    pub(crate) idle: Idle,
    pub(crate) stacks: StackPool,
    /// One timer queue per worker, plus one for timers armed from outside.
    pub(crate) timers: Box<[TimerQueue]>,
    pub(crate) names: Names,
    pub(crate) blocking: BlockingPool,
    pub(crate) start: Instant,
    /// Set once the runtime kills everything that is left.
    pub(crate) shutting_down: AtomicBool,
    /// Set once every process has exited: workers leave their loops.
    pub(crate) stop: AtomicBool,
    /// Signalled when the last live process exits during shutdown.
    pub(crate) exited: (Mutex<()>, Condvar),
}

/// The runtimes of this OS process, by node number, so that a pid can be
/// resolved from any thread.
static NODES: RwLock<Vec<Weak<Scheduler>>> = RwLock::new(Vec::new());

impl Scheduler {
    /// Builds the shared state; returns it with the per-worker run queues,
    /// which the caller hands to the worker threads.
    pub(crate) fn new(config: Config) -> (Arc<Scheduler>, Vec<crossbeam_deque::Worker<u32>>) {
        let queues: Vec<_> = (0..config.workers).map(|_| crossbeam_deque::Worker::new_fifo()).collect();
        let remotes = queues
            .iter()
            .map(|q| Remote { stealer: q.stealer(), parker: Parker::new(), run_next: RunNext::new() })
            .collect();
        let start = Instant::now();
        let timers = (0..=config.workers).map(|_| TimerQueue::new(start)).collect();
        let mut nodes = NODES.write();
        let node = nodes.len() as u32;
        let sched = Arc::new(Scheduler {
            node,
            table: Table::new(),
            injector: Injector::new(),
            remotes,
            idle: Idle::new(config.workers),
            stacks: StackPool::new(config.stack.clone()),
            timers,
            names: Names::default(),
            blocking: BlockingPool::new(config.max_blocking_threads, config.blocking_keep_alive),
            start,
            shutting_down: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            exited: (Mutex::new(()), Condvar::new()),
            config,
        });
        nodes.push(Arc::downgrade(&sched));
        (sched, queues)
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

    /// Puts a process that was just woken (`RunState::wake` returned true)
    /// or spawned on a run queue: the current worker's run-next slot when
    /// called on one of this runtime's workers (what it displaces goes to the
    /// back of the local queue, where others can steal it), the injector
    /// otherwise.
    pub(crate) fn schedule_woken(&self, index: u32) {
        match WorkerLocal::current_of(self) {
            Some(worker) => {
                if let Some(previous) = self.remotes[worker.index].run_next.put(index) {
                    worker.queue.push(previous);
                    self.notify();
                }
            }
            None => {
                self.injector.push(index);
                self.notify();
            }
        }
    }

    /// Puts a freshly spawned or yielding process at the back of the current
    /// worker's queue (the injector from outside).
    pub(crate) fn schedule_back(&self, index: u32) {
        match WorkerLocal::current_of(self) {
            Some(worker) => worker.queue.push(index),
            None => self.injector.push(index),
        }
        self.notify();
    }

    /// Wakes a sleeping worker if work was published and nobody is searching.
    #[inline]
    pub(crate) fn notify(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.remotes[w].parker.unpark();
        }
    }

    /// Wakes every sleeping worker (shutdown, timers armed from outside).
    pub(crate) fn unpark_all(&self) {
        for remote in self.remotes.iter() {
            remote.parker.unpark();
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
