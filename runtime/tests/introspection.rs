//! Introspection: `process_info`, `processes`, `is_alive`, `stats`.

mod common;

use common::{down_of, init, wait_processes, wait_until};
use ember_runtime::{
    is_alive, link, monitor, process_info, processes, receive, register, self_pid, send, spawn, spawn_monitor, stats,
    trap_exit, Runtime, Status,
};
use std::collections::HashSet;

#[test]
fn process_info_reports_every_field() {
    init();
    common::run(|| {
        let me = self_pid();
        let pid = spawn(move || {
            trap_exit(true);
            send(me, "ready");
            receive::<()>();
        });
        assert_eq!(common::recv::<&str>(), "ready");
        link(pid).unwrap();
        let m = monitor(pid);
        register("inspected", pid).unwrap();
        let peer = spawn(move || {
            receive::<()>();
        });
        let m_peer = monitor(peer);
        // Not what it waits for: stays queued.
        send(pid, 1u8);
        send(pid, "two");
        wait_until("it waits in receive with two messages queued", || {
            process_info(pid).is_some_and(|i| i.status == Status::Waiting && i.message_queue_len == 2)
        });
        let info = process_info(pid).unwrap();
        assert_eq!(info.pid, pid);
        assert_eq!(info.links, vec![me]);
        assert!(info.monitors.is_empty());
        assert_eq!(info.monitored_by, vec![me]);
        assert_eq!(info.registered_name, Some("inspected".into()));
        assert!(info.trap_exit);
        assert!(info.reductions > 0);
        assert!(info.stack_bytes > 0, "a process waiting in receive holds a stack");

        let mine = process_info(me).unwrap();
        assert_eq!(mine.status, Status::Running, "the caller is running");
        assert_eq!(mine.links, vec![pid]);
        let mut monitors: Vec<_> = mine.monitors.iter().map(|(r, target)| (*r, target.pid())).collect();
        monitors.sort();
        let mut expected = vec![(m, pid), (m_peer, peer)];
        expected.sort();
        assert_eq!(monitors, expected);
        assert!(mine.monitored_by.is_empty());
        assert_eq!(mine.registered_name, None);
        assert!(!mine.trap_exit);
        assert_eq!(mine.message_queue_len, 0);

        // Reductions grow with work.
        let before = process_info(me).unwrap().reductions;
        for _ in 0..100 {
            send(me, ());
            receive::<()>();
        }
        assert!(process_info(me).unwrap().reductions >= before + 200);

        send(pid, ());
        send(peer, ());
        down_of(m);
        down_of(m_peer);
        assert!(process_info(pid).is_none(), "no info for a dead process");
    });
}

#[test]
fn process_info_works_from_a_plain_thread() {
    init();
    let rt = Runtime::new().unwrap();
    let pid = rt
        .block_on(|| {
            let pid = spawn(|| {
                receive::<()>();
            });
            register("visible", pid).unwrap();
            pid
        })
        .unwrap();
    let info = process_info(pid).expect("alive");
    assert_eq!(info.registered_name, Some("visible".into()));
    assert!(is_alive(pid));
    send(pid, ());
    // Wait from outside: the runtime's counters fall back to zero.
    let deadline = std::time::Instant::now() + common::BOUND;
    while rt.stats().processes > 0 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::yield_now();
    }
    assert!(!is_alive(pid));
    assert!(process_info(pid).is_none());
}

#[test]
fn processes_lists_the_live_ones() {
    init();
    common::run(|| {
        let me = self_pid();
        let pids: Vec<_> = (0..50)
            .map(|_| {
                spawn(|| {
                    receive::<()>();
                })
            })
            .collect();
        let live: HashSet<_> = processes().into_iter().collect();
        assert!(live.contains(&me));
        for p in &pids {
            assert!(live.contains(p));
        }
        assert_eq!(live.len(), 51);
        assert_eq!(stats().processes, 51);
        for p in &pids[..25] {
            let m = monitor(*p);
            send(*p, ());
            down_of(m);
        }
        wait_processes(26);
        let live: HashSet<_> = processes().into_iter().collect();
        assert_eq!(live.len(), 26);
        for p in &pids[..25] {
            assert!(!live.contains(p));
        }
        for p in &pids[25..] {
            assert!(live.contains(p));
            send(*p, ());
        }
    });
}

#[test]
fn is_alive_is_false_once_a_process_exited() {
    init();
    common::run(|| {
        assert!(is_alive(self_pid()));
        let (pid, m) = spawn_monitor(|| {
            receive::<()>();
        });
        assert!(is_alive(pid));
        assert!(pid.is_alive());
        pid.exit(ember_runtime::Reason::Kill);
        down_of(m);
        assert!(!is_alive(pid));
        assert!(!pid.is_alive());
        assert!(!is_alive(ember_runtime::Pid::UNDEFINED));
    });
}

#[test]
fn pids_of_a_runtime_that_is_gone_are_dead() {
    init();
    let (pid, root) = ember_runtime::run(|| {
        let pid = spawn(|| {
            receive::<()>();
        });
        (pid, self_pid())
    })
    .unwrap();
    // `run` stopped every process and shut the runtime down.
    for p in [pid, root] {
        assert!(!is_alive(p));
        assert!(process_info(p).is_none());
        send(p, "into the void");
        p.exit(ember_runtime::Reason::Kill);
        let t = ember_runtime::send_after(p, 1u8, std::time::Duration::from_millis(1));
        assert_eq!(ember_runtime::cancel_timer(t), None);
    }
}

#[test]
fn process_info_reports_label_parent_start_and_messages_handled() {
    use ember_runtime::gen_server::{self, CallResult, GenServer, Init, ReplyTo, StartOptions};
    use ember_runtime::set_label;

    struct Counter(u32);
    impl GenServer for Counter {
        type Arg = ();
        type Call = ();
        type Reply = u32;
        type Cast = ();
        type Continue = ();
        fn init(_: ()) -> Init<Self> {
            Init::Ok(Counter(0))
        }
        fn handle_call(&mut self, _: (), _: ReplyTo<u32>) -> CallResult<Self> {
            self.0 += 1;
            CallResult::Reply(self.0)
        }
    }

    init();
    common::run(|| {
        let me = self_pid();
        let child = spawn(move || {
            set_label("worker 7");
            send(me, "labelled");
            receive::<()>();
        });
        assert_eq!(common::recv::<&str>(), "labelled");
        let info = process_info(child).unwrap();
        assert_eq!(info.label.as_deref(), Some("worker 7"));
        assert_eq!(info.parent, Some(me));
        assert_eq!(info.messages_handled, 0, "a plain process handles no behaviour messages");
        let mine = process_info(me).unwrap();
        assert_eq!(mine.parent, None, "the root was spawned from outside");
        assert!(info.started_ms >= mine.started_ms, "the child started after its parent");
        assert!(info.memory >= info.stack_bytes && info.memory > 0);

        let server = gen_server::start::<Counter>((), StartOptions::new()).unwrap();
        let info = process_info(server.pid().unwrap()).unwrap();
        assert_eq!(info.label.as_deref(), Some(std::any::type_name::<Counter>()), "a behaviour is labelled by type");
        assert_eq!(info.parent, Some(me));
        for expected in 1..=5 {
            assert_eq!(server.call(()).unwrap(), expected);
        }
        assert_eq!(process_info(server.pid().unwrap()).unwrap().messages_handled, 5);
        server.stop(ember_runtime::Reason::Normal, None).unwrap();

        // The slot is reused: the label and counts do not outlive the process.
        let m = monitor(child);
        send(child, ());
        down_of(m);
        wait_processes(1);
        let fresh: Vec<_> = (0..64)
            .map(|_| {
                spawn(|| {
                    receive::<()>();
                })
            })
            .collect();
        for pid in &fresh {
            let info = process_info(*pid).unwrap();
            assert_eq!(info.label, None, "{pid} inherited a label");
            assert_eq!(info.messages_handled, 0);
            send(*pid, ());
        }
    });
}

#[test]
fn snapshot_lists_processes_with_their_mailboxes_and_every_worker() {
    init();
    let rt = Runtime::builder().schedulers(2).build().unwrap();
    let (pid, root) = rt
        .block_on(|| {
            let pid = spawn(|| {
                ember_runtime::set_label("stuffed");
                receive::<()>();
            });
            for i in 0..7u32 {
                send(pid, i); // not what it waits for: stays queued
            }
            wait_until("the stuffed process waits with 7 messages", || {
                process_info(pid).is_some_and(|i| i.status == Status::Waiting && i.message_queue_len == 7)
            });
            let snap = ember_runtime::snapshot();
            let listed = snap.processes.iter().find(|p| p.pid == pid).expect("listed");
            assert_eq!(listed.message_queue_len, 7);
            assert_eq!(listed.label.as_deref(), Some("stuffed"));
            (pid, self_pid())
        })
        .unwrap();
    // From outside the runtime too; the root has exited by now.
    let snap = rt.snapshot();
    assert!(snap.processes.iter().any(|p| p.pid == pid));
    assert!(!snap.processes.iter().any(|p| p.pid == root));
    assert_eq!(snap.workers.len(), 2);
    assert!(snap.workers.iter().all(|w| (0.0..=1.0).contains(&w.busy_ratio)));
    // It serializes, under the names the observer's clients read.
    let json: serde_json::Value = serde_json::to_value(&snap).unwrap();
    let listed = json["processes"].as_array().unwrap().iter().find(|p| p["pid"] == pid.to_string()).unwrap();
    assert_eq!(listed["mailbox_len"], 7);
    assert_eq!(listed["label"], "stuffed");
    assert_eq!(listed["status"], "waiting");
    assert!(json["workers"][0]["busy_ratio"].is_number());
    let back: ember_runtime::Snapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back.processes.len(), snap.processes.len());
    send(pid, ());
}

#[test]
fn snapshot_counts_timers_parks_and_busy_workers() {
    use ember_runtime::{cancel_timer, send_after, yield_now};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    init();
    common::run(|| {
        let timer = send_after(self_pid(), (), std::time::Duration::from_secs(3600));
        let snap = ember_runtime::snapshot();
        let pending: usize =
            snap.workers.iter().map(|w| w.timers_pending).sum::<usize>() + snap.external_timers_pending;
        assert!(pending >= 1, "the armed timer is pending");
        cancel_timer(timer);

        // A process that never waits keeps its worker busy: the monitor's
        // sampling sees a busy ratio near one on some worker.
        let stop = Arc::new(AtomicBool::new(false));
        let spinning = stop.clone();
        let hog = spawn(move || {
            while !spinning.load(Ordering::Relaxed) {
                yield_now();
            }
        });
        let m = monitor(hog);
        wait_until("a worker is seen busy", || ember_runtime::snapshot().workers.iter().any(|w| w.busy_ratio > 0.5));
        let busy_ms: u64 = ember_runtime::snapshot().workers.iter().map(|w| w.busy_ms).sum();
        assert!(busy_ms > 0);
        stop.store(true, Ordering::Relaxed);
        down_of(m);
        // Idle workers park; every park is counted.
        wait_until("a worker parked", || ember_runtime::snapshot().workers.iter().any(|w| w.parks > 0));
    });
}
