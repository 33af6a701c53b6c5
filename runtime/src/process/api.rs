//! What a process can do to itself: learn its pid, exit, yield, hibernate.

use super::context::{current, die, try_current, Unwind};
use super::{Entry, Finish};
use crate::pid::Pid;
use crate::reason::Reason;
use crate::scheduler::Suspend;

/// The pid of the calling process.
///
/// Panics when called outside a process.
///
/// ```
/// let pid = ember_runtime::run(ember_runtime::self_pid).unwrap();
/// assert_eq!(pid.to_string().chars().next(), Some('<'));
/// ```
#[track_caller]
pub fn self_pid() -> Pid {
    current().pid()
}

/// The pid of the calling process, or `None` on a thread that is not running
/// one.
///
/// ```
/// assert!(ember_runtime::try_self_pid().is_none());
/// assert!(ember_runtime::run(ember_runtime::try_self_pid).unwrap().is_some());
/// ```
pub fn try_self_pid() -> Option<Pid> {
    try_current().map(|c| c.pid())
}

/// Ends the calling process with `reason` (Erlang `exit/1`).
///
/// The process's stack is unwound, so destructors run. Linked processes get
/// an exit signal with `reason`, monitors a `Down`.
///
/// ```
/// use ember_runtime::{exit, Reason};
/// let r = ember_runtime::run(|| exit(Reason::custom("done")));
/// assert_eq!(r.unwrap_err(), Reason::custom("done"));
/// ```
#[track_caller]
pub fn exit(reason: Reason) -> ! {
    let cur = current();
    die(&cur, reason, false)
}

/// Lets other processes run: the caller goes to the back of its worker's run
/// queue.
///
/// ```
/// ember_runtime::run(|| ember_runtime::yield_now()).unwrap();
/// ```
#[track_caller]
pub fn yield_now() {
    let cur = current();
    cur.suspend(Suspend::Yield);
    // SAFETY: running process, short borrow.
    unsafe { cur.local().budget = cur.sched().config.budget };
    cur.check_signals();
}

/// Gives the stack back and continues in `f`, on a fresh stack, when the next
/// message arrives (Erlang's `erlang:hibernate/3`). Never returns: the current
/// stack is unwound (destructors run) and released.
///
/// A hibernating process costs its slot and the closure `f`, no stack. If a
/// message is already waiting, `f` runs at once.
///
/// ```
/// use ember_runtime::{hibernate, receive, send, spawn, self_pid};
/// let got = ember_runtime::run(|| {
///     let me = self_pid();
///     let pid = spawn(move || hibernate(move || send(me, receive::<u32>() + 1)));
///     send(pid, 41u32);
///     receive::<u32>()
/// })
/// .unwrap();
/// assert_eq!(got, 42);
/// ```
#[track_caller]
pub fn hibernate<F: FnOnce() + Send + 'static>(f: F) -> ! {
    let _ = current();
    let entry: Entry = Box::new(move || {
        f();
        Finish::Exit(Reason::Normal)
    });
    std::panic::resume_unwind(Box::new(Unwind::Hibernate(entry)))
}
