//! The runtime's panic hook: records where a panic inside a process was
//! raised, for its exit reason, and keeps the default output for panics
//! elsewhere. A panic inside a process is reported by the runtime's crash
//! report instead of the default hook's message.

use super::current::Current;
use super::unwinding::unwind_started;
use super::Slot;
use crate::reason::PanicLocation;
use std::cell::RefCell;
use std::panic;
use std::sync::atomic::Ordering;
use std::sync::Once;

thread_local! {
    /// Where the panics of the processes on this thread were raised, by
    /// process (slot address and serial), until their unwind is caught. A
    /// process unwinds on the thread where its panic started (it is pinned
    /// while it unwinds), so the entry is taken where it was put; several
    /// processes may be unwinding at once on one thread (each suspended in a
    /// destructor), hence a list.
    static PANICS: RefCell<Vec<((usize, u32), PanicLocation)>> = const { RefCell::new(Vec::new()) };
}

/// Entries kept per thread at most (a process whose stack is abandoned never
/// takes its own).
const MAX_ENTRIES: usize = 64;

fn key(slot: &Slot) -> (usize, u32) {
    (slot as *const Slot as usize, slot.serial.load(Ordering::Relaxed))
}

/// Where the panic the process in `slot` is unwinding from was raised.
pub(crate) fn take_panic_location(slot: &Slot) -> Option<PanicLocation> {
    let key = key(slot);
    PANICS.with(|p| {
        let mut p = p.borrow_mut();
        let i = p.iter().rposition(|(k, _)| *k == key)?;
        Some(p.remove(i).1)
    })
}

/// Installs (once per OS process) a panic hook that records the location of
/// panics inside processes, for their exit reason, counts the process as
/// unwinding, and keeps the default output for panics elsewhere. A panic
/// inside a process is reported by the runtime's crash report instead of the
/// default hook's message — except a panic raised while the process is
/// already unwinding (a destructor that panics during an exit), which Rust
/// turns into an abort of the whole OS process if it escapes the destructor:
/// that one is printed at once, with the pid, the message and the location,
/// since nothing will be printed after the abort.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let slot = Current::slot_ptr();
            if slot.is_null() {
                previous(info);
                return;
            }
            // SAFETY: CURRENT points at the slot of the process running on
            // this thread; slots live as long as their runtime.
            let slot = unsafe { &*slot };
            let nested = slot.unwinding.load(Ordering::Relaxed) > 0;
            unwind_started(slot);
            let location =
                info.location().map(|l| PanicLocation { file: l.file().into(), line: l.line(), column: l.column() });
            if nested {
                report_nested(slot, info, location.as_ref());
            }
            if let Some(location) = location {
                let key = key(slot);
                // `try_borrow_mut`: a panic raised while this very list is
                // borrowed (it cannot be, but a hook must never panic).
                PANICS.with(|p| {
                    if let Ok(mut p) = p.try_borrow_mut() {
                        if p.len() >= MAX_ENTRIES {
                            p.remove(0);
                        }
                        p.push((key, location));
                    }
                });
            }
        }));
    });
}

/// A panic while the process is unwinding: say what happened before Rust
/// possibly aborts.
fn report_nested(slot: &Slot, info: &panic::PanicHookInfo<'_>, location: Option<&PanicLocation>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| crate::reason::NON_STRING_PAYLOAD.to_string());
    let at = location.map_or_else(|| "an unknown location".to_string(), |l| l.to_string());
    let pid = match crate::process::current::try_current() {
        Some(cur) if slot.detached.load(Ordering::Relaxed) => {
            let remnant = cur.pid();
            let killed = crate::pid::Pid::new(remnant.node, remnant.index, remnant.serial.wrapping_sub(1));
            format!("{remnant} (the remnant of {killed}, killed)")
        }
        Some(cur) => cur.pid().to_string(),
        None => format!("in slot {}", slot.index),
    };
    eprintln!(
        "[ember] process {pid} panicked while it was unwinding (a destructor panicked during its exit): \
         {message:?} at {at}. If this panic leaves the destructor, Rust aborts the whole OS process."
    );
}
