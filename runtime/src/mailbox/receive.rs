//! Selective receive (SEMANTICS.md §2.2).

use crate::process::current::current;
use crate::process::Message;
use crate::reason::Reason;
use crate::scheduler::Suspend;
use std::any::Any;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The receive loop every receive function uses.
///
/// Scans the private mailbox oldest first with `matcher`; the first message
/// it accepts is removed and returned with the matcher's verdict. When none
/// does: with a zero timeout, returns `None` at once; otherwise waits for new
/// messages and scans only those (skipped messages keep their place), until
/// one matches or the deadline passes. Pending exit signals are acted on
/// while waiting (a killed process dies here).
///
/// The matcher runs with no borrow of the process held, so it may call
/// runtime functions that do not receive (a nested receive panics: it could
/// consume the message being looked at).
pub(crate) fn receive_with<A>(
    matcher: impl FnMut(&(dyn Any + Send)) -> Option<A>,
    timeout: Option<Duration>,
) -> Option<(A, Message)> {
    match try_receive_with(matcher, timeout) {
        Ok(found) => found,
        Err((reason, signal)) => crate::process::exit::die(&current(), reason, signal),
    }
}

/// [`receive_with`], reporting a fatal exit signal as `Err((reason,
/// by_signal))` instead of unwinding the process (the GenServer loop returns
/// to its entry with it: a server dies without unwinding its stack).
pub(crate) fn try_receive_with<A>(
    matcher: impl FnMut(&(dyn Any + Send)) -> Option<A>,
    timeout: Option<Duration>,
) -> Result<Option<(A, Message)>, (Reason, bool)> {
    receive_loop(matcher, timeout, false)
}

/// The idle receive of a behaviour's loop (GenServer, Agent, the
/// supervisors), between two messages: [`try_receive_with`] at a **safe
/// point**. The caller guarantees that below it the stack holds only the
/// runtime's own frames and `Send` data (the server's state, owned by the
/// loop), so the process floats — any worker may resume it — while it waits
/// (see `scheduler::placement`).
pub(crate) fn try_receive_idle<A>(
    matcher: impl FnMut(&(dyn Any + Send)) -> Option<A>,
    timeout: Option<Duration>,
) -> Result<Option<(A, Message)>, (Reason, bool)> {
    receive_loop(matcher, timeout, true)
}

fn receive_loop<A>(
    matcher: impl FnMut(&(dyn Any + Send)) -> Option<A>,
    timeout: Option<Duration>,
    safe_point: bool,
) -> Result<Option<(A, Message)>, (Reason, bool)> {
    scan_from(0, matcher, timeout, safe_point)
}

/// A receive that looks only at messages delivered after `marker` was
/// taken ([`marker`]): the BEAM's receive marker. A call monitors its
/// server, takes a marker, sends its request and waits for the reply with
/// this, so a caller with a long mailbox does not scan it (the reply cannot
/// be older than the request).
pub(crate) fn receive_after<A>(
    marker: Marker,
    matcher: impl FnMut(&(dyn Any + Send)) -> Option<A>,
    timeout: Option<Duration>,
) -> Option<(A, Message)> {
    match scan_from(marker.0, matcher, timeout, false) {
        Ok(found) => found,
        Err((reason, signal)) => crate::process::exit::die(&current(), reason, signal),
    }
}

/// Where the mailbox of the calling process ends now (see
/// [`receive_after`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Marker(u64);

impl Marker {
    /// The mailbox end `next_seq`, read under the slot lock by a caller that
    /// takes it anyway (`signal::monitor_with_request`).
    pub(crate) fn at(next_seq: u64) -> Marker {
        Marker(next_seq)
    }
}

/// The calling process's mailbox end, for [`receive_after`]: every message
/// delivered from now on has a later sequence number.
pub(crate) fn marker(cur: &crate::process::current::Current) -> Marker {
    Marker(cur.slot().shared.lock().next_seq)
}

/// The receive loop: scans the messages whose sequence number is at least
/// `from`, oldest first (see [`receive_with`]).
fn scan_from<A>(
    from: u64,
    mut matcher: impl FnMut(&(dyn Any + Send)) -> Option<A>,
    timeout: Option<Duration>,
    safe_point: bool,
) -> Result<Option<(A, Message)>, (Reason, bool)> {
    let cur = current();
    cur.try_charge(1)?;
    // SAFETY: running process, short borrow.
    unsafe {
        let local = cur.local();
        assert!(!local.matching, "ember: receive called inside a receive predicate");
        local.matching = true;
    }
    struct Reset(crate::process::current::Current);
    impl Drop for Reset {
        fn drop(&mut self) {
            // SAFETY: runs on the process (normal return or unwind), short borrow.
            unsafe { self.0.local().matching = false };
        }
    }
    let _reset = Reset(cur);
    // The deadline is read off the clock only when the receive first has to
    // wait (a receive that finds its message at once costs no clock read);
    // the timeout therefore counts from the end of the first scan, a few
    // nanoseconds later than Erlang's "when the receive is entered" unless
    // the mailbox is huge.
    let mut deadline: Option<Instant> = None;
    // The next message to look at, by position; `None` until the first scan
    // finds where `from` starts (sequence numbers increase along the
    // mailbox: a binary search).
    let mut scanned: Option<usize> = None;
    loop {
        cur.try_drain()?;
        // SAFETY: running process, short borrow.
        let mut at = scanned.unwrap_or_else(|| {
            // SAFETY: as above.
            let mailbox = &unsafe { cur.local() }.mailbox;
            // Mostly nothing in the mailbox is older than `from` (always so
            // for a plain receive, `from` 0): no search then.
            match mailbox.front() {
                Some(first) if first.seq < from => mailbox.partition_point(|l| l.seq < from),
                _ => 0,
            }
        });
        loop {
            // Look at one message without holding a borrow of the mailbox
            // while the matcher runs.
            let (msg, seq, edits): (*const (dyn Any + Send), u64, u32) = {
                // SAFETY: running process, short borrow.
                let local = unsafe { cur.local() };
                match local.mailbox.get(at) {
                    Some(l) => (&*l.msg, l.seq, local.mailbox_edits),
                    None => break,
                }
            };
            // SAFETY: the message stays alive while the matcher runs: nested
            // receives panic above, and the only other removal
            // (`remove_first`, e.g. `demonitor_flush` called from a
            // predicate) parks what it removes in `removed_while_matching`
            // while `matching` is set. Appends move boxes, not the messages
            // they point to.
            let verdict = matcher(unsafe { &*msg });
            // SAFETY: running process, short borrow (and the parked messages
            // are dropped after it ends: their destructors may call us).
            if unsafe { cur.local() }.removed_while_matching.is_some() {
                drop_parked(&cur);
            }
            // SAFETY: running process, short borrow.
            let local = unsafe { cur.local() };
            if local.mailbox_edits != edits {
                // The matcher removed messages: find this one again, by its
                // sequence number (not its address: zero-sized messages all
                // share one).
                match local.mailbox.binary_search_by_key(&seq, |l| l.seq) {
                    Ok(i) => at = i,
                    Err(i) => {
                        // It was removed itself: go on with the next one.
                        at = i;
                        continue;
                    }
                }
            }
            if let Some(verdict) = verdict {
                let taken = if at == 0 { local.mailbox.pop_front() } else { local.mailbox.remove(at) }
                    .expect("index checked above");
                let left = local.mailbox.len();
                cur.slot().mailbox_len.store(left, Ordering::Relaxed);
                if left == 0 {
                    crate::mailbox::give_back_room(&mut local.mailbox);
                }
                return Ok(Some((verdict, taken.msg)));
            }
            at += 1;
        }
        scanned = Some(at);
        match timeout {
            None => {}
            Some(d) if d.is_zero() => return Ok(None),
            Some(d) => {
                let now = Instant::now();
                let at = *deadline.get_or_insert_with(|| now.checked_add(d).unwrap_or_else(far_future));
                if now >= at {
                    return Ok(None);
                }
                // Kept pending after the receive returns (see `PendingWake`).
                crate::time::wake_by(&cur, at, now);
            }
        }
        if safe_point {
            cur.suspend_at_safe_point(Suspend::Wait);
        } else {
            cur.suspend(Suspend::Wait);
        }
    }
}

/// Drops the messages a matcher removed (rare: a runtime call inside a
/// predicate), out of the receive loop's way.
#[cold]
#[inline(never)]
fn drop_parked(cur: &crate::process::current::Current) {
    // SAFETY: running process, short borrow (the messages are dropped after
    // it ends: their destructors may call the runtime).
    let parked = unsafe { cur.local() }.removed_while_matching.take();
    drop(parked);
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// Receives the first message of type `M`, waiting as long as it takes.
/// Messages of other types stay in the mailbox, in order.
///
/// ```
/// use ember_runtime::{receive, self_pid, send};
/// ember_runtime::run(|| {
///     send(self_pid(), 'x');
///     send(self_pid(), 7u64);
///     assert_eq!(receive::<u64>(), 7);
///     assert_eq!(receive::<char>(), 'x');
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn receive<M: Any + Send>() -> M {
    let (_, msg) = receive_with(|m| m.is::<M>().then_some(()), None).expect("no timeout");
    *msg.downcast::<M>().expect("matched by type")
}

/// Receives the first message of type `M`, or `None` once `timeout` has
/// passed. A zero timeout scans what is in the mailbox and returns at once.
///
/// ```
/// use ember_runtime::receive_timeout;
/// use std::time::Duration;
/// ember_runtime::run(|| {
///     assert_eq!(receive_timeout::<u8>(Duration::ZERO), None);
///     assert_eq!(receive_timeout::<u8>(Duration::from_millis(5)), None);
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn receive_timeout<M: Any + Send>(timeout: Duration) -> Option<M> {
    let (_, msg) = receive_with(|m| m.is::<M>().then_some(()), Some(timeout))?;
    Some(*msg.downcast::<M>().expect("matched by type"))
}

/// Receives the first message of type `M` for which `pred` holds.
///
/// ```
/// use ember_runtime::{receive_if, self_pid, send};
/// ember_runtime::run(|| {
///     for i in 0..5u32 { send(self_pid(), i); }
///     assert_eq!(receive_if(|n: &u32| n % 2 == 1), 1);
///     assert_eq!(receive_if(|n: &u32| *n > 2), 3);
///     assert_eq!(ember_runtime::receive::<u32>(), 0);
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn receive_if<M: Any + Send>(mut pred: impl FnMut(&M) -> bool) -> M {
    let (_, msg) =
        receive_with(|m| m.downcast_ref::<M>().is_some_and(&mut pred).then_some(()), None).expect("no timeout");
    *msg.downcast::<M>().expect("matched by type")
}

/// [`receive_if`] with a timeout.
///
/// ```
/// use ember_runtime::{receive_if_timeout, self_pid, send};
/// use std::time::Duration;
/// ember_runtime::run(|| {
///     send(self_pid(), 3u8);
///     assert_eq!(receive_if_timeout(|n: &u8| *n > 5, Duration::ZERO), None);
///     assert_eq!(receive_if_timeout(|n: &u8| *n == 3, Duration::ZERO), Some(3));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn receive_if_timeout<M: Any + Send>(mut pred: impl FnMut(&M) -> bool, timeout: Duration) -> Option<M> {
    let (_, msg) = receive_with(|m| m.downcast_ref::<M>().is_some_and(&mut pred).then_some(()), Some(timeout))?;
    Some(*msg.downcast::<M>().expect("matched by type"))
}

/// Receives the oldest message, whatever its type.
///
/// ```
/// use ember_runtime::{receive_any, self_pid, send};
/// ember_runtime::run(|| {
///     send(self_pid(), 1.5f64);
///     let m = receive_any();
///     assert_eq!(m.downcast_ref::<f64>(), Some(&1.5));
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn receive_any() -> Box<dyn Any + Send> {
    receive_with(|_| Some(()), None).expect("no timeout").1
}

/// Receives the oldest message, whatever its type, or `None` after `timeout`.
///
/// ```
/// use std::time::Duration;
/// ember_runtime::run(|| assert!(ember_runtime::receive_any_timeout(Duration::ZERO).is_none())).unwrap();
/// ```
#[track_caller]
pub fn receive_any_timeout(timeout: Duration) -> Option<Box<dyn Any + Send>> {
    receive_with(|_| Some(()), Some(timeout)).map(|(_, m)| m)
}

type Matcher<'a> = Box<dyn FnMut(&(dyn Any + Send)) -> bool + 'a>;
type Handler<'a, R> = Box<dyn FnOnce(Message) -> R + 'a>;

/// A receive with several arms over different message types, and an optional
/// timeout (Erlang's `receive ... after ... end`).
///
/// Messages are looked at oldest first; for each, the arms are tried in the
/// order they were added, and the first arm that accepts it wins. Messages no
/// arm accepts stay in the mailbox, in order.
///
/// ```
/// use ember_runtime::{self_pid, send, Select};
/// use std::time::Duration;
/// ember_runtime::run(|| {
///     send(self_pid(), "hello");
///     send(self_pid(), 42u32);
///     let got = Select::new()
///         .on(|n: u32| format!("number {n}"))
///         .on_if(|s: &&str| s.len() > 10, |s: &str| format!("long {s}"))
///         .after(Duration::ZERO, || "nothing".to_string())
///         .wait();
///     assert_eq!(got, "number 42");
/// })
/// .unwrap();
/// ```
pub struct Select<'a, R> {
    arms: Vec<(Matcher<'a>, Handler<'a, R>)>,
    after: Option<(Duration, Box<dyn FnOnce() -> R + 'a>)>,
}

impl<'a, R> Default for Select<'a, R> {
    fn default() -> Self {
        Select { arms: Vec::new(), after: None }
    }
}

impl<'a, R> Select<'a, R> {
    /// A receive with no arms yet.
    ///
    /// ```
    /// let _ = ember_runtime::Select::<()>::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An arm taking any message of type `M`.
    ///
    /// ```
    /// use ember_runtime::{self_pid, send, Select};
    /// ember_runtime::run(|| {
    ///     send(self_pid(), 1i8);
    ///     assert_eq!(Select::new().on(|n: i8| n + 1).wait(), 2);
    /// })
    /// .unwrap();
    /// ```
    pub fn on<M: Any + Send>(mut self, handler: impl FnOnce(M) -> R + 'a) -> Self {
        self.arms.push((
            Box::new(|m: &(dyn Any + Send)| m.is::<M>()),
            Box::new(move |m: Message| handler(*m.downcast::<M>().expect("matched by type"))),
        ));
        self
    }

    /// An arm taking messages of type `M` for which `pred` holds.
    ///
    /// ```
    /// use ember_runtime::{self_pid, send, Select};
    /// ember_runtime::run(|| {
    ///     send(self_pid(), 1i8);
    ///     send(self_pid(), 5i8);
    ///     assert_eq!(Select::new().on_if(|n: &i8| *n > 2, |n: i8| n).wait(), 5);
    /// })
    /// .unwrap();
    /// ```
    pub fn on_if<M: Any + Send>(
        mut self,
        mut pred: impl FnMut(&M) -> bool + 'a,
        handler: impl FnOnce(M) -> R + 'a,
    ) -> Self {
        self.arms.push((
            Box::new(move |m: &(dyn Any + Send)| m.downcast_ref::<M>().is_some_and(&mut pred)),
            Box::new(move |m: Message| handler(*m.downcast::<M>().expect("matched by type"))),
        ));
        self
    }

    /// An arm taking any message at all (put it last).
    ///
    /// ```
    /// use ember_runtime::{self_pid, send, Select};
    /// ember_runtime::run(|| {
    ///     send(self_pid(), ());
    ///     assert!(Select::new().on(|n: u8| n == 0).on_any(|_| true).wait());
    /// })
    /// .unwrap();
    /// ```
    pub fn on_any(mut self, handler: impl FnOnce(Box<dyn Any + Send>) -> R + 'a) -> Self {
        self.arms.push((Box::new(|_: &(dyn Any + Send)| true), Box::new(handler)));
        self
    }

    /// What to do when no message matched within `timeout` (zero: only look
    /// at what is already there).
    ///
    /// ```
    /// use ember_runtime::Select;
    /// use std::time::Duration;
    /// ember_runtime::run(|| {
    ///     assert_eq!(Select::new().on(|n: u8| n).after(Duration::ZERO, || 0).wait(), 0);
    /// })
    /// .unwrap();
    /// ```
    pub fn after(mut self, timeout: Duration, handler: impl FnOnce() -> R + 'a) -> Self {
        self.after = Some((timeout, Box::new(handler)));
        self
    }

    /// Runs the receive. Without [`Select::after`], waits until an arm
    /// matches.
    ///
    /// ```
    /// use ember_runtime::{self_pid, send, Select};
    /// ember_runtime::run(|| {
    ///     send(self_pid(), 'a');
    ///     assert_eq!(Select::new().on(|c: char| c).wait(), 'a');
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn wait(self) -> R {
        let Select { mut arms, after } = self;
        let timeout = after.as_ref().map(|(d, _)| *d);
        let found = receive_with(|m| arms.iter_mut().position(|(matches, _)| matches(m)), timeout);
        match found {
            Some((i, msg)) => (arms.swap_remove(i).1)(msg),
            None => (after.expect("a timeout implies an after arm").1)(),
        }
    }
}
