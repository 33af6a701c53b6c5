//! A worker thread: runs processes from its queues, steals when out of work,
//! parks when there is none.
//!
//! The loop, in order of preference: the run-next slot (the process this
//! worker just woke), its two local queues — the processes pinned to it and
//! the floating ones others may steal — taken in turn, its pinned inbox
//! (pinned processes woken by other threads), the injector (first, every
//! 61st pick, for fairness), then — out of local work — timers that fell
//! due, stealing a batch of floating processes from the injector or a random
//! victim, spinning a little, and finally parking until woken or until the
//! earliest timer is due (see `idle` and `pinned` for the sleep/wake
//! protocols). One parked worker parks in the reactor's poll rather than on
//! its condvar (see `crate::io::reactor` and `park`), and every 64th pick a
//! busy worker polls the reactor without blocking.
//!
//! Stealing respects placement: only floating processes are ever stolen. In
//! the first half of its spin a thief leaves a victim's last queued process
//! alone (it most likely runs on its own core in a moment, and a process
//! that starts there is pinned there, next to whoever spawned it); a held
//! worker's queue and run-next are taken at once.
//!
//! A spare worker (started by `sysmon` while a worker is held) takes floating
//! work only while the runtime is short of unheld workers. Once the held
//! worker is back, the spare *drains*: it runs only the processes pinned to
//! it, and parks as a spare again when none is left.

use super::counters::WorkerCounters;
use super::placement::FLOATING;
use super::sysmon::Role;
use super::{LocalQueues, Scheduler, Suspend, WorkerShared};
use crate::mailbox::drain::{drain, Verdict};
use crate::process::current::{Current, CURRENT};
use crate::process::exit::{drop_on_worker, terminate};
use crate::process::priority::{priority_of, Priority, LOW_TURN};
use crate::process::trampoline::trampoline;
use crate::process::{Body, Entry, Outcome, ProcessCoroutine, Slot, Suspended};
use crate::reason::Reason;
use crate::stack::{overflow, PooledStack, StackCache, StackError};
use corosensei::stack::Stack;
use corosensei::{Coroutine, CoroutineResult};
use crossbeam_deque::Steal;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
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
    /// `&sched.workers[index]`, looked up once: the loop reaches it several
    /// times per process run (see [`WorkerLocal::shared`]).
    shared: *const WorkerShared,
    /// Floating processes: stealable.
    queue: crossbeam_deque::Worker<u32>,
    /// Runnable processes pinned to this worker: only it runs them.
    pinned: RefCell<VecDeque<u32>>,
    /// Floating `Max` (0) and `High` (1) processes: run first, stolen first.
    urgent_floating: [crossbeam_deque::Worker<u32>; 2],
    /// `Max` (0) and `High` (1) processes pinned here: run first.
    urgent_pinned: [RefCell<VecDeque<u32>>; 2],
    /// Started processes pinned here (not at a safe point, not exited): a
    /// draining spare parks only once this is zero.
    pinned_live: Cell<usize>,
    pub(crate) free_slots: RefCell<Vec<u32>>,
    stacks: RefCell<StackCache>,
    rng: Cell<u64>,
    tick: Cell<u32>,
    /// Processes taken from the run-next slot in a row (see
    /// [`RUN_NEXT_STREAK`]).
    run_next_streak: Cell<u32>,
}

/// How many processes in a row a worker takes from its run-next slot before
/// it serves its queues: a pair that wakes each other forever would
/// otherwise keep the worker to itself, and the processes pinned to the
/// worker could not run anywhere else (tokio caps its LIFO slot the same
/// way). Past the cap, the run-next process goes to the back of the queues.
const RUN_NEXT_STREAK: u32 = 3;

impl WorkerLocal {
    /// The worker running on this thread, if it belongs to `sched`.
    // Not inlined: a process's code reaches this through runtime calls, and
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

    pub(crate) fn shared(&self) -> &WorkerShared {
        // SAFETY: `shared` points into `sched.workers`, a boxed slice that is
        // never resized or moved, kept alive by `self.sched`.
        unsafe { &*self.shared }
    }

    /// Whether this worker takes floating work (every worker but a spare
    /// that is draining).
    #[inline]
    pub(crate) fn takes_floating(&self) -> bool {
        self.index < self.sched.config.workers || self.shared().watch.role() == Role::Active
    }

    /// Puts a runnable process at the back of this worker's queues: the
    /// pinned queue if it is pinned here, the stealable one if it floats
    /// (or the injector, on a draining spare), its home's inbox otherwise.
    ///
    /// `Max` and `High` processes go to the urgent queues of the same kind.
    pub(crate) fn push_local(&self, index: u32) {
        let (home, priority) = self.sched.placement_of(index);
        let urgent = match priority {
            Priority::Max => Some(0),
            Priority::High => Some(1),
            _ => None,
        };
        if home == self.index as u32 {
            match urgent {
                Some(level) => self.urgent_pinned[level].borrow_mut().push_back(index),
                None => self.pinned.borrow_mut().push_back(index),
            }
        } else if home == FLOATING && self.takes_floating() {
            match urgent {
                Some(level) => self.urgent_floating[level].push(index),
                None => self.queue.push(index),
            }
            self.sched.notify();
        } else {
            self.sched.schedule_elsewhere(home, index);
        }
    }

    /// A `Low` process at the front of the queues runs one turn in
    /// [`LOW_TURN`] while other work waits here; the other turns it goes to
    /// the back (the BEAM's `RESCHEDULE_LOW`). Returns whether it went back.
    fn low_waits(&self, slot: &Slot, index: u32) -> bool {
        let others = !self.queue.is_empty() || !self.pinned.borrow().is_empty();
        let turns = slot.low_turns.load(Ordering::Relaxed) + 1;
        if others && turns < LOW_TURN {
            slot.low_turns.store(turns, Ordering::Relaxed);
            self.push_local(index);
            return true;
        }
        slot.low_turns.store(0, Ordering::Relaxed);
        false
    }

    /// The next `Max`, then `High`, process: this worker's own, then the
    /// urgent injector's.
    fn urgent_process(&self) -> Option<u32> {
        for level in 0..2 {
            if let Some(index) = self.urgent_pinned[level].borrow_mut().pop_front() {
                return Some(index);
            }
            if let Some(index) = self.urgent_floating[level].pop() {
                return Some(index);
            }
            if self.takes_floating() {
                loop {
                    match self.sched.urgent_injector[level].steal() {
                        Steal::Success(index) => return Some(index),
                        Steal::Empty => break,
                        Steal::Retry => continue,
                    }
                }
            }
        }
        None
    }

    fn has_urgent(&self) -> bool {
        (0..2).any(|level| !self.urgent_pinned[level].borrow().is_empty() || !self.urgent_floating[level].is_empty())
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
pub(crate) fn run_worker(sched: Arc<Scheduler>, index: usize, queues: LocalQueues) {
    // The overflow handler runs on it (see `stack::overflow`). Without one a
    // process's stack overflow would still be caught by std's handler... on
    // the overflowed stack, i.e. not at all: fail loudly instead.
    let _alt_stack = match overflow::AltStack::install() {
        Ok(alt) => Some(alt),
        Err(error) => {
            eprintln!("[ember] worker {index}: no alternate signal stack ({error}); a stack overflow will kill the OS process");
            None
        }
    };
    let stacks = RefCell::new(StackCache::new(&sched.stacks));
    let worker = WorkerLocal {
        shared: &*sched.workers[index],
        sched,
        index,
        queue: queues.floating,
        pinned: RefCell::new(VecDeque::new()),
        urgent_floating: queues.urgent,
        urgent_pinned: [RefCell::new(VecDeque::new()), RefCell::new(VecDeque::new())],
        pinned_live: Cell::new(0),
        free_slots: RefCell::new(Vec::new()),
        stacks,
        rng: Cell::new(0x9e37_79b9_7f4a_7c15 ^ ((index as u64 + 1) << 17)),
        tick: Cell::new(0),
        run_next_streak: Cell::new(0),
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
            self.shared().counters.publish_pinned_queued(self.pinned.borrow().len());
            self.fire_timers(false);
            // Busy workers look at the reactor too (it skips if another
            // thread is polling), so I/O is seen while no worker is idle.
            crate::io::poll_now();
            self.check_surplus();
        }
        if tick % 61 == 0 && self.takes_floating() {
            if let Some(index) = self.steal_from_injector() {
                return Some(index);
            }
        }
        if let Some(index) = self.local_process() {
            return Some(index);
        }
        self.find_work()
    }

    /// Run-next, then the two local queues in turn. What other threads
    /// handed over through the pinned inbox joins the back of the pinned
    /// queue first, so it waits its turn like everything else (a busy
    /// local queue must not starve it).
    ///
    /// While any process is above `Normal`, the urgent queues come first
    /// (see the scheduler's docs, "Priorities").
    #[inline]
    fn local_process(&self) -> Option<u32> {
        let urgent = self.sched.urgent_processes.load(Ordering::Relaxed) > 0;
        let inbox = &self.shared().pinned;
        if urgent {
            // The inbox may hold urgent processes: sort it first.
            while let Some(index) = inbox.pop() {
                self.push_local(index);
            }
            if let Some(index) = self.urgent_process() {
                self.run_next_streak.set(0);
                return Some(index);
            }
        }
        if let Some(index) = self.shared().run_next.take() {
            let streak = self.run_next_streak.get();
            if streak < RUN_NEXT_STREAK {
                self.run_next_streak.set(streak + 1);
                return Some(index);
            }
            self.push_local(index);
        }
        self.run_next_streak.set(0);
        if !inbox.is_empty() {
            let mut pinned = self.pinned.borrow_mut();
            while let Some(index) = inbox.pop() {
                pinned.push_back(index);
            }
        }
        let pinned_first = self.tick.get() % 2 == 0;
        if pinned_first {
            if let Some(index) = self.pinned.borrow_mut().pop_front() {
                return Some(index);
            }
        }
        if let Some(index) = self.queue.pop() {
            return Some(index);
        }
        if !pinned_first {
            if let Some(index) = self.pinned.borrow_mut().pop_front() {
                return Some(index);
            }
        }
        None
    }

    /// A spare that is no longer needed stops taking floating work: what it
    /// queued goes where others can take it.
    fn check_surplus(&self) {
        if self.index < self.sched.config.workers || self.shared().watch.role() != Role::Active {
            return;
        }
        if self.sched.sysmon.unheld_active(&self.sched) > self.sched.config.workers {
            self.shared().watch.set_role(Role::Draining);
            for queue in self.urgent_floating.iter().chain([&self.queue]) {
                while let Some(index) = queue.pop() {
                    self.sched.schedule_elsewhere(self.sched.home_of(index), index);
                }
            }
            if let Some(index) = self.shared().run_next.take() {
                self.push_local(index);
            }
        }
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
            self.check_surplus();
            if !self.takes_floating() {
                // A draining spare: park until its pinned processes need it
                // (or the monitor needs it again), and as a spare once none
                // is left.
                if self.pinned_live.get() == 0 {
                    self.shared().watch.set_role(Role::Spare);
                }
                self.park_alone();
                continue;
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
                // While sockets exist, spin an eighth as long: the work that
                // comes next is mostly readiness, which the poll delivers.
                let spins = if crate::io::started().is_some_and(|r| r.registered() > 0) { SPINS / 8 } else { SPINS };
                for round in 0..spins {
                    // Only after a while does a searcher take another
                    // worker's run-next or its last queued process: those
                    // most likely run on their own core in a moment, with
                    // their caches warm, next to their correspondents.
                    if let Some(index) = self.steal(round >= spins / 2) {
                        WorkerCounters::bump(&self.shared().counters.steals);
                        if sched.idle.stop_searching() {
                            sched.notify();
                        }
                        return Some(index);
                    }
                    // The own inbox every round: a process pinned here, woken
                    // by another worker, can run nowhere else, and its
                    // correspondent usually waits for it.
                    let inbox_busy = !self.shared().pinned.is_empty();
                    if round % 64 == 63 || inbox_busy {
                        if round % 64 == 63 {
                            crate::io::poll_now();
                        }
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
            let inbox_empty = self.shared().pinned.going_to_sleep();
            let mut ready = Vec::new();
            if inbox_empty && !(sched.stop.load(Ordering::Acquire) || self.work_anywhere()) {
                let counters = &self.shared().counters;
                WorkerCounters::bump(&counters.parks);
                counters.publish_pinned_queued(self.pinned.borrow().len());
                let deadline = self.earliest_timer();
                let parker = &self.shared().parker;
                match reactor {
                    Some(r) => parker.park_polling(|| {
                        let timeout = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
                        r.poll_blocking(timeout, &mut ready);
                    }),
                    None => parker.park(deadline),
                }
                sched.sysmon.worker_woke();
            }
            if let Some(r) = reactor {
                r.release_poller();
            }
            self.shared().pinned.awake();
            if sched.idle.wake_up(self.index) {
                // A producer picked us and counted us as searching; the top of
                // the loop decides afresh.
                sched.idle.stop_searching();
            }
            // Awake and counted as such: the processes whose sockets became
            // ready go to their queues, and `notify` wakes another worker
            // for them if there are several.
            crate::io::wake_all(&mut ready);
        }
    }

    /// Parks a worker that takes no floating work: only its own pinned
    /// inbox, its timers and the monitor wake it.
    fn park_alone(&self) {
        let sched = &*self.sched;
        let inbox_empty = self.shared().pinned.going_to_sleep();
        let idle = self.pinned.borrow().is_empty() && !self.has_urgent();
        if inbox_empty && idle && !sched.stop.load(Ordering::Acquire) {
            let deadline = sched.timers[self.index].next_deadline(sched.start);
            self.shared().parker.park(deadline);
        }
        self.shared().pinned.awake();
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

    /// Steals floating work. `eager`: also a victim's run-next and its last
    /// queued process (a held victim's always).
    ///
    /// While any process is above `Normal`, first the victims' floating
    /// `Max`, then `High`, processes, one at a time.
    fn steal(&self, eager: bool) -> Option<u32> {
        let workers = &self.sched.workers;
        let n = self.sched.sysmon.started();
        let start = self.next_random() as usize % n;
        if self.sched.urgent_processes.load(Ordering::Relaxed) > 0 {
            for level in 0..2 {
                for k in 0..n {
                    let victim = (start + k) % n;
                    if victim == self.index {
                        continue;
                    }
                    loop {
                        match workers[victim].urgent_stealers[level].steal() {
                            Steal::Success(index) => return Some(index),
                            Steal::Empty => break,
                            Steal::Retry => continue,
                        }
                    }
                }
            }
        }
        if let Some(index) = self.steal_from_injector() {
            return Some(index);
        }
        for k in 0..n {
            let victim = (start + k) % n;
            if victim == self.index {
                continue;
            }
            let shared = &workers[victim];
            let held = shared.watch.is_held();
            let eager = eager || held;
            if eager || shared.stealer.len() > 1 {
                // Half of the victim's queue at once, not crossbeam's default
                // of at most 32: a burst of spawns is then split into a few
                // long runs rather than many short ones, and since a process
                // is pinned where it first runs, processes spawned one after
                // the other (a ring, a pool of workers) stay next to each
                // other: 1,000 spawned processes landed in 33 alternating
                // runs with the cap, in 2–10 without it.
                loop {
                    match shared.stealer.steal_batch_with_limit_and_pop(&self.queue, usize::MAX) {
                        Steal::Success(index) => return Some(index),
                        Steal::Empty => break,
                        Steal::Retry => continue,
                    }
                }
            }
            if eager {
                if let Some(index) = shared.run_next.take_floating(&self.sched) {
                    return Some(index);
                }
            }
        }
        None
    }

    fn work_anywhere(&self) -> bool {
        let sched = &*self.sched;
        let n = sched.sysmon.started();
        !self.queue.is_empty()
            || !self.pinned.borrow().is_empty()
            || self.has_urgent()
            || !sched.injector.is_empty()
            || sched.urgent_injector.iter().any(|i| !i.is_empty())
            || sched.workers[..n].iter().any(|w| !w.stealer.is_empty())
            || sched.timers.iter().any(|t| t.is_due(sched.start, std::time::Instant::now()))
    }

    fn earliest_timer(&self) -> Option<std::time::Instant> {
        self.sched.timers.iter().filter_map(|t| t.next_deadline(self.sched.start)).min()
    }

    /// Fires the timers that fell due: this worker's, the external queue's
    /// and those of workers that cannot fire their own (held, or spares not
    /// running), or every queue when `all` (an idle worker helps a busy one).
    fn fire_timers(&self, all: bool) {
        let sched = &*self.sched;
        let external = sched.timers.len() - 1;
        let mut now = None;
        for (i, queue) in sched.timers.iter().enumerate() {
            if !queue.has_timers() {
                continue;
            }
            let orphan = i != external && i != self.index && !sched.workers[i].watch.fires_own_timers();
            if !(all || orphan || i == self.index || i == external) {
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
        // A process pinned elsewhere (a thief raced its home for a run-next
        // slot, and the slot had been refilled) goes home.
        let home = slot.home.load(Ordering::Relaxed);
        if home != FLOATING && home != self.index as u32 {
            sched.push_pinned(home, index);
            return;
        }
        if priority_of(slot) == Priority::Low && self.low_waits(slot, index) {
            return;
        }
        slot.run.start_running();
        // SAFETY: we moved the process to RUNNING, so we own it until we
        // suspend, yield or release it below. One borrow at a time: this one
        // ends before `start` takes its own.
        let body = unsafe { std::mem::take(&mut slot.local().body) };
        let mut co = match body {
            Body::Running(suspended) if sched.abandoning.load(Ordering::Relaxed) => {
                self.abandon(slot, suspended, home == self.index as u32);
                return;
            }
            Body::Running(suspended) => suspended.resume_it(),
            Body::Fresh(entry) => match self.start(slot, entry) {
                Some(co) => co,
                None => return,
            },
            Body::Empty => unreachable!("a scheduled process has a body"),
        };
        // SAFETY: as above; short borrow.
        unsafe {
            let local = slot.local();
            local.budget = sched.config.budget;
            local.worker = self.index as u32;
        }
        let watch = &self.shared().watch;
        watch.begin_run(index);
        // SAFETY: short borrow.
        let guard_high = unsafe { slot.local().stack_limit };
        let guard_low = guard_high - sched.stacks.page_size();
        overflow::enter(overflow::Running { guard_low, guard_high, trap: co.trap_handler() });
        CURRENT.with(|c| c.set(Current::running(sched, slot)));
        let result = co.resume(());
        CURRENT.with(|c| c.set(Current::NONE));
        overflow::leave();
        watch.end_run(sched, self.index, slot);
        let pinned_before = home == self.index as u32;
        let pinned_now = slot.home.load(Ordering::Relaxed) == self.index as u32;
        match result {
            CoroutineResult::Yield(why) => {
                self.count_pinned(pinned_before, pinned_now);
                // SAFETY: the coroutine is suspended; we own the process
                // again. Short borrow.
                unsafe { slot.local().body = Body::Running(Suspended::new(co)) };
                match why {
                    Suspend::Wait => {
                        if slot.run.suspend() {
                            sched.schedule_back(index);
                        }
                    }
                    Suspend::Yield => {
                        slot.run.yielded();
                        sched.schedule_back(index);
                    }
                    Suspend::Blocking(job) => {
                        sched.blocking.submit(job);
                        if slot.run.suspend() {
                            sched.schedule_back(index);
                        }
                    }
                }
            }
            CoroutineResult::Return(outcome) => {
                self.count_pinned(pinned_before, false);
                slot.home.store(FLOATING, Ordering::Relaxed);
                // SAFETY: the coroutine has finished; short borrow.
                unsafe {
                    let local = slot.local();
                    local.stack_base = 0;
                    local.stack_limit = 0;
                }
                slot.stack_depth.clear();
                let stack = co.into_stack();
                match outcome {
                    Outcome::Exit(reason, by_signal) => {
                        self.give_stack(stack);
                        terminate(sched, slot, reason, by_signal)
                    }
                    Outcome::Hibernate(entry) => {
                        self.give_stack(stack);
                        self.hibernate(slot, entry)
                    }
                    Outcome::Overflowed => self.overflowed(slot, stack),
                }
            }
        }
    }

    /// The process overflowed its stack and was stopped at its guard page:
    /// its frames are abandoned and the stack is quarantined (leaked, never
    /// reused: other threads may still hold references into it). See
    /// `stack::overflow`.
    fn overflowed(&self, slot: &Slot, stack: PooledStack) {
        let usable = stack.usable();
        stack.quarantine();
        if slot.unwinding.load(Ordering::Relaxed) > 0 {
            // An unwind was in flight: std's panic count of this thread
            // stays raised for good.
            crate::process::unwinding::abandoned_an_unwind();
        }
        // SAFETY: the coroutine is finished; short borrow.
        let (exit_reason, requested) = unsafe {
            let local = slot.local();
            // Its sockets are closed at exit: no frame will drop them.
            local.resources.mark_abandoned();
            (local.exit_reason.take().map(|b| *b), local.stack_size as usize)
        };
        crate::process::exit::overflow_report(slot.pid(self.sched.node), requested, usable);
        match exit_reason {
            // Already exiting (killed, or `exit`): that reason stands.
            Some((reason, by_signal)) => terminate(&self.sched, slot, reason, by_signal),
            // Reported above (with the stack size and the remedy), so no
            // second crash report: `true` as for a signal.
            None => terminate(&self.sched, slot, Reason::StackOverflow, true),
        }
    }

    /// Shutdown gave up waiting for this process (see `shutdown`): end it
    /// without resuming it.
    fn abandon(&self, slot: &Slot, suspended: Suspended, was_pinned_here: bool) {
        self.count_pinned(was_pinned_here, false);
        suspended.abandon();
        eprintln!(
            "[ember] shutdown abandoned process {}: it was still suspended in its destructors; the rest of them do \
             not run and its stack is leaked",
            slot.pid(self.sched.node)
        );
        // SAFETY: we own the process (it is RUNNING for us); short borrow.
        unsafe {
            let local = slot.local();
            local.stack_base = 0;
            local.resources.mark_abandoned();
        }
        slot.stack_depth.clear();
        terminate(&self.sched, slot, Reason::Killed, true);
    }

    /// Keeps `pinned_live` exact across one run: the process was pinned here
    /// before it ran and/or is now.
    fn count_pinned(&self, before: bool, now: bool) {
        match (before, now) {
            (false, true) => self.pinned_live.set(self.pinned_live.get() + 1),
            (true, false) => self.pinned_live.set(self.pinned_live.get() - 1),
            _ => {}
        }
        self.shared().watch.publish_pinned(self.pinned_live.get());
    }

    /// Creates the coroutine of a process that holds no stack (never ran, or
    /// hibernated). Returns `None` when the process does not need to run after
    /// all (killed before it started, or woken without a message while
    /// hibernating).
    fn start(&self, slot: &Slot, entry: Entry) -> Option<ProcessCoroutine> {
        let sched = &*self.sched;
        // SAFETY: called from `run`, which owns the process and holds no
        // other borrow of it; every borrow below is short.
        let (hibernated, stack_size) = unsafe {
            let local = slot.local();
            (local.hibernated, local.stack_size)
        };
        if hibernated || slot.urgent.load(Ordering::Acquire) {
            // Act on pending signals without a stack: a hibernating process
            // that is killed never needs one.
            // SAFETY: short borrow, released before the drops below.
            let drained = drain(sched, slot, unsafe { slot.local() }, false);
            drop_on_worker(drained.discarded);
            let reason = match drained.verdict {
                Verdict::Continue => None,
                Verdict::Exit(reason) => Some(reason),
                Verdict::Kill => Some(Reason::Killed),
            };
            if let Some(reason) = reason {
                drop_on_worker(entry);
                terminate(sched, slot, reason, true);
                return None;
            }
            // SAFETY: short borrow.
            let idle = unsafe {
                let local = slot.local();
                if local.hibernated && local.mailbox.is_empty() {
                    local.body = Body::Fresh(entry);
                    None
                } else {
                    local.hibernated = false;
                    Some(entry)
                }
            };
            let Some(entry) = idle else {
                if slot.run.suspend() {
                    sched.schedule_back(slot.index);
                }
                return None;
            };
            slot.hibernating.store(false, Ordering::Relaxed);
            return self.with_stack(slot, stack_size as usize, entry);
        }
        self.with_stack(slot, stack_size as usize, entry)
    }

    fn with_stack(&self, slot: &Slot, stack_size: usize, entry: Entry) -> Option<ProcessCoroutine> {
        match self.take_stack(stack_size) {
            Ok(stack) => {
                // SAFETY: `run` owns the process; short borrow.
                unsafe {
                    let local = slot.local();
                    local.stack_base = stack.base().get();
                    local.stack_limit = stack.usable_limit();
                    local.stack_deepest = 0;
                }
                Some(Coroutine::with_stack(stack, trampoline(entry)))
            }
            Err(error) => {
                drop_on_worker(entry);
                terminate(&self.sched, slot, Reason::custom(format!("system_limit: {error}")), false);
                None
            }
        }
    }

    /// The process gave its stack back and waits for a message to run `entry`.
    fn hibernate(&self, slot: &Slot, entry: Entry) {
        let sched = &*self.sched;
        // SAFETY: called from `run`, which owns the process; short borrow.
        let has_mail = unsafe {
            let local = slot.local();
            local.body = Body::Fresh(entry);
            local.hibernated = true;
            !local.mailbox.is_empty()
        };
        slot.hibernating.store(true, Ordering::Relaxed);
        let pending = has_mail || !slot.shared.lock().inbox.is_empty();
        if pending {
            slot.run.yielded();
            sched.schedule_back(slot.index);
        } else if slot.run.suspend() {
            sched.schedule_back(slot.index);
        }
    }
}
