//! A worker thread: runs processes from its queues, steals when out of work,
//! parks when there is none.
//!
//! The loop, in order of preference: the run-next slot (the process this
//! worker just woke), the local FIFO queue, the injector (first, every 61st
//! pick, for fairness), then — out of local work — timers that fell due,
//! stealing a batch from the injector or a random victim, spinning a little,
//! and finally parking until woken or until the earliest timer is due (see
//! `idle` for the sleep/wake protocol). One parked worker parks in the
//! reactor's poll rather than on its condvar (see `crate::io::reactor` and
//! `park`), and every 64th pick a busy worker polls the reactor without
//! blocking.

use super::{Scheduler, Suspend};
use crate::process::context::{self, CURRENT};
use crate::process::exit::{drop_on_worker, terminate};
use crate::process::{Body, Entry, Outcome, Slot};
use crate::reason::Reason;
use crate::stack::{PooledStack, StackCache, StackError};
use corosensei::stack::Stack;
use corosensei::{Coroutine, CoroutineResult};
use crossbeam_deque::Steal;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Free slot indices a worker keeps before giving some back.
const FREE_SLOTS_MAX: usize = 4 * crate::process::table::BATCH;
/// Rounds of stealing before a worker parks.
const SPINS: u32 = 2_000;

thread_local! {
    static WORKER: Cell<*const WorkerLocal> = const { Cell::new(ptr::null()) };
}

/// The thread-local half of a worker. Reached only through
/// [`WorkerLocal::current_of`], never cached across a context switch.
pub(crate) struct WorkerLocal {
    sched: Arc<Scheduler>,
    pub(crate) index: usize,
    pub(crate) queue: crossbeam_deque::Worker<u32>,
    pub(crate) free_slots: RefCell<Vec<u32>>,
    stacks: RefCell<StackCache>,
    rng: Cell<u64>,
    tick: Cell<u32>,
}

impl WorkerLocal {
    /// The worker running on this thread, if it belongs to `sched`.
    // Not inlined: processes migrate between threads at every suspension, so
    // the thread-local must be read afresh by every caller.
    #[inline(never)]
    pub(crate) fn current_of(sched: &Scheduler) -> Option<&WorkerLocal> {
        let w = WORKER.with(|w| w.get());
        if w.is_null() {
            return None;
        }
        // SAFETY: WORKER points at the `WorkerLocal` on this thread's
        // `run_worker` frame while that frame lives; it is reset before the
        // frame returns. Callers do not keep the reference across a switch.
        let w = unsafe { &*w };
        ptr::eq(Arc::as_ptr(&w.sched), sched).then_some(w)
    }

    /// A stack for a process that wants `size` usable bytes (from this
    /// worker's cache; the shared pool is visited in batches).
    pub(crate) fn take_stack(&self, size: usize) -> Result<PooledStack, StackError> {
        self.stacks.borrow_mut().get(&self.sched.stacks, size)
    }

    pub(crate) fn give_stack(&self, stack: PooledStack) {
        self.stacks.borrow_mut().put(&self.sched.stacks, stack);
    }

    /// A free slot index, refilling from the table in batches.
    pub(crate) fn take_slot(&self) -> Option<u32> {
        let mut free = self.free_slots.borrow_mut();
        if free.is_empty() {
            self.sched.table.take_batch(&mut free).ok()?;
        }
        free.pop()
    }

    pub(crate) fn give_slot(&self, index: u32) {
        let mut free = self.free_slots.borrow_mut();
        free.push(index);
        if free.len() > FREE_SLOTS_MAX {
            let keep = FREE_SLOTS_MAX / 2;
            self.sched.table.give_back(free.drain(..keep));
        }
    }

    fn next_random(&self) -> u64 {
        // xorshift64*
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The scheduler of the worker running on this thread, if any.
#[inline(never)]
pub(crate) fn current_scheduler() -> Option<*const Scheduler> {
    let w = WORKER.with(|w| w.get());
    // SAFETY: see `WorkerLocal::current_of`.
    (!w.is_null()).then(|| Arc::as_ptr(unsafe { &(*w).sched }))
}

/// The body of a worker thread.
pub(crate) fn run_worker(sched: Arc<Scheduler>, index: usize, queue: crossbeam_deque::Worker<u32>) {
    let stacks = RefCell::new(StackCache::new(&sched.stacks));
    let worker = WorkerLocal {
        sched,
        index,
        queue,
        free_slots: RefCell::new(Vec::new()),
        stacks,
        rng: Cell::new(0x9e37_79b9_7f4a_7c15 ^ ((index as u64 + 1) << 17)),
        tick: Cell::new(0),
    };
    WORKER.with(|w| w.set(&worker));
    worker.main_loop();
    WORKER.with(|w| w.set(ptr::null()));
    // Give back what this worker held, so the pools' counts stay exact.
    worker.stacks.borrow_mut().flush(&worker.sched.stacks);
    let free: Vec<u32> = worker.free_slots.borrow_mut().drain(..).collect();
    worker.sched.table.give_back(free);
}

impl WorkerLocal {
    fn main_loop(&self) {
        while let Some(index) = self.next_process() {
            self.run(index);
        }
    }

    /// The next process to run, or `None` when the runtime stops.
    fn next_process(&self) -> Option<u32> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick % 64 == 0 {
            self.fire_timers(false);
            // Busy workers look at the reactor too (it skips if another
            // thread is polling), so I/O is seen while no worker is idle.
            crate::io::poll_now();
        }
        if tick % 61 == 0 {
            if let Some(index) = self.steal_from_injector() {
                return Some(index);
            }
        }
        if let Some(index) = self.local_process() {
            return Some(index);
        }
        self.find_work()
    }

    fn local_process(&self) -> Option<u32> {
        self.sched.remotes[self.index].run_next.take().or_else(|| self.queue.pop())
    }

    /// Out of local work: timers, stealing, spinning, parking.
    fn find_work(&self) -> Option<u32> {
        let sched = &*self.sched;
        loop {
            if sched.stop.load(Ordering::Acquire) {
                return None;
            }
            self.fire_timers(true);
            if let Some(index) = self.local_process() {
                return Some(index);
            }
            // Readiness is work too (Go's findrunnable polls the network
            // before it spins): the poller role may be free while we spin.
            if crate::io::poll_now() > 0 {
                if let Some(index) = self.local_process() {
                    return Some(index);
                }
            }
            let searching = sched.idle.start_searching();
            if searching {
                // While sockets exist, spin an eighth as long: the work
                // that comes next is mostly readiness, which the poll
                // delivers, and on a machine shared with the peers (a
                // client on loopback) the spin's CPU is theirs.
                let spins = if crate::io::started().is_some_and(|r| r.registered() > 0) { SPINS / 8 } else { SPINS };
                for round in 0..spins {
                    // Only after a while does a searcher take another
                    // worker's run-next: that process most likely runs on
                    // its own core in a moment, with its caches warm.
                    if let Some(index) = self.steal(round >= spins / 2) {
                        if sched.idle.stop_searching() {
                            sched.notify();
                        }
                        return Some(index);
                    }
                    if round % 64 == 63 {
                        crate::io::poll_now();
                        if round % 256 == 255 {
                            self.fire_timers(true);
                        }
                        if let Some(index) = self.local_process() {
                            if sched.idle.stop_searching() {
                                sched.notify();
                            }
                            return Some(index);
                        }
                    }
                    std::hint::spin_loop();
                }
            }
            // At most one idle worker (of all runtimes) parks in the
            // reactor's poll; the others on their condvars.
            let reactor = crate::io::started().filter(|r| r.try_take_poller());
            sched.idle.sleep(self.index, searching, reactor.is_some());
            let mut ready = Vec::new();
            if !(sched.stop.load(Ordering::Acquire) || self.work_anywhere()) {
                let deadline = self.earliest_timer();
                let parker = &sched.remotes[self.index].parker;
                match reactor {
                    Some(r) => parker.park_polling(|| {
                        let timeout = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
                        r.poll_blocking(timeout, &mut ready);
                    }),
                    None => parker.park(deadline),
                }
            }
            if let Some(r) = reactor {
                r.release_poller();
            }
            if sched.idle.wake_up(self.index) {
                // A producer picked us and counted us as searching; the top of
                // the loop decides afresh.
                sched.idle.stop_searching();
            }
            // Awake and counted as such: the processes whose sockets became
            // ready go to this worker's queues, and `notify` wakes another
            // worker for them if there are several.
            crate::io::wake_all(&mut ready);
        }
    }

    fn steal_from_injector(&self) -> Option<u32> {
        loop {
            match self.sched.injector.steal_batch_and_pop(&self.queue) {
                Steal::Success(index) => return Some(index),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    fn steal(&self, from_run_next: bool) -> Option<u32> {
        if let Some(index) = self.steal_from_injector() {
            return Some(index);
        }
        let remotes = &self.sched.remotes;
        let n = remotes.len();
        let start = self.next_random() as usize % n;
        for k in 0..n {
            let victim = (start + k) % n;
            if victim == self.index {
                continue;
            }
            loop {
                match remotes[victim].stealer.steal_batch_and_pop(&self.queue) {
                    Steal::Success(index) => return Some(index),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
            if from_run_next {
                if let Some(index) = remotes[victim].run_next.take() {
                    return Some(index);
                }
            }
        }
        None
    }

    fn work_anywhere(&self) -> bool {
        let sched = &*self.sched;
        !self.queue.is_empty()
            || !sched.injector.is_empty()
            || sched.remotes.iter().any(|r| !r.stealer.is_empty())
            || sched.timers.iter().any(|t| t.is_due(sched.start, std::time::Instant::now()))
    }

    fn earliest_timer(&self) -> Option<std::time::Instant> {
        self.sched.timers.iter().filter_map(|t| t.next_deadline(self.sched.start)).min()
    }

    /// Fires the timers that fell due: this worker's and the external queue,
    /// or every queue when `all` (an idle worker helps a busy one).
    fn fire_timers(&self, all: bool) {
        let sched = &*self.sched;
        let external = sched.timers.len() - 1;
        let mut now = None;
        for (i, queue) in sched.timers.iter().enumerate() {
            if !(all || i == self.index || i == external) {
                continue;
            }
            if !queue.has_timers() {
                continue;
            }
            let now = *now.get_or_insert_with(std::time::Instant::now);
            queue.fire(sched, now);
        }
    }

    /// Runs one process until it suspends, yields or ends.
    fn run(&self, index: u32) {
        let sched = &*self.sched;
        let slot = sched.table.get(index).expect("a queued index has a slot");
        slot.run.start_running();
        // SAFETY: we moved the process to RUNNING, so we own it until we
        // suspend, yield or release it below.
        let local = unsafe { slot.local() };
        let mut co = match std::mem::take(&mut local.body) {
            Body::Running(co) => co,
            Body::Fresh(entry) => match self.start(slot, entry) {
                Some(co) => co,
                None => return,
            },
            Body::Empty => unreachable!("a scheduled process has a body"),
        };
        local.budget = sched.config.budget;
        CURRENT.with(|c| c.set(slot));
        let result = co.resume(());
        CURRENT.with(|c| c.set(ptr::null()));
        // SAFETY: the coroutine is suspended or finished; we own the process
        // again. The reference taken before `resume` is not used any more.
        let local = unsafe { slot.local() };
        match result {
            CoroutineResult::Yield(Suspend::Wait) => {
                local.body = Body::Running(co);
                if slot.run.suspend() {
                    sched.schedule_back(index);
                }
            }
            CoroutineResult::Yield(Suspend::Yield) => {
                local.body = Body::Running(co);
                slot.run.yielded();
                sched.schedule_back(index);
            }
            CoroutineResult::Yield(Suspend::Blocking(job)) => {
                local.body = Body::Running(co);
                sched.blocking.submit(job);
                if slot.run.suspend() {
                    sched.schedule_back(index);
                }
            }
            CoroutineResult::Return(outcome) => {
                local.stack_base = 0;
                slot.stack_used.store(0, Ordering::Relaxed);
                self.give_stack(co.into_stack());
                match outcome {
                    Outcome::Exit(reason, by_signal) => terminate(sched, slot, reason, by_signal),
                    Outcome::Hibernate(entry) => self.hibernate(slot, entry),
                }
            }
        }
    }

    /// Creates the coroutine of a process that holds no stack (never ran, or
    /// hibernated). Returns `None` when the process does not need to run after
    /// all (killed before it started, or woken without a message while
    /// hibernating).
    fn start(&self, slot: &Slot, entry: Entry) -> Option<crate::process::ProcessCoroutine> {
        let sched = &*self.sched;
        // SAFETY: called from `run`, which owns the process.
        let local = unsafe { slot.local() };
        if local.hibernated || slot.urgent.load(Ordering::Acquire) {
            // Act on pending signals without a stack: a hibernating process
            // that is killed never needs one.
            let (result, discarded) = context::drain(sched, slot, local);
            drop_on_worker(discarded);
            if let Err(reason) = result {
                drop_on_worker(entry);
                terminate(sched, slot, reason, true);
                return None;
            }
            if local.hibernated && local.mailbox.is_empty() {
                local.body = Body::Fresh(entry);
                if slot.run.suspend() {
                    sched.schedule_back(slot.index);
                }
                return None;
            }
            local.hibernated = false;
            slot.hibernating.store(false, Ordering::Relaxed);
        }
        match self.take_stack(local.stack_size as usize) {
            Ok(stack) => {
                local.stack_base = stack.base().get();
                Some(Coroutine::with_stack(stack, context::trampoline(entry)))
            }
            Err(error) => {
                drop_on_worker(entry);
                terminate(sched, slot, Reason::custom(format!("system_limit: {error}")), false);
                None
            }
        }
    }

    /// The process gave its stack back and waits for a message to run `entry`.
    fn hibernate(&self, slot: &Slot, entry: Entry) {
        let sched = &*self.sched;
        // SAFETY: called from `run`, which owns the process.
        let local = unsafe { slot.local() };
        local.body = Body::Fresh(entry);
        local.hibernated = true;
        slot.hibernating.store(true, Ordering::Relaxed);
        let pending = !local.mailbox.is_empty() || !slot.shared.lock().inbox.is_empty();
        if pending {
            slot.run.yielded();
            sched.schedule_back(slot.index);
        } else if slot.run.suspend() {
            sched.schedule_back(slot.index);
        }
    }
}
