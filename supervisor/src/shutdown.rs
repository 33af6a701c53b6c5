//! Stopping children (SEMANTICS.md §4.7 and §5.6).
//!
//! Both procedures wait on a *monitor*, not the link, so a child that
//! unlinked itself cannot hang its supervisor. [`shutdown_child`] stops one
//! child and waits for it (static supervisors stop children one at a time, in
//! reverse start order); [`shutdown_children`] signals every child at once and
//! waits for all of them together, each within its own timeout
//! (DynamicSupervisor). What the concurrent procedure does with the other
//! messages it finds is the caller's choice ([`Others`]): a supervisor that
//! carries on keeps them in order; one that is about to exit drops them, so
//! the cost stays linear in the number of children whatever else is queued.
//!
//! Which exit reasons are expected differs between the two (SEMANTICS.md
//! §4.7 and §5.6): [`expected_exit`] for static supervisors,
//! [`expected_dynamic_exit`] for the concurrent procedures.

use crate::child_spec::{Restart, Shutdown};
use ember_runtime::{
    cancel_timer, monitor, receive_any, receive_any_timeout, receive_if, receive_if_timeout, receive_timeout,
    send_after, unlink, Down, Exit, Pid, Reason, Ref, Select, TimerRef,
};
use rustc_hash::FxHashMap;
use std::time::Duration;

/// Whether `reason` is an expected way for a child stopped with `shutdown` to
/// end (anything else is reported as a `shutdown_error`, never fatal).
///
/// ```
/// use ember_supervisor::{shutdown::expected_exit, Restart, Shutdown};
/// use ember_runtime::Reason;
/// assert!(expected_exit(Shutdown::BrutalKill, Restart::Permanent, &Reason::Killed));
/// assert!(!expected_exit(Shutdown::Infinity, Restart::Permanent, &Reason::Normal));
/// assert!(expected_exit(Shutdown::Infinity, Restart::Transient, &Reason::Normal));
/// ```
pub fn expected_exit(shutdown: Shutdown, restart: Restart, reason: &Reason) -> bool {
    let always = match shutdown {
        Shutdown::BrutalKill => matches!(reason, Reason::Killed),
        Shutdown::Timeout(_) | Shutdown::Infinity => matches!(reason, Reason::Shutdown),
    };
    always
        || (restart != Restart::Permanent
            && matches!(reason, Reason::Shutdown | Reason::ShutdownWith(_) | Reason::Normal))
}

/// Whether `reason` is an expected way for a child stopped by the
/// concurrent procedure to end (SEMANTICS.md §5.6, Elixir's
/// `DynamicSupervisor`): a `BrutalKill` child must end `Killed`; the others
/// `Shutdown` or `ShutdownWith(_)`, or `Normal` when not permanent. Anything
/// else is reported as a `shutdown_error`, never fatal.
///
/// ```
/// use ember_supervisor::{shutdown::expected_dynamic_exit, Restart, Shutdown};
/// use ember_runtime::Reason;
/// assert!(expected_dynamic_exit(Shutdown::BrutalKill, Restart::Temporary, &Reason::Killed));
/// assert!(!expected_dynamic_exit(Shutdown::BrutalKill, Restart::Temporary, &Reason::Normal));
/// assert!(expected_dynamic_exit(Shutdown::Infinity, Restart::Permanent, &Reason::shutdown_with(1)));
/// assert!(!expected_dynamic_exit(Shutdown::Infinity, Restart::Permanent, &Reason::Normal));
/// ```
pub fn expected_dynamic_exit(shutdown: Shutdown, restart: Restart, reason: &Reason) -> bool {
    match shutdown {
        Shutdown::BrutalKill => matches!(reason, Reason::Killed),
        Shutdown::Timeout(_) | Shutdown::Infinity => {
            matches!(reason, Reason::Shutdown | Reason::ShutdownWith(_))
                || (restart != Restart::Permanent && matches!(reason, Reason::Normal))
        }
    }
}

fn wait_down(monitor: Ref, timeout: Option<Duration>) -> Option<Reason> {
    let down = match timeout {
        None => Some(receive_if(|d: &Down| d.monitor == monitor)),
        Some(t) => receive_if_timeout(|d: &Down| d.monitor == monitor, t),
    };
    down.map(|d| d.reason)
}

/// Removes the link to a stopped child and the `Exit` it may have left in
/// the caller's mailbox; returns that `Exit`'s reason.
fn unlink_flush(pid: Pid) -> Option<Reason> {
    unlink(pid);
    receive_if_timeout(|e: &Exit| e.from == pid, Duration::ZERO).map(|e| e.reason)
}

/// Stops one child and waits until it is gone: monitor it; `BrutalKill`
/// kills at once; `Timeout(t)` sends `Shutdown` and kills after `t`;
/// `Infinity` sends `Shutdown` and waits. Returns `Err(reason)` when the
/// child ended with a reason [`expected_exit`] does not accept.
///
/// Must be called from the supervising process (which traps exits).
///
/// ```
/// use ember_runtime::{receive, self_pid, send, spawn_link, trap_exit, Exit, Reason};
/// use ember_supervisor::{shutdown::shutdown_child, Restart, Shutdown};
/// use std::time::Duration;
///
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let worker = spawn_link(|| loop { receive::<()>(); });
///     assert_eq!(shutdown_child(worker, Shutdown::Timeout(Duration::from_secs(1)), Restart::Permanent), Ok(()));
///     assert!(!worker.is_alive());
///
///     // This one catches the signal and returns: `Normal` is not expected of
///     // a permanent child.
///     let me = self_pid();
///     let polite = spawn_link(move || {
///         trap_exit(true);
///         send(me, "ready");
///         receive::<Exit>();
///     });
///     assert_eq!(receive::<&str>(), "ready");
///     assert_eq!(shutdown_child(polite, Shutdown::Infinity, Restart::Permanent), Err(Reason::Normal));
/// })
/// .unwrap();
/// ```
pub fn shutdown_child(pid: Pid, shutdown: Shutdown, restart: Restart) -> Result<(), Reason> {
    let m = monitor(pid);
    let mut reason = match shutdown {
        Shutdown::BrutalKill => {
            pid.exit(Reason::Kill);
            wait_down(m, None)
        }
        Shutdown::Timeout(t) => {
            pid.exit(Reason::Shutdown);
            match wait_down(m, Some(t)) {
                Some(r) => Some(r),
                None => {
                    pid.exit(Reason::Kill);
                    wait_down(m, None)
                }
            }
        }
        Shutdown::Infinity => {
            pid.exit(Reason::Shutdown);
            wait_down(m, None)
        }
    }
    .expect("waiting without a timeout");
    let exit = unlink_flush(pid);
    if reason == Reason::NoProc {
        // It was gone before the monitor: its Exit tells why (OTP 26+).
        reason = exit.unwrap_or_else(|| Reason::custom("child_process_unlinked"));
    }
    if expected_exit(shutdown, restart, &reason) {
        Ok(())
    } else {
        Err(reason)
    }
}

/// A child to stop with [`shutdown_children`].
///
/// ```
/// use ember_runtime::{receive, spawn_link, trap_exit};
/// use ember_supervisor::{shutdown::{shutdown_children, Others, Stopping}, Restart, Shutdown};
///
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let pid = spawn_link(|| loop { receive::<()>(); });
///     let child = Stopping { pid, shutdown: Shutdown::BrutalKill, restart: Restart::Temporary };
///     assert!(shutdown_children([child], Others::Keep).is_empty()); // killed, as expected
///     assert!(!pid.is_alive());
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Stopping {
    /// The child.
    pub pid: Pid,
    /// How to stop it.
    pub shutdown: Shutdown,
    /// Its restart type (decides which reasons are expected).
    pub restart: Restart,
}

/// What [`shutdown_children`] does with the messages it is not waiting for.
///
/// ```
/// use ember_runtime::{receive, receive_timeout, self_pid, send, spawn_link, trap_exit};
/// use ember_supervisor::{shutdown::{shutdown_children, Others, Stopping}, Restart, Shutdown};
/// use std::time::Duration;
///
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let child = || Stopping {
///         pid: spawn_link(|| loop { receive::<()>(); }),
///         shutdown: Shutdown::Infinity,
///         restart: Restart::Permanent,
///     };
///     send(self_pid(), "kept");
///     shutdown_children([child()], Others::Keep);
///     assert_eq!(receive::<&str>(), "kept");
///     send(self_pid(), "dropped");
///     shutdown_children([child()], Others::Drop);
///     assert_eq!(receive_timeout::<&str>(Duration::ZERO), None);
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Others {
    /// Leave them in the mailbox, in order, and remove every link to a
    /// stopped child with the `Exit` it sent: for a supervisor that carries
    /// on (`terminate_child`). The wait is a selective receive, so each
    /// `Down` costs a scan of the messages queued before it: fine for a few
    /// children or a quiet mailbox.
    Keep,
    /// Take the mailbox oldest first and drop them, links and `Exit`s
    /// included: for a supervisor that is about to exit, where they would be
    /// dropped anyway. Linear in the number of children whatever is queued.
    Drop,
}

/// Stops many children concurrently (SEMANTICS.md §5.6) and returns those
/// that ended with an unexpected reason (see [`expected_dynamic_exit`]), for
/// `shutdown_error` reports. Elixir's `DynamicSupervisor` procedure:
///
/// 1. **dead already**: a child whose `Exit` is found in the mailbox died
///    before anything was signalled: it is not signalled, and its `Exit`
///    reason is an error unless it is `Normal` for a child that is not
///    permanent;
/// 2. **signal**: in one visit per child, it is monitored and gets its exit
///    signal (`Kill` for `BrutalKill`, `Shutdown` otherwise); one timer per
///    distinct timeout kills the children of its group still alive when it
///    fires;
/// 3. **wait** for the `Down` of every child, in whatever order they come.
///
/// With [`Others::Keep`] the links stay until each child's `Down`, then
/// the link and the `Exit` it left are removed (a child found dead before
/// the monitor — a `NoProc` `Down` — is judged by that `Exit`'s reason, as
/// OTP 26 does). With [`Others::Drop`] the links are kept and their `Exit`s
/// dropped unread; a child that dies between the start of the procedure and
/// its visit then shows as `NoProc` (see `docs/dynamic_supervisor.md`).
///
/// Must be called from the supervising process (which traps exits).
///
/// ```
/// use ember_runtime::{receive, self_pid, send, spawn_link, trap_exit, Reason};
/// use ember_supervisor::{shutdown::{shutdown_children, Others, Stopping}, Restart, Shutdown};
/// use std::time::Duration;
///
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let me = self_pid();
///     let quick = spawn_link(|| loop { receive::<()>(); });
///     // Traps exits and ignores the `Shutdown`: killed when its 20 ms are up.
///     let stubborn = spawn_link(move || {
///         trap_exit(true);
///         send(me, "ready");
///         loop {
///             receive::<()>();
///         }
///     });
///     assert_eq!(receive::<&str>(), "ready");
///     let errors = shutdown_children(
///         [
///             Stopping { pid: quick, shutdown: Shutdown::Infinity, restart: Restart::Permanent },
///             Stopping { pid: stubborn, shutdown: Shutdown::Timeout(Duration::from_millis(20)), restart: Restart::Permanent },
///         ],
///         Others::Keep,
///     );
///     assert_eq!(errors, vec![(stubborn, Reason::Killed)]);
/// })
/// .unwrap();
/// ```
pub fn shutdown_children(children: impl IntoIterator<Item = Stopping>, others: Others) -> Vec<(Pid, Reason)> {
    let children: Vec<Stopping> = children.into_iter().collect();
    let mut stop = Procedure { done: vec![false; children.len()], children, errors: Vec::new() };
    stop.dead_already(others);
    let (refs, mut groups, mut pending) = stop.signal();
    let timers = groups.start_timers();
    while pending > 0 {
        match next_event(&refs, &stop, others) {
            Event::Down(i, reason) => {
                pending -= 1;
                stop.settle(i, reason, others);
            }
            Event::Kill(t) => groups.kill(t, &stop),
            Event::Other => {}
        }
    }
    for t in timers {
        cancel_timer(t);
    }
    if others == Others::Keep {
        // A kill timer that fired after the last Down leaves its message behind.
        while receive_if_timeout(|_: &KillGroup| true, Duration::ZERO).is_some() {}
    }
    stop.errors
}

/// The state of one run of [`shutdown_children`]: the children in the order
/// given (start order: the order their slots were allocated in, which keeps
/// the passes over them cache-friendly), which ones are settled, and the
/// errors so far.
struct Procedure {
    children: Vec<Stopping>,
    done: Vec<bool>,
    errors: Vec<(Pid, Reason)>,
}

impl Procedure {
    /// Step 1: children whose `Exit` is queued were dead already. (With
    /// [`Others::Drop`], the index by pid is only built if there is an
    /// `Exit` to look up.)
    fn dead_already(&mut self, others: Others) {
        let mut index: Option<PidMap<u32>> = None;
        match others {
            Others::Keep => {
                // An Exit still in the inbox when its link is removed is
                // dropped by the runtime: move everything that has arrived
                // into the mailbox first.
                let _ = receive_timeout::<NothingMatches>(Duration::ZERO);
                let index = index.insert(self.index());
                while let Some(exit) = receive_if_timeout(|e: &Exit| index.contains_key(&e.from), Duration::ZERO) {
                    self.dead(index[&exit.from] as usize, exit.reason);
                }
            }
            Others::Drop => {
                while let Some(msg) = receive_any_timeout(Duration::ZERO) {
                    if let Ok(exit) = msg.downcast::<Exit>() {
                        let index = index.get_or_insert_with(|| self.index());
                        if let Some(&i) = index.get(&exit.from) {
                            self.dead(i as usize, exit.reason);
                        }
                    }
                }
            }
        }
    }

    /// The position of every child, by pid.
    fn index(&self) -> PidMap<u32> {
        self.children.iter().enumerate().map(|(i, c)| (c.pid, i as u32)).collect()
    }

    /// A child found dead by its `Exit` (Elixir's `monitor_child` returning
    /// `{:error, reason}`).
    fn dead(&mut self, i: usize, reason: Reason) {
        if self.done[i] {
            return;
        }
        self.done[i] = true;
        if !(reason == Reason::Normal && self.children[i].restart != Restart::Permanent) {
            self.errors.push((self.children[i].pid, reason));
        }
    }

    /// Step 2: monitor and signal every other child, in one visit. Returns
    /// the monitors, the timeout groups and how many `Down`s to wait for.
    fn signal(&self) -> (RefIndex, Groups, usize) {
        let mut refs = RefIndex::default();
        let mut groups = Groups::default();
        let mut pending = 0;
        for (i, child) in self.children.iter().enumerate() {
            if self.done[i] {
                continue;
            }
            refs.push(monitor(child.pid), i as u32);
            pending += 1;
            groups.signal(i, child);
        }
        refs.seal();
        (refs, groups, pending)
    }

    /// Judges the end of a signalled child (Elixir's `wait_child`).
    fn settle(&mut self, i: usize, reason: Reason, others: Others) {
        let child = self.children[i];
        if others == Others::Keep {
            let exit = unlink_flush(child.pid);
            if let (Reason::NoProc, Some(exit)) = (&reason, exit) {
                // Gone before the monitor: its Exit tells why.
                return self.dead(i, exit);
            }
        }
        self.done[i] = true;
        if !expected_dynamic_exit(child.shutdown, child.restart, &reason) {
            self.errors.push((child.pid, reason));
        }
    }
}

/// What the wait of step 3 receives.
enum Event {
    /// The `Down` of child `i`, with its reason.
    Down(usize, Reason),
    /// A timeout group's timer fired.
    Kill(Duration),
    /// Something else (taken and dropped: [`Others::Drop`] only).
    Other,
}

/// The next event of step 3: selectively with [`Others::Keep`], the oldest
/// message with [`Others::Drop`] (no scan past unrelated messages).
fn next_event(refs: &RefIndex, stop: &Procedure, others: Others) -> Event {
    let child_of =
        |d: &Down| refs.find(d.monitor).map(|i| i as usize).filter(|&i| !stop.done[i] && stop.children[i].pid == d.pid);
    match others {
        Others::Keep => Select::new()
            .on_if(|d: &Down| child_of(d).is_some(), |d: Down| Event::Down(child_of(&d).expect("matched"), d.reason))
            .on(|KillGroup(t)| Event::Kill(t))
            .wait(),
        Others::Drop => {
            let msg = receive_any();
            let msg = match msg.downcast::<Down>() {
                Ok(down) => return child_of(&down).map_or(Event::Other, |i| Event::Down(i, down.reason)),
                Err(msg) => msg,
            };
            match msg.downcast::<KillGroup>() {
                Ok(kill) => Event::Kill(kill.0),
                Err(_) => Event::Other,
            }
        }
    }
}

/// Finds a child by the reference of its monitor, without a hash lookup:
/// monitors made one after the other by one process get consecutive
/// references (a process takes references from its thread's block), so the
/// references of a pass over the children form a few runs of consecutive
/// values, each mapping to consecutive positions.
#[derive(Default)]
struct RefIndex {
    /// Runs: (first reference, first position, length), sorted by
    /// reference once sealed.
    runs: Vec<(u64, u32, u32)>,
}

impl RefIndex {
    fn push(&mut self, r: Ref, position: u32) {
        let r = r.as_u64();
        if let Some((first, at, len)) = self.runs.last_mut() {
            if *first + *len as u64 == r && *at + *len == position {
                *len += 1;
                return;
            }
        }
        self.runs.push((r, position, 1));
    }

    fn seal(&mut self) {
        self.runs.sort_unstable_by_key(|&(first, _, _)| first);
    }

    fn find(&self, r: Ref) -> Option<u32> {
        let r = r.as_u64();
        let k = self.runs.partition_point(|&(first, _, _)| first <= r);
        let &(first, at, len) = self.runs.get(k.checked_sub(1)?)?;
        (r < first + len as u64).then(|| at + (r - first) as u32)
    }
}

/// A timer message: kill the children of one timeout group still alive.
struct KillGroup(Duration);

/// A message type nobody sends: receiving it with a zero timeout moves
/// everything that has arrived into the private mailbox.
struct NothingMatches;

/// The timeout groups: the children (by position) signalled with each
/// distinct timeout.
#[derive(Default)]
struct Groups(Vec<(Duration, Vec<u32>)>);

impl Groups {
    /// Sends the child at position `i` its exit signal, and files it under
    /// its timeout.
    fn signal(&mut self, i: usize, child: &Stopping) {
        match child.shutdown {
            Shutdown::BrutalKill => child.pid.exit(Reason::Kill),
            Shutdown::Infinity => child.pid.exit(Reason::Shutdown),
            Shutdown::Timeout(t) => {
                child.pid.exit(Reason::Shutdown);
                match self.0.iter_mut().find(|(d, _)| *d == t) {
                    Some((_, group)) => group.push(i as u32),
                    None => self.0.push((t, vec![i as u32])),
                }
            }
        }
    }

    /// One timer per group.
    fn start_timers(&self) -> Vec<TimerRef> {
        let me = ember_runtime::self_pid();
        self.0.iter().map(|(t, _)| send_after(me, KillGroup(*t), *t)).collect()
    }

    /// A group's timer fired: kill its children not known to be gone.
    fn kill(&mut self, t: Duration, stop: &Procedure) {
        if let Some(g) = self.0.iter().position(|(d, _)| *d == t) {
            for i in self.0.swap_remove(g).1 {
                if !stop.done[i as usize] {
                    stop.children[i as usize].pid.exit(Reason::Kill);
                }
            }
        }
    }
}

/// A hash map keyed by pids (FxHash: the keys are runtime-generated, not
/// attacker-chosen).
pub(crate) type PidMap<V> = FxHashMap<Pid, V>;
