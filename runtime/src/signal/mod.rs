//! Links, monitors and exit signals: Erlang's failure semantics.
//!
//! * [`link`] / [`unlink`] / [`spawn_link`](crate::spawn_link): bidirectional,
//!   at most one link per pair; when a linked process exits, the other gets an
//!   exit signal with the link flag set.
//! * [`Pid::exit`]: send an exit signal explicitly (Erlang `exit/2`).
//! * [`trap_exit`]: turn incoming exit signals into [`Exit`] messages.
//! * [`monitor`] / [`demonitor`]: one-way; exactly one [`Down`] message when
//!   the target exits (`noproc` if it already had).
//!
//! What a received exit signal does is decided by the receiver, when it takes
//! the signal from its inbox, by the decision table of SEMANTICS.md §1.4 in
//! `signal/decision.rs`.
//!
//! Signals travel through the receiver's inbox together with messages, so the
//! signals and messages one process sends another arrive in the order sent: a
//! message sent after an exit signal is never seen by a process that the
//! signal kills.

pub(crate) mod decision;
mod link;
mod monitor;

pub use link::{link, trap_exit, unlink, LinkError};
pub use monitor::{demonitor, demonitor_flush, monitor, monitor_name};
pub(crate) use monitor::{monitor_with_request, remove_target_side};

use crate::name::Name;
use crate::pid::{Pid, Ref};
use crate::reason::Reason;

/// The message a process trapping exits receives instead of dying from an
/// exit signal (Erlang `{'EXIT', From, Reason}`).
///
/// ```
/// use ember_runtime::{receive, spawn_link, trap_exit, Exit, Reason};
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let pid = spawn_link(|| {});
///     let Exit { from, reason } = receive();
///     assert_eq!((from, reason), (pid, Reason::Normal));
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Exit {
    /// The process that sent the signal (the linked process that exited, or
    /// the caller of [`Pid::exit`]).
    pub from: Pid,
    /// The signal's reason.
    pub reason: Reason,
}

/// The message a monitor delivers when its target exits (Erlang
/// `{'DOWN', Ref, process, Object, Reason}`).
///
/// ```
/// use ember_runtime::{monitor, receive, spawn, Down, Reason};
/// ember_runtime::run(|| {
///     let pid = spawn(|| {});
///     let m = monitor(pid);
///     let down: Down = receive();
///     assert_eq!(down.monitor, m);
///     assert!(down.reason == Reason::Normal || down.reason == Reason::NoProc);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Down {
    /// The monitor that fired.
    pub monitor: Ref,
    /// The process that exited ([`Pid::UNDEFINED`] when a name monitor found
    /// no process).
    pub pid: Pid,
    /// The name, for monitors created with [`monitor_name`].
    pub name: Option<Name>,
    /// The exit reason, or [`Reason::NoProc`] when the target did not exist.
    pub reason: Reason,
}

impl Pid {
    /// A pid that names no process: the `pid` of a `Down` for a name monitor
    /// whose name was not registered.
    pub const UNDEFINED: Pid = Pid::new(u32::MAX, u32::MAX, u32::MAX);

    /// Sends this process an exit signal with `reason` (Erlang `exit/2`).
    ///
    /// See the [module docs](crate::signal) for what it does to the target:
    /// `Reason::Kill` kills it untrappably (it exits with `Killed`); `Normal`
    /// is ignored unless the target traps exits or is the caller; other
    /// reasons kill a non-trapping target and reach a trapping one as an
    /// [`Exit`] message. Sending to a dead pid does nothing.
    ///
    /// ```
    /// use ember_runtime::{monitor, receive, spawn, Down, Reason};
    /// ember_runtime::run(|| {
    ///     let pid = spawn(|| loop { receive::<()>(); });
    ///     let m = monitor(pid);
    ///     pid.exit(Reason::Kill);
    ///     let down: Down = receive();
    ///     assert_eq!((down.monitor, down.reason), (m, Reason::Killed));
    /// })
    /// .unwrap();
    /// ```
    pub fn exit(self, reason: Reason) {
        link::exit_signal(self, reason)
    }

    /// Sends `msg` to this process: the same as [`send`](crate::send).
    ///
    /// ```
    /// use ember_runtime::{receive, self_pid};
    /// ember_runtime::run(|| {
    ///     self_pid().send("hi");
    ///     assert_eq!(receive::<&str>(), "hi");
    /// })
    /// .unwrap();
    /// ```
    pub fn send<M: std::any::Any + Send>(self, msg: M) {
        crate::mailbox::send(self, msg)
    }

    /// Whether the process is alive (see [`is_alive`](crate::is_alive)).
    ///
    /// ```
    /// ember_runtime::run(|| assert!(ember_runtime::self_pid().is_alive())).unwrap();
    /// ```
    pub fn is_alive(self) -> bool {
        crate::process::info::is_alive(self)
    }
}
