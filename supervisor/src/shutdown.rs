//! Stopping children (SEMANTICS.md §4.7 and §5.6).
//!
//! Both procedures wait on a *monitor*, not the link, so a child that
//! unlinked itself cannot hang its supervisor. [`shutdown_child`] stops one
//! child and waits for it (static supervisors stop children one at a time, in
//! reverse start order); [`shutdown_children`] signals every child at once and
//! waits for all of them together, each within its own timeout
//! (DynamicSupervisor). [`shutdown_children_discarding`] is the same
//! procedure for a supervisor that is about to exit: it takes its mailbox
//! oldest first and drops whatever it is not waiting for, so its cost stays
//! linear in the number of children whatever else is queued.
//!
//! Which exit reasons are expected differs between the two (SEMANTICS.md
//! §4.7 and §5.6): [`expected_exit`] for static supervisors,
//! [`expected_dynamic_exit`] for the concurrent procedures.

use crate::child_spec::{Restart, Shutdown};
use ember_runtime::{
    cancel_timer, monitor, receive_any, receive_any_timeout, receive_if, receive_if_timeout, receive_timeout,
    send_after, unlink, Down, Exit, Pid, Reason, Ref, Select,
};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
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
/// use ember_supervisor::{shutdown::{shutdown_children, Stopping}, Restart, Shutdown};
///
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let pid = spawn_link(|| loop { receive::<()>(); });
///     let child = Stopping { pid, shutdown: Shutdown::BrutalKill, restart: Restart::Temporary };
///     assert!(shutdown_children([child]).is_empty()); // killed, as expected
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

/// Stops many children concurrently (SEMANTICS.md §5.6) and returns those
/// that ended with an unexpected reason (see [`expected_dynamic_exit`]), for
/// `shutdown_error` reports. Elixir's `DynamicSupervisor` procedure:
///
/// 1. every child is monitored and unlinked; a child whose `Exit` is then
///    found in the mailbox was dead already: it is not signalled, and its
///    `Exit` reason is an error unless it is `Normal` for a child that is
///    not permanent;
/// 2. every other child gets its exit signal at once (`Kill` for
///    `BrutalKill`, `Shutdown` otherwise), and one timer per distinct
///    timeout kills the children of its group still alive when it fires;
/// 3. the `Down` of every child is awaited, in whatever order they come.
///
/// Other messages stay in the mailbox, in order. The wait is a selective
/// receive, so each `Down` costs a scan of the messages queued before it:
/// fine for a few children (`terminate_child`) or a quiet mailbox. A
/// supervisor that is about to exit should call
/// [`shutdown_children_discarding`], which is linear whatever is queued.
///
/// Must be called from the supervising process (which traps exits).
///
/// ```
/// use ember_runtime::{receive, self_pid, send, spawn_link, trap_exit, Reason};
/// use ember_supervisor::{shutdown::{shutdown_children, Stopping}, Restart, Shutdown};
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
///     let errors = shutdown_children([
///         Stopping { pid: quick, shutdown: Shutdown::Infinity, restart: Restart::Permanent },
///         Stopping { pid: stubborn, shutdown: Shutdown::Timeout(Duration::from_millis(20)), restart: Restart::Permanent },
///     ]);
///     assert_eq!(errors, vec![(stubborn, Reason::Killed)]);
/// })
/// .unwrap();
/// ```
pub fn shutdown_children(children: impl IntoIterator<Item = Stopping>) -> Vec<(Pid, Reason)> {
    let mut errors = Vec::new();
    // An Exit still in the inbox when its link is removed is dropped by the
    // runtime: move everything that has arrived into the mailbox first.
    let _ = receive_timeout::<NothingMatches>(Duration::ZERO);

    // 1. Monitor and unlink every child; find those whose Exit is queued.
    let mut table = Table::new(children);
    for child in &mut table.children {
        child.monitor = Some(monitor(child.pid));
        unlink(child.pid);
    }
    while let Some(exit) =
        receive_if_timeout(|e: &Exit| table.get(e.from).is_some_and(|c| c.exit.is_none()), Duration::ZERO)
    {
        if let Some(i) = table.index_of(exit.from) {
            table.children[i].exit = Some(exit.reason);
        }
    }

    // 2. Signal the others.
    let mut groups = Groups::default();
    for (i, child) in table.children.iter().enumerate() {
        if child.exit.is_none() {
            groups.signal(i, child);
        }
    }
    let timers = groups.start_timers();

    // 3. Wait for every Down (dead ones included: they were monitored too).
    let mut pending = table.children.len();
    while pending > 0 {
        let event = Select::new()
            .on_if(|d: &Down| table.get(d.pid).is_some_and(|c| !c.done && c.monitor == Some(d.monitor)), Ok)
            .on(Err)
            .wait();
        match event {
            Ok(down) => {
                let i = table.index_of(down.pid).expect("matched");
                let child = &mut table.children[i];
                child.done = true;
                pending -= 1;
                match child.exit.take() {
                    Some(reason) => dead_already(child, reason, &mut errors),
                    None => settle(child, down.reason, &mut errors),
                }
            }
            Err(KillGroup(t)) => groups.kill(t, &table),
        }
    }
    for t in timers {
        cancel_timer(t);
    }
    // A kill timer that fired after the last Down leaves its message behind.
    while receive_if_timeout(|_: &KillGroup| true, Duration::ZERO).is_some() {}
    errors
}

/// [`shutdown_children`] for a supervisor that is terminating, linear in the
/// number of children whatever else is queued. The same procedure, with
/// differences that are invisible once the supervisor has exited:
///
/// * while it waits, it takes its mailbox oldest first and **drops every
///   message it is not waiting for** (pending calls, stray messages: the
///   process is about to exit, and they would be dropped then anyway);
/// * it keeps the links instead of removing them, and monitors and signals
///   each child in one visit (at a million children the cost is memory
///   traffic: one visit per child instead of three). A child whose `Exit`
///   is queued when the procedure starts was dead already, as in step 1
///   above. A child that dies between the start and its visit (say, by a
///   link to a sibling stopped just before) has a `NoProc` `Down`, reported
///   as a `shutdown_error` with reason `NoProc` — where Elixir, which
///   monitors every child before signalling any, would see the real reason.
///
/// Must be called from the supervising process (which traps exits).
///
/// ```
/// use ember_runtime::{receive, spawn_link, trap_exit};
/// use ember_supervisor::{shutdown::{shutdown_children_discarding, Stopping}, Restart, Shutdown};
/// ember_runtime::run(|| {
///     trap_exit(true);
///     let children: Vec<_> = (0..100)
///         .map(|_| Stopping { pid: spawn_link(|| loop { receive::<()>(); }), shutdown: Shutdown::Infinity, restart: Restart::Permanent })
///         .collect();
///     assert!(shutdown_children_discarding(children).is_empty());
/// })
/// .unwrap();
/// ```
pub fn shutdown_children_discarding(children: impl IntoIterator<Item = Stopping>) -> Vec<(Pid, Reason)> {
    let mut errors = Vec::new();
    let children: Vec<Stopping> = children.into_iter().collect();
    let mut done = vec![false; children.len()];

    // 1. Children whose Exit is queued were dead already; everything else
    //    queued goes. (The index by pid is only built if there is an Exit.)
    let mut index: Option<PidMap<u32>> = None;
    while let Some(msg) = receive_any_timeout(Duration::ZERO) {
        if let Ok(exit) = msg.downcast::<Exit>() {
            let index = index.get_or_insert_with(|| {
                children.iter().enumerate().map(|(i, c)| (c.pid, i as u32)).collect::<PidMap<u32>>()
            });
            if let Some(&i) = index.get(&exit.from) {
                let i = i as usize;
                if !done[i] {
                    done[i] = true;
                    if !(exit.reason == Reason::Normal && children[i].restart != Restart::Permanent) {
                        errors.push((exit.from, exit.reason));
                    }
                }
            }
        }
    }
    drop(index);

    // 2. Monitor and signal every other child, in one visit.
    let mut refs = RefIndex::default();
    let mut groups: Vec<(Duration, Vec<u32>)> = Vec::new();
    let mut pending = 0usize;
    for (i, child) in children.iter().enumerate() {
        if done[i] {
            continue;
        }
        refs.push(monitor(child.pid), i as u32);
        pending += 1;
        match child.shutdown {
            Shutdown::BrutalKill => child.pid.exit(Reason::Kill),
            Shutdown::Infinity => child.pid.exit(Reason::Shutdown),
            Shutdown::Timeout(t) => {
                child.pid.exit(Reason::Shutdown);
                match groups.iter_mut().find(|(d, _)| *d == t) {
                    Some((_, group)) => group.push(i as u32),
                    None => groups.push((t, vec![i as u32])),
                }
            }
        }
    }
    refs.seal();
    let me = ember_runtime::self_pid();
    let timers: Vec<_> = groups.iter().map(|(t, _)| send_after(me, KillGroup(*t), *t)).collect();

    // 3. Wait for their Downs; the link Exits that come too are dropped.
    while pending > 0 {
        let msg = receive_any();
        let msg = match msg.downcast::<Down>() {
            Ok(down) => {
                if let Some(i) = refs.find(down.monitor) {
                    let (i, child) = (i as usize, &children[i as usize]);
                    if !done[i] && child.pid == down.pid {
                        done[i] = true;
                        pending -= 1;
                        if !expected_dynamic_exit(child.shutdown, child.restart, &down.reason) {
                            errors.push((down.pid, down.reason));
                        }
                    }
                }
                continue;
            }
            Err(msg) => msg,
        };
        if let Ok(kill) = msg.downcast::<KillGroup>() {
            if let Some(g) = groups.iter().position(|(d, _)| *d == kill.0) {
                for i in groups.swap_remove(g).1 {
                    if !done[i as usize] {
                        children[i as usize].pid.exit(Reason::Kill);
                    }
                }
            }
        }
    }
    for t in timers {
        cancel_timer(t);
    }
    errors
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

/// A child being stopped.
struct Child {
    pid: Pid,
    shutdown: Shutdown,
    restart: Restart,
    monitor: Option<Ref>,
    /// The reason of its `Exit`, when one was seen.
    exit: Option<Reason>,
    done: bool,
}

/// The children, in the order given (start order: the order their slots
/// were allocated in, which keeps the passes over them cache-friendly), and
/// an index by pid.
struct Table {
    children: Vec<Child>,
    index: PidMap<u32>,
}

impl Table {
    fn new(children: impl IntoIterator<Item = Stopping>) -> Table {
        let children = children.into_iter();
        let mut table = Table {
            children: Vec::with_capacity(children.size_hint().0),
            index: PidMap::with_capacity_and_hasher(children.size_hint().0, Default::default()),
        };
        for c in children {
            if table.index.insert(c.pid, table.children.len() as u32).is_none() {
                table.children.push(Child {
                    pid: c.pid,
                    shutdown: c.shutdown,
                    restart: c.restart,
                    monitor: None,
                    exit: None,
                    done: false,
                });
            }
        }
        table
    }

    fn index_of(&self, pid: Pid) -> Option<usize> {
        self.index.get(&pid).map(|&i| i as usize)
    }

    fn get(&self, pid: Pid) -> Option<&Child> {
        self.index_of(pid).map(|i| &self.children[i])
    }
}

/// The timeout groups: the children (by position) signalled with each
/// distinct timeout.
#[derive(Default)]
struct Groups(Vec<(Duration, Vec<u32>)>);

impl Groups {
    /// Sends the child at position `i` its exit signal, and files it under
    /// its timeout.
    fn signal(&mut self, i: usize, child: &Child) {
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
    fn start_timers(&self) -> Vec<ember_runtime::TimerRef> {
        let me = ember_runtime::self_pid();
        self.0.iter().map(|(t, _)| send_after(me, KillGroup(*t), *t)).collect()
    }

    /// A group's timer fired: kill its children not known to be gone.
    fn kill(&mut self, t: Duration, table: &Table) {
        if let Some(g) = self.0.iter().position(|(d, _)| *d == t) {
            for i in self.0.swap_remove(g).1 {
                let child = &table.children[i as usize];
                if !child.done {
                    child.pid.exit(Reason::Kill);
                }
            }
        }
    }
}

/// Judges the end of a signalled child (Elixir's `wait_child`).
fn settle(child: &Child, reason: Reason, errors: &mut Vec<(Pid, Reason)>) {
    if !expected_dynamic_exit(child.shutdown, child.restart, &reason) {
        errors.push((child.pid, reason));
    }
}

/// Judges a child found dead before it was signalled, by its `Exit`
/// (Elixir's `monitor_child` returning `{:error, reason}`).
fn dead_already(child: &Child, reason: Reason, errors: &mut Vec<(Pid, Reason)>) {
    if !(reason == Reason::Normal && child.restart != Restart::Permanent) {
        errors.push((child.pid, reason));
    }
}

/// A hasher for pids (multiply and rotate, as rustc's FxHasher): the keys
/// are runtime-generated, not attacker-chosen.
#[derive(Default, Clone, Copy)]
pub(crate) struct PidHasher(u64);

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A hash map keyed by pids, with [`PidHasher`].
pub(crate) type PidMap<V> = HashMap<Pid, V, BuildHasherDefault<PidHasher>>;
