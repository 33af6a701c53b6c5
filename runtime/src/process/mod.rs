//! Processes: the slot that holds one, the table of slots, the per-thread
//! context through which a running process reaches its runtime, spawning and
//! exiting.
//!
//! # The slot
//!
//! A process lives in a [`Slot`] of the process table. Slots are never freed
//! while the runtime lives, only reused, so a pid can always be turned into a
//! slot reference without reference counting; the slot's *serial* tells whether
//! the pid still names the slot's current occupant.
//!
//! A slot has three parts, by who may touch them:
//!
//! * atomics (`run` state, `serial`, flags, counters) — anyone;
//! * [`Shared`], behind a mutex — anyone: the inbox where other processes and
//!   threads deliver messages and signals, links, monitors and the registered
//!   name. Everything another process does to this one goes through here, in
//!   one order per slot, which is what makes signals between a pair of
//!   processes arrive in the order they were sent;
//! * [`Local`], in an `UnsafeCell` — only the thread that owns the process
//!   (the worker running it, or the spawner before it is published): the
//!   coroutine, the private mailbox that selective receive scans, the budget.

pub(crate) mod api;
pub(crate) mod current;
pub(crate) mod entry;
pub(crate) mod exit;
pub(crate) mod hibernation;
pub(crate) mod info;
pub(crate) mod panic;
pub(crate) mod priority;
pub(crate) mod sets;
pub(crate) mod side;
pub(crate) mod spawn;
pub(crate) mod table;
pub(crate) mod trampoline;
pub(crate) mod unwinding;

pub(crate) use entry::Entry;

use crate::name::Name;
use crate::pid::{Pid, Ref};
use crate::reason::Reason;
use crate::scheduler::state::RunState;
use crate::scheduler::Suspend;
use crate::stack::PooledStack;
use corosensei::Coroutine;
use parking_lot::Mutex;
use std::any::Any;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// A message as it sits in a mailbox.
pub(crate) type Message = Box<dyn Any + Send>;

/// A message or control signal in an inbox or mailbox, with its sequence
/// number: assigned under the slot lock when it is delivered, increasing in
/// arrival order, so it names the message for good — where it is in the
/// mailbox (for a receive that finds its place again after a removal, or for
/// a receive marker, see `mailbox::receive`) — whatever its type or size (a
/// zero-sized message has no address of its own).
pub(crate) struct Letter {
    pub(crate) seq: u64,
    pub(crate) msg: Message,
}

/// Called with the exit reason once a process has exited.
pub(crate) type ExitHook = Box<dyn FnOnce(&Reason) + Send>;

/// What a process's function asks for when it returns.
pub(crate) enum Finish {
    /// Exit with this reason.
    Exit(Reason),
    /// Give the stack back and run this function, on a fresh stack, when the
    /// next message arrives (`hibernate`).
    Hibernate(Entry),
}

/// How a process's coroutine finished.
pub(crate) enum Outcome {
    /// Exit with this reason; the flag tells whether an exit signal killed
    /// it (then, as in OTP, no crash report: the process ran no code).
    Exit(Reason, bool),
    Hibernate(Entry),
    /// The process overflowed its stack and was stopped at the guard page
    /// (`stack::overflow`): its frames are abandoned, its stack quarantined.
    Overflowed,
}

pub(crate) type ProcessCoroutine = Coroutine<(), Suspend, Outcome, PooledStack>;

/// What a slot holds to run.
#[derive(Default)]
pub(crate) enum Body {
    /// Nothing: the slot is free, or the worker has taken the coroutine out to
    /// resume it.
    #[default]
    Empty,
    /// Not started yet (just spawned, or hibernated): no stack is held.
    Fresh(Entry),
    /// Started: suspended on its own stack.
    Running(Suspended),
}

/// A started coroutine that is suspended: resumed by its worker, or
/// abandoned at shutdown — never dropped. Dropping a suspended corosensei
/// coroutine force-unwinds its stack on whatever thread drops it, outside
/// the process (no `CURRENT`, possibly not its home thread, with the
/// trampoline's `catch_unwind` in the way); the runtime never does that, and
/// this guard turns a bug that would into an abort with a message.
pub(crate) struct Suspended(std::mem::ManuallyDrop<ProcessCoroutine>);

impl Suspended {
    pub(crate) fn new(co: ProcessCoroutine) -> Self {
        Suspended(std::mem::ManuallyDrop::new(co))
    }

    /// The coroutine, to resume it.
    pub(crate) fn resume_it(self) -> ProcessCoroutine {
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again (ManuallyDrop), so
        // the coroutine is moved out exactly once.
        unsafe { std::mem::ManuallyDrop::take(&mut this.0) }
    }

    /// Gives the process up without running the rest of its stack: the
    /// coroutine and its stack are leaked (never reused: a blocking call's
    /// frame may still be written by a pool thread).
    pub(crate) fn abandon(self) {
        std::mem::forget(self.resume_it());
    }
}

impl Drop for Suspended {
    fn drop(&mut self) {
        eprintln!("[ember] internal error: a suspended process was dropped instead of resumed or abandoned");
        std::process::abort();
    }
}

/// A signal that is not a plain message. Control signals travel through the
/// same inbox as messages, so they keep their order relative to messages from
/// the same sender; the receiver acts on them when it drains the inbox.
pub(crate) enum Control {
    /// An exit signal (SEMANTICS.md §1.4). `link` is the link flag: the signal
    /// was sent because a linked process died.
    Exit { from: Pid, reason: Reason, link: bool },
    /// A monitor fired; delivered as a [`crate::Down`] message if the monitor
    /// is still active when the receiver drains it.
    Down { monitor: Ref, pid: Pid, reason: Reason },
    /// The runtime is shutting down: exit with this reason, untrappable.
    Terminate(Reason),
}

/// The part of a slot other processes touch, under the slot's mutex.
pub(crate) struct Shared {
    /// False once the process has ended (its exit procedure ran). Messages,
    /// links and monitors aimed at a process that is not alive are refused
    /// (`noproc`). A process that is exiting (unwinding, its destructors
    /// running) is still alive: its cleanup code gets replies.
    pub(crate) alive: bool,
    /// The process is exiting: its exit is decided and its destructors run
    /// (or, after a `Kill`, it is a detached remnant). Shown by
    /// `process_info` as `Status::Exiting`.
    pub(crate) exiting: bool,
    /// Messages and control signals in arrival order, not yet seen by the
    /// process.
    pub(crate) inbox: VecDeque<Letter>,
    /// The sequence number of the next delivery.
    pub(crate) next_seq: u64,
    /// How many entries of `inbox` are [`Control`] signals (when zero, a drain
    /// moves the inbox to the private mailbox wholesale).
    pub(crate) controls: u32,
    /// Links, monitors held and monitors held on it (boxed, allocated on
    /// the first of them).
    pub(crate) relations: sets::Relations,
    /// The registered name (boxed: a thin pointer keeps the slot small, and
    /// few processes have one).
    pub(crate) name: Option<Box<Name>>,
    /// The label shown by introspection: a behaviour's module's type name,
    /// as the function that names it (a thin pointer: setting it costs
    /// nothing), unless `text_label` is set.
    pub(crate) label: Option<fn() -> &'static str>,
    /// The process set a label of its own (`set_label`): it is in the
    /// runtime's side table (`side::SideTables::labels`).
    pub(crate) text_label: bool,
    /// The process has an exit hook (`side::SideTables::exit_hooks`).
    pub(crate) exit_hook: bool,
    /// The process of this runtime that spawned it, as (slot index,
    /// serial); `NO_PARENT` when spawned from outside.
    pub(crate) parent: (u32, u32),
    /// When it was spawned, in milliseconds since the runtime started
    /// (read from a coarse clock: spawning must stay cheap; wraps after 49
    /// days).
    pub(crate) started_ms: u32,
}

impl Shared {
    /// Appends to the inbox with the next sequence number (under the lock).
    #[inline]
    pub(crate) fn push(&mut self, msg: Message) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.inbox.push_back(Letter { seq, msg });
    }

    fn new() -> Self {
        Shared {
            alive: false,
            exiting: false,
            inbox: VecDeque::new(),
            next_seq: 0,
            controls: 0,
            relations: Default::default(),
            name: None,
            label: None,
            text_label: false,
            exit_hook: false,
            parent: NO_PARENT,
            started_ms: 0,
        }
    }
}

/// `Shared::parent` of a process spawned from outside the runtime.
pub(crate) const NO_PARENT: (u32, u32) = (u32::MAX, u32::MAX);

/// The part of a slot only its owner touches.
pub(crate) struct Local {
    pub(crate) body: Body,
    /// The private mailbox: messages already taken from the inbox, in order
    /// (their sequence numbers increase).
    pub(crate) mailbox: VecDeque<Letter>,
    /// Reductions left in the current slice.
    pub(crate) budget: u32,
    /// The worker running the process (set by the worker before each resume).
    pub(crate) worker: u32,
    /// Spawned with the `unsafe` free-migration opt-in: floats at every
    /// suspension (except while unwinding).
    pub(crate) free_migration: bool,
    /// The coroutine's yielder, valid while the coroutine runs.
    pub(crate) yielder: *const corosensei::Yielder<(), Suspend>,
    /// High end of the stack the coroutine runs on (0 when it has none).
    pub(crate) stack_base: usize,
    /// Usable stack size for this process.
    pub(crate) stack_size: u32,
    /// Lowest usable address of the stack it runs on (0 when it has none),
    /// for the runtime calls' red-zone check (`scheduler::budget`).
    pub(crate) stack_limit: usize,
    /// The deepest the process's stack has been seen to go, in bytes below
    /// `stack_base`, sampled at runtime calls (see `stack::depth`).
    pub(crate) stack_deepest: u32,
    /// Set when the process started exiting (a fatal exit signal, or
    /// `exit`): it is unwinding and will exit with this reason whatever its
    /// function does. The flag tells whether an exit signal decided it.
    pub(crate) exit_reason: Option<Box<(Reason, bool)>>,
    /// Set when the process, told by a `try_*` call that it must exit, is
    /// returning to its entry (the GenServer loop): destructors running on
    /// the way may still use the runtime, as during an unwind.
    pub(crate) returning_to_exit: bool,
    /// Set while a receive runs its matcher (nested receives are refused).
    pub(crate) matching: bool,
    /// Counts removals from the private mailbox other than by `receive`
    /// (`demonitor_flush`, the start protocol), so a receive whose matcher
    /// made such a call can find its place again.
    pub(crate) mailbox_edits: u32,
    /// Messages removed while a matcher ran, kept alive until it returns
    /// (the matcher may hold a reference into one of them). Boxed: it is
    /// rarely needed, and the slot is the fixed cost of every process.
    #[allow(clippy::box_collection)]
    pub(crate) removed_while_matching: Option<Box<Vec<Message>>>,
    /// True when the body is a hibernated continuation (runs only once a
    /// message arrives).
    pub(crate) hibernated: bool,
    /// The sockets this process owns (closed if its stack is abandoned).
    pub(crate) resources: crate::io::resource::ResourceTable,
    /// The wake-up its timed waits keep pending (see `time::PendingWake`).
    pub(crate) wake: Option<crate::time::PendingWake>,
}

impl Local {
    fn new() -> Self {
        Local {
            body: Body::Empty,
            mailbox: VecDeque::new(),
            budget: 0,
            worker: 0,
            free_migration: false,
            yielder: std::ptr::null(),
            stack_base: 0,
            stack_size: 0,
            stack_limit: 0,
            stack_deepest: 0,
            exit_reason: None,
            returning_to_exit: false,
            matching: false,
            mailbox_edits: 0,
            removed_while_matching: None,
            hibernated: false,
            resources: Default::default(),
            wake: None,
        }
    }
}

/// One process slot. See the module docs.
///
/// `repr(C)`, in this order: the slot lock first (at offset 0, as every
/// delivery takes it), the widest fields before the narrow ones so that
/// nothing is padded.
#[repr(C)]
pub(crate) struct Slot {
    pub(crate) shared: Mutex<Shared>,
    pub(crate) reductions: AtomicU64,
    /// Length of the private mailbox, published for introspection.
    pub(crate) mailbox_len: AtomicUsize,
    /// Stack bytes in use at the last suspension and the deepest sampled (0
    /// when the process holds no stack), for introspection.
    pub(crate) stack_depth: crate::stack::depth::StackDepth,
    local: UnsafeCell<Local>,
    pub(crate) index: u32,
    pub(crate) run: RunState,
    /// The worker this process is pinned to, or `placement::FLOATING` (see
    /// `scheduler::placement`). Written by the process when it suspends (and
    /// by its worker when it exits); read by whoever queues it.
    pub(crate) home: AtomicU32,
    /// Unwinds in flight on the process's stack (see `process::unwinding`).
    pub(crate) unwinding: AtomicU32,
    pub(crate) serial: AtomicU32,
    /// Messages a behaviour's loop has handled (written by the process
    /// only, published for introspection). 32 bits, wrapping: it fits the
    /// slot's padding, and a rate is what a viewer shows.
    pub(crate) messages_handled: AtomicU32,
    /// A `Kill` ended the process's identity; what runs now is its detached
    /// remnant finishing its unwind, under the next serial (see
    /// `process::exit`). Written by the process's owner only.
    pub(crate) detached: AtomicBool,
    /// An exit signal is waiting in the inbox: the process must drain at its
    /// next runtime call (this is how a running process is killed).
    pub(crate) urgent: AtomicBool,
    /// The inbox may hold something: set under the slot lock by whoever
    /// appends to it, cleared under the lock by whoever empties it. A drain
    /// that reads `false` skips the lock — the common case of a receive
    /// that has to wait. A stale `false` loses nothing: the sender wakes the
    /// process after setting it, and a wake-up racing with suspension is
    /// turned into a re-run (see `scheduler::state`), which drains again.
    pub(crate) inbox_pending: AtomicBool,
    pub(crate) trap_exit: AtomicBool,
    /// Its [`Priority`](priority::Priority), as a `u8` (see `process::priority`).
    pub(crate) priority: AtomicU8,
    /// Turns a `Low` process has let others take (see `scheduler::worker`).
    pub(crate) low_turns: AtomicU8,
    /// The process is hibernating (published for introspection).
    pub(crate) hibernating: AtomicBool,
    /// What the system monitor has reported about it (one byte of flags:
    /// the slot is the fixed cost of every process).
    pub(crate) reported: crate::system_monitor::Reported,
}

// SAFETY: `local` is only accessed by the thread that owns the process (see
// `Slot::local`), which the run-state protocol makes exclusive; everything
// else is atomics or behind a mutex. Two things in `Local` are not `Send`:
// the raw yielder pointer, only dereferenced by the process itself while its
// coroutine runs; and the coroutine. `corosensei::Coroutine` is deliberately
// not `Send`, because its stack may hold thread-bound state (a thread-local
// borrow, a `MutexGuard`). Handing the slot, and with it the coroutine, to
// another thread is sound because a started coroutine is only ever resumed
// on its home thread, except where its stack holds nothing thread-bound (a
// safe point, or a caller who promised so through the `unsafe` free-migration
// opt-in): see `scheduler::placement`. A coroutine that has not started, or
// has finished, holds only its `Send` closure and a stack handle.
unsafe impl Sync for Slot {}
// SAFETY: as above; a slot moves between threads only as part of the table.
unsafe impl Send for Slot {}

impl Slot {
    pub(crate) fn new(index: u32, serial: u32) -> Self {
        Slot {
            index,
            run: RunState::new(),
            home: AtomicU32::new(crate::scheduler::placement::FLOATING),
            unwinding: AtomicU32::new(0),
            detached: AtomicBool::new(false),
            serial: AtomicU32::new(serial),
            urgent: AtomicBool::new(false),
            inbox_pending: AtomicBool::new(false),
            trap_exit: AtomicBool::new(false),
            priority: AtomicU8::new(priority::Priority::Normal as u8),
            low_turns: AtomicU8::new(0),
            reductions: AtomicU64::new(0),
            mailbox_len: AtomicUsize::new(0),
            stack_depth: Default::default(),
            hibernating: AtomicBool::new(false),
            reported: Default::default(),
            messages_handled: AtomicU32::new(0),
            shared: Mutex::new(Shared::new()),
            local: UnsafeCell::new(Local::new()),
        }
    }

    /// The owner's part of the slot.
    ///
    /// # Safety
    ///
    /// The caller must own the process: be the worker that moved it to
    /// `RUNNING` (or the process itself, running on that worker), or the
    /// spawner/terminator holding a slot that is not published. The returned
    /// reference must not be held across a context switch, nor overlap another
    /// reference obtained from this function.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn local(&self) -> &mut Local {
        // SAFETY: exclusivity is the caller's obligation (see above).
        unsafe { &mut *self.local.get() }
    }

    pub(crate) fn pid(&self, node: u32) -> Pid {
        Pid::new(node, self.index, self.serial.load(Ordering::Acquire))
    }
}

#[cfg(all(test, not(loom)))]
mod size_tests {
    /// A slot is the fixed cost of every process, hibernated or not; keep it
    /// small (the budget for a hibernated GenServer is 512 B in all, and an
    /// idle process's is its stack page and 200 B).
    #[test]
    fn a_slot_stays_small() {
        assert!(std::mem::size_of::<super::Slot>() <= 336, "Slot is {} bytes", std::mem::size_of::<super::Slot>());
    }
}
