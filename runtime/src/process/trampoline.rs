//! The function every process's coroutine runs, and the payloads the runtime
//! unwinds a process's stack with.
//!
//! The trampoline calls the process's entry under `catch_unwind` and turns
//! however it ended into an [`Outcome`]; the exit procedure itself runs on
//! the worker's stack once the coroutine is done (`process::exit`).

use super::current::current;
use super::panic::take_panic_location;
use super::{Entry, Finish, Outcome};
use crate::reason::Reason;
use crate::scheduler::Suspend;
use crate::stack::overflow::TRAP_PAD;
use std::panic::{self, AssertUnwindSafe};

/// A panic payload the runtime unwinds a process's stack with.
pub(crate) enum Unwind {
    /// The process exits with this reason: `exit(reason)` called by the
    /// process (`signal: false`), or a fatal exit signal (`signal: true`,
    /// which behaviours must not intercept: the process dies at once).
    Exit { reason: Reason, signal: bool },
    /// `hibernate(f)`: drop the stack, continue in `f` on the next message.
    Hibernate(Entry),
}

/// The function a process's coroutine runs: calls the entry under
/// `catch_unwind` and turns however it ended into an [`Outcome`]. The exit
/// procedure itself runs on the worker's stack, after the coroutine is done.
pub(crate) fn trampoline(entry: Entry) -> impl FnOnce(&corosensei::Yielder<(), Suspend>, ()) -> Outcome {
    move |yielder, ()| {
        let cur = current();
        // SAFETY: the process runs on this thread; short borrow.
        unsafe { cur.local().yielder = yielder };
        // The top of the stack is the runtime's: should the process overflow
        // its stack, the trap landing resets the stack and runs here, and it
        // must overwrite none of the process's own (abandoned) frames (see
        // `stack::overflow`). Never written, so never faulted in.
        let pad = std::mem::MaybeUninit::<[u8; TRAP_PAD]>::uninit();
        std::hint::black_box(&pad);
        let result = panic::catch_unwind(AssertUnwindSafe(move || entry.start()));
        // Re-read: the process may be on another thread by now.
        let cur = current();
        cur.unwinds_done();
        let outcome = match result {
            Ok(Finish::Exit(reason)) => Outcome::Exit(reason, false),
            Ok(Finish::Hibernate(f)) => hibernating(&cur, f),
            Err(payload) => match payload.downcast::<Unwind>() {
                Ok(unwind) => match *unwind {
                    Unwind::Exit { reason, signal } => Outcome::Exit(reason, signal),
                    Unwind::Hibernate(f) => hibernating(&cur, f),
                },
                Err(payload) => {
                    let location = take_panic_location(cur.slot());
                    let reason = Reason::from_panic(&*payload, location);
                    // A payload whose destructor panics must not escape.
                    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
                    Outcome::Exit(reason, false)
                }
            },
        };
        // SAFETY: as above.
        match unsafe { cur.local().exit_reason.take().map(|b| *b) } {
            // Exiting started (a fatal signal, `exit`): that reason wins over
            // whatever the function did afterwards.
            Some((reason, signal)) => Outcome::Exit(reason, signal),
            None => outcome,
        }
    }
}

/// The process is about to hibernate: it gives back the memory it does not
/// need while asleep (see `process::hibernation`). Out of line: exits, the
/// common way out, do not pay for it.
#[cold]
#[inline(never)]
fn hibernating(cur: &super::current::Current, f: super::Entry) -> Outcome {
    // SAFETY: this is the process, running.
    unsafe { super::hibernation::shrink_to_fit(cur.slot()) };
    Outcome::Hibernate(f)
}
