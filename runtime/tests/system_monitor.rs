//! The system monitor's events (`system_monitor`, issue 18): delivered as
//! messages to the subscriber, and through `tracing`.

mod common;

use common::{init, recv, recv_if, BOUND};
use ember_runtime::{
    clear_system_monitor, receive, self_pid, send, spawn, spawn_monitor, system_monitor, yield_now, Builder, Down, Pid,
    SpawnOptions, SysMonEvent, SystemMonitor,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

/// A process that waits for `"drain"`, then takes `n` `u32`s, then waits
/// for `()`: its mailbox grows while it waits.
fn stuffed(n: u32) -> Pid {
    spawn(move || {
        receive::<&str>();
        for _ in 0..n {
            receive::<u32>();
        }
        receive::<()>();
    })
}

#[test]
fn a_long_message_queue_is_reported_when_it_grows_and_when_it_shrinks() {
    init();
    common::run(|| {
        assert!(system_monitor(self_pid(), SystemMonitor::new().long_message_queue(50, 10)).is_none());
        let pid = stuffed(60);
        for i in 0..60u32 {
            send(pid, i);
        }
        let event = recv::<SysMonEvent>();
        let SysMonEvent::LongMessageQueue { pid: p, len, long: true } = event else { panic!("{event:?}") };
        assert_eq!(p, pid);
        // Counted at delivery: the 50th, or a later one if the receiver was
        // moving its inbox to its mailbox meanwhile.
        assert!((50..=60).contains(&len), "{len}");
        send(pid, "drain");
        let event = recv::<SysMonEvent>();
        let SysMonEvent::LongMessageQueue { pid: p, len, long: false } = event else { panic!("{event:?}") };
        assert_eq!(p, pid);
        assert!(len <= 10, "short again at {len}");
        assert!(common::sysmon_reports()
            .iter()
            .any(|r| r.pid == pid.to_string() && r.message.contains("long_message_queue")));
        send(pid, ());
        clear_system_monitor();
    });
}

#[test]
fn a_stack_near_its_limit_is_reported_once() {
    init();
    common::run(|| {
        system_monitor(self_pid(), SystemMonitor::new().stack_near_limit(0.5));
        let me = self_pid();
        let (deep, m) = ember_runtime::spawn_opt(
            move || {
                // Recurses until 40 KiB of its 64 KiB stack are in use,
                // whatever the frames' size, then suspends there.
                fn down(top: usize, me: Pid) {
                    let frame = std::hint::black_box([0u8; 512]);
                    if top - (&frame as *const _ as usize) >= 40 * 1024 {
                        send(me, "deep");
                        receive::<()>();
                        receive::<()>();
                    } else {
                        down(top, me);
                    }
                    std::hint::black_box(&frame);
                }
                let top = 0u8;
                down(&top as *const u8 as usize, me);
            },
            SpawnOptions::new().monitor().stack_size(64 * 1024),
        );
        let m = m.unwrap();
        assert_eq!(recv::<&str>(), "deep");
        let event = recv::<SysMonEvent>();
        let SysMonEvent::StackNearLimit { pid, used, size } = event else { panic!("{event:?}") };
        assert_eq!(pid, deep);
        assert!(used * 2 >= size, "{used} of {size}");
        send(deep, ());
        send(deep, ());
        let _: Down = common::down_of(m);
        assert!(common::none_queued::<SysMonEvent>(|_| true), "reported once");
        clear_system_monitor();
    });
}

#[test]
fn a_busy_worker_is_reported_busy_then_not() {
    init();
    common::run(|| {
        system_monitor(self_pid(), SystemMonitor::new().busy_worker(0.6));
        let stop = Arc::new(AtomicBool::new(false));
        let spinning = stop.clone();
        // Never waits, always returns to the runtime: busy, not held.
        let (hog, m) = spawn_monitor(move || {
            while !spinning.load(Ordering::Relaxed) {
                yield_now();
            }
        });
        let SysMonEvent::BusyWorker { worker, busy_ratio, .. } =
            recv_if::<SysMonEvent>(|e| matches!(e, SysMonEvent::BusyWorker { busy: true, .. }))
        else {
            unreachable!()
        };
        assert!(busy_ratio >= 0.6);
        stop.store(true, Ordering::Relaxed);
        common::down_of(m);
        let _ = hog;
        recv_if::<SysMonEvent>(|e| matches!(e, SysMonEvent::BusyWorker { worker: w, busy: false, .. } if *w == worker));
        clear_system_monitor();
    });
}

/// A process that holds its worker (no runtime call) until told to stop.
fn hog(stop: Arc<AtomicBool>, started: Arc<AtomicUsize>) {
    started.fetch_add(1, Ordering::SeqCst);
    while !stop.load(Ordering::Relaxed) {
        std::hint::spin_loop();
    }
}

#[test]
fn a_held_worker_is_reported_to_the_subscriber_as_a_long_schedule() {
    init();
    let rt = Builder::default().schedulers(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    // SAFETY: the subscriber holds no thread-bound state across its
    // receives; it must float, or it could be pinned behind the hog.
    let floating = unsafe { SpawnOptions::new().free_migration() };
    let (ready_tx, ready_rx) = mpsc::channel();
    rt.spawn(move || {
        ember_runtime::spawn_opt(
            move || {
                system_monitor(self_pid(), SystemMonitor::new().long_schedule());
                let _ = ready_tx.send(());
                loop {
                    let event = receive::<SysMonEvent>();
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            },
            floating,
        );
    })
    .unwrap();
    ready_rx.recv_timeout(BOUND).expect("subscribed");
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let (s, st) = (stop.clone(), started.clone());
    let pid = rt.spawn(move || hog(s, st)).unwrap();
    let event = rx.recv_timeout(BOUND).expect("the hold is reported");
    let SysMonEvent::LongSchedule { pid: p, ended: false, .. } = event else { panic!("{event:?}") };
    assert_eq!(p, pid);
    stop.store(true, Ordering::SeqCst);
    let event = rx.recv_timeout(BOUND).expect("its end is reported");
    let SysMonEvent::LongSchedule { pid: p, ended: true, millis, .. } = event else { panic!("{event:?}") };
    assert_eq!(p, pid);
    assert!(millis >= 10, "held at least the threshold: {millis} ms");
    drop(rt);
}

#[test]
fn one_subscriber_at_a_time_and_a_dead_one_is_dropped() {
    init();
    common::run(|| {
        let me = self_pid();
        let options = SystemMonitor::new().long_message_queue(3, 0);
        let (gone, m) = spawn_monitor(|| {});
        common::down_of(m);
        assert!(system_monitor(gone, options.clone()).is_none());
        assert_eq!(system_monitor(gone, options.clone()), Some((gone, options.clone())), "replaced, returned");
        let pid = stuffed(0);
        for i in 0..3u32 {
            send(pid, i);
        }
        // The event could not be delivered: the subscription ended.
        common::wait_until("the dead subscriber is dropped", || {
            let old = clear_system_monitor();
            if let Some(old) = &old {
                system_monitor(old.0, old.1.clone());
            }
            old.is_none()
        });
        let _ = me;
        send(pid, "drain");
        send(pid, ());
    });
}
