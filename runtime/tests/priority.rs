//! Process priorities (issue 14): `Max` and `High` processes run before
//! `Normal` ones on their worker, and a `Low` process gets one turn in eight
//! while normal work waits, as on the BEAM. Each test runs on one worker, so
//! the order in which processes run is the order of the queues.

mod common;

use common::{init, recv, with_deadline};
use ember_runtime::gen_server::{start, Action, Info, Init, StartOptions};
use ember_runtime::{
    process_info, receive, self_pid, send, set_priority, spawn_opt, yield_now, Priority, Runtime, SpawnOptions,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn one_worker<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    with_deadline(Runtime::builder().schedulers(1), Duration::from_secs(60), f).expect("the root process ends well")
}

fn spawn_at(priority: Priority, f: impl FnOnce() + Send + 'static) {
    spawn_opt(f, SpawnOptions::new().priority(priority));
}

#[test]
fn max_then_high_run_before_normal_even_when_they_yield() {
    init();
    let order = one_worker(|| {
        let me = self_pid();
        // Spawned first, so on the old single queue they would run after the
        // last spawned (in the run-next slot) and take turns with the rest.
        spawn_at(Priority::High, move || {
            for _ in 0..5 {
                yield_now();
            }
            send(me, "high");
        });
        spawn_at(Priority::Max, move || {
            for _ in 0..5 {
                yield_now();
            }
            send(me, "max");
        });
        for _ in 0..4 {
            spawn_at(Priority::Normal, move || send(me, "normal"));
        }
        (0..6).map(|_| recv::<&'static str>()).collect::<Vec<_>>()
    });
    assert_eq!(order, ["max", "high", "normal", "normal", "normal", "normal"]);
}

#[test]
fn a_low_process_gets_one_turn_in_eight_while_normal_work_waits() {
    init();
    let low_turns = one_worker(|| {
        let me = self_pid();
        let low_turns = Arc::new(AtomicU32::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (turns, stop) = (low_turns.clone(), done.clone());
        spawn_at(Priority::Low, move || {
            while !stop.load(Ordering::Relaxed) {
                turns.fetch_add(1, Ordering::Relaxed);
                yield_now();
            }
            send(me, "low done");
        });
        let stop = done.clone();
        spawn_at(Priority::Normal, move || {
            for _ in 0..800 {
                yield_now();
            }
            stop.store(true, Ordering::Relaxed);
            send(me, "normal done");
        });
        assert_eq!(recv::<&'static str>(), "normal done");
        assert_eq!(recv::<&'static str>(), "low done");
        low_turns.load(Ordering::Relaxed)
    });
    // 800 normal turns: about 100 low ones (one in eight), where equal
    // priorities would share the worker turn for turn (about 800).
    assert!((80..=120).contains(&low_turns), "low turns: {low_turns}");
}

#[test]
fn a_low_process_alone_runs_at_once() {
    init();
    one_worker(|| {
        let me = self_pid();
        spawn_at(Priority::Low, move || {
            for _ in 0..100 {
                yield_now();
            }
            send(me, "low done");
        });
        assert_eq!(recv::<&'static str>(), "low done");
    });
}

#[test]
fn set_priority_returns_the_previous_level_and_process_info_shows_it() {
    init();
    common::run(|| {
        assert_eq!(process_info(self_pid()).unwrap().priority, Priority::Normal);
        assert_eq!(set_priority(Priority::Max), Priority::Normal);
        assert_eq!(set_priority(Priority::Low), Priority::Max);
        assert_eq!(process_info(self_pid()).unwrap().priority, Priority::Low);
        assert_eq!(set_priority(Priority::Normal), Priority::Low);
        // A process spawned at a level keeps it until it changes it.
        let me = self_pid();
        spawn_at(Priority::High, move || {
            send(me, process_info(self_pid()).unwrap().priority);
            receive::<()>();
        });
        assert_eq!(recv::<Priority>(), Priority::High);
    });
}

/// Reports, on any message, how many turns the busy processes took since
/// the message was sent.
struct Urgent {
    turns_after_send: Arc<AtomicU32>,
    report_to: ember_runtime::Pid,
}

ember_runtime::gen_server! {
    impl GenServer for Urgent {
        type Arg = (Arc<AtomicU32>, ember_runtime::Pid);

        fn init((turns_after_send, report_to): (Arc<AtomicU32>, ember_runtime::Pid)) -> Init<Self> {
            Init::Ok(Urgent { turns_after_send, report_to })
        }

        fn handle_info(&mut self, _message: Info) -> Action<()> {
            send(self.report_to, self.turns_after_send.load(Ordering::Relaxed));
            Action::NoReply
        }
    }
}

/// A `High` server between messages floats; woken from a plain thread it
/// goes to the urgent injector, which the worker looks at on its next pick,
/// where a normal one waits for the worker's periodic look at the injector.
#[test]
fn a_floating_high_server_woken_from_a_plain_thread_runs_on_the_next_pick() {
    init();
    let turns = one_worker(|| {
        let me = self_pid();
        let sent = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let turns_after_send = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        for _ in 0..20 {
            let (sent, turns, stop) = (sent.clone(), turns_after_send.clone(), stop.clone());
            spawn_at(Priority::Normal, move || {
                while !stop.load(Ordering::Relaxed) {
                    if sent.load(Ordering::Relaxed) {
                        turns.fetch_add(1, Ordering::Relaxed);
                    }
                    yield_now();
                }
            });
        }
        let options = StartOptions::new().spawn_options(SpawnOptions::new().priority(Priority::High));
        let server = start::<Urgent>((turns_after_send, me), options).unwrap();
        let pid = server.pid().unwrap();
        let sender = std::thread::spawn(move || {
            send(pid, ());
            sent.store(true, Ordering::Relaxed);
        });
        let turns = recv::<u32>();
        stop.store(true, Ordering::Relaxed);
        sender.join().unwrap();
        turns
    });
    // At most the turn in progress when the flag was set.
    assert!(turns <= 1, "the busy processes took {turns} turns first");
}
