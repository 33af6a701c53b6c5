//! The runtime's panic hook: records where a panic inside a process was
//! raised, for its exit reason, and keeps the default output for panics
//! elsewhere. A panic inside a process is reported by the runtime's crash
//! report instead of the default hook's message.

use super::current::CURRENT;
use super::Slot;
use crate::reason::PanicLocation;
use std::cell::RefCell;
use std::panic;
use std::sync::Once;

thread_local! {
    /// The location of the last panic in a process on this thread, keyed by slot.
    static LAST_PANIC: RefCell<Option<(usize, PanicLocation)>> = const { RefCell::new(None) };
}

pub(crate) fn take_panic_location(slot: &Slot) -> Option<PanicLocation> {
    LAST_PANIC.with(|p| match p.borrow_mut().take() {
        Some((key, location)) if key == slot as *const Slot as usize => Some(location),
        _ => None,
    })
}

/// Installs (once per OS process) a panic hook that records the location of
/// panics inside processes, for their exit reason, and keeps the default
/// output for panics elsewhere. A panic inside a process is reported by the
/// runtime's crash report instead of the default hook's message.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let slot = CURRENT.with(|c| c.get());
            if slot.is_null() {
                previous(info);
                return;
            }
            if let Some(l) = info.location() {
                let location = PanicLocation { file: l.file().into(), line: l.line(), column: l.column() };
                LAST_PANIC.with(|p| *p.borrow_mut() = Some((slot as usize, location)));
            }
        }));
    });
}
