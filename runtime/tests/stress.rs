//! 100,000-process stress tests (run in CI; sized for a 2-core machine in
//! debug mode).

mod common;

use common::{init, recv, wait_processes, wait_until, BOUND};
use ember_runtime::{monitor, receive, self_pid, send, spawn, spawn_monitor, stats, Down, Pid, Reason};

const N: usize = 100_000;

#[test]
fn one_hundred_thousand_processes_spawn_and_exit_all_awaited() {
    init();
    common::run(|| {
        let me = self_pid();
        let mut monitors = Vec::with_capacity(N);
        for i in 0..N {
            let (_, m) = spawn_monitor(move || {
                if i % 10 == 0 {
                    send(me, i);
                }
            });
            monitors.push(m);
        }
        // Take messages in arrival order (a selective receive would rescan
        // the skipped ones every time).
        let mut downs = 0;
        let mut seen = vec![false; N];
        let mut reports = 0;
        while downs < N || reports < N / 10 {
            let msg = ember_runtime::receive_any_timeout(BOUND).expect("every process exits");
            match msg.downcast::<Down>() {
                Ok(down) => {
                    assert_eq!(down.reason, Reason::Normal);
                    downs += 1;
                }
                Err(msg) => {
                    let i = *msg.downcast::<usize>().expect("a report");
                    assert!(!seen[i]);
                    seen[i] = true;
                    reports += 1;
                }
            }
        }
        drop(monitors);
        wait_processes(1);
    });
}

#[test]
fn one_hundred_thousand_processes_alive_at_once_blocked_in_receive_then_killed() {
    init();
    common::run(|| {
        let me = self_pid();
        let start_stacks = stats().stacks_in_use;
        let pids: Vec<Pid> = (0..N)
            .map(|_| {
                spawn(move || {
                    send(me, ());
                    receive::<u64>();
                    unreachable!("killed while waiting");
                })
            })
            .collect();
        for _ in 0..N {
            recv::<()>();
        }
        // All of them are alive at once, each waiting in receive.
        assert_eq!(stats().processes, N + 1);
        assert!(stats().stacks_in_use >= N, "{:?}", stats());
        let monitors: Vec<_> = pids.iter().map(|p| monitor(*p)).collect();
        for p in &pids {
            p.exit(Reason::Kill);
        }
        for _ in &monitors {
            let down: Down = ember_runtime::receive_timeout(BOUND).expect("every process dies");
            assert_eq!(down.reason, Reason::Killed);
        }
        wait_processes(1);
        wait_until("the stacks are back", || stats().stacks_in_use <= start_stacks + 64 * stats().schedulers);
    });
}

#[test]
fn one_hundred_thousand_hibernated_processes_alive_at_once_then_killed() {
    init();
    common::run(|| {
        let me = self_pid();
        let pids: Vec<Pid> = (0..N)
            .map(|_| {
                spawn(move || {
                    send(me, ());
                    ember_runtime::hibernate(|| {
                        receive::<u64>();
                        unreachable!("killed while hibernating");
                    })
                })
            })
            .collect();
        for _ in 0..N {
            recv::<()>();
        }
        // All alive at once, each waiting for a message without a stack.
        assert_eq!(stats().processes, N + 1);
        let monitors: Vec<_> = pids.iter().map(|p| monitor(*p)).collect();
        for p in &pids {
            p.exit(Reason::Kill);
        }
        for _ in &monitors {
            let down: Down = ember_runtime::receive_timeout(BOUND).expect("every process dies");
            assert_eq!(down.reason, Reason::Killed);
        }
        wait_processes(1);
    });
}

/// Wake-ups are never lost under cross-worker traffic: 100 ping-pong pairs
/// (yielding now and then, so wakers find their targets SCHEDULED as well
/// as RUNNING and IDLE) and 20 senders flooding one busy receiver, all with
/// receives that wait without a timeout. A lost wake-up hangs a process and
/// the run fails its deadline. Races too narrow to hit here in a debug
/// build (such as the store-buffer race of the inbox's lock-free `pending`
/// check, which hung a release build once in ~10M round trips) are
/// model-checked by the loom tests of `scheduler::state` instead.
#[test]
fn wake_ups_are_never_lost_under_cross_worker_traffic() {
    init();
    enum Ping {
        From(Pid),
        Stop,
    }
    struct Pong;
    struct Done;
    common::run(|| {
        let me = self_pid();
        for _ in 0..3 {
            let pairs = 100;
            for _ in 0..pairs {
                spawn(move || {
                    let echo = spawn(|| loop {
                        match receive::<Ping>() {
                            Ping::From(from) => send(from, Pong),
                            Ping::Stop => return,
                        }
                    });
                    let a = self_pid();
                    for i in 0..500u32 {
                        send(echo, Ping::From(a));
                        receive::<Pong>();
                        if i % 37 == 0 {
                            ember_runtime::yield_now();
                        }
                    }
                    send(echo, Ping::Stop);
                    send(me, Done);
                });
            }
            let senders = 20;
            let each = 500u32;
            let sink = spawn(move || {
                for _ in 0..senders * each {
                    receive::<u32>();
                }
                send(me, Done);
            });
            for _ in 0..senders {
                spawn(move || {
                    for i in 0..each {
                        send(sink, i);
                    }
                });
            }
            for _ in 0..pairs + 1 {
                recv::<Done>();
            }
        }
        wait_processes(1);
    });
}
