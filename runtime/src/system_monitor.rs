//! The system monitor's subscription (Erlang's `erlang:system_monitor/2`):
//! one process per runtime receives [`SysMonEvent`]s as messages when a
//! process holds its worker too long, a mailbox grows past a threshold, a
//! worker stays busy, or a stack nears its limit. Every event is also
//! emitted through `tracing` (target `ember::sysmon`, level `warn`),
//! subscribed or not.
//!
//! Where each event is detected, and what that costs:
//!
//! * `long_schedule`: by the monitor thread (`scheduler::sysmon`), which
//!   samples the workers every millisecond anyway;
//! * `long_message_queue`: at delivery, only while the subscription asks
//!   for it (otherwise one relaxed load of a flag that never changes); the
//!   queue falling back below the off threshold is noticed by the monitor
//!   thread, which looks at the processes that were reported long;
//! * `busy_worker`: by the monitor thread, from its busy sampling;
//! * `stack_near_limit`: when a process suspends (where its stack depth is
//!   published), from its high-water mark, once per process.

use crate::pid::Pid;
use crate::process::Slot;
use crate::scheduler::Scheduler;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// What the subscriber wants to hear about (Erlang's `system_monitor`
/// options). Everything is off until asked for.
///
/// ```
/// use ember_runtime::SystemMonitor;
/// let options = SystemMonitor::new().long_schedule().long_message_queue(1000, 100).busy_worker(0.9).stack_near_limit(0.8);
/// let _ = options;
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SystemMonitor {
    long_schedule: bool,
    long_message_queue: Option<(usize, usize)>,
    busy_worker: Option<f64>,
    stack_near_limit: Option<f64>,
}

impl SystemMonitor {
    /// Nothing monitored.
    ///
    /// ```
    /// let _ = ember_runtime::SystemMonitor::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Report a process that runs on its worker past the runtime's hold
    /// threshold (`Builder::hold_threshold`, 10 ms by default) without
    /// returning to the runtime: once when it is noticed, once when it
    /// returns.
    ///
    /// ```
    /// let _ = ember_runtime::SystemMonitor::new().long_schedule();
    /// ```
    pub fn long_schedule(mut self) -> Self {
        self.long_schedule = true;
        self
    }

    /// Report a mailbox that reaches `on` messages, and again when it falls
    /// to `off` or fewer (Erlang's `{long_message_queue, {Off, On}}`). `on`
    /// is raised to at least 1 and `off` lowered below `on`.
    ///
    /// ```
    /// let _ = ember_runtime::SystemMonitor::new().long_message_queue(10_000, 1_000);
    /// ```
    pub fn long_message_queue(mut self, on: usize, off: usize) -> Self {
        let on = on.max(1);
        self.long_message_queue = Some((on, off.min(on - 1)));
        self
    }

    /// Report a worker whose busy ratio over a quarter second reaches
    /// `ratio` (0 to 1), and again when it drops below.
    ///
    /// ```
    /// let _ = ember_runtime::SystemMonitor::new().busy_worker(0.95);
    /// ```
    pub fn busy_worker(mut self, ratio: f64) -> Self {
        self.busy_worker = Some(ratio.clamp(0.0, 1.0));
        self
    }

    /// Report a process whose stack has gone at least `fraction` (0 to 1)
    /// of its size deep (its high-water mark, sampled at runtime calls and
    /// checked when it suspends); once per process.
    ///
    /// ```
    /// let _ = ember_runtime::SystemMonitor::new().stack_near_limit(0.75);
    /// ```
    pub fn stack_near_limit(mut self, fraction: f64) -> Self {
        self.stack_near_limit = Some(fraction.clamp(0.0, 1.0));
        self
    }
}

/// An event of the system monitor, sent to the subscribed process (see
/// [`system_monitor`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SysMonEvent {
    /// `pid` has held `worker` for `millis` ms without a runtime call;
    /// `ended` tells whether it has returned (then `millis` is the whole
    /// time).
    LongSchedule {
        /// The process.
        pid: Pid,
        /// The worker it held.
        worker: usize,
        /// How long so far (or in all, once ended).
        millis: u64,
        /// It has returned to the runtime.
        ended: bool,
    },
    /// `pid`'s mailbox reached the `on` threshold (`long: true`), or fell
    /// back to the `off` one (`long: false`).
    LongMessageQueue {
        /// The process.
        pid: Pid,
        /// Messages in its mailbox when noticed.
        len: usize,
        /// Above the on threshold (true) or back under the off one.
        long: bool,
    },
    /// A worker's busy ratio reached the threshold (`busy: true`) or fell
    /// back below it.
    BusyWorker {
        /// The worker.
        worker: usize,
        /// Its busy ratio over the last quarter second.
        busy_ratio: f64,
        /// At or above the threshold.
        busy: bool,
    },
    /// `pid`'s stack went `used` bytes deep (its high-water mark) of its
    /// `size` bytes.
    StackNearLimit {
        /// The process.
        pid: Pid,
        /// Stack bytes in use.
        used: usize,
        /// Its usable stack size.
        size: usize,
    },
}

/// Makes `pid` the runtime's system monitor, receiving [`SysMonEvent`]s as
/// messages for what `options` asks; returns the previous subscriber and
/// its options (Erlang's `erlang:system_monitor/2`: one per runtime). The
/// subscription ends when the subscriber exits, or with
/// [`clear_system_monitor`].
///
/// ```
/// use ember_runtime::{receive, self_pid, spawn, system_monitor, SysMonEvent, SystemMonitor};
/// ember_runtime::run(|| {
///     system_monitor(self_pid(), SystemMonitor::new().long_message_queue(5, 0));
///     let stuffed = spawn(|| { receive::<()>(); });
///     for i in 0..5u32 {
///         ember_runtime::send(stuffed, i);
///     }
///     match receive::<SysMonEvent>() {
///         SysMonEvent::LongMessageQueue { pid, long, .. } => assert!(pid == stuffed && long),
///         other => panic!("{other:?}"),
///     }
///     ember_runtime::send(stuffed, ());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn system_monitor(pid: Pid, options: SystemMonitor) -> Option<(Pid, SystemMonitor)> {
    let cur = crate::process::current::current();
    cur.charge(1);
    cur.sched().system_monitor.subscribe(Some((pid, options)))
}

/// Ends the runtime's system monitor subscription; returns what it was.
///
/// ```
/// use ember_runtime::{clear_system_monitor, self_pid, system_monitor, SystemMonitor};
/// ember_runtime::run(|| {
///     system_monitor(self_pid(), SystemMonitor::new().long_schedule());
///     assert_eq!(clear_system_monitor().map(|(pid, _)| pid), Some(self_pid()));
///     assert!(clear_system_monitor().is_none());
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn clear_system_monitor() -> Option<(Pid, SystemMonitor)> {
    let cur = crate::process::current::current();
    cur.charge(1);
    cur.sched().system_monitor.subscribe(None)
}

/// A runtime's subscription, with its thresholds as atomics for the paths
/// that check them (0: off).
pub(crate) struct Subscription {
    subscriber: Mutex<Option<(Pid, SystemMonitor)>>,
    long_schedule: AtomicBool,
    queue_on: AtomicUsize,
    queue_off: AtomicUsize,
    busy_permille: AtomicU32,
    stack_permille: AtomicU32,
    /// Processes reported with a long queue, watched by the monitor thread
    /// until their queue is short again.
    long_queues: Mutex<Vec<Pid>>,
}

impl Subscription {
    pub(crate) fn new() -> Self {
        Subscription {
            subscriber: Mutex::new(None),
            long_schedule: AtomicBool::new(false),
            queue_on: AtomicUsize::new(0),
            queue_off: AtomicUsize::new(0),
            busy_permille: AtomicU32::new(0),
            stack_permille: AtomicU32::new(0),
            long_queues: Mutex::new(Vec::new()),
        }
    }

    fn subscribe(&self, new: Option<(Pid, SystemMonitor)>) -> Option<(Pid, SystemMonitor)> {
        let mut subscriber = self.subscriber.lock();
        self.set(&mut subscriber, new)
    }

    /// Replaces the subscription (the caller holds the `subscriber` lock).
    fn set(
        &self,
        subscriber: &mut Option<(Pid, SystemMonitor)>,
        new: Option<(Pid, SystemMonitor)>,
    ) -> Option<(Pid, SystemMonitor)> {
        let options = new.as_ref().map(|(_, o)| o.clone()).unwrap_or_default();
        let permille = |r: Option<f64>| r.map_or(0, |r| ((r * 1000.0) as u32).max(1));
        self.long_schedule.store(options.long_schedule, Ordering::Relaxed);
        let (on, off) = options.long_message_queue.unwrap_or((0, 0));
        self.queue_off.store(off, Ordering::Relaxed);
        self.queue_on.store(on, Ordering::Relaxed);
        self.busy_permille.store(permille(options.busy_worker), Ordering::Relaxed);
        self.stack_permille.store(permille(options.stack_near_limit), Ordering::Relaxed);
        std::mem::replace(subscriber, new)
    }

    /// Emits `event` through `tracing` and to the subscriber, if it asked
    /// for this kind. A subscriber that is gone is unsubscribed.
    pub(crate) fn emit(&self, sched: &Scheduler, event: SysMonEvent) {
        trace(&event);
        let wanted = match &event {
            SysMonEvent::LongSchedule { .. } => self.long_schedule.load(Ordering::Relaxed),
            SysMonEvent::LongMessageQueue { .. } => self.queue_on.load(Ordering::Relaxed) != 0,
            SysMonEvent::BusyWorker { .. } => self.busy_permille.load(Ordering::Relaxed) != 0,
            SysMonEvent::StackNearLimit { .. } => self.stack_permille.load(Ordering::Relaxed) != 0,
        };
        if !wanted {
            return;
        }
        let Some(to) = self.subscriber.lock().as_ref().map(|(pid, _)| *pid) else { return };
        if !sched.deliver(to, Box::new(event), false, false) {
            // The subscriber is gone (unless it was replaced meanwhile).
            let mut subscriber = self.subscriber.lock();
            if subscriber.as_ref().is_some_and(|(pid, _)| *pid == to) {
                self.set(&mut subscriber, None);
            }
        }
    }

    /// Delivery: the mailbox of the process in `slot` holds `len` messages.
    /// Cheap when nobody asked (one relaxed load).
    #[inline]
    pub(crate) fn queue_threshold(&self) -> usize {
        self.queue_on.load(Ordering::Relaxed)
    }

    /// Delivery found `slot`'s mailbox at `len`, at or past the on
    /// threshold: report it once, and watch it until it is short again.
    #[cold]
    pub(crate) fn queue_long(&self, sched: &Scheduler, slot: &Slot, pid: Pid, len: usize) {
        if slot.reported.set(Reported::LONG_QUEUE) {
            return;
        }
        self.long_queues.lock().push(pid);
        self.emit(sched, SysMonEvent::LongMessageQueue { pid, len, long: true });
    }

    /// Monitor thread: the processes reported long whose queue is back to
    /// the off threshold (or that are gone) are let go, with an event for
    /// the live ones.
    pub(crate) fn check_long_queues(&self, sched: &Scheduler) {
        let watched: Vec<Pid> = {
            let list = self.long_queues.lock();
            if list.is_empty() {
                return;
            }
            list.clone()
        };
        let off = self.queue_off.load(Ordering::Relaxed);
        let on = self.queue_on.load(Ordering::Relaxed);
        for pid in watched {
            let len = sched
                .slot(pid)
                .and_then(|slot| crate::process::info::info_of(sched, slot, pid))
                .map(|info| info.message_queue_len);
            let short = match len {
                Some(len) => on == 0 || len <= off,
                None => true,
            };
            if !short {
                continue;
            }
            self.long_queues.lock().retain(|p| *p != pid);
            if let Some(slot) = sched.slot(pid) {
                if slot.serial.load(Ordering::Acquire) == pid.serial {
                    slot.reported.clear(Reported::LONG_QUEUE);
                }
            }
            if let Some(len) = len {
                self.emit(sched, SysMonEvent::LongMessageQueue { pid, len, long: false });
            }
        }
    }

    /// Monitor thread: the busy threshold in thousandths (0: off).
    pub(crate) fn busy_threshold(&self) -> u32 {
        self.busy_permille.load(Ordering::Relaxed)
    }

    /// A process suspended with a stack high-water mark of `used` bytes of
    /// its `size`: reported once if past the threshold.
    #[inline]
    pub(crate) fn stack_used(&self, sched: &Scheduler, slot: &Slot, used: usize, size: usize) {
        let permille = self.stack_permille.load(Ordering::Relaxed);
        if permille != 0 && used as u64 * 1000 >= size as u64 * u64::from(permille) {
            self.stack_near_limit(sched, slot, used, size);
        }
    }

    #[cold]
    fn stack_near_limit(&self, sched: &Scheduler, slot: &Slot, used: usize, size: usize) {
        if !slot.reported.set(Reported::STACK_NEAR_LIMIT) {
            let pid = slot.pid(sched.node);
            self.emit(sched, SysMonEvent::StackNearLimit { pid, used, size });
        }
    }
}

/// The `tracing` side of every event.
fn trace(event: &SysMonEvent) {
    match event {
        // The monitor thread has always reported these itself, in words.
        SysMonEvent::LongSchedule { .. } => {}
        SysMonEvent::LongMessageQueue { pid, len, long } => tracing::warn!(
            target: "ember::sysmon",
            pid = %pid,
            len,
            long,
            "long_message_queue: process {pid} has {len} messages queued{}",
            if *long { "" } else { " (short again)" }
        ),
        SysMonEvent::BusyWorker { worker, busy_ratio, busy } => tracing::warn!(
            target: "ember::sysmon",
            worker,
            busy_ratio,
            busy,
            "busy_worker: worker {worker} was busy {:.0}% of the last {:?}{}",
            busy_ratio * 100.0,
            crate::scheduler::sysmon::BUSY_WINDOW,
            if *busy { "" } else { " (no longer busy)" }
        ),
        SysMonEvent::StackNearLimit { pid, used, size } => tracing::warn!(
            target: "ember::sysmon",
            pid = %pid,
            used,
            size,
            "stack_near_limit: process {pid} used {used} of its {size} stack bytes; give it more with \
             SpawnOptions::stack_size"
        ),
    }
}

/// What the system monitor has reported about a process, so that each
/// condition is reported once until it ends: one byte of flags in its slot.
#[derive(Debug, Default)]
pub(crate) struct Reported(std::sync::atomic::AtomicU8);

impl Reported {
    /// Its mailbox was reported long, and the monitor watches it.
    pub(crate) const LONG_QUEUE: u8 = 1;
    /// Its stack was reported near its limit.
    pub(crate) const STACK_NEAR_LIMIT: u8 = 2;

    /// Sets `flag`; returns whether it was set already.
    pub(crate) fn set(&self, flag: u8) -> bool {
        self.0.fetch_or(flag, Ordering::Relaxed) & flag != 0
    }

    /// Clears `flag`.
    pub(crate) fn clear(&self, flag: u8) {
        self.0.fetch_and(!flag, Ordering::Relaxed);
    }

    /// A new process in the slot: nothing reported.
    pub(crate) fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}
