//! Timers: `sleep`, `send_after` / `cancel_timer`, receive timeouts, and
//! 100,000 pending timers.

mod common;

use common::{init, recv};
use ember_runtime::{
    cancel_timer, receive, receive_timeout, self_pid, send, send_after, sleep, spawn, spawn_monitor, Reason,
};
use std::time::{Duration, Instant};

#[derive(Debug, PartialEq)]
struct Cancelled;
#[derive(Debug, PartialEq)]
struct Later;

#[test]
fn sleep_suspends_the_process_for_at_least_the_duration() {
    init();
    common::run(|| {
        let me = self_pid();
        let start = Instant::now();
        sleep(Duration::from_millis(20));
        assert!(start.elapsed() >= Duration::from_millis(20), "a timer never fires early");
        // Messages keep arriving while a process sleeps, and are kept.
        let (_, m) = spawn_monitor(move || send(me, 5u8));
        sleep(Duration::from_millis(1));
        assert_eq!(common::down_of(m).reason, Reason::Normal);
        assert_eq!(recv::<u8>(), 5);
        sleep(Duration::ZERO);
    });
}

#[test]
fn send_after_delivers_the_message() {
    init();
    common::run(|| {
        let me = self_pid();
        let start = Instant::now();
        let t = send_after(me, "tick", Duration::from_millis(15));
        assert!(t.deadline() >= start + Duration::from_millis(15));
        assert_eq!(recv::<&str>(), "tick");
        assert!(Instant::now() >= t.deadline(), "not delivered before its deadline");
        // To another process, and from a plain thread.
        let other = spawn(move || {
            let n: u32 = receive();
            send(me, n);
        });
        send_after(other, 7u32, Duration::from_millis(1));
        assert_eq!(recv::<u32>(), 7);
        std::thread::spawn(move || {
            send_after(me, 9u64, Duration::from_millis(1));
        })
        .join()
        .unwrap();
        assert_eq!(recv::<u64>(), 9);
    });
}

#[test]
fn cancel_timer_before_it_fires_returns_the_time_left_and_the_message_never_arrives() {
    init();
    common::run(|| {
        let me = self_pid();
        let t = send_after(me, Cancelled, Duration::from_millis(30));
        let left = cancel_timer(t).expect("cancelled before firing");
        assert!(left <= Duration::from_millis(30));
        assert_eq!(cancel_timer(t), None, "a second cancel finds nothing");
        // A later timer from the same process fires after the cancelled
        // deadline had passed; by then the cancelled one would have fired.
        send_after(me, Later, Duration::from_millis(60));
        assert_eq!(recv::<Later>(), Later);
        assert!(Instant::now() >= t.deadline());
        assert_eq!(receive_timeout::<Cancelled>(Duration::ZERO), None);
    });
}

#[test]
fn cancel_timer_of_a_timer_whose_target_exited_returns_none() {
    init();
    common::run(|| {
        // The BEAM cancels a process's timers when it exits: there is nothing
        // left to cancel, so `cancel_timer` says so.
        let (target, m) = spawn_monitor(|| {
            receive::<()>();
        });
        let t = send_after(target, Cancelled, Duration::from_secs(60));
        send(target, ());
        let down = common::down_of(m);
        assert_eq!(down.reason, Reason::Normal);
        assert_eq!(cancel_timer(t), None);
        // A live target's timer still cancels with the time left.
        let t = send_after(self_pid(), Cancelled, Duration::from_secs(60));
        assert!(cancel_timer(t).is_some());
    });
}

#[test]
fn cancel_timer_after_it_fired_returns_none() {
    init();
    common::run(|| {
        let me = self_pid();
        let t = send_after(me, 1u8, Duration::from_millis(1));
        assert_eq!(recv::<u8>(), 1);
        assert_eq!(cancel_timer(t), None);
    });
}

#[test]
fn a_receive_timeout_returns_none_and_is_not_reset_by_other_messages() {
    init();
    common::run(|| {
        let me = self_pid();
        assert_eq!(receive_timeout::<u32>(Duration::from_millis(10)), None);
        // A flood of non-matching messages does not restart the timer.
        let flood = spawn(move || loop {
            send(me, 0u8);
            ember_runtime::yield_now();
        });
        let start = Instant::now();
        assert_eq!(receive_timeout::<u32>(Duration::from_millis(50)), None);
        assert!(start.elapsed() >= Duration::from_millis(50));
        let m = ember_runtime::monitor(flood);
        flood.exit(Reason::Kill);
        common::down_of(m);
        assert!(receive_timeout::<u8>(Duration::ZERO).is_some(), "the flood was not consumed");
    });
}

/// Every timer of the runtime not yet fired, on every queue.
fn timers_pending() -> usize {
    let snap = ember_runtime::snapshot();
    snap.workers.iter().map(|w| w.timers_pending).sum::<usize>() + snap.external_timers_pending
}

/// Waits in a receive for `timeout`, answered after a millisecond: the wait
/// leaves its wake-up pending (`time::PendingWake`).
fn wait_answered(timeout: Duration) {
    send_after(self_pid(), Later, Duration::from_millis(1));
    assert_eq!(receive_timeout::<Later>(timeout), Some(Later));
}

#[test]
fn a_wake_left_pending_by_a_longer_wait_does_not_delay_a_shorter_one() {
    init();
    common::run(|| {
        wait_answered(Duration::from_secs(600));
        let start = Instant::now();
        assert_eq!(receive_timeout::<Cancelled>(Duration::from_millis(20)), None);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(20), "a timer never fires early: {took:?}");
        assert!(took < Duration::from_secs(60), "the shorter wait armed its own wake: {took:?}");
        // The same for sleep and for a wait in between.
        wait_answered(Duration::from_secs(600));
        let start = Instant::now();
        sleep(Duration::from_millis(20));
        assert!(start.elapsed() < Duration::from_secs(60));
    });
}

#[test]
fn a_wake_left_pending_does_not_end_a_later_receive_and_exit_cancels_it() {
    init();
    // The root waits without timeouts here (`recv` has one): its own wakes
    // would be counted too. The run's deadline bounds the test.
    common::run(|| {
        let me = self_pid();
        let before = timers_pending();
        let waiter = spawn(move || {
            // A wake due in a few ms stays pending after this wait ends...
            wait_answered(Duration::from_millis(5));
            // ...and fires while the process waits in a receive of no
            // timeout, which must go on waiting.
            send(me, 1u8);
            let Later = receive::<Later>();
            // A wake due in 10 minutes, pending when the process exits.
            wait_answered(Duration::from_secs(600));
            send(me, 2u8);
            receive::<Cancelled>();
        });
        assert_eq!(receive::<u8>(), 1);
        // Bounded: the 5 ms wake fires (its timer is then no longer pending).
        let bound = Instant::now() + Duration::from_secs(30);
        while timers_pending() > before {
            assert!(Instant::now() < bound, "the pending wake never fired");
            // Not a sleep: that would leave a wake of this process pending.
            ember_runtime::yield_now();
        }
        assert!(ember_runtime::is_alive(waiter), "a spurious wake-up ended the receive");
        send(waiter, Later);
        assert_eq!(receive::<u8>(), 2);
        assert_eq!(timers_pending(), before + 1, "the 10-minute wake is pending");
        let m = ember_runtime::monitor(waiter);
        send(waiter, Cancelled);
        assert_eq!(receive::<ember_runtime::Down>().monitor, m);
        assert_eq!(timers_pending(), before, "the exit cancelled the process's pending wake");
    });
}

#[test]
fn a_loop_of_answered_timed_waits_keeps_one_timer_pending() {
    init();
    common::run(|| {
        let before = timers_pending();
        for _ in 0..100 {
            wait_answered(Duration::from_secs(600));
        }
        assert_eq!(timers_pending(), before + 1);
    });
}

#[test]
fn one_hundred_thousand_pending_send_after_timers_all_fire() {
    init();
    common::run(|| {
        const N: u32 = 100_000;
        let me = self_pid();
        // Spread over 10 processes (several workers' timer queues) and 200 ms.
        let armers: Vec<_> = (0..10u32)
            .map(|p| {
                spawn_monitor(move || {
                    for i in (p..N).step_by(10) {
                        send_after(me, i, Duration::from_millis(u64::from(i % 200) + 1));
                    }
                })
            })
            .collect();
        for (_, m) in armers {
            assert_eq!(common::down_of(m).reason, Reason::Normal, "the timers survive the process that armed them");
        }
        let mut seen = vec![false; N as usize];
        for _ in 0..N {
            let i: u32 = recv();
            assert!(!seen[i as usize], "timer {i} fired twice");
            seen[i as usize] = true;
        }
        assert_eq!(receive_timeout::<u32>(Duration::ZERO), None);
    });
}
