//! Soundness (issue 13): thread-bound state held across a suspension stays on
//! its thread; stale pids of the caller's own slot are no process; pids never
//! alias when serials run out.

mod common;

use common::{down_of, init, recv, BOUND};
use ember_runtime::gen_server::{start, CallError, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
use ember_runtime::{
    is_alive, link, monitor, receive, self_pid, send, spawn, spawn_monitor, yield_now, Down, LinkError, Pid, Reason,
    Runtime,
};
use std::cell::RefCell;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Issue 13.1: a started process is resumed only on the thread it started
/// on, whatever suspends it and however busy the other workers are — so a
/// thread-local borrow, a `MutexGuard` or a `StdoutLock` held across a
/// suspension stays on its thread. The old scheduler moved processes between
/// workers at every suspension.
#[test]
fn a_started_process_stays_on_its_thread_across_every_suspension() {
    init();
    common::run(|| {
        let me = self_pid();
        let server = start::<Echo>((), StartOptions::new()).unwrap();
        let workers: Vec<Pid> = (0..40u32)
            .map(|i| {
                let server = server.clone();
                spawn(move || {
                    let home = std::thread::current().id();
                    let mut moved = 0u32;
                    let mut check = |what: &str| {
                        if std::thread::current().id() != home {
                            moved += 1;
                            eprintln!("process {i} moved threads after {what}");
                        }
                    };
                    for round in 0..50u32 {
                        send(self_pid(), round);
                        receive::<u32>();
                        check("receive");
                        ember_runtime::sleep(Duration::from_micros(50));
                        check("sleep");
                        yield_now();
                        check("yield");
                        ember_runtime::blocking(|| std::hint::black_box(round));
                        check("blocking");
                        server.call(round).unwrap();
                        check("a call");
                        for _ in 0..3_000 {
                            // Spends the slice: yields inside `send`.
                            send(self_pid(), ());
                        }
                        check("a spent slice");
                        while ember_runtime::receive_timeout::<()>(Duration::ZERO).is_some() {}
                    }
                    send(me, moved);
                })
            })
            .collect();
        let moved: u32 = workers.iter().map(|_| recv::<u32>()).sum();
        assert_eq!(moved, 0, "started processes moved between threads");
    });
}

struct Echo;

impl GenServer for Echo {
    type Arg = ();
    type Call = u32;
    type Reply = u32;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ok(Echo)
    }
    fn handle_call(&mut self, n: u32, _from: ReplyTo<u32>) -> CallResult<Self> {
        CallResult::Reply(n)
    }
}

thread_local! {
    static SCRATCH: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Issue 13.1: a process that holds a `thread_local!` `RefCell` borrow
/// across a receive keeps writing to its own thread's value: the borrow and
/// its writes never happen from another thread, however it is woken (here:
/// from a plain thread, whose wake-ups the old scheduler gave to whichever
/// worker came first). Processes on the same thread that borrow meanwhile
/// get RefCell's "already borrowed" panic, which is RefCell's check working,
/// not a data race.
#[test]
fn a_thread_local_borrow_held_across_a_receive_stays_on_its_thread() {
    init();
    let rt = Runtime::builder().schedulers(2).build().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    // One holder (two on one thread would trip RefCell's own check).
    let holders: Vec<Pid> = (0..1u32)
        .map(|i| {
            let done = done_tx.clone();
            rt.spawn(move || {
                let home = std::thread::current().id();
                let mut moved = false;
                SCRATCH.with(|cell| {
                    let mut scratch = cell.borrow_mut();
                    for round in 0..300u32 {
                        scratch.push(round);
                        receive::<()>();
                        moved |= std::thread::current().id() != home;
                    }
                    scratch.clear();
                });
                let _ = done.send((i, moved));
            })
            .unwrap()
        })
        .collect();
    // Wake them from outside the runtime, round after round.
    for _ in 0..300 {
        for &h in &holders {
            send(h, ());
        }
        std::thread::yield_now();
    }
    for _ in &holders {
        let (i, moved) = done_rx.recv_timeout(BOUND).expect("every holder finished");
        assert!(!moved, "holder {i} ran on another thread while it held a thread-local borrow");
    }
}

/// Issue 13.1: a `std::sync::MutexGuard` held across a receive, with other
/// processes blocking their threads in `lock()`, used to hang the whole
/// runtime (every worker blocked). The guard's holder is pinned to its
/// thread, so a blocked worker can still deadlock with it (a user error, as
/// holding a blocking lock across an `.await` is); what must hold is that the
/// rest of the node keeps running: the system monitor hands the blocked
/// workers' other work to spare threads.
#[test]
fn a_mutex_guard_held_across_a_receive_does_not_freeze_the_node() {
    init();
    let rt = Runtime::builder().schedulers(2).build().unwrap();
    let lock = Arc::new(Mutex::new(0u32));
    let (locked_tx, locked_rx) = mpsc::channel();
    let l = lock.clone();
    let holder = rt
        .spawn(move || {
            let mut guard = l.lock().unwrap();
            *guard += 1;
            let _ = locked_tx.send(());
            // Never comes: the holder keeps the guard for ever.
            receive::<std::convert::Infallible>();
        })
        .unwrap();
    locked_rx.recv_timeout(BOUND).expect("the holder took the lock");
    let lockers: Vec<String> = (0..2)
        .map(|_| {
            let l = lock.clone();
            rt.spawn(move || {
                // Blocks its worker thread in the OS.
                let _g = l.lock();
            })
            .unwrap()
            .to_string()
        })
        .collect();
    // Both workers are blocked once the system monitor reports both lockers
    // as holding their workers (the old runtime had no monitor, and froze).
    let deadline = std::time::Instant::now() + BOUND;
    while !lockers.iter().all(|p| common::sysmon_reports().iter().any(|r| &r.pid == p)) {
        assert!(std::time::Instant::now() < deadline, "both lockers hold their workers");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Whatever the two lockers block, fresh work still runs.
    let (tx, rx) = mpsc::channel();
    // SAFETY: the checker holds no thread-bound state across a suspension.
    let checker = unsafe { ember_runtime::SpawnOptions::new().free_migration() };
    rt.spawn(move || {
        let me = self_pid();
        ember_runtime::spawn_opt(
            move || {
                let inner = self_pid();
                for i in 0..20u32 {
                    spawn(move || send(inner, i));
                }
                let sum: u32 = (0..20).map(|_| recv::<u32>()).sum();
                let _ = tx.send(sum);
                let _ = me;
            },
            checker,
        );
    })
    .unwrap();
    let sum = rx.recv_timeout(BOUND).expect("the node kept running while two workers were blocked");
    assert_eq!(sum, (0..20u32).sum::<u32>());
    let _ = holder;
    // The deadlocked threads cannot be joined: leak the runtime.
    std::mem::forget(rt);
}

/// Issue 13.2: a pid with the caller's own slot index but an older serial
/// (slots are reused last in, first out) is no process. `link`, `monitor`
/// and calls used to lock the caller's slot twice and hang its worker.
#[test]
fn a_stale_pid_of_the_callers_own_slot_is_no_process() {
    init();
    common::run(|| {
        let me = self_pid();
        // Find a process that lands in the slot of an earlier one.
        for attempt in 0..10_000u32 {
            let (old, m) = spawn_monitor(|| {});
            down_of(m);
            let (probe, pm) = spawn_monitor(move || {
                let mine = self_pid();
                if slot_of(mine) != slot_of(old) {
                    send(me, None::<Vec<String>>);
                    return;
                }
                let mut seen = Vec::new();
                seen.push(format!("{:?}", link(old)));
                let mref = monitor(old);
                let down: Down = receive();
                seen.push(format!("{:?}", (down.monitor == mref, down.reason)));
                let server: Server<Echo> = Server::new(old);
                seen.push(format!("{:?}", server.call(1)));
                send(me, Some(seen));
            });
            let seen: Option<Vec<String>> = recv();
            down_of(pm);
            let _ = probe;
            if let Some(seen) = seen {
                assert_eq!(seen[0], format!("{:?}", Err::<(), _>(LinkError::NoProc(old))));
                assert_eq!(seen[1], format!("{:?}", (true, Reason::NoProc)));
                assert_eq!(seen[2], format!("{:?}", Err::<u32, _>(CallError::NoProc)));
                return;
            }
            assert!(attempt < 9_999, "no slot was ever reused");
        }
    });
}

/// The slot index of a pid, read off its display `<node.index.serial>`.
fn slot_of(pid: Pid) -> String {
    pid.to_string().split('.').nth(1).unwrap().to_string()
}

/// Issue 13.3: when a slot's serials run out, the slot is retired instead of
/// reused, so an old pid never reaches a new process. (Serials are seeded
/// near the limit through a test hook; a hot slot reaches it after about 42
/// minutes at 1.7M spawns/s.)
#[test]
fn pids_never_alias_when_serials_run_out() {
    init();
    let builder = Runtime::builder().schedulers(1).first_serial(u32::MAX - 6);
    common::with_deadline(builder, BOUND, || {
        let mut seen = std::collections::HashSet::new();
        let mut dead = Vec::new();
        for _ in 0..200 {
            let (pid, m) = spawn_monitor(|| {
                receive::<()>();
            });
            assert!(seen.insert(pid), "{pid} named two processes");
            // A serial that wrapped around would come back to old pids.
            let serial: u32 = pid.to_string().trim_end_matches('>').rsplit('.').next().unwrap().parse().unwrap();
            assert!(serial >= u32::MAX - 6, "{pid}: the serial wrapped around");
            for &old in &dead {
                assert!(!is_alive(old), "{old} reaches the new process {pid}");
            }
            send(pid, ());
            down_of(m);
            dead.push(pid);
        }
    })
    .unwrap();
}

/// Destructor of a message that nobody receives: panics, after asking for
/// `self_pid()`, which panics itself outside a process.
struct NastyDrop(mpsc::Sender<bool>);

impl Drop for NastyDrop {
    fn drop(&mut self) {
        let in_process = ember_runtime::try_self_pid().is_some();
        let _ = self.0.send(in_process);
        if !in_process {
            let _ = self_pid(); // panics: not inside a process
        }
        panic!("a message's destructor panicked");
    }
}

/// Issue 13.5: a message to a dead process is dropped on the thread that
/// delivers it. A timer's message is delivered by a worker outside any
/// process; a destructor that panicked (or asked for `self_pid()`) there
/// used to kill the worker thread. Now it is caught, and the runtime goes on.
#[test]
fn user_destructors_never_kill_a_worker_thread() {
    init();
    let (tx, rx) = mpsc::channel();
    common::with_deadline(Runtime::builder().schedulers(1), BOUND, move || {
        let (dead, m) = spawn_monitor(|| {});
        down_of(m);
        for _ in 0..3 {
            ember_runtime::send_after(dead, NastyDrop(tx.clone()), Duration::from_millis(1));
        }
        for _ in 0..3 {
            let in_process = rx.recv_timeout(BOUND).expect("the timer fired");
            assert!(!in_process, "a timer's message is dropped outside any process");
        }
        // The only worker is still alive: it runs this.
        let me = self_pid();
        spawn(move || send(me, 7u8));
        assert_eq!(recv::<u8>(), 7);
    })
    .unwrap();
}
