//! A bridge to async crates: [`block_on`] parks the calling process until a
//! future completes (feature `tokio`).
//!
//! The future is polled on the process's own stack; its I/O and timers are
//! driven by one small tokio runtime shared by the OS process (one worker
//! thread, started on first use, I/O and time enabled). Its waker wakes the
//! process through the run-state protocol, like a message would, so while
//! the future waits the process is suspended and its worker runs others.
//! Each poll runs inside the shared runtime's context (`Handle::enter`), so
//! tokio resources — `tokio::net::TcpStream`, `tokio::time::sleep`, a
//! reqwest or sqlx client — can be created and used inside the future.
//!
//! The process stays killable: an exit signal that arrives while the future
//! waits is acted on at the next wake-up, the future is dropped as the
//! stack unwinds, and its tokio resources with it.
//!
//! Outside a process, `block_on` blocks the calling thread on the shared
//! runtime (it panics when called from a thread of a tokio runtime, as
//! tokio's own `block_on` does).

use crate::process::current::try_current;
use crate::scheduler::Suspend;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

fn shared_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ember-tokio")
            .enable_all()
            .build()
            .expect("ember: cannot start the shared tokio runtime")
    })
}

/// The handle of the shared tokio runtime, to spawn tasks on it or enter
/// its context outside [`block_on`].
///
/// ```
/// let handle = ember_runtime::future::handle();
/// let answer = handle.block_on(async { 6 * 7 });
/// assert_eq!(answer, 42);
/// ```
pub fn handle() -> &'static tokio::runtime::Handle {
    shared_runtime().handle()
}

struct ProcessWaker {
    pid: crate::Pid,
    notified: AtomicBool,
}

impl Wake for ProcessWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Published before the wake-up: the process reads it after its
        // suspension, which the run state orders after this store.
        self.notified.store(true, Ordering::Release);
        crate::io::wake_pid(self.pid);
    }
}

/// Runs `future` to completion and returns its output. Inside a process,
/// the process is suspended while the future waits; outside one, the
/// calling thread blocks.
///
/// ```
/// use std::time::Duration;
/// let out = ember_runtime::run(|| {
///     ember_runtime::future::block_on(async {
///         tokio::time::sleep(Duration::from_millis(5)).await;
///         "slept"
///     })
/// })
/// .unwrap();
/// assert_eq!(out, "slept");
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let Some(cur) = try_current() else {
        return shared_runtime().block_on(future);
    };
    let handle = handle();
    let waker = Arc::new(ProcessWaker { pid: cur.pid(), notified: AtomicBool::new(false) });
    let task_waker = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&task_waker);
    let mut future = pin!(future);
    loop {
        cur.charge(1);
        let poll = {
            // Entered for the poll only: the guard is bound to this thread,
            // and the process may resume on another one.
            let _enter = handle.enter();
            future.as_mut().poll(&mut cx)
        };
        if let Poll::Ready(output) = poll {
            return output;
        }
        while !waker.notified.swap(false, Ordering::AcqRel) {
            cur.suspend(Suspend::Wait);
            cur.check_signals();
        }
    }
}
