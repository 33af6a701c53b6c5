//! Containment (issue 12): a fault in one process ends or stalls only that
//! process — a destructor that suspends during a kill, cleanup calls of a
//! dying process, shutdown with such destructors, `Kill` during cleanup, a
//! panic in a destructor during an exit, a process that never yields.
//!
//! Scenarios whose failure mode is an abort of the OS process run in a child
//! process (`common::child`).

mod common;

use common::{child, down_of, init, recv, with_deadline, BOUND};
use ember_runtime::gen_server::{start, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
use ember_runtime::{
    blocking, is_alive, monitor, process_info, receive, register, self_pid, send, spawn, whereis, Builder, Down, Pid,
    Reason, Runtime, Status,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Counts, on a std channel, the destructors that finished.
struct FlushOnDrop(mpsc::Sender<u32>, u32);

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        // A flush that blocks the thread: through the blocking pool.
        let n = blocking(|| {
            std::thread::sleep(Duration::from_micros(200));
            1
        });
        let _ = self.0.send(self.1 * n);
    }
}

/// A pool of connections: checked out and back in by call.
struct Pool {
    out: usize,
}

enum PoolReq {
    CheckOut,
    CheckIn,
    Out,
}

impl GenServer for Pool {
    type Arg = ();
    type Call = PoolReq;
    type Reply = usize;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ok(Pool { out: 0 })
    }
    fn handle_call(&mut self, req: PoolReq, _from: ReplyTo<usize>) -> CallResult<Self> {
        match req {
            PoolReq::CheckOut => self.out += 1,
            PoolReq::CheckIn => self.out -= 1,
            PoolReq::Out => {}
        }
        CallResult::Reply(self.out)
    }
}

/// A connection that is given back to its pool from `Drop`, and says whether
/// the check-in call got its reply.
struct PooledConnection(Server<Pool>, mpsc::Sender<bool>);

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let _ = self.1.send(self.0.call(PoolReq::CheckIn).is_ok());
    }
}

const VICTIMS: u32 = 200;

fn two_schedulers() -> Builder {
    Runtime::builder().schedulers(2)
}

/// Spawns the victims: each holds a flushing guard and a pooled connection,
/// tells the root it is ready, then waits.
fn spawn_victims(pool: &Server<Pool>, flushed: &mpsc::Sender<u32>, checked_in: &mpsc::Sender<bool>) -> Vec<Pid> {
    let me = self_pid();
    let victims: Vec<Pid> = (0..VICTIMS)
        .map(|i| {
            let (pool, flushed, checked_in) = (pool.clone(), flushed.clone(), checked_in.clone());
            spawn(move || {
                let _flush = FlushOnDrop(flushed, i);
                pool.call(PoolReq::CheckOut).expect("check out");
                let _conn = PooledConnection(pool, checked_in);
                send(me, i);
                loop {
                    receive::<()>();
                }
            })
        })
        .collect();
    for _ in 0..VICTIMS {
        recv::<u32>();
    }
    victims
}

/// How the victims are stopped.
#[derive(Clone, Copy)]
enum Stop {
    Kill,
    Shutdown,
}

fn destructors_that_suspend_complete(how: Stop) {
    init();
    let (flushed_tx, flushed_rx) = mpsc::channel();
    let (checked_tx, checked_rx) = mpsc::channel();
    let rt = two_schedulers().build().unwrap();
    let pool_out = rt
        .block_on(move || {
            let pool = start::<Pool>((), StartOptions::new()).unwrap();
            let victims = spawn_victims(&pool, &flushed_tx, &checked_tx);
            if let Stop::Kill = how {
                let monitors: Vec<_> = victims.iter().map(|&v| monitor(v)).collect();
                for &v in &victims {
                    v.exit(Reason::Kill);
                }
                for m in monitors {
                    assert_eq!(down_of(m).reason, Reason::Killed);
                }
                // The detached remnants finish their check-ins.
                common::wait_until("every connection is back", || pool.call(PoolReq::Out) == Ok(0));
                0
            } else {
                pool.call(PoolReq::Out).unwrap()
            }
        })
        .unwrap();
    if let Stop::Kill = how {
        assert_eq!(pool_out, 0);
    }
    // Runtime shutdown stops whatever is left (for `Shutdown`: every victim).
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(rt);
        let _ = done_tx.send(());
    });
    done_rx.recv_timeout(BOUND).expect("shutdown finished");
    let flushed: Vec<u32> = flushed_rx.try_iter().collect();
    assert_eq!(flushed.len(), VICTIMS as usize, "every flush-on-drop guard ran to its end");
    let checked: Vec<bool> = checked_rx.try_iter().collect();
    assert_eq!(checked.len(), VICTIMS as usize);
    if let Stop::Kill = how {
        assert!(checked.iter().all(|ok| *ok), "every check-in call got its reply");
    }
}

#[test]
fn destructors_that_block_or_call_complete_under_kill() {
    let ended = child::run("destructors_that_block_or_call_complete_under_kill_child");
    assert!(ended.passed(), "the child ended {ended:?}");
}

#[test]
#[ignore = "run in a child process by its parent test"]
fn destructors_that_block_or_call_complete_under_kill_child() {
    if child::is("destructors_that_block_or_call_complete_under_kill_child") {
        destructors_that_suspend_complete(Stop::Kill);
    }
}

#[test]
fn destructors_that_block_or_call_complete_at_runtime_shutdown() {
    let ended = child::run("destructors_that_block_or_call_complete_at_runtime_shutdown_child");
    assert!(ended.passed(), "the child ended {ended:?}");
}

#[test]
#[ignore = "run in a child process by its parent test"]
fn destructors_that_block_or_call_complete_at_runtime_shutdown_child() {
    if child::is("destructors_that_block_or_call_complete_at_runtime_shutdown_child") {
        destructors_that_suspend_complete(Stop::Shutdown);
    }
}

/// Issue 12.3: a process killed by an exit signal gets the replies to the
/// calls its destructors make (they used to be dropped: every cleanup call
/// timed out after 5 s).
#[test]
fn a_dying_process_gets_replies_to_its_cleanup_calls() {
    init();
    common::run(|| {
        let pool = start::<Pool>((), StartOptions::new()).unwrap();
        let (tx, rx) = mpsc::channel();
        let me = self_pid();
        let victims: Vec<Pid> = (0..VICTIMS)
            .map(|_| {
                let (pool, tx) = (pool.clone(), tx.clone());
                spawn(move || {
                    pool.call(PoolReq::CheckOut).unwrap();
                    let _conn = PooledConnection(pool, tx);
                    send(me, ());
                    loop {
                        receive::<u8>();
                    }
                })
            })
            .collect();
        for _ in 0..VICTIMS {
            recv::<()>();
        }
        let monitors: Vec<_> = victims.iter().map(|&v| monitor(v)).collect();
        for &v in &victims {
            v.exit(Reason::Shutdown);
        }
        for m in monitors {
            assert_eq!(down_of(m).reason, Reason::Shutdown);
        }
        let replies: Vec<bool> = rx.try_iter().collect();
        assert_eq!(replies.len(), VICTIMS as usize);
        assert!(replies.iter().all(|ok| *ok), "a cleanup call timed out");
        assert_eq!(pool.call(PoolReq::Out), Ok(0));
    });
}

/// Issue 12.4: shutdown with processes whose destructors call `blocking()`
/// used to hang for ever (a process suspended mid-unwind made the other
/// processes of its thread ignore their own shutdown signal).
#[test]
fn shutdown_never_hangs_on_destructors_that_call_blocking() {
    init();
    for schedulers in [1, 2] {
        for n in [5u32, 50] {
            let (tx, rx) = mpsc::channel();
            let (done_tx, done_rx) = mpsc::channel();
            std::thread::spawn(move || {
                let rt = Runtime::builder().schedulers(schedulers).build().unwrap();
                rt.block_on(move || {
                    let me = self_pid();
                    for i in 0..n {
                        let tx = tx.clone();
                        spawn(move || {
                            let _flush = FlushOnDrop(tx, i);
                            send(me, ());
                            loop {
                                receive::<()>();
                            }
                        });
                    }
                    for _ in 0..n {
                        recv::<()>();
                    }
                })
                .unwrap();
                drop(rt);
                let _ = done_tx.send(());
            });
            done_rx.recv_timeout(BOUND).unwrap_or_else(|_| panic!("shutdown hung: {n} on {schedulers} schedulers"));
            assert_eq!(rx.try_iter().count(), n as usize, "every destructor finished");
        }
    }
}

/// Waits in its destructor for a message that never comes, after telling
/// `to` that its cleanup started.
struct WaitForever(Pid);

impl Drop for WaitForever {
    fn drop(&mut self) {
        send(self.0, "cleaning");
        receive::<std::convert::Infallible>();
    }
}

/// Issue 12.5: `Kill` is unconditional, even while the process waits in a
/// destructor. It used to leave a zombie: not alive, but still registered, no
/// `Down` ever, and `run` never returned.
#[test]
fn kill_is_unconditional_even_during_cleanup() {
    init();
    for first in [Reason::Kill, Reason::Shutdown] {
        let builder = Runtime::builder().schedulers(2).shutdown_timeout(Duration::from_millis(200));
        with_deadline(builder, BOUND * 2, move || {
            let me = self_pid();
            let victim = spawn(move || {
                let _wait = WaitForever(me);
                register("victim", self_pid()).unwrap();
                loop {
                    receive::<()>();
                }
            });
            let m = monitor(victim);
            common::wait_until("the victim is registered", || whereis("victim").is_some());
            victim.exit(first.clone());
            assert_eq!(recv::<&str>(), "cleaning");
            if first != Reason::Kill {
                // Cleaning up: still alive, still named, no Down yet.
                assert!(is_alive(victim));
                assert_eq!(process_info(victim).map(|i| i.status), Some(Status::Exiting));
                assert_eq!(whereis("victim"), Some(victim));
                assert!(common::none_queued(|d: &Down| d.monitor == m));
                victim.exit(Reason::Kill);
            }
            // Dead to the world now, although its destructor still waits.
            let down = down_of(m);
            let expected = if first == Reason::Kill { Reason::Killed } else { first.clone() };
            assert_eq!(down.reason, expected);
            assert!(!is_alive(victim));
            assert!(process_info(victim).is_none());
            assert_eq!(whereis("victim"), None, "the name is released");
            let late = monitor(victim);
            assert_eq!(down_of(late).reason, Reason::NoProc);
        })
        .unwrap_or_else(|r| panic!("root exited: {r:?}"));
        // `with_deadline` also returned from shutdown's drop of the stuck
        // remnant (abandoned after the shutdown timeout).
    }
}

/// Issue 12.5: `run` returns even when a process is stuck in a destructor:
/// the shutdown abandons it after the shutdown timeout.
#[test]
fn shutdown_abandons_a_process_stuck_in_its_destructor() {
    init();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = Runtime::builder().shutdown_timeout(Duration::from_millis(100)).build().unwrap();
        rt.block_on(|| {
            let me = self_pid();
            spawn(move || {
                let _wait = WaitForever(me);
                send(me, "started");
                loop {
                    receive::<()>();
                }
            });
            // The process has started: shutdown unwinds it into its
            // destructor, which waits for ever.
            assert_eq!(recv::<&str>(), "started");
        })
        .unwrap();
        drop(rt);
        let _ = done_tx.send(());
    });
    done_rx.recv_timeout(BOUND).expect("shutdown returned");
}

/// Issue 12.6: a destructor that panics during an exit makes Rust abort the
/// OS process; before it does, the panic message, location and pid are
/// printed.
#[test]
fn a_panic_in_drop_during_an_exit_says_what_happened() {
    let ended = child::run("a_panic_in_drop_during_an_exit_child");
    assert_eq!(ended.signal, Some(libc_sigabrt()), "Rust aborts: {ended:?}");
    let stderr = &ended.stderr;
    assert!(stderr.contains("panicked while it was unwinding"), "{stderr}");
    assert!(stderr.contains("\"drop failed\""), "the message: {stderr}");
    assert!(stderr.contains("containment.rs:"), "the location: {stderr}");
    let pid_line = stderr.lines().find(|l| l.contains("CHILD VICTIM")).expect("the child printed the pid");
    let pid = pid_line.rsplit(' ').next().unwrap();
    assert!(stderr.contains(&format!("remnant of {pid}")), "the pid {pid}: {stderr}");
}

fn libc_sigabrt() -> i32 {
    6
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop failed");
    }
}

#[test]
#[ignore = "run in a child process by its parent test"]
fn a_panic_in_drop_during_an_exit_child() {
    if !child::is("a_panic_in_drop_during_an_exit_child") {
        return;
    }
    init();
    common::run(|| {
        let me = self_pid();
        let victim = spawn(move || {
            let _bomb = PanicOnDrop;
            send(me, "armed");
            loop {
                receive::<()>();
            }
        });
        eprintln!("CHILD VICTIM {victim}");
        assert_eq!(recv::<&str>(), "armed");
        let m = monitor(victim);
        victim.exit(Reason::Kill);
        down_of(m);
        // Not reached: the panic in the destructor aborts (waiting with the
        // runtime's sleep, so the victim's thread is free to run it).
        ember_runtime::sleep(Duration::from_secs(10));
    });
}

/// A process that holds its worker until told to stop, without a runtime
/// call (a loop on an atomic, as a computation would).
fn hog(stop: Arc<AtomicBool>, started: Arc<AtomicUsize>) {
    started.fetch_add(1, Ordering::SeqCst);
    while !stop.load(Ordering::Relaxed) {
        std::hint::spin_loop();
    }
}

/// Waits on the test's thread (outside the runtime: no process of the test
/// may sit on a held worker) until `cond`, failing after [`BOUND`].
fn wait_outside(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + BOUND;
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Issue 12.7: with both workers held by processes that never return to the
/// runtime, everything that may move still runs — new processes, messages,
/// timers, floating processes — on a spare worker. It used to freeze until a
/// hog returned (here: until the test's bound).
///
/// What a held worker still delays is the processes pinned to it (see
/// `scheduler::placement`), so the test drives the runtime from outside and
/// checks with a floating process.
#[test]
fn two_hogs_on_two_workers_do_not_freeze_the_rest() {
    init();
    let rt = two_schedulers().build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let hogs: Vec<Pid> = (0..2)
        .map(|_| {
            let (s, st) = (stop.clone(), started.clone());
            rt.spawn(move || hog(s, st)).unwrap()
        })
        .collect();
    wait_outside("both hogs run", || started.load(Ordering::SeqCst) == 2);
    let (tx, rx) = mpsc::channel();
    // SAFETY: the checker holds no thread-bound state across its receives.
    let floating = unsafe { ember_runtime::SpawnOptions::new().free_migration() };
    rt.spawn(move || {
        let (checker, _) = ember_runtime::spawn_opt(
            move || {
                let me = self_pid();
                for i in 0..100u32 {
                    spawn(move || send(me, i));
                }
                let mut got: Vec<u32> = (0..100).map(|_| recv::<u32>()).collect();
                got.sort();
                ember_runtime::send_after(me, "tick", Duration::from_millis(20));
                let tick = recv::<&str>();
                let _ = tx.send((got, tick));
            },
            floating,
        );
        let _ = checker;
    })
    .unwrap();
    let outcome = rx.recv_timeout(BOUND);
    stop.store(true, Ordering::SeqCst);
    let (got, tick) = outcome.expect("the rest of the runtime ran while both workers were held");
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert_eq!(tick, "tick");
    wait_outside("the hogs are gone", || hogs.iter().all(|&h| !is_alive(h)));
}

/// Issue 12.7: a held worker is reported as a `long_schedule` through
/// `tracing`, naming the pid.
#[test]
fn a_held_worker_is_reported_as_a_long_schedule() {
    init();
    let rt = two_schedulers().build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let (s, st) = (stop.clone(), started.clone());
    let pid = rt.spawn(move || hog(s, st)).unwrap().to_string();
    wait_outside("the hog runs", || started.load(Ordering::SeqCst) == 1);
    let reported = |what: &str| {
        common::sysmon_reports()
            .iter()
            .any(|r| r.pid == pid && r.message.contains("long_schedule") && r.message.contains(what))
    };
    wait_outside("the hold is reported", || reported("has held worker"));
    stop.store(true, Ordering::SeqCst);
    wait_outside("its end is reported", || reported("held worker"));
    drop(rt);
}

/// Issue 12.8: dropping the runtime inside one of its own processes fails
/// clearly instead of deadlocking silently.
#[test]
fn dropping_the_runtime_inside_its_own_process_fails_clearly() {
    init();
    let (tx, rx) = mpsc::channel();
    let outer = Runtime::new().unwrap();
    let rt = Arc::new(Runtime::builder().schedulers(1).build().unwrap());
    let inner = rt.clone();
    drop(rt);
    let reason = outer.block_on(move || {
        // Hand the last handle to a process of that very runtime: a clone
        // goes in, and the process drops it once the spawning handle is gone.
        let last = inner.clone();
        let pid = inner
            .spawn(move || {
                receive::<()>();
                let message = match ember_runtime::catch_exit(move || drop(last)) {
                    Err(Reason::Panic { message, .. }) => message.to_string(),
                    other => format!("no panic: {other:?}"),
                };
                let _ = tx.send(message);
            })
            .unwrap();
        drop(inner);
        send(pid, ());
    });
    reason.unwrap();
    let message = rx.recv_timeout(BOUND).expect("the drop returned instead of deadlocking");
    assert!(message.contains("dropped inside one of its own processes"), "{message}");
}

/// Issue 12.8: an absurd stack size is a build error, not a runtime where
/// every process dies.
#[test]
fn an_absurd_stack_size_is_a_build_error() {
    let error = Runtime::builder().stack_size(1 << 40).build().unwrap_err();
    let message = error.to_string();
    assert!(message.contains("1099511627776"), "{message}");
}
