//! The exit-signal decision table (SEMANTICS.md §1.4): what receiving an
//! exit signal does to a process. The receiver applies it when it drains its
//! inbox (`mailbox::drain`); a signal a process sends itself is applied at
//! once (`signal::link`).
//!
//! | # | link flag | reason | from self | trapping | outcome |
//! |---|---|---|---|---|---|
//! | 1 | set, link gone | any | – | any | dropped |
//! | 2 | not set | `Kill` | any | any | exits with `Killed` |
//! | 3 | not set | `Normal` | yes | no | exits with `Normal` |
//! | 4 | not set | `Normal` | yes | yes | `Exit` message |
//! | 5 | any | `Normal` | no | no | dropped |
//! | 6 | any | `Normal` | no | yes | `Exit` message |
//! | 7 | any | other (a link-flag `Kill` stays `Kill`) | – | no | exits with that reason |
//! | 8 | any | other | – | yes | `Exit` message |
//!
//! Row 1 needs the receiver's link set and is decided by the drain; rows 2–8
//! are [`exit_signal_outcome`].

use crate::pid::Pid;
use crate::reason::Reason;
use crate::signal::Exit;

/// What receiving an exit signal does (SEMANTICS.md §1.4, rows 2–8; row 1 —
/// a link signal for a link that is gone — is decided by the caller).
#[derive(Debug, PartialEq)]
pub(crate) enum SignalOutcome {
    /// Dropped.
    Ignore,
    /// Delivered as an [`Exit`] message (the receiver traps exits).
    Message(Exit),
    /// The receiver exits with this reason.
    Die(Reason),
    /// Row 2: an explicit `Kill`. The receiver exits with `Killed`, at once
    /// and unconditionally: its identity ends even if it is already running
    /// cleanup code (see `process::exit`, "Kill").
    Kill,
}

pub(crate) fn exit_signal_outcome(me: Pid, from: Pid, reason: Reason, link: bool, trapping: bool) -> SignalOutcome {
    match reason {
        // Row 2: an explicit kill is untrappable and becomes `killed`.
        Reason::Kill if !link => SignalOutcome::Kill,
        // Rows 3–4: `exit(self(), normal)`.
        Reason::Normal if !link && from == me => {
            if trapping {
                SignalOutcome::Message(Exit { from, reason })
            } else {
                SignalOutcome::Die(Reason::Normal)
            }
        }
        // Rows 5–6: `normal` from another process.
        Reason::Normal => {
            if trapping {
                SignalOutcome::Message(Exit { from, reason })
            } else {
                SignalOutcome::Ignore
            }
        }
        // Rows 7–8: anything else (a link-flag `kill` stays `kill`).
        reason => {
            if trapping {
                SignalOutcome::Message(Exit { from, reason })
            } else {
                SignalOutcome::Die(reason)
            }
        }
    }
}
