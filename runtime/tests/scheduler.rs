//! The runtime core (issue 3): pids, spawning, process ends, `run`, the
//! scheduler (fairness, `yield_now`, `blocking`), hibernation, runtime
//! configurations and shutdown.

mod common;

use common::{init, recv, wait_until, with_deadline, Guard, BOUND};
use ember_runtime::{
    blocking, exit, hibernate, is_alive, monitor, process_info, receive, self_pid, send, spawn, spawn_monitor,
    spawn_opt, stats, trap_exit, yield_now, Down, Exit, Pid, Reason, Runtime, SpawnOptions, Status,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Parses `<node.index.serial>`.
fn parse_pid(pid: Pid) -> (u32, u32, u32) {
    let s = pid.to_string();
    assert!(s.starts_with('<') && s.ends_with('>'), "{s}");
    let parts: Vec<u32> = s[1..s.len() - 1].split('.').map(|p| p.parse().expect("a number")).collect();
    assert_eq!(parts.len(), 3, "{s}");
    assert_eq!(format!("{pid:?}"), s, "Debug and Display agree");
    (parts[0], parts[1], parts[2])
}

#[test]
fn pid_displays_as_node_index_serial_and_pids_are_unique() {
    init();
    common::run(|| {
        let me = self_pid();
        let (node, _, _) = parse_pid(me);
        assert_eq!(node, me.node());
        let root = me;
        let pids: Vec<Pid> = (0..2_000)
            .map(|_| {
                spawn(move || {
                    receive::<()>();
                    send(root, ());
                })
            })
            .collect();
        let mut seen = HashSet::new();
        assert!(seen.insert(me));
        for &pid in &pids {
            assert_eq!(parse_pid(pid).0, node, "every pid of a runtime carries its node");
            assert!(seen.insert(pid), "{pid} handed out twice");
        }
        let texts: HashSet<String> = pids.iter().map(|p| p.to_string()).collect();
        assert_eq!(texts.len(), pids.len(), "distinct pids display distinctly");
        for &pid in &pids {
            send(pid, ());
        }
        for _ in &pids {
            recv::<()>();
        }
    });
    // Two runtimes of one OS process are different nodes.
    let a = ember_runtime::run(|| self_pid().node()).unwrap();
    let b = ember_runtime::run(|| self_pid().node()).unwrap();
    assert_ne!(a, b);
}

#[test]
fn a_reused_slot_never_aliases_a_dead_pid() {
    init();
    common::run(|| {
        // Spawn and finish many processes, keeping their pids.
        let mut old = Vec::new();
        for _ in 0..20 {
            let batch: Vec<_> = (0..500).map(|_| spawn_monitor(|| {})).collect();
            for (pid, m) in batch {
                assert_eq!(common::down_of(m).reason, Reason::Normal);
                old.push(pid);
            }
        }
        common::wait_processes(1);
        // New processes reuse the freed slots.
        let root = self_pid();
        let fresh: Vec<Pid> = (0..2_000)
            .map(|_| {
                spawn(move || {
                    let first = ember_runtime::receive_any();
                    let probe = first.downcast_ref::<&str>() == Some(&"probe");
                    send(root, (self_pid(), probe));
                })
            })
            .collect();
        let old_slots: HashSet<u32> = old.iter().map(|p| parse_pid(*p).1).collect();
        let reused = fresh.iter().filter(|p| old_slots.contains(&parse_pid(**p).1)).count();
        assert!(reused > 0, "the test needs reused slots");
        let fresh_set: HashSet<Pid> = fresh.iter().copied().collect();
        for pid in &old {
            assert!(!fresh_set.contains(pid), "{pid} names a dead process and a live one");
            assert!(!is_alive(*pid));
            assert!(process_info(*pid).is_none());
            // A silent no-op, and never delivered to the slot's new occupant:
            // these are sent before the probes, so an aliased delivery would
            // arrive first.
            send(*pid, "poison");
            pid.exit(Reason::Kill);
        }
        for &pid in &fresh {
            send(pid, "probe");
        }
        for _ in &fresh {
            let (pid, probe): (Pid, bool) = recv();
            assert!(probe, "{pid} got a message or signal sent to a dead pid of its slot");
        }
    });
}

#[test]
fn spawn_from_inside_processes() {
    init();
    common::run(|| {
        fn tree(depth: u32, report: Pid) {
            if depth == 0 {
                send(report, 1u64);
                return;
            }
            for _ in 0..2 {
                spawn(move || tree(depth - 1, report));
            }
        }
        let me = self_pid();
        spawn(move || tree(9, me));
        let leaves: u64 = (0..512).map(|_| recv::<u64>()).sum();
        assert_eq!(leaves, 512);
    });
}

#[test]
fn runtime_spawn_from_a_plain_thread() {
    init();
    let rt = Runtime::new().unwrap();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::scope(|s| {
        s.spawn(|| {
            assert!(ember_runtime::try_self_pid().is_none());
            let tx = tx.clone();
            rt.spawn(move || tx.send(self_pid()).unwrap()).unwrap()
        })
        .join()
        .unwrap()
    });
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), spawned);
    assert_eq!(spawned.node(), rt.block_on(|| self_pid().node()).unwrap());
}

#[test]
fn send_from_a_plain_os_thread() {
    init();
    common::run(|| {
        let me = self_pid();
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                std::thread::spawn(move || {
                    assert!(ember_runtime::try_self_pid().is_none());
                    for i in 0..1_000u64 {
                        send(me, (t, i));
                    }
                })
            })
            .collect();
        let mut next = [0u64; 4];
        for _ in 0..4_000 {
            let (t, i): (u64, u64) = recv();
            assert_eq!(i, next[t as usize], "per-thread order");
            next[t as usize] += 1;
        }
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn a_panic_ends_only_its_process_with_message_and_location() {
    init();
    common::run(|| {
        let me = self_pid();
        let bystander = spawn(move || loop {
            let n: u32 = receive();
            send(me, n + 1);
        });
        let line = Arc::new(AtomicU64::new(0));
        let l = line.clone();
        let (pid, m) = spawn_monitor(move || {
            l.store(u64::from(line!()) + 1, Ordering::SeqCst);
            panic!("boom {}", 42);
        });
        let down = common::down_of(m);
        assert_eq!(down.pid, pid);
        match down.reason {
            Reason::Panic { message, location } => {
                assert_eq!(&*message, "boom 42");
                let location = location.expect("a panic inside a process has a location");
                assert!(location.file.ends_with("scheduler.rs"), "{location}");
                assert_eq!(u64::from(location.line), line.load(Ordering::SeqCst), "{location}");
            }
            other => panic!("expected a panic, got {other:?}"),
        }
        // The panic ended that process only.
        send(bystander, 1u32);
        assert_eq!(recv::<u32>(), 2);
        assert!(is_alive(bystander) && is_alive(me));
        bystander.exit(Reason::Kill);
    });
}

#[test]
fn the_runtime_keeps_working_after_many_panics() {
    init();
    common::run(|| {
        let mut monitors = Vec::new();
        for i in 0..2_000u32 {
            let (_, m) = spawn_monitor(move || {
                if i % 2 == 0 {
                    panic!("panic {i}");
                }
                let v: Vec<u8> = Vec::new();
                let _ = v[i as usize]; // index out of bounds
            });
            monitors.push(m);
        }
        for m in monitors {
            assert!(matches!(common::down_of(m).reason, Reason::Panic { .. }));
        }
        common::wait_processes(1);
        // Still spawning, messaging and panicking normally.
        let me = self_pid();
        let pids: Vec<Pid> = (0..100u32).map(|i| spawn(move || send(me, i))).collect();
        let sum: u32 = pids.iter().map(|_| recv::<u32>()).sum();
        assert_eq!(sum, (0..100).sum());
        let (_, m) = spawn_monitor(|| panic!("one more"));
        assert!(matches!(common::down_of(m).reason, Reason::Panic { message, .. } if &*message == "one more"));
    });
    assert!(matches!(ember_runtime::run(|| panic!("root")), Err(Reason::Panic { .. })));
}

#[test]
fn exit_ends_the_process_and_runs_destructors() {
    init();
    common::run(|| {
        let (tx, rx) = mpsc::channel();
        let (pid, m) = spawn_monitor(move || {
            let _outer = Guard(tx.clone(), "outer");
            let _inner = Guard(tx, "inner");
            if std::hint::black_box(true) {
                exit(Reason::custom("bye"));
            }
            // Not reached: exit does not return.
            send(self_pid(), "reached");
        });
        let down = common::down_of(m);
        assert_eq!((down.pid, down.reason), (pid, Reason::custom("bye")));
        assert_eq!(rx.recv_timeout(BOUND).unwrap(), "inner");
        assert_eq!(rx.recv_timeout(BOUND).unwrap(), "outer");
        assert!(rx.try_recv().is_err(), "destructors ran once");
    });
}

#[test]
fn returning_gives_normal() {
    init();
    common::run(|| {
        let (pid, m) = spawn_monitor(|| {
            let _ = 1 + 1;
        });
        assert_eq!(common::down_of(m), Down { monitor: m, pid, name: None, reason: Reason::Normal });
    });
}

#[test]
fn run_returns_the_value_or_the_exit_reason() {
    init();
    assert_eq!(ember_runtime::run(|| 6 * 7), Ok(42));
    assert_eq!(ember_runtime::run(|| String::from("s")), Ok(String::from("s")));
    assert_eq!(ember_runtime::run(|| -> u8 { exit(Reason::custom("failed")) }), Err(Reason::custom("failed")));
    assert_eq!(ember_runtime::run(|| -> u8 { exit(Reason::Normal) }), Err(Reason::Normal));
    match ember_runtime::run(|| -> u8 { panic!("root panicked") }) {
        Err(Reason::Panic { message, .. }) => assert_eq!(&*message, "root panicked"),
        other => panic!("{other:?}"),
    }
    // Killed through a link.
    let r = ember_runtime::run(|| {
        ember_runtime::spawn_link(|| exit(Reason::Shutdown));
        receive::<()>()
    });
    assert_eq!(r, Err(Reason::Shutdown));
    // Block_on on one runtime, repeatedly.
    let rt = Runtime::new().unwrap();
    for i in 0..5 {
        assert_eq!(rt.block_on(move || i + 1), Ok(i + 1));
    }
}

#[test]
fn yield_now_lets_two_looping_processes_both_progress() {
    init();
    const N: u64 = 1_000;
    let result = with_deadline(Runtime::builder().schedulers(1), Duration::from_secs(60), || {
        let a = Arc::new(AtomicU64::new(0));
        let b = Arc::new(AtomicU64::new(0));
        let looper = |mine: Arc<AtomicU64>, other: Arc<AtomicU64>| {
            move || {
                // Needs the other process to make progress while this one
                // loops: only possible if yield_now lets it run.
                while other.load(Ordering::SeqCst) < N {
                    mine.fetch_add(1, Ordering::SeqCst);
                    yield_now();
                }
                mine.fetch_add(N, Ordering::SeqCst);
            }
        };
        let (_, m1) = spawn_monitor(looper(a.clone(), b.clone()));
        let (_, m2) = spawn_monitor(looper(b.clone(), a.clone()));
        assert_eq!(common::down_of(m1).reason, Reason::Normal);
        assert_eq!(common::down_of(m2).reason, Reason::Normal);
        (a.load(Ordering::SeqCst), b.load(Ordering::SeqCst))
    })
    .unwrap();
    assert!(result.0 >= N && result.1 >= N, "{result:?}");
}

#[test]
fn a_self_sending_spinner_does_not_starve_a_round_trip() {
    init();
    with_deadline(Runtime::builder().schedulers(1), Duration::from_secs(60), || {
        let me = self_pid();
        let echo = spawn(move || loop {
            let n: u32 = receive();
            send(me, n);
        });
        // Never receives, never waits: only the reductions budget makes it
        // yield (send costs reductions).
        let spinner = spawn(move || {
            send(me, "spinning");
            loop {
                send(self_pid(), ());
            }
        });
        assert_eq!(recv::<&str>(), "spinning");
        for i in 0..50u32 {
            send(echo, i);
            assert_eq!(recv::<u32>(), i);
        }
        let m = monitor(spinner);
        spinner.exit(Reason::Kill);
        assert_eq!(common::down_of(m).reason, Reason::Killed);
        echo.exit(Reason::Kill);
    })
    .unwrap();
}

/// A pair of processes that wake each other forever hands the worker from
/// one to the other through the run-next slot; the processes pinned to the
/// same worker must still get their turn (no other worker may run them).
#[test]
fn a_ping_pong_pair_does_not_starve_the_processes_pinned_beside_it() {
    init();
    for schedulers in [1, 2] {
        with_deadline(Runtime::builder().schedulers(schedulers), Duration::from_secs(60), || {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let pair = {
                let stop = stop.clone();
                spawn(move || {
                    let pong = spawn(|| loop {
                        let (from, n): (Pid, u64) = receive();
                        send(from, n);
                    });
                    let me = self_pid();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        send(pong, (me, n));
                        n = receive::<u64>() + 1;
                    }
                    pong.exit(Reason::Kill);
                })
            };
            // The root, started (and so pinned) beside the pair, waits for
            // 50 timer wake-ups while the pair runs.
            let me = self_pid();
            for i in 0..50u32 {
                ember_runtime::send_after(me, i, Duration::from_millis(1));
                assert_eq!(recv::<u32>(), i);
            }
            let m = monitor(pair);
            stop.store(true, Ordering::Relaxed);
            common::down_of(m);
        })
        .unwrap();
    }
}

#[test]
fn blocking_runs_off_the_worker() {
    init();
    // One worker: if `blocking` blocked it, the filler could never run and
    // the blocked closure would wait for ever.
    with_deadline(Runtime::builder().schedulers(1), Duration::from_secs(60), || {
        let me = self_pid();
        let (tx, rx) = mpsc::channel::<u32>();
        let (pid, m) = spawn_monitor(move || {
            let got = blocking(move || rx.recv_timeout(Duration::from_secs(30)).expect("the filler ran"));
            send(me, got);
        });
        // The filler runs only once the blocker has suspended in blocking.
        let filler = spawn(move || {
            let v: u32 = receive();
            tx.send(v).unwrap();
        });
        send(filler, 17u32);
        assert_eq!(recv::<u32>(), 17);
        assert_eq!(common::down_of(m).reason, Reason::Normal);
        assert!(!is_alive(pid));
    })
    .unwrap();
}

#[test]
fn blocking_returns_the_closures_value() {
    init();
    common::run(|| {
        let local = [1u64, 2, 3];
        // The closure may borrow from the process's stack.
        let sum = blocking(|| {
            assert!(ember_runtime::try_self_pid().is_none(), "runs on a pool thread");
            local.iter().sum::<u64>()
        });
        assert_eq!(sum, 6);
        let s: String = blocking(|| String::from("from the pool"));
        assert_eq!(s, "from the pool");
    });
    // Outside a process it simply runs f.
    assert_eq!(blocking(|| 5), 5);
}

#[test]
fn a_panic_in_blocking_becomes_the_process_exit() {
    init();
    common::run(|| {
        let (tx, rx) = mpsc::channel();
        let (_, m) = spawn_monitor(move || {
            let _g = Guard(tx, ());
            let _: u32 = blocking(|| panic!("failed in blocking"));
            unreachable!();
        });
        match common::down_of(m).reason {
            Reason::Panic { message, .. } => assert_eq!(&*message, "failed in blocking"),
            other => panic!("{other:?}"),
        }
        rx.recv_timeout(BOUND).expect("the process's stack unwound");
    });
}

#[test]
fn a_hibernated_process_holds_no_stack_and_wakes_on_a_message() {
    init();
    common::run(|| {
        let me = self_pid();
        let pid = spawn(move || {
            receive::<&str>(); // "hibernate"
            hibernate(move || {
                let n: u32 = receive();
                send(me, n + 1);
                receive::<&str>();
            })
        });
        wait_until("the process waits in receive", || {
            process_info(pid).is_some_and(|i| i.status == Status::Waiting && i.stack_bytes > 0)
        });
        send(pid, "hibernate");
        wait_until("the process hibernates", || process_info(pid).unwrap().status == Status::Hibernating);
        assert_eq!(process_info(pid).unwrap().stack_bytes, 0);
        send(pid, 41u32);
        assert_eq!(recv::<u32>(), 42);
        wait_until("it waits again, on a stack", || {
            process_info(pid).is_some_and(|i| i.status == Status::Waiting && i.stack_bytes > 0)
        });
        send(pid, "stop");
    });
}

#[test]
fn hibernating_lowers_stats_stacks_in_use() {
    init();
    common::run(|| {
        let pid = spawn(move || {
            receive::<&str>(); // "hibernate"
            hibernate(move || {
                receive::<&str>();
            })
        });
        wait_until("the process waits in receive", || {
            process_info(pid).is_some_and(|i| i.status == Status::Waiting && i.stack_bytes > 0)
        });
        let before = stats().stacks_in_use;
        send(pid, "hibernate");
        wait_until("the process hibernates", || process_info(pid).unwrap().status == Status::Hibernating);
        assert_eq!(stats().stacks_in_use, before - 1, "the hibernated process gave its stack back");
        send(pid, "stop");
    });
}

#[test]
fn hibernate_keeps_the_mailbox_and_trap_exit() {
    init();
    common::run(|| {
        let me = self_pid();
        let (tx, rx) = mpsc::channel();
        let pid = spawn(move || {
            trap_exit(true);
            let _g = Guard(tx, "unwound");
            receive::<&str>(); // "go"
            hibernate(move || {
                // Messages that arrived before hibernating are still there, in order.
                let a: u32 = receive();
                let b: u32 = receive();
                send(me, (a, b));
                hibernate(move || {
                    // Woken by an exit signal turned into a message: still trapping.
                    let e: Exit = receive();
                    send(me, e);
                    assert!(trap_exit(false), "trap_exit survived hibernation");
                })
            })
        });
        send(pid, 1u32);
        send(pid, 2u32);
        send(pid, "go");
        assert_eq!(recv::<(u32, u32)>(), (1, 2));
        assert_eq!(rx.recv_timeout(BOUND).unwrap(), "unwound", "hibernate unwinds the old stack");
        wait_until("the process hibernates", || process_info(pid).unwrap().status == Status::Hibernating);
        assert!(process_info(pid).unwrap().trap_exit);
        let m = monitor(pid);
        pid.exit(Reason::custom("wake up"));
        let e: Exit = recv();
        assert_eq!(e, Exit { from: me, reason: Reason::custom("wake up") });
        assert_eq!(common::down_of(m).reason, Reason::Normal);
    });
}

fn workload() -> u64 {
    let me = self_pid();
    // Ping-pong through a chain, plus many short-lived processes.
    let echo = spawn(move || loop {
        let n: u64 = receive();
        send(me, n * 2);
    });
    let mut total = 0;
    for i in 0..1_000u64 {
        send(echo, i);
        total += recv::<u64>();
    }
    let pids: Vec<Pid> = (0..1_000u64).map(|i| spawn(move || send(me, (0u8, i)))).collect();
    for _ in &pids {
        total += recv::<(u8, u64)>().1;
    }
    echo.exit(Reason::Kill);
    total
}

#[test]
fn one_scheduler_and_four_schedulers_both_work() {
    init();
    let expected = (0..1_000u64).map(|i| i * 2).sum::<u64>() + (0..1_000u64).sum::<u64>();
    for n in [1, 4] {
        let total = with_deadline(Runtime::builder().schedulers(n), Duration::from_secs(60), move || {
            assert_eq!(stats().schedulers, n);
            workload()
        })
        .unwrap();
        assert_eq!(total, expected, "{n} schedulers");
    }
}

#[test]
fn dropping_an_idle_runtime_terminates_waiting_processes_and_runs_destructors() {
    init();
    let (tx, rx) = mpsc::channel();
    let (started_tx, started_rx) = mpsc::channel();
    let rt = Runtime::builder().schedulers(2).build().unwrap();
    const N: usize = 100;
    for i in 0..N {
        let tx = tx.clone();
        let started = started_tx.clone();
        rt.spawn(move || {
            let _g = Guard(tx, i);
            // Shutdown is untrappable.
            trap_exit(i % 2 == 0);
            started.send(()).unwrap();
            match i % 3 {
                0 => {
                    receive::<()>();
                }
                1 => {
                    ember_runtime::receive_timeout::<()>(Duration::from_secs(3600));
                }
                _ => ember_runtime::sleep(Duration::from_secs(3600)),
            }
            unreachable!("woken only by the shutdown");
        })
        .unwrap();
    }
    drop(tx);
    for _ in 0..N {
        started_rx.recv_timeout(BOUND).unwrap();
    }
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(rt); // joins the worker threads
        done_tx.send(()).unwrap();
    });
    done_rx.recv_timeout(BOUND).expect("drop(Runtime) returned");
    let mut dropped: Vec<usize> = rx.iter().collect();
    dropped.sort_unstable();
    assert_eq!(dropped, (0..N).collect::<Vec<_>>(), "every waiting process unwound");
}

#[test]
fn spawn_with_a_custom_stack_size() {
    init();
    #[inline(never)]
    fn deep(n: u32) -> u64 {
        let frame = std::hint::black_box([n as u8; 1024]);
        if n == 0 {
            return frame[0] as u64;
        }
        deep(n - 1) + std::hint::black_box(frame[1]) as u64
    }
    common::run(|| {
        let me = self_pid();
        // About 1 MiB of frames (more in debug builds): far beyond the
        // default 256 KiB.
        let (_, m) =
            spawn_opt(move || send(me, deep(1_000)), SpawnOptions::new().monitor().stack_size(8 * 1024 * 1024));
        let expected: u64 = (1..=1_000u64).map(|n| n as u8 as u64).sum();
        assert_eq!(recv::<u64>(), expected);
        assert_eq!(common::down_of(m.unwrap()).reason, Reason::Normal);
        // A small stack works for a small process.
        let (_, m) = spawn_opt(move || send(me, deep(4)), SpawnOptions::new().monitor().stack_size(32 * 1024));
        assert_eq!(recv::<u64>(), 4 + 3 + 2 + 1);
        assert_eq!(common::down_of(m.unwrap()).reason, Reason::Normal);
    });
}
