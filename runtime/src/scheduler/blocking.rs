//! The blocking pool: plain threads that run `blocking(f)` closures while the
//! calling process is suspended, so a worker never blocks in a system call.
//!
//! Threads are started on demand up to a maximum and retire after idling for
//! the keep-alive period. The pool is joined when the runtime shuts down.

use crate::pid::Pid;
use crate::process::current::{current, Current};
use crate::scheduler::{Scheduler, Suspend};
use parking_lot::{Condvar, Mutex};
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A type-erased job: a function pointer and the address of the frame that
/// holds its closure and result slot.
pub(crate) struct BlockingJob {
    run: unsafe fn(*const ()),
    frame: *const (),
}

// SAFETY: the frame is only touched by the pool thread that runs the job,
// while the process that owns the frame stays suspended (see `blocking`).
unsafe impl Send for BlockingJob {}

struct PoolState {
    queue: VecDeque<BlockingJob>,
    threads: usize,
    idle: usize,
    shutdown: bool,
    handles: Vec<JoinHandle<()>>,
}

pub(crate) struct BlockingPool {
    state: Arc<(Mutex<PoolState>, Condvar)>,
    max_threads: usize,
    keep_alive: Duration,
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Self {
        let state = PoolState { queue: VecDeque::new(), threads: 0, idle: 0, shutdown: false, handles: Vec::new() };
        BlockingPool {
            state: Arc::new((Mutex::new(state), Condvar::new())),
            max_threads: max_threads.max(1),
            keep_alive,
        }
    }

    pub(crate) fn submit(&self, job: BlockingJob) {
        let (lock, cond) = &*self.state;
        let mut state = lock.lock();
        state.queue.push_back(job);
        if state.idle > 0 {
            cond.notify_one();
            return;
        }
        if state.threads < self.max_threads {
            state.threads += 1;
            state.handles.retain(|h| !h.is_finished());
            let shared = self.state.clone();
            let keep_alive = self.keep_alive;
            let spawned = std::thread::Builder::new()
                .name("ember-blocking".into())
                .spawn(move || pool_thread(shared, keep_alive));
            match spawned {
                Ok(handle) => state.handles.push(handle),
                // The job stays queued for an existing thread (if any).
                Err(_) => state.threads -= 1,
            }
        }
    }

    /// Stops accepting work once the queue drains; returns the threads, for
    /// the caller to join.
    pub(crate) fn shutdown(&self) -> Vec<JoinHandle<()>> {
        let (lock, cond) = &*self.state;
        let mut state = lock.lock();
        state.shutdown = true;
        cond.notify_all();
        std::mem::take(&mut state.handles)
    }

    pub(crate) fn threads(&self) -> usize {
        self.state.0.lock().threads
    }
}

fn pool_thread(shared: Arc<(Mutex<PoolState>, Condvar)>, keep_alive: Duration) {
    let (lock, cond) = &*shared;
    let mut state = lock.lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            // SAFETY: `run` was built by `blocking` for exactly this frame,
            // which stays alive until the job marks itself done.
            unsafe { (job.run)(job.frame) };
            state = lock.lock();
            continue;
        }
        if state.shutdown {
            break;
        }
        state.idle += 1;
        let timed_out = cond.wait_for(&mut state, keep_alive).timed_out();
        state.idle -= 1;
        if timed_out && state.queue.is_empty() && !state.shutdown {
            break;
        }
    }
    state.threads -= 1;
}

/// The frame a blocking call keeps on the process's stack, shared with the
/// pool thread that runs the job: only ever reached through `&Frame`. The
/// closure and the result are `UnsafeCell`s that belong to the pool thread
/// from the hand-over until `done` is set, and to the process after it (the
/// release/acquire on `done` orders the two); `done`, `pid` and `sched` are
/// read by both sides at any time.
struct Frame<F, R> {
    f: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<std::thread::Result<R>>>,
    done: AtomicBool,
    pid: Pid,
    sched: *const Scheduler,
}

unsafe fn run_frame<F: FnOnce() -> R, R>(frame: *const ()) {
    // SAFETY: `frame` points at a live `Frame<F, R>` (see `blocking`), only
    // read through shared references.
    let frame = unsafe { &*(frame as *const Frame<F, R>) };
    // SAFETY: until `done` is set, the closure and the result cells are this
    // thread's alone (the process does not touch them, see `blocking`).
    let f = unsafe { (*frame.f.get()).take() }.expect("a blocking job runs once");
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    // SAFETY: as above.
    unsafe { *frame.result.get() = Some(result) };
    let (pid, sched) = (frame.pid, frame.sched);
    // After this store the process may return from `blocking` and its frame
    // may be gone: only the copies taken above are used afterwards.
    frame.done.store(true, Ordering::Release);
    // SAFETY: the runtime outlives its blocking pool, which is joined before
    // the scheduler is dropped.
    unsafe { (*sched).wake(pid) };
}

/// Runs a blocking closure on the blocking pool while the calling process is
/// suspended, so its worker keeps running other processes; returns the
/// closure's result. Use it for anything that blocks the thread: file I/O, a
/// synchronous client library, `std::thread::sleep`, heavy computation.
///
/// The closure may borrow from the caller's stack. If it panics, the panic
/// resumes in the calling process. An exit signal that arrives meanwhile is
/// acted on when the closure returns (a process inside `blocking` dies when
/// its closure returns). Outside a process, `f` simply runs on the calling
/// thread.
///
/// ```
/// let data = ember_runtime::run(|| {
///     let path = std::env::temp_dir();
///     ember_runtime::blocking(|| std::fs::read_dir(&path).is_ok())
/// })
/// .unwrap();
/// assert!(data);
/// ```
pub fn blocking<F, R>(f: F) -> R
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let Some(cur) = crate::process::current::try_current() else {
        return f();
    };
    let frame = Frame {
        f: UnsafeCell::new(Some(f)),
        result: UnsafeCell::new(None),
        done: AtomicBool::new(false),
        pid: cur.pid(),
        sched: cur.sched(),
    };
    let job = BlockingJob { run: run_frame::<F, R>, frame: &frame as *const Frame<F, R> as *const () };
    cur.suspend(Suspend::Blocking(job));
    // SAFETY (of lending the frame): we do not return, unwind or otherwise
    // leave this function until `done` is set. Wake-ups and signals that
    // arrive meanwhile only resume us into this loop; the coroutine is never
    // dropped while suspended (every process runs to completion, even at
    // shutdown, which waits for blocking jobs).
    wait_done(&cur, &frame.done);
    // SAFETY: `done` is set (acquire): the pool thread is finished with the
    // result cell and will not touch the frame again.
    let result = unsafe { (*frame.result.get()).take() }.expect("set before done");
    let cur = current();
    cur.check_signals();
    match result {
        Ok(r) => r,
        Err(payload) => {
            cur.unwind_started();
            panic::resume_unwind(payload)
        }
    }
}

/// Waits until the pool thread is done with the frame. Exit signals are
/// taken meanwhile — a `Kill` ends the process's identity at once — but the
/// process cannot leave before `done`: its frame is lent to the pool thread.
/// A fatal signal taken here is acted on once the closure has returned.
fn wait_done(cur: &Current, done: &AtomicBool) {
    while !done.load(Ordering::Acquire) {
        cur.suspend(Suspend::Wait);
        if cur.slot().urgent.load(Ordering::Acquire) {
            let _recorded = cur.try_drain();
        }
    }
}
