//! Mailboxes and selective receive (SEMANTICS.md §2): which message a receive
//! takes, what stays and in which order, per-sender FIFO, big mailboxes.

mod common;

use common::{init, recv, with_deadline};
use ember_runtime::{
    receive, receive_any, receive_any_timeout, receive_if, receive_if_timeout, receive_timeout, self_pid, send, spawn,
    spawn_monitor, Reason, Runtime, Select,
};
use std::time::Duration;

#[derive(Debug, PartialEq)]
struct X;
#[derive(Debug, PartialEq)]
struct Y;
#[derive(Debug, PartialEq)]
struct Z;

#[test]
fn receive_takes_the_first_message_of_its_type() {
    init();
    common::run(|| {
        let me = self_pid();
        send(me, 'a');
        send(me, 1u32);
        send(me, 'b');
        send(me, 2u32);
        assert_eq!(receive::<u32>(), 1);
        assert_eq!(receive::<char>(), 'a');
        assert_eq!(receive::<u32>(), 2);
        assert_eq!(receive::<char>(), 'b');
        send(me, 3u8);
        let any = receive_any();
        assert_eq!(any.downcast_ref::<u8>(), Some(&3));
        assert!(receive_any_timeout(Duration::ZERO).is_none());
    });
}

#[test]
fn receive_if_takes_the_first_message_its_predicate_accepts() {
    init();
    common::run(|| {
        let me = self_pid();
        for i in [5u32, 8, 3, 10, 7] {
            send(me, i);
        }
        send(me, 100u64); // another type never matches
        assert_eq!(receive_if(|n: &u32| n % 2 == 0), 8);
        assert_eq!(receive_if(|n: &u32| *n > 5), 10);
        assert_eq!(receive_if(|_: &u32| true), 5);
        assert_eq!(receive_if_timeout(|n: &u32| *n > 100, Duration::ZERO), None);
        assert_eq!(receive::<u32>(), 3);
        assert_eq!(receive::<u32>(), 7);
        assert_eq!(receive::<u64>(), 100);
    });
}

#[test]
fn select_takes_the_oldest_message_any_arm_accepts() {
    init();
    common::run(|| {
        let me = self_pid();
        send(me, 1u8);
        send(me, String::from("s"));
        send(me, 2u32);
        // The u32 arm comes first, but the String is older: it wins.
        let got = Select::new().on(|n: u32| format!("u32 {n}")).on(|s: String| format!("string {s}")).wait();
        assert_eq!(got, "string s");
        // The u8 is the oldest message: the second arm takes it.
        let got = Select::new().on(|n: u32| u64::from(n)).on(|n: u8| 100 + u64::from(n)).wait();
        assert_eq!(got, 101);
        // A predicate arm that rejects a message does not take it.
        send(me, 3u32);
        let got = Select::new().on_if(|n: &u32| *n == 3, |n: u32| n * 10).on(|_: char| 0).wait();
        assert_eq!(got, 30);
        assert_eq!(receive::<u32>(), 2);
    });
}

#[test]
fn select_tries_the_arms_in_order_for_one_message() {
    init();
    common::run(|| {
        let me = self_pid();
        send(me, 5u32);
        let got = Select::new().on_if(|n: &u32| *n > 3, |_| "first").on(|_: u32| "second").wait();
        assert_eq!(got, "first");
        send(me, 2u32);
        let got = Select::new().on_if(|n: &u32| *n > 3, |_| "first").on(|_: u32| "second").wait();
        assert_eq!(got, "second");
        send(me, 2u32);
        let got = Select::new().on(|_: u32| "typed").on_any(|_| "any").wait();
        assert_eq!(got, "typed");
        send(me, 'c');
        let got = Select::new().on(|_: u32| "typed").on_any(|_| "any").wait();
        assert_eq!(got, "any");
    });
}

#[test]
fn a_zero_timeout_scans_everything_and_never_blocks() {
    init();
    // One worker and a hang guard: a zero-timeout receive that blocked would
    // never return.
    with_deadline(Runtime::builder().schedulers(1), Duration::from_secs(60), || {
        let me = self_pid();
        // SEMANTICS §2.2, after_SUITE:receive_zero: queue [x, y], pattern z.
        send(me, X);
        send(me, Y);
        assert_eq!(receive_timeout::<Z>(Duration::ZERO), None);
        assert_eq!(Select::new().on(|z: Z| Some(z)).after(Duration::ZERO, || None).wait(), None);
        // Not just the first message is looked at.
        assert_eq!(receive_timeout::<Y>(Duration::ZERO), Some(Y));
        assert_eq!(receive::<X>(), X);
        // An empty mailbox.
        assert_eq!(receive_timeout::<X>(Duration::ZERO), None);
        assert!(receive_any_timeout(Duration::ZERO).is_none());
        for i in 0..1_000u32 {
            send(me, i);
        }
        assert_eq!(receive_if_timeout(|n: &u32| *n == 999, Duration::ZERO), Some(999));
        assert_eq!(receive_if_timeout(|n: &u32| *n == 999, Duration::ZERO), None);
        assert_eq!(receive::<u32>(), 0);
    })
    .unwrap();
}

#[test]
fn skipped_messages_keep_their_order() {
    init();
    common::run(|| {
        let me = self_pid();
        for i in 0..100u32 {
            send(me, i);
            send(me, format!("s{i}"));
        }
        // Take every String, oldest first, skipping the numbers...
        for i in 0..100u32 {
            assert_eq!(receive::<String>(), format!("s{i}"));
        }
        // ...take some numbers from the middle...
        assert_eq!(receive_if(|n: &u32| *n == 50), 50);
        assert_eq!(receive_if(|n: &u32| *n > 90), 91);
        // ...newer messages go after the skipped ones.
        send(me, 1_000u32);
        let rest: Vec<u32> = (0..99).map(|_| receive::<u32>()).collect();
        let mut expected: Vec<u32> = (0..100).filter(|n| *n != 50 && *n != 91).collect();
        expected.push(1_000);
        assert_eq!(rest, expected);
    });
}

#[test]
fn per_sender_fifo_with_many_concurrent_senders() {
    init();
    common::run(|| {
        const SENDERS: usize = 64;
        const EACH: u32 = 1_000;
        let me = self_pid();
        for s in 0..SENDERS {
            spawn(move || {
                for seq in 0..EACH {
                    send(me, (s, seq));
                    if seq % 100 == 0 {
                        ember_runtime::yield_now();
                    }
                }
            });
        }
        let mut next = vec![0u32; SENDERS];
        for _ in 0..SENDERS * EACH as usize {
            let (s, seq): (usize, u32) = recv();
            assert_eq!(seq, next[s], "sender {s}'s messages arrive in the order sent");
            next[s] += 1;
        }
        assert!(next.iter().all(|n| *n == EACH));
    });
}

#[test]
fn a_process_can_send_to_itself() {
    init();
    common::run(|| {
        let me = self_pid();
        for i in 0..10u32 {
            send(me, i);
        }
        me.send("via Pid::send");
        assert_eq!(receive::<&str>(), "via Pid::send");
        assert_eq!((0..10).map(|_| receive::<u32>()).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
        assert_eq!(ember_runtime::process_info(me).unwrap().message_queue_len, 0);
    });
}

const MILLION: u32 = 1_000_000;

#[test]
fn a_million_message_mailbox_is_consumed_in_linear_time() {
    init();
    // A quadratic take-first loop (rescanning from the front, or copying the
    // mailbox) would not finish within the bound.
    with_deadline(Runtime::builder(), Duration::from_secs(150), || {
        let me = self_pid();
        spawn(move || {
            for i in 0..MILLION {
                send(me, i);
            }
        });
        for i in 0..MILLION {
            let n: u32 = recv();
            assert_eq!(n, i);
        }
        assert_eq!(receive_timeout::<u32>(Duration::ZERO), None);
    })
    .unwrap();
}

#[test]
fn the_last_typed_message_among_a_million_others_is_found() {
    init();
    with_deadline(Runtime::builder(), Duration::from_secs(150), || {
        let me = self_pid();
        let (_, m) = spawn_monitor(move || {
            for i in 0..MILLION {
                send(me, i);
            }
            send(me, String::from("needle"));
        });
        assert_eq!(common::down_of(m).reason, Reason::Normal);
        assert_eq!(receive::<String>(), "needle");
        // Everything skipped is still there, in order.
        for i in 0..MILLION {
            assert_eq!(receive_timeout::<u32>(Duration::ZERO), Some(i));
        }
    })
    .unwrap();
}

#[test]
fn a_nested_receive_in_a_predicate_panics_the_process_not_the_runtime() {
    init();
    common::run(|| {
        let me = self_pid();
        let (pid, m) = spawn_monitor(move || {
            send(self_pid(), 1u32);
            send(self_pid(), 2u32);
            let _ = receive_if(|_: &u32| receive_timeout::<u32>(Duration::ZERO).is_some());
        });
        match common::down_of(m).reason {
            Reason::Panic { message, .. } => assert!(message.contains("receive"), "{message}"),
            other => panic!("expected a panic, got {other:?}"),
        }
        assert!(!ember_runtime::is_alive(pid));
        // The runtime is fine.
        spawn(move || send(me, "still here"));
        assert_eq!(recv::<&str>(), "still here");
        // Other runtime calls are allowed inside a predicate.
        send(me, 7u32);
        let got = receive_if(|n: &u32| {
            ember_runtime::whereis("nobody").is_none() && ember_runtime::process_info(me).is_some() && *n == 7
        });
        assert_eq!(got, 7);
    });
}

#[test]
fn a_runtime_call_inside_a_predicate_does_not_change_which_message_is_taken() {
    init();
    common::run(|| {
        let me = self_pid();
        let (_, m) = spawn_monitor(|| {});
        // Wait, without consuming it, until the Down is queued.
        let mut queued = false;
        common::wait_until("the Down is queued", || {
            let _ = receive_if_timeout(
                |d: &ember_runtime::Down| {
                    queued |= d.monitor == m;
                    false
                },
                Duration::ZERO,
            );
            queued
        });
        send(me, 1u32);
        send(me, 2u32);
        // The predicate removes the (older) Down while the scan is past it.
        let got = receive_if(|n: &u32| {
            if *n == 1 {
                ember_runtime::demonitor_flush(m);
            }
            *n == 1
        });
        assert_eq!(got, 1, "the message the predicate accepted is the one returned");
        assert_eq!(receive_timeout::<u32>(Duration::ZERO), Some(2));
    });
}

#[test]
fn receive_timeout_returns_none_when_nothing_matches_in_time() {
    init();
    common::run(|| {
        let me = self_pid();
        send(me, 'x');
        let start = std::time::Instant::now();
        assert_eq!(receive_timeout::<u32>(Duration::from_millis(30)), None);
        assert!(start.elapsed() >= Duration::from_millis(30), "a timeout never fires early");
        assert_eq!(receive_if_timeout(|_: &char| false, Duration::from_millis(5)), None);
        assert_eq!(Select::new().on(|n: u32| n).after(Duration::from_millis(5), || 0).wait(), 0);
        // Nothing was consumed.
        assert_eq!(receive::<char>(), 'x');
    });
}

/// Issue 13.4: a receive finds the message it matched again by its sequence
/// number, not its address, after its predicate removed other messages: all
/// zero-sized messages share one address, so the old code took the wrong
/// one (an out-of-order receive, or a panic "matched by type").
#[test]
fn zero_sized_messages_survive_a_predicate_that_edits_the_mailbox() {
    #[derive(Debug, PartialEq)]
    struct TickA;
    #[derive(Debug, PartialEq)]
    struct TickB;
    init();
    common::run(|| {
        let me = self_pid();
        for _ in 0..10 {
            send(me, TickA);
            // A monitor of nothing: its `Down` lands at once, between the ticks.
            let m = ember_runtime::monitor(ember_runtime::Pid::UNDEFINED);
            send(me, ());
            send(me, TickB);
            send(me, TickA);
            let got: TickB = ember_runtime::receive_if(|_: &TickB| {
                // Removes the `Down`, in front of the matched message.
                ember_runtime::demonitor_flush(m);
                true
            });
            assert_eq!(got, TickB);
            assert_eq!(receive::<TickA>(), TickA);
            assert_eq!(receive::<()>(), ());
            assert_eq!(receive::<TickA>(), TickA);
            assert!(ember_runtime::receive_timeout::<ember_runtime::Down>(Duration::ZERO).is_none());
        }
    });
}
