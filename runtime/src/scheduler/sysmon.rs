//! The system monitor: a thread that notices a worker held by one process
//! and keeps the rest of the runtime running (Go's `sysmon`).
//!
//! # Held workers
//!
//! A process that computes for a long time without a runtime call, or
//! blocks its thread in a system call (`std::thread::sleep`, a blocking
//! read), holds its worker: nothing else runs there until it returns to the
//! runtime. Every worker bumps a counter each time it starts running a
//! process ([`Watch::begin_run`]); the monitor samples the counters every
//! millisecond, and a worker that has been running the same process for
//! longer than the hold threshold (`Builder::hold_threshold`, 10 ms by
//! default) is marked **held**, with a `long_schedule` report through
//! `tracing` (target `ember::sysmon`) naming the pid and the time so far; a
//! second report, when the process finally returns, gives the whole time.
//!
//! While a worker is held:
//!
//! * its floating work — its stealable queue and its run-next — is taken by
//!   the other workers at once (a held victim is stolen from eagerly);
//! * its timers are fired by the monitor and by the other workers, so
//!   `send_after`s and receive timeouts elsewhere are on time;
//! * if fewer than N workers are left unheld, the monitor starts (or wakes)
//!   a **spare** worker, up to `Builder::max_spare_schedulers`, so the
//!   runtime keeps its parallelism.
//!
//! The monitor also polls the reactor (without blocking) on every sample,
//! so socket readiness is seen while every worker is busy or held, and it
//! gives the memory of pooled stacks that stayed unused for a second back to
//! the kernel (the policy is `stack::trim`).
//!
//! What a held worker still delays: the processes **pinned** to it (started
//! there and suspended outside a safe point, see `placement`) wait until the
//! holder returns, because only that thread may resume them; so do timers
//! that wake them. And the holder itself cannot be killed until it makes a
//! runtime call: an exit signal is acted on at the next one.
//!
//! When the held worker is back, the runtime has one worker too many: a spare
//! *drains* (runs only the processes pinned to it) and parks as a spare once
//! none is left.
//!
//! # Cost
//!
//! A worker pays three relaxed stores per run on a line it owns. The monitor
//! wakes every millisecond while any worker is awake and sleeps while every
//! worker is parked (the first worker to wake wakes it), so an idle runtime
//! burns no CPU.

use super::park::Parker;
use super::worker::run_worker;
use super::Scheduler;
use crate::process::Slot;
use crate::stack::trim;
use crate::system_monitor::SysMonEvent;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The monitor's sampling period while any worker is awake.
const PERIOD: Duration = Duration::from_millis(1);
/// How long the monitor sleeps when every worker is parked (it is woken
/// earlier by the first worker that wakes up).
const IDLE_PERIOD: Duration = Duration::from_secs(1);
/// The window over which a worker's recent busy ratio is computed.
pub(crate) const BUSY_WINDOW: Duration = Duration::from_millis(250);

const NOT_RUNNING: u32 = u32::MAX;

/// What a worker slot is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Role {
    /// No thread yet (a spare slot never needed).
    NotStarted = 0,
    /// Runs floating and pinned work.
    Active = 1,
    /// A spare no longer needed: runs only the processes pinned to it.
    Draining = 2,
    /// A spare parked until the monitor needs it again.
    Spare = 3,
}

/// What the monitor watches of one worker (on the worker's own lines).
pub(crate) struct Watch {
    /// Bumped by the worker every time it starts running a process.
    picks: AtomicU64,
    /// The slot index of the process it runs, or `NOT_RUNNING`.
    running: AtomicU32,
    /// Set by the monitor, cleared by the worker when the run ends.
    held: AtomicBool,
    /// When the monitor first saw the current run (ns since the runtime
    /// started), for the reports.
    run_seen_at: AtomicU64,
    role: AtomicU8,
    /// Started processes pinned to the worker, as last published.
    pinned_live: AtomicUsize,
    /// Time the worker spent running processes, in ns, as sampled by the
    /// monitor (see [`Watch::busy_nanos`]).
    busy_ns: AtomicU64,
    /// The busy fraction over the last [`BUSY_WINDOW`], in thousandths.
    recent_busy_permille: AtomicU32,
}

impl Watch {
    pub(crate) fn new() -> Self {
        Watch {
            picks: AtomicU64::new(0),
            running: AtomicU32::new(NOT_RUNNING),
            held: AtomicBool::new(false),
            run_seen_at: AtomicU64::new(0),
            role: AtomicU8::new(Role::NotStarted as u8),
            pinned_live: AtomicUsize::new(0),
            busy_ns: AtomicU64::new(0),
            recent_busy_permille: AtomicU32::new(0),
        }
    }

    /// How long the worker has spent running processes, estimated by the
    /// monitor: every sample that finds it running a process counts the
    /// time since the previous sample as busy. It costs the worker nothing
    /// beyond the stores `begin_run` and `end_run` already make; its error
    /// is a sampling period per run boundary, which averages out.
    pub(crate) fn busy_nanos(&self) -> u64 {
        self.busy_ns.load(Ordering::Relaxed)
    }

    /// The fraction of the last [`BUSY_WINDOW`] the worker spent running
    /// processes (0 while the monitor sleeps: every worker is parked).
    pub(crate) fn recent_busy_ratio(&self) -> f64 {
        f64::from(self.recent_busy_permille.load(Ordering::Relaxed)) / 1000.0
    }

    /// Whether the worker is running a process right now.
    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed) != NOT_RUNNING
    }

    /// Worker: about to resume the process in slot `index`.
    #[inline]
    pub(crate) fn begin_run(&self, index: u32) {
        self.picks.store(self.picks.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        self.running.store(index, Ordering::Relaxed);
    }

    /// Worker: the process handed control back.
    #[inline]
    pub(crate) fn end_run(&self, sched: &Scheduler, worker: usize, slot: &Slot) {
        self.running.store(NOT_RUNNING, Ordering::Relaxed);
        if self.held.load(Ordering::Relaxed) {
            self.held.store(false, Ordering::Relaxed);
            let since = Duration::from_nanos(self.run_seen_at.load(Ordering::Relaxed));
            let held_for = sched.start.elapsed().saturating_sub(since);
            let pid = slot.pid(sched.node);
            let millis = held_for.as_millis() as u64;
            tracing::warn!(
                target: "ember::sysmon",
                pid = %pid,
                worker,
                millis,
                "long_schedule: process {pid} held worker {worker} for about {} ms without returning to the runtime",
                held_for.as_millis()
            );
            sched.system_monitor.emit(sched, SysMonEvent::LongSchedule { pid, worker, millis, ended: true });
        }
    }

    pub(crate) fn is_held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    pub(crate) fn role(&self) -> Role {
        match self.role.load(Ordering::Relaxed) {
            1 => Role::Active,
            2 => Role::Draining,
            3 => Role::Spare,
            _ => Role::NotStarted,
        }
    }

    pub(crate) fn set_role(&self, role: Role) {
        self.role.store(role as u8, Ordering::Relaxed);
    }

    /// Whether the worker fires its own timers (others fire those of held
    /// and parked workers).
    pub(crate) fn fires_own_timers(&self) -> bool {
        matches!(self.role(), Role::Active | Role::Draining) && !self.is_held()
    }

    pub(crate) fn publish_pinned(&self, n: usize) {
        self.pinned_live.store(n, Ordering::Relaxed);
    }

    /// Started processes pinned to the worker, as last published.
    pub(crate) fn pinned_live(&self) -> usize {
        self.pinned_live.load(Ordering::Relaxed)
    }
}

/// The monitor's own state.
pub(crate) struct Monitor {
    /// Worker slots `0..started` have a thread.
    started: AtomicUsize,
    parker: Parker,
    /// The monitor sleeps for `IDLE_PERIOD` (workers must wake it).
    sleeping: AtomicBool,
    threads: Mutex<Threads>,
}

#[derive(Default)]
struct Threads {
    /// The run queues of spare slots that have no thread yet, by slot.
    spare_queues: Vec<Option<super::LocalQueues>>,
    /// Every worker thread and the monitor's, for shutdown.
    handles: Vec<JoinHandle<()>>,
}

impl Monitor {
    pub(crate) fn new() -> Self {
        Monitor {
            started: AtomicUsize::new(0),
            parker: Parker::new(),
            sleeping: AtomicBool::new(false),
            threads: Mutex::new(Threads::default()),
        }
    }

    /// Worker slots that have a thread.
    #[inline]
    pub(crate) fn started(&self) -> usize {
        self.started.load(Ordering::Acquire).max(1)
    }

    /// Starts the workers proper and the monitor thread; keeps the spare
    /// slots' queues for later.
    pub(crate) fn start(sched: &Arc<Scheduler>, queues: Vec<super::LocalQueues>) -> std::io::Result<()> {
        let n = sched.config.workers;
        let mut queues: Vec<Option<_>> = queues.into_iter().map(Some).collect();
        for (index, queue) in queues.iter_mut().enumerate().take(n) {
            let queue = queue.take().expect("a queue per slot");
            sched.workers[index].watch.set_role(Role::Active);
            let handle = spawn_worker(sched, index, queue)?;
            let monitor = &sched.sysmon;
            monitor.threads.lock().handles.push(handle);
            monitor.started.store(index + 1, Ordering::Release);
        }
        sched.sysmon.threads.lock().spare_queues = queues;
        let s = sched.clone();
        let handle = std::thread::Builder::new()
            .name(format!("{}-sysmon", sched.config.thread_name))
            .spawn(move || run_monitor(&s))?;
        sched.sysmon.threads.lock().handles.push(handle);
        Ok(())
    }

    /// The handles of every thread started so far (for shutdown).
    pub(crate) fn take_handles(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.threads.lock().handles)
    }

    /// Wakes the monitor (shutdown).
    pub(crate) fn unpark(&self) {
        self.parker.unpark();
    }

    /// A worker woke from a park: the monitor must watch again.
    #[inline]
    pub(crate) fn worker_woke(&self) {
        if self.sleeping.load(Ordering::Relaxed) {
            self.sleeping.store(false, Ordering::Relaxed);
            self.parker.unpark();
        }
    }

    /// Active workers that are not held.
    pub(crate) fn unheld_active(&self, sched: &Scheduler) -> usize {
        sched.workers[..self.started()].iter().filter(|w| w.watch.role() == Role::Active && !w.watch.is_held()).count()
    }
}

fn spawn_worker(sched: &Arc<Scheduler>, index: usize, queue: super::LocalQueues) -> std::io::Result<JoinHandle<()>> {
    let s = sched.clone();
    std::thread::Builder::new()
        .name(format!("{}-{index}", sched.config.thread_name))
        .spawn(move || run_worker(s, index, queue))
}

/// The monitor thread.
fn run_monitor(sched: &Arc<Scheduler>) {
    let monitor = &sched.sysmon;
    let slots = sched.workers.len();
    // Per worker slot: the pick count last seen, and since when.
    let mut seen: Vec<(u64, Instant)> = vec![(u64::MAX, Instant::now()); slots];
    let mut busy = BusySampler::new(slots);
    let mut last_trim = Instant::now();
    loop {
        if sched.stop.load(Ordering::Acquire) {
            return;
        }
        let all_parked =
            sched.workers[..monitor.started()].iter().all(|w| w.watch.role() == Role::Spare || w.pinned.is_sleeping())
                && !sched.workers.iter().any(|w| w.watch.is_held());
        if all_parked {
            monitor.sleeping.store(true, Ordering::Relaxed);
            // Re-check after publishing: a worker that woke in between saw
            // `sleeping` false and did not unpark us.
            let still_parked = sched.workers[..monitor.started()]
                .iter()
                .all(|w| w.watch.role() == Role::Spare || w.pinned.is_sleeping());
            if still_parked {
                busy.idle(sched);
                sched.clock.pause();
                monitor.parker.park(Some(Instant::now() + IDLE_PERIOD));
                // Asleep, nobody ran: none of that time is busy.
                busy.skip(sched, Instant::now());
            }
            monitor.sleeping.store(false, Ordering::Relaxed);
        } else {
            monitor.parker.park(Some(Instant::now() + PERIOD));
        }
        let now = Instant::now();
        sched.clock.tick(now, sched.start);
        busy.sample(sched, now);
        if now.duration_since(last_trim) >= trim::PERIOD {
            last_trim = now;
            sched.stacks.trim_unused(trim::KEEP_FREE);
        }
        for (index, worker) in sched.workers[..monitor.started()].iter().enumerate() {
            let watch = &worker.watch;
            let picks = watch.picks.load(Ordering::Relaxed);
            let running = watch.running.load(Ordering::Relaxed);
            let (last, since) = &mut seen[index];
            if running == NOT_RUNNING || picks != *last {
                *last = picks;
                *since = now;
                continue;
            }
            let held_for = now - *since;
            if held_for >= sched.config.hold_threshold && !watch.is_held() {
                let since_nanos = since.saturating_duration_since(sched.start).as_nanos() as u64;
                watch.run_seen_at.store(since_nanos, Ordering::Relaxed);
                watch.held.store(true, Ordering::Relaxed);
                report_held(sched, index, running, held_for);
                // Its floating work is stealable now: wake someone to take it.
                sched.notify();
            }
        }
        sched.system_monitor.check_long_queues(sched);
        // I/O is polled even while every worker is busy or held (workers
        // poll only when idle, or every 64 picks).
        crate::io::poll_now();
        // Timers of workers that cannot fire their own.
        for (index, queue) in sched.timers.iter().enumerate().take(monitor.started()) {
            if !sched.workers[index].watch.fires_own_timers() && queue.is_due(sched.start, now) {
                queue.fire(sched, now);
            }
        }
        if !sched.stop.load(Ordering::Acquire) {
            ensure_workers(sched);
        }
    }
}

fn report_held(sched: &Scheduler, worker: usize, index: u32, held_for: Duration) {
    let Some(pid) = sched.table.get(index).map(|slot| slot.pid(sched.node)) else { return };
    let millis = held_for.as_millis() as u64;
    tracing::warn!(
        target: "ember::sysmon",
        pid = %pid,
        worker,
        millis,
        "long_schedule: process {pid} has held worker {worker} for {} ms without returning to the runtime; \
         its floating work and timers go to other workers",
        held_for.as_millis()
    );
    sched.system_monitor.emit(sched, SysMonEvent::LongSchedule { pid, worker, millis, ended: false });
}

/// Keeps `config.workers` workers unheld: wakes a parked spare, or starts
/// one, while fewer are.
fn ensure_workers(sched: &Arc<Scheduler>) {
    let monitor = &sched.sysmon;
    while monitor.unheld_active(sched) < sched.config.workers {
        let started = monitor.started();
        if let Some(spare) = (sched.config.workers..started).find(|&i| sched.workers[i].watch.role() == Role::Spare) {
            sched.workers[spare].watch.set_role(Role::Active);
            sched.workers[spare].parker.unpark();
            continue;
        }
        if let Some(draining) =
            (sched.config.workers..started).find(|&i| sched.workers[i].watch.role() == Role::Draining)
        {
            sched.workers[draining].watch.set_role(Role::Active);
            sched.workers[draining].parker.unpark();
            continue;
        }
        if started >= sched.workers.len() {
            return; // every spare is busy: `max_spare_schedulers` reached
        }
        let mut threads = monitor.threads.lock();
        let Some(queue) = threads.spare_queues.get_mut(started).and_then(Option::take) else {
            return;
        };
        sched.workers[started].watch.set_role(Role::Active);
        match spawn_worker(sched, started, queue) {
            Ok(handle) => {
                threads.handles.push(handle);
                monitor.started.store(started + 1, Ordering::Release);
            }
            Err(error) => {
                sched.workers[started].watch.set_role(Role::NotStarted);
                tracing::error!(target: "ember::sysmon", %error, "could not start a spare worker thread");
                return;
            }
        }
    }
}

/// The monitor's estimate of how busy each worker is (see
/// [`Watch::busy_nanos`]).
struct BusySampler {
    last_sample: Instant,
    window_start: Instant,
    /// Per worker slot: its `busy_ns` when the window started.
    busy_at_window_start: Vec<u64>,
    /// Per worker slot: reported busy to the system monitor's subscriber.
    reported_busy: Vec<bool>,
}

impl BusySampler {
    fn new(slots: usize) -> Self {
        let now = Instant::now();
        BusySampler {
            last_sample: now,
            window_start: now,
            busy_at_window_start: vec![0; slots],
            reported_busy: vec![false; slots],
        }
    }

    fn sample(&mut self, sched: &Scheduler, now: Instant) {
        let dt = now.saturating_duration_since(self.last_sample).as_nanos() as u64;
        self.last_sample = now;
        let started = sched.sysmon.started();
        for worker in &sched.workers[..started] {
            let watch = &worker.watch;
            if watch.is_running() {
                watch.busy_ns.store(watch.busy_ns.load(Ordering::Relaxed) + dt, Ordering::Relaxed);
            }
        }
        let window = now.saturating_duration_since(self.window_start);
        if window >= BUSY_WINDOW {
            let window_ns = window.as_nanos().max(1) as u64;
            let threshold = sched.system_monitor.busy_threshold();
            for (index, worker) in sched.workers[..started].iter().enumerate() {
                let busy_ns = worker.watch.busy_nanos();
                let delta = busy_ns.saturating_sub(self.busy_at_window_start[index]);
                self.busy_at_window_start[index] = busy_ns;
                let permille = (delta.saturating_mul(1000) / window_ns).min(1000) as u32;
                worker.watch.recent_busy_permille.store(permille, Ordering::Relaxed);
                let busy = threshold != 0 && permille >= threshold;
                if busy != self.reported_busy[index] {
                    self.reported_busy[index] = busy;
                    let busy_ratio = f64::from(permille) / 1000.0;
                    sched.system_monitor.emit(sched, SysMonEvent::BusyWorker { worker: index, busy_ratio, busy });
                }
            }
            self.window_start = now;
        }
    }

    /// Every worker is parked: their recent ratios are zero.
    fn idle(&mut self, sched: &Scheduler) {
        for (index, worker) in sched.workers.iter().enumerate() {
            worker.watch.recent_busy_permille.store(0, Ordering::Relaxed);
            if std::mem::take(&mut self.reported_busy[index]) {
                let event = SysMonEvent::BusyWorker { worker: index, busy_ratio: 0.0, busy: false };
                sched.system_monitor.emit(sched, event);
            }
        }
    }

    /// Time up to `now` was not busy (the monitor slept while every worker
    /// was parked): a new window starts.
    fn skip(&mut self, sched: &Scheduler, now: Instant) {
        self.last_sample = now;
        self.window_start = now;
        for (index, worker) in sched.workers.iter().enumerate() {
            self.busy_at_window_start[index] = worker.watch.busy_nanos();
        }
    }
}
