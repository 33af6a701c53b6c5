//! Starting and stopping a runtime: [`run`], [`Runtime`], [`Builder`].

use crate::pid::Pid;
use crate::process::current::try_current;
use crate::process::panic::install_panic_hook;
use crate::process::spawn::spawn_detached;
use crate::process::{Entry, ExitHook, Finish};
use crate::reason::Reason;
use crate::scheduler::sysmon::Monitor;
use crate::scheduler::{Config, Scheduler};
use crate::stack::{GuardMode, StackConfig, MAX_STACK};
use parking_lot::Mutex;
use std::fmt;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Default usable stack size of a process: 256 KiB of address space, of
/// which a process only makes resident what it touches (a few KiB for most:
/// an idle process costs the same resident memory as with 128 KiB). What a
/// larger default costs is page tables: about 520 bytes per process at
/// 256 KiB against 265 at 128 KiB and 2 KiB at 1 MiB (measured with 1M idle
/// processes, `benches/memory.rs`). A process that needs more overflows
/// into a `StackOverflow` exit, not a crash: give it more with
/// `SpawnOptions::stack_size`.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Reductions in a slice before a process yields at its next runtime call.
pub const DEFAULT_BUDGET: u32 = 2_000;

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = ember_runtime::Runtime::builder().schedulers(2).stack_size(64 * 1024).build().unwrap();
/// assert_eq!(rt.block_on(|| 1 + 1).unwrap(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    schedulers: Option<usize>,
    stack_size: usize,
    guard: GuardMode,
    budget: u32,
    max_blocking_threads: usize,
    blocking_keep_alive: Duration,
    thread_name: String,
    max_spare_schedulers: Option<usize>,
    hold_threshold: Duration,
    shutdown_timeout: Duration,
    first_serial: u32,
}

/// How long dropping a [`Runtime`] waits for its processes to exit before it
/// abandons those stuck in their destructors (see
/// [`Builder::shutdown_timeout`]).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a worker may run one process without a runtime call before the
/// system monitor counts it as held (see [`Builder::hold_threshold`]).
pub const DEFAULT_HOLD_THRESHOLD: Duration = Duration::from_millis(10);

impl Default for Builder {
    fn default() -> Self {
        Builder {
            schedulers: None,
            stack_size: DEFAULT_STACK_SIZE,
            guard: GuardMode::Auto,
            budget: DEFAULT_BUDGET,
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            thread_name: "ember-worker".into(),
            max_spare_schedulers: None,
            hold_threshold: DEFAULT_HOLD_THRESHOLD,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            first_serial: 0,
        }
    }
}

impl Builder {
    /// Number of worker threads (default: available parallelism).
    ///
    /// ```
    /// let _ = ember_runtime::Runtime::builder().schedulers(1);
    /// ```
    pub fn schedulers(mut self, n: usize) -> Self {
        self.schedulers = Some(n.max(1));
        self
    }

    /// Default usable stack size of processes (see [`DEFAULT_STACK_SIZE`]);
    /// [`SpawnOptions::stack_size`](crate::SpawnOptions::stack_size)
    /// overrides it per spawn.
    ///
    /// ```
    /// let _ = ember_runtime::Runtime::builder().stack_size(256 * 1024);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes.max(16 * 1024);
        self
    }

    /// Reductions per slice (see [`DEFAULT_BUDGET`]).
    ///
    /// ```
    /// let _ = ember_runtime::Runtime::builder().budget(500);
    /// ```
    pub fn budget(mut self, reductions: u32) -> Self {
        self.budget = reductions.max(1);
        self
    }

    /// Maximum threads of the blocking pool (default 512).
    ///
    /// ```
    /// let _ = ember_runtime::Runtime::builder().max_blocking_threads(8);
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = n.max(1);
        self
    }

    /// Most spare worker threads the system monitor may start while workers
    /// are held by processes that do not return to the runtime (default:
    /// four per scheduler). Spares park when they are no longer needed.
    ///
    /// ```
    /// let _ = ember_runtime::Runtime::builder().max_spare_schedulers(2);
    /// ```
    pub fn max_spare_schedulers(mut self, n: usize) -> Self {
        self.max_spare_schedulers = Some(n);
        self
    }

    /// How long a process may run without a runtime call before the system
    /// monitor counts its worker as held: it then reports a `long_schedule`
    /// and hands the worker's floating work and timers to other workers
    /// (see [`DEFAULT_HOLD_THRESHOLD`]; at least 1 ms).
    ///
    /// ```
    /// let _ = ember_runtime::Runtime::builder().hold_threshold(std::time::Duration::from_millis(5));
    /// ```
    pub fn hold_threshold(mut self, threshold: Duration) -> Self {
        self.hold_threshold = threshold.max(Duration::from_millis(1));
        self
    }

    /// How long shutdown (dropping the [`Runtime`], or the end of [`run`])
    /// waits for the processes it stopped to finish their destructors. A
    /// process still suspended after that is abandoned: the rest of its
    /// destructors never run, its stack is leaked, and stderr says so. A
    /// process that never returns to the runtime is left to its worker
    /// thread after a second such wait. See [`DEFAULT_SHUTDOWN_TIMEOUT`].
    ///
    /// ```
    /// let _ = ember_runtime::Runtime::builder().shutdown_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Test hook: the serial number fresh process slots start at, instead of
    /// 0, so that a test reaches the end of the serial space (where a slot
    /// is retired rather than reused: pids never alias) in a few spawns.
    ///
    /// ```
    /// let rt = ember_runtime::Runtime::builder().first_serial(u32::MAX - 8).build().unwrap();
    /// rt.block_on(|| ()).unwrap();
    /// ```
    #[doc(hidden)]
    pub fn first_serial(mut self, serial: u32) -> Self {
        self.first_serial = serial;
        self
    }

    /// Use `mprotect` guard pages even where `MADV_GUARD_INSTALL` works
    /// (each such guard costs a kernel memory map; for testing the fallback).
    ///
    /// ```
    /// let _ = ember_runtime::Runtime::builder().mprotect_guards();
    /// ```
    pub fn mprotect_guards(mut self) -> Self {
        self.guard = GuardMode::Mprotect;
        self
    }

    /// Builds the runtime and starts its worker threads.
    ///
    /// ```
    /// let rt = ember_runtime::Runtime::builder().build().unwrap();
    /// drop(rt);
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        if self.stack_size > MAX_STACK {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "ember: Builder::stack_size({}) asks for a larger process stack than the largest supported, {} \
                     bytes",
                    self.stack_size, MAX_STACK
                ),
            ));
        }
        install_panic_hook();
        crate::stack::overflow::install();
        let workers = self.schedulers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let config = Config {
            workers,
            stack_size: self.stack_size,
            stack: StackConfig { guard: self.guard, ..StackConfig::default() },
            budget: self.budget,
            max_blocking_threads: self.max_blocking_threads,
            blocking_keep_alive: self.blocking_keep_alive,
            thread_name: self.thread_name,
            shutdown_timeout: self.shutdown_timeout,
            first_serial: self.first_serial,
            max_spare_workers: self.max_spare_schedulers.unwrap_or(4 * workers),
            hold_threshold: self.hold_threshold,
        };
        let (sched, queues) = Scheduler::new(config);
        if let Err(e) = Monitor::start(&sched, queues) {
            let rt = Runtime { sched };
            rt.shutdown_now();
            return Err(e);
        }
        Ok(Runtime { sched })
    }
}

/// A running Ember runtime: worker threads, processes, timers, names.
///
/// Most programs call [`run`] instead. Dropping the runtime shuts it down:
/// every remaining process is sent an untrappable exit signal with reason
/// `Shutdown` (its stack unwinds, destructors run), the runtime waits for all
/// of them to exit, then joins its threads.
///
/// ```
/// use ember_runtime::{Runtime, spawn, receive, send, self_pid};
/// let rt = Runtime::new().unwrap();
/// let sum = rt.block_on(|| {
///     let me = self_pid();
///     for i in 1..=10u64 { spawn(move || send(me, i)); }
///     (0..10).map(|_| receive::<u64>()).sum::<u64>()
/// });
/// assert_eq!(sum.unwrap(), 55);
/// ```
pub struct Runtime {
    sched: Arc<Scheduler>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("node", &self.sched.node)
            .field("schedulers", &self.sched.config.workers)
            .finish()
    }
}

/// Counts for leak checks and monitoring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Processes that exist: started and not yet done with their exit
    /// procedure. A process is counted a little after its exit signals and
    /// `Down`s went out (as the BEAM's `processes/0` lists exiting
    /// processes), so a leak check waits for the count to settle.
    pub processes: usize,
    /// Stacks held by processes.
    pub stacks_in_use: usize,
    /// Stacks kept in pools for reuse.
    pub stacks_pooled: usize,
    /// Of `stacks_pooled`, the stacks whose memory has been given back to
    /// the kernel ([`trim_stacks`], or the runtime's own trimming policy);
    /// they are reused like the others and fault in fresh pages.
    pub stacks_trimmed: usize,
    /// Worker threads.
    pub schedulers: usize,
    /// Threads of the blocking pool.
    pub blocking_threads: usize,
}

impl Runtime {
    /// A runtime with default settings.
    ///
    /// ```
    /// let rt = ember_runtime::Runtime::new().unwrap();
    /// assert!(rt.stats().schedulers >= 1);
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::default().build()
    }

    /// A builder to configure a runtime.
    ///
    /// ```
    /// let rt = ember_runtime::Runtime::builder().schedulers(1).build().unwrap();
    /// assert_eq!(rt.stats().schedulers, 1);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Runs `f` as a new process and blocks the calling thread until that
    /// process ends. Returns `f`'s value if it returned, or the reason the
    /// process exited with otherwise (a panic, `exit(reason)`, an exit
    /// signal). Other processes keep running afterwards.
    ///
    /// Must not be called from inside a process (it would block a worker).
    ///
    /// ```
    /// use ember_runtime::{Runtime, Reason};
    /// let rt = Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(|| 7).unwrap(), 7);
    /// let err = rt.block_on(|| -> u8 { panic!("oops") }).unwrap_err();
    /// assert!(matches!(err, Reason::Panic { .. }));
    /// ```
    pub fn block_on<T, F>(&self, f: F) -> Result<T, Reason>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        assert!(
            try_current().is_none(),
            "ember: Runtime::block_on called from inside a process; spawn a process instead"
        );
        let result: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = crossbeam_channel::bounded::<Reason>(1);
        let slot = result.clone();
        let entry = Entry::new(move || {
            let value = f();
            *slot.lock() = Some(value);
            Finish::Exit(Reason::Normal)
        });
        let on_exit: ExitHook = Box::new(move |reason: &Reason| {
            let _ = tx.send(reason.clone());
        });
        spawn_detached(&self.sched, entry, None, Some(on_exit)).map_err(|e| Reason::custom(e.to_string()))?;
        let reason = rx.recv().unwrap_or(Reason::NoProc);
        let value = result.lock().take();
        match (reason, value) {
            (Reason::Normal, Some(value)) => Ok(value),
            (reason, _) => Err(reason),
        }
    }

    /// Spawns a process from outside the runtime (no link, no monitor).
    ///
    /// ```
    /// let rt = ember_runtime::Runtime::new().unwrap();
    /// let pid = rt.spawn(|| {}).unwrap();
    /// assert_eq!(pid.node(), rt.block_on(|| ember_runtime::self_pid().node()).unwrap());
    /// ```
    pub fn spawn<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<Pid, crate::SpawnError> {
        let entry = Entry::new(move || {
            f();
            Finish::Exit(Reason::Normal)
        });
        spawn_detached(&self.sched, entry, None, None)
    }

    /// Counts of processes, stacks and threads.
    ///
    /// ```
    /// let rt = ember_runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.stats().processes, 0);
    /// ```
    pub fn stats(&self) -> RuntimeStats {
        stats_of(&self.sched)
    }

    /// A snapshot of the runtime's processes and counters, from outside it
    /// (see [`crate::Snapshot`]).
    ///
    /// ```
    /// let rt = ember_runtime::Runtime::new().unwrap();
    /// let pid = rt.spawn(|| { ember_runtime::receive::<()>(); }).unwrap();
    /// assert!(rt.snapshot().processes.iter().any(|p| p.pid == pid));
    /// ember_runtime::send(pid, ());
    /// ```
    pub fn snapshot(&self) -> crate::Snapshot {
        crate::snapshot::snapshot_of(&self.sched, None)
    }

    /// Gives the memory of pooled stacks back to the operating system,
    /// keeping `keep` warm stacks per size class; returns how many stacks were
    /// trimmed. Useful after a burst of processes has passed: stacks are
    /// recycled warm, so a pool keeps the memory of its high-water mark
    /// until trimmed. The trimmed stacks stay in the pool and are reused.
    /// The runtime also trims on its own (deep stacks at exit, stacks unused
    /// for a second in the background); this gets the memory back at once.
    ///
    /// ```
    /// let rt = ember_runtime::Runtime::new().unwrap();
    /// rt.block_on(|| {}).unwrap();
    /// let _trimmed = rt.trim_stacks(0);
    /// ```
    pub fn trim_stacks(&self, keep: usize) -> usize {
        self.sched.stacks.trim(keep)
    }

    fn shutdown_now(&self) {
        self.sched.shutdown(self.sched.config.shutdown_timeout);
    }
}

impl Drop for Runtime {
    /// Shuts the runtime down (see the type's docs). Dropping the runtime
    /// from inside one of its own processes cannot wait for that process to
    /// exit: the shutdown then runs on a thread of its own, and the drop
    /// panics with a message saying so (unless the process is already
    /// unwinding, where a panic would abort).
    fn drop(&mut self) {
        let inside = try_current().is_some_and(|cur| std::ptr::eq(cur.sched(), &*self.sched));
        if !inside {
            self.shutdown_now();
            return;
        }
        let sched = self.sched.clone();
        let timeout = sched.config.shutdown_timeout;
        let spawned = std::thread::Builder::new()
            .name(format!("{}-shutdown", sched.config.thread_name))
            .spawn(move || sched.shutdown(timeout));
        if spawned.is_err() {
            eprintln!("[ember] could not start a thread to shut the runtime down; it is leaked");
        }
        if !try_current().is_some_and(|cur| cur.unwinding()) {
            panic!(
                "ember: the last Runtime handle was dropped inside one of its own processes; the runtime shuts down \
                 on a thread of its own, which ends this process too. Drop the Runtime from outside it (after \
                 Runtime::block_on returns)"
            );
        }
    }
}

pub(crate) fn stats_of(sched: &Scheduler) -> RuntimeStats {
    let stacks = sched.stacks.stats();
    RuntimeStats {
        processes: sched.table.live.load(Ordering::Acquire),
        stacks_in_use: stacks.stacks_in_use,
        stacks_pooled: stacks.stacks_free + stacks.stacks_cached,
        stacks_trimmed: stacks.stacks_cold,
        schedulers: sched.config.workers,
        blocking_threads: sched.blocking.threads(),
    }
}

/// Counts of the caller's runtime (see [`RuntimeStats`]).
///
/// ```
/// ember_runtime::run(|| assert_eq!(ember_runtime::stats().processes, 1)).unwrap();
/// ```
#[track_caller]
pub fn stats() -> RuntimeStats {
    stats_of(crate::process::current::current().sched())
}

/// [`Runtime::trim_stacks`] for the caller's runtime, for programs started
/// with [`run`] (which hold no [`Runtime`]): gives the memory of pooled stacks
/// back to the kernel, keeping `keep` warm stacks per size class, and returns
/// how many stacks were trimmed.
///
/// The runtime already trims on its own: a process whose stack went deep has
/// it trimmed when it exits, and pooled stacks left unused for a second are
/// trimmed in the background. Call this after a burst, to get the memory back
/// at once. Stacks in the workers' small caches are not reached.
///
/// ```
/// ember_runtime::run(|| {
///     let _trimmed = ember_runtime::trim_stacks(0);
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn trim_stacks(keep: usize) -> usize {
    crate::process::current::current().sched().stacks.trim(keep)
}

/// Runs `f` as the root process of a new runtime with default settings,
/// blocks until it ends, then shuts the runtime down (every process left is
/// stopped, every thread joined). Returns `f`'s value, or the reason the root
/// process exited with.
///
/// ```
/// use ember_runtime::{spawn, receive, send, self_pid};
/// let answer = ember_runtime::run(|| {
///     let me = self_pid();
///     spawn(move || send(me, 42));
///     receive::<i32>()
/// });
/// assert_eq!(answer.unwrap(), 42);
/// ```
pub fn run<T, F>(f: F) -> Result<T, Reason>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let rt = Runtime::new().map_err(|e| Reason::custom(format!("cannot start the runtime: {e}")))?;
    rt.block_on(f)
}
