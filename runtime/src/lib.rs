//! # ember-runtime
//!
//! The runtime under Ember: a work-stealing scheduler running lightweight
//! stackful processes, with mailboxes and selective receive, links, monitors,
//! exit signals and `trap_exit`, registered names, timers and a blocking
//! pool — Erlang's process semantics, for plain blocking Rust code.
//!
//! ```
//! use ember_runtime::{receive, self_pid, send, spawn_link, trap_exit, Exit, Reason};
//!
//! let reason = ember_runtime::run(|| {
//!     trap_exit(true);
//!     let me = self_pid();
//!     let worker = spawn_link(move || {
//!         let n: u32 = receive();
//!         send(me, n * 2);
//!         panic!("done with {n}");
//!     });
//!     send(worker, 21u32);
//!     assert_eq!(receive::<u32>(), 42);
//!     let exit: Exit = receive();
//!     exit.reason
//! })
//! .unwrap();
//! assert!(matches!(reason, Reason::Panic { .. }));
//! ```
//!
//! Where things live:
//!
//! * `scheduler` — workers, run queues, stealing, parking, the reductions
//!   budget, the blocking pool;
//! * `process` — the process slot and table, the current process
//!   (`process/current.rs`), the trampoline every coroutine runs, the panic
//!   hook, spawn, exit, introspection;
//! * `mailbox` — delivery into the inbox, draining it, selective receive;
//! * `signal` — links, monitors, and the exit-signal decision table
//!   (`signal/decision.rs`);
//! * `name` — registered names, `via` naming, addresses;
//! * `time` (the API) and `timer` (the per-worker wheels) — timers;
//! * `stack` — the stack pool, and stack-overflow handling;
//! * `io` — the reactor (epoll through `mio`), socket readiness, the
//!   per-process resource table;
//! * [`net`] — TCP, UDP and Unix sockets for processes;
//! * `future` (feature `tokio`) — `block_on` for async crates.
//!
//! Processes migrate between worker threads at every suspension (any call
//! that may wait: receive, sleep, blocking, or a yield when the slice is
//! spent). Do not hold `!Send` values such as `Rc` or a `MutexGuard` across
//! such calls; `spawn` requires `Send + 'static` closures.
#![deny(missing_docs)]

pub mod agent;
mod clock;
#[cfg(feature = "tokio")]
pub mod future;
pub mod gen_server;
mod io;
mod mailbox;
mod name;
pub mod net;
pub mod node;
#[cfg(any(feature = "observer", feature = "metrics"))]
pub mod observer;
mod pid;
mod process;
mod reason;
mod runtime;
mod scheduler;
pub mod signal;
mod snapshot;
mod stack;
mod sync;
mod system_monitor;
mod time;
mod timer;

pub use gen_server::{Action, CallError, CallResult, GenServer, Init, ReplyTo, Server, StartError, StartOptions};
pub use mailbox::{
    receive, receive_any, receive_any_timeout, receive_if, receive_if_timeout, receive_timeout, send, send_named,
    Select,
};
pub use name::{register, registered, unregister, whereis, Dest, Name, NoProc, RegisterError, Via, ViaError};
pub use pid::{ParsePidError, Pid, Ref};
pub use process::api::{catch_exit, exit, hibernate, self_pid, try_self_pid, yield_now};
pub use process::info::{is_alive, process_info, processes, set_label, Monitored, ProcessInfo, Status};
pub use process::priority::{set_priority, Priority};
pub use process::spawn::{spawn, spawn_link, spawn_monitor, spawn_opt, try_spawn_opt, SpawnError, SpawnOptions};
pub use reason::{PanicLocation, Reason, Term};
pub use runtime::{run, stats, trim_stacks, Builder, Runtime, RuntimeStats, DEFAULT_BUDGET, DEFAULT_STACK_SIZE};
pub use scheduler::blocking::blocking;
pub use signal::{demonitor, demonitor_flush, link, monitor, monitor_name, trap_exit, unlink, Down, Exit, LinkError};
pub use snapshot::{snapshot, Snapshot, StackUsage, WorkerInfo, WorkerRole};
pub use system_monitor::{clear_system_monitor, system_monitor, SysMonEvent, SystemMonitor};
pub use time::{cancel_timer, send_after, sleep, TimerRef};
