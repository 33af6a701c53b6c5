//! What a process can do to itself: learn its pid, exit, yield, hibernate.

use super::current::{current, try_current};
use super::exit::die;
use super::panic::take_panic_location;
use super::trampoline::Unwind;
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
    let cur = current();
    cur.unwind_started();
    let entry = Entry::new(move || {
        f();
        Finish::Exit(Reason::Normal)
    });
    std::panic::resume_unwind(Box::new(Unwind::Hibernate(entry)))
}

/// Runs `f` and catches how it failed: a panic becomes `Err(Reason::Panic)`
/// (with the message and, inside a process, the location), an
/// [`exit(reason)`](exit) called inside `f` becomes `Err(reason)`.
///
/// This is Erlang's `catch` for a piece of code, and what behaviours use
/// around user callbacks. A fatal exit signal taken inside `f` is *not*
/// caught: the process is being killed and keeps unwinding.
///
/// ```
/// use ember_runtime::{catch_exit, exit, Reason};
/// ember_runtime::run(|| {
///     assert_eq!(catch_exit(|| 1 + 1), Ok(2));
///     assert_eq!(catch_exit(|| exit(Reason::custom("oops"))), Err(Reason::custom("oops")));
///     match catch_exit(|| -> () { panic!("bad {}", 7) }) {
///         Err(Reason::Panic { message, location }) => {
///             assert_eq!(&*message, "bad 7");
///             assert!(location.unwrap().file.ends_with(".rs"));
///         }
///         other => panic!("{other:?}"),
///     }
/// })
/// .unwrap();
/// ```
pub fn catch_exit<T>(f: impl FnOnce() -> T) -> Result<T, Reason> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => Ok(v),
        Err(payload) => {
            let cur = try_current();
            if let Some(cur) = &cur {
                cur.unwind_caught();
            }
            match payload.downcast::<Unwind>() {
                Ok(unwind) => match *unwind {
                    Unwind::Exit { reason, signal: false } => Err(reason),
                    other => {
                        if let Some(cur) = &cur {
                            cur.unwind_started();
                        }
                        std::panic::resume_unwind(Box::new(other))
                    }
                },
                Err(payload) => Err(panic_reason(payload)),
            }
        }
    }
}

/// The reason for a caught panic payload, with its location when the
/// runtime's panic hook recorded one for the calling process.
pub(crate) fn panic_reason(payload: Box<dyn std::any::Any + Send>) -> Reason {
    let location = try_current().and_then(|cur| take_panic_location(cur.slot()));
    let reason = Reason::from_panic(&*payload, location);
    // A payload whose destructor panics must not escape.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
    reason
}
