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
