//! Exit signals and links (issue 4): one test per row of SEMANTICS.md table
//! 1.4, the link-flag `kill` and `killed` rules (§1.5, §1.6), `trap_exit`,
//! links, signal ordering (§2.1) and how a kill reaches a process in each
//! state (suspended, running, inside `blocking`).

mod common;

use common::{down_of, exit_from, init, none_queued, recv, recv_if, wait_processes, wait_until, Guard, BOUND};
use ember_runtime::{
    blocking, exit, link, monitor, process_info, receive, self_pid, send, spawn, spawn_link, spawn_monitor, spawn_opt,
    trap_exit, unlink, Down, Exit, LinkError, Pid, Reason, Select, SpawnOptions, Status,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// Commands the test process sends a [`target`].
#[derive(Debug)]
enum Cmd {
    Ping,
    /// Spawn a child linked to the target (and monitored by it) that exits
    /// at once with this reason; report `ChildDown` once the child is gone.
    LinkChild(Reason),
    Link(Pid),
    Unlink(Pid),
    Trap(bool),
    /// `self_pid().exit(reason)`: an exit signal to oneself.
    SignalSelf(Reason),
    Stop,
}

/// What a [`target`] reports.
#[derive(Debug, PartialEq)]
enum Ev {
    Pong(Pid),
    /// An `Exit` message the target received (it traps exits).
    Got(Pid, Exit),
    ChildDown(Pid, Pid, Reason),
    Linked(Pid, Result<(), LinkError>),
    Unlinked(Pid),
    Trapped(Pid, bool),
    /// The target is still running after signalling itself.
    SurvivedSelfSignal(Pid),
}

/// A process that does what it is told and reports every `Exit` message it
/// receives, in mailbox order.
fn target(root: Pid, trapping: bool) -> impl FnOnce() + Send + 'static {
    move || {
        trap_exit(trapping);
        let me = self_pid();
        send(root, Ev::Pong(me));
        loop {
            let stop = Select::new()
                .on(|e: Exit| {
                    send(root, Ev::Got(me, e));
                    false
                })
                .on(|c: Cmd| {
                    match c {
                        Cmd::Ping => send(root, Ev::Pong(me)),
                        Cmd::LinkChild(reason) => {
                            let (child, m) = spawn_opt(move || exit(reason), SpawnOptions::new().link().monitor());
                            let down = recv_if(|d: &Down| Some(d.monitor) == m);
                            send(root, Ev::ChildDown(me, child, down.reason));
                        }
                        Cmd::Link(pid) => send(root, Ev::Linked(me, link(pid))),
                        Cmd::Unlink(pid) => {
                            unlink(pid);
                            send(root, Ev::Unlinked(me));
                        }
                        Cmd::Trap(on) => send(root, Ev::Trapped(me, trap_exit(on))),
                        Cmd::SignalSelf(reason) => {
                            me.exit(reason);
                            send(root, Ev::SurvivedSelfSignal(me));
                        }
                        Cmd::Stop => return true,
                    }
                    false
                })
                .wait();
            if stop {
                return;
            }
        }
    }
}

/// Spawns a [`target`] monitored by the caller; returns once it runs (its
/// trap_exit flag is set).
fn start(trapping: bool) -> (Pid, ember_runtime::Ref) {
    let (pid, m) = spawn_monitor(target(self_pid(), trapping));
    assert_eq!(recv_if(|e: &Ev| *e == Ev::Pong(pid)), Ev::Pong(pid));
    (pid, m)
}

/// Pings `pid` and waits for the answer: everything the caller sent `pid`
/// before has been handled, and every `Exit` the target got before is
/// reported (and can be checked with a zero timeout).
fn ping(pid: Pid) {
    send(pid, Cmd::Ping);
    recv_if(|e: &Ev| *e == Ev::Pong(pid));
}

fn got(pid: Pid) -> Exit {
    match recv_if(|e: &Ev| matches!(e, Ev::Got(p, _) if *p == pid)) {
        Ev::Got(_, exit) => exit,
        _ => unreachable!(),
    }
}

fn no_exit_reported(pid: Pid) -> bool {
    none_queued(|e: &Ev| matches!(e, Ev::Got(p, _) if *p == pid))
}

/// Makes `pid` spawn a linked child exiting with `reason`. Returns the
/// child's pid and exit reason once the target saw the child's `Down` (so it
/// has handled the link signal, which the child sent first), or the target's
/// own exit reason if it died of it (its `Down`, monitor `m`, came instead).
fn link_child(pid: Pid, m: ember_runtime::Ref, reason: Reason) -> Result<(Pid, Reason), Reason> {
    send(pid, Cmd::LinkChild(reason));
    Select::new()
        .on_if(
            |e: &Ev| matches!(e, Ev::ChildDown(p, _, _) if *p == pid),
            |e| match e {
                Ev::ChildDown(_, child, reason) => Ok((child, reason)),
                _ => unreachable!(),
            },
        )
        .on_if(|d: &Down| d.monitor == m, |d| Err(d.reason))
        .after(BOUND, || panic!("neither the child's Down nor the target's"))
        .wait()
}

fn stop(pid: Pid, m: ember_runtime::Ref) {
    send(pid, Cmd::Stop);
    assert_eq!(down_of(m).reason, Reason::Normal);
}

fn reasons() -> Vec<Reason> {
    vec![Reason::custom("boom"), Reason::Shutdown, Reason::shutdown_with(7u32), Reason::NoProc, Reason::Killed]
}

// ---------------------------------------------------------------- table 1.4

#[test]
fn row1_a_link_signal_arriving_after_unlink_is_dropped() {
    init();
    common::run(|| {
        trap_exit(true);
        for i in 0..200u32 {
            let child = spawn_link(move || {
                receive::<()>();
                exit(Reason::custom(i));
            });
            // The child's exit races with the unlink: its signal either was
            // received before (then the Exit is already queued and the OTP
            // idiom flushes it) or arrives after (then it must be dropped).
            send(child, ());
            unlink(child);
            let _ = ember_runtime::receive_if_timeout(|e: &Exit| e.from == child, std::time::Duration::ZERO);
            // Everything the child sent has arrived once it is fully gone.
            wait_processes(1);
            assert!(none_queued(|e: &Exit| e.from == child), "a link signal arrived after unlink");
        }
    });
}

#[test]
fn row2_an_explicit_kill_gives_killed_even_when_trapping() {
    init();
    common::run(|| {
        for trapping in [false, true] {
            let (pid, m) = start(trapping);
            pid.exit(Reason::Kill);
            assert_eq!(down_of(m).reason, Reason::Killed, "trapping: {trapping}");
            assert!(no_exit_reported(pid));
            // Also when sent to oneself.
            let (pid, m) = start(trapping);
            send(pid, Cmd::SignalSelf(Reason::Kill));
            assert_eq!(down_of(m).reason, Reason::Killed, "self kill, trapping: {trapping}");
            assert!(none_queued(|e: &Ev| *e == Ev::SurvivedSelfSignal(pid)));
        }
    });
}

#[test]
fn row3_exit_self_normal_kills_a_non_trapping_process_with_normal() {
    init();
    common::run(|| {
        let (pid, m) = start(false);
        send(pid, Cmd::SignalSelf(Reason::Normal));
        assert_eq!(down_of(m).reason, Reason::Normal);
        assert!(none_queued(|e: &Ev| *e == Ev::SurvivedSelfSignal(pid)), "it died at once");
    });
}

#[test]
fn row4_exit_self_normal_reaches_a_trapping_process_as_exit_from_itself() {
    init();
    common::run(|| {
        let (pid, m) = start(true);
        send(pid, Cmd::SignalSelf(Reason::Normal));
        recv_if(|e: &Ev| *e == Ev::SurvivedSelfSignal(pid));
        assert_eq!(got(pid), Exit { from: pid, reason: Reason::Normal });
        stop(pid, m);
    });
}

#[test]
fn row5_normal_from_another_process_is_ignored_when_not_trapping() {
    init();
    common::run(|| {
        let (pid, m) = start(false);
        // Explicit, without the link flag.
        pid.exit(Reason::Normal);
        ping(pid);
        // With the link flag: a linked child exits normally.
        let (_, child_reason) = link_child(pid, m, Reason::Normal).expect("the target survives");
        assert_eq!(child_reason, Reason::Normal);
        ping(pid);
        assert!(no_exit_reported(pid));
        assert!(pid.is_alive());
        stop(pid, m);
    });
}

#[test]
fn row6_normal_from_another_process_reaches_a_trapping_one_as_exit() {
    init();
    common::run(|| {
        let me = self_pid();
        let (pid, m) = start(true);
        pid.exit(Reason::Normal);
        assert_eq!(got(pid), Exit { from: me, reason: Reason::Normal });
        let (child, _) = link_child(pid, m, Reason::Normal).expect("the target survives");
        assert_eq!(got(pid), Exit { from: child, reason: Reason::Normal });
        ping(pid);
        assert!(no_exit_reported(pid));
        stop(pid, m);
    });
}

#[test]
fn row7_another_reason_kills_a_non_trapping_process_with_that_reason() {
    init();
    common::run(|| {
        for reason in reasons() {
            // Explicit.
            let (pid, m) = start(false);
            pid.exit(reason.clone());
            assert_eq!(down_of(m).reason, reason);
            // Through a link.
            let (pid, m) = start(false);
            assert_eq!(link_child(pid, m, reason.clone()), Err(reason.clone()), "{reason:?} through a link kills");
        }
    });
}

#[test]
fn row8_another_reason_reaches_a_trapping_process_as_exit() {
    init();
    common::run(|| {
        let me = self_pid();
        let (pid, m) = start(true);
        for reason in reasons() {
            pid.exit(reason.clone());
            assert_eq!(got(pid), Exit { from: me, reason: reason.clone() });
            let (child, _) = link_child(pid, m, reason.clone()).expect("a trapping target survives");
            assert_eq!(got(pid), Exit { from: child, reason });
        }
        // A link-flag kill is trappable too.
        let (child, _) = link_child(pid, m, Reason::Kill).expect("a trapping target survives");
        assert_eq!(got(pid), Exit { from: child, reason: Reason::Kill });
        ping(pid);
        stop(pid, m);
    });
}

// ---------------------------------------------------------- §1.5 and §1.6

#[test]
fn a_link_flag_kill_stays_kill() {
    init();
    common::run(|| {
        // A process that calls exit(Kill) itself exits with Kill...
        let (_, m) = spawn_monitor(|| exit(Reason::Kill));
        assert_eq!(down_of(m).reason, Reason::Kill);
        // ...its linked non-trapping processes die with Kill, not Killed...
        let (pid, m) = start(false);
        assert_eq!(link_child(pid, m, Reason::Kill), Err(Reason::Kill));
        // ...and trapping ones receive Exit { reason: Kill } and live on.
        let (pid, m) = start(true);
        let (child, child_reason) = link_child(pid, m, Reason::Kill).expect("trapping survives");
        assert_eq!(child_reason, Reason::Kill);
        assert_eq!(got(pid), Exit { from: child, reason: Reason::Kill });
        stop(pid, m);
    });
}

#[test]
fn killed_propagates_as_an_ordinary_reason() {
    init();
    common::run(|| {
        let (victim, mv) = start(false);
        let (plain, mp) = start(false);
        let (trapper, mt) = start(true);
        for p in [plain, trapper] {
            send(p, Cmd::Link(victim));
            assert_eq!(recv_if(|e: &Ev| matches!(e, Ev::Linked(x, _) if *x == p)), Ev::Linked(p, Ok(())));
        }
        victim.exit(Reason::Kill);
        assert_eq!(down_of(mv).reason, Reason::Killed);
        assert_eq!(down_of(mp).reason, Reason::Killed, "a non-trapping neighbour dies with killed");
        assert_eq!(got(trapper), Exit { from: victim, reason: Reason::Killed }, "a trapping one traps it");
        stop(trapper, mt);
    });
}

#[test]
fn only_the_first_fatal_signal_counts() {
    init();
    common::run(|| {
        for second in [Reason::custom("second"), Reason::Kill, Reason::Normal] {
            let (pid, m) = start(false);
            pid.exit(Reason::custom("first"));
            pid.exit(second.clone());
            assert_eq!(down_of(m).reason, Reason::custom("first"), "then {second:?}");
        }
        // A kill first wins over anything after.
        let (pid, m) = start(true);
        pid.exit(Reason::Kill);
        pid.exit(Reason::custom("second"));
        assert_eq!(down_of(m).reason, Reason::Killed);
    });
}

#[test]
fn trap_exit_returns_the_previous_value_and_is_read_at_receipt() {
    init();
    common::run(|| {
        assert!(!trap_exit(true));
        assert!(trap_exit(true));
        assert!(trap_exit(false));
        assert!(!trap_exit(false));
        assert!(!process_info(self_pid()).unwrap().trap_exit);

        let me = self_pid();
        let (pid, m) = start(true);
        pid.exit(Reason::custom(1));
        assert_eq!(got(pid), Exit { from: me, reason: Reason::custom(1) });
        send(pid, Cmd::Trap(false));
        assert_eq!(recv_if(|e: &Ev| matches!(e, Ev::Trapped(p, _) if *p == pid)), Ev::Trapped(pid, true));
        pid.exit(Reason::custom(2));
        assert_eq!(down_of(m).reason, Reason::custom(2));
    });
}

#[test]
fn an_exit_signal_to_oneself_cannot_be_caught() {
    init();
    common::run(|| {
        // process_SUITE:t_exit_2_catch: catching the unwind does not save the
        // process; it exits with the signal's reason.
        let (_, m) = spawn_monitor(|| {
            let caught = std::panic::catch_unwind(|| self_pid().exit(Reason::custom("die")));
            assert!(caught.is_err());
            // The next runtime call ends it.
            ember_runtime::yield_now();
            exit(Reason::custom("survived"));
        });
        assert_eq!(down_of(m).reason, Reason::custom("die"));
    });
}

#[test]
fn a_process_that_caught_its_exit_signal_has_no_further_effect() {
    init();
    common::run(|| {
        let me = self_pid();
        let (pid, m) = spawn_monitor(move || {
            let _ = std::panic::catch_unwind(|| self_pid().exit(Reason::custom("die")));
            assert!(!self_pid().is_alive(), "exiting already");
            // Its next runtime call must end it, not act.
            send(me, "sent by a dead process");
        });
        assert_eq!(down_of(m).reason, Reason::custom("die"));
        // A message from `pid` would be ahead of its Down.
        assert!(none_queued(|_: &&str| true), "{pid} sent a message after its exit was decided");
    });
}

// ---------------------------------------------------------------- links

fn linked(pid: Pid) -> Vec<Pid> {
    process_info(pid).expect("alive").links
}

fn do_link(p: Pid, to: Pid) -> Result<(), LinkError> {
    send(p, Cmd::Link(to));
    match recv_if(|e: &Ev| matches!(e, Ev::Linked(x, _) if *x == p)) {
        Ev::Linked(_, r) => r,
        _ => unreachable!(),
    }
}

#[test]
fn a_link_is_bidirectional() {
    init();
    common::run(|| {
        let (a, ma) = start(false);
        let (b, mb) = start(false);
        do_link(a, b).unwrap();
        assert_eq!(linked(a), vec![b]);
        assert_eq!(linked(b), vec![a]);
        // The linked-to side dies: the linker dies.
        b.exit(Reason::custom("b died"));
        assert_eq!(down_of(mb).reason, Reason::custom("b died"));
        assert_eq!(down_of(ma).reason, Reason::custom("b died"));

        let (c, mc) = start(false);
        let (d, md) = start(false);
        do_link(c, d).unwrap();
        // The linker dies: the linked-to side dies.
        c.exit(Reason::custom("c died"));
        assert_eq!(down_of(mc).reason, Reason::custom("c died"));
        assert_eq!(down_of(md).reason, Reason::custom("c died"));
    });
}

#[test]
fn there_is_at_most_one_link_per_pair() {
    init();
    common::run(|| {
        let (a, ma) = start(false);
        let (b, mb) = start(false);
        do_link(a, b).unwrap();
        do_link(a, b).unwrap();
        do_link(b, a).unwrap();
        assert_eq!(linked(a), vec![b]);
        assert_eq!(linked(b), vec![a]);
        // One unlink removes it, on both sides.
        send(a, Cmd::Unlink(b));
        recv_if(|e: &Ev| *e == Ev::Unlinked(a));
        assert!(linked(a).is_empty());
        assert!(linked(b).is_empty());
        stop(a, ma);
        stop(b, mb);
    });
}

#[test]
fn linking_to_oneself_is_a_no_op() {
    init();
    common::run(|| {
        let me = self_pid();
        assert_eq!(link(me), Ok(()));
        assert!(linked(me).is_empty());
        unlink(me);
        assert!(linked(me).is_empty());
    });
}

#[test]
fn linking_to_a_dead_process_fails_with_noproc_unless_trapping() {
    init();
    common::run(|| {
        let (dead, m) = spawn_monitor(|| {});
        down_of(m);
        assert_eq!(link(dead), Err(LinkError::NoProc(dead)));
        assert!(linked(self_pid()).is_empty());
        trap_exit(true);
        assert_eq!(link(dead), Ok(()));
        assert_eq!(exit_from(dead), Exit { from: dead, reason: Reason::NoProc });
        assert!(linked(self_pid()).is_empty());
    });
}

#[test]
fn unlink_stops_propagation() {
    init();
    common::run(|| {
        let (a, ma) = start(false);
        let (b, mb) = start(false);
        do_link(a, b).unwrap();
        send(a, Cmd::Unlink(b));
        recv_if(|e: &Ev| *e == Ev::Unlinked(a));
        b.exit(Reason::custom("b died"));
        assert_eq!(down_of(mb).reason, Reason::custom("b died"));
        // b's exit procedure is over once it is no longer counted.
        wait_processes(2);
        ping(a);
        stop(a, ma);

        // The other side unlinks; a trapping process gets no Exit either.
        let (c, mc) = start(true);
        let (d, md) = start(false);
        do_link(c, d).unwrap();
        send(d, Cmd::Unlink(c));
        recv_if(|e: &Ev| *e == Ev::Unlinked(d));
        d.exit(Reason::custom("d died"));
        assert_eq!(down_of(md).reason, Reason::custom("d died"));
        wait_processes(2);
        ping(c);
        assert!(no_exit_reported(c));
        stop(c, mc);
    });
}

#[test]
fn spawn_link_is_atomic_with_the_spawn() {
    init();
    common::run(|| {
        for i in 0..100u32 {
            // A non-trapping parent whose child exits at once dies with it.
            let (parent, m) = spawn_monitor(move || {
                spawn_link(move || exit(Reason::custom(i)));
                receive::<()>();
            });
            assert_eq!(down_of(m).reason, Reason::custom(i), "{parent}");
            // A trapping parent is told.
            let me = self_pid();
            let (_, m) = spawn_monitor(move || {
                trap_exit(true);
                let child = spawn_link(move || panic!("child {i}"));
                let e = exit_from(child);
                send(me, e.reason);
            });
            assert!(matches!(recv::<Reason>(), Reason::Panic { .. }));
            assert_eq!(down_of(m).reason, Reason::Normal);
        }
    });
}

#[test]
fn link_and_monitor_racing_with_an_exit_give_exactly_one_exit_and_one_down() {
    init();
    common::run(|| {
        trap_exit(true);
        for i in 0..500u32 {
            let pid = spawn(move || exit(Reason::custom(i)));
            // Both race with the exit: each either sees the live process (and
            // later its reason) or a dead one (and `noproc`), never both.
            link(pid).expect("a trapping caller always links");
            let m = monitor(pid);
            let e = exit_from(pid);
            let d = down_of(m);
            assert!(e.reason == Reason::custom(i) || e.reason == Reason::NoProc, "{e:?}");
            assert!(d.reason == Reason::custom(i) || d.reason == Reason::NoProc, "{d:?}");
            if e.reason == Reason::NoProc {
                assert_eq!(d.reason, Reason::NoProc, "the monitor came after a link that found it dead");
            }
            wait_processes(1);
            assert!(none_queued(|e: &Exit| e.from == pid), "a second Exit");
            assert!(none_queued(|d: &Down| d.monitor == m), "a second Down");
            assert!(linked(self_pid()).is_empty());
            assert!(process_info(self_pid()).unwrap().monitors.is_empty());
        }
    });
}

// ------------------------------------------------------------- ordering

#[test]
fn xm_sig_order_messages_sent_after_an_exit_signal_are_never_seen() {
    init();
    common::run(|| {
        for i in 0..200u32 {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let s = seen.clone();
            let b = spawn(move || loop {
                let msg: &str = receive();
                s.lock().unwrap().push(msg);
            });
            let m = monitor(b);
            let reason = match i % 3 {
                0 => Reason::custom(i),
                1 => Reason::Kill,
                _ => Reason::Shutdown,
            };
            for _ in 0..3 {
                send(b, "may_reach");
            }
            b.exit(reason.clone());
            for _ in 0..3 {
                send(b, "may_not_reach");
            }
            let expected = if reason == Reason::Kill { Reason::Killed } else { reason };
            assert_eq!(down_of(m).reason, expected);
            let seen = seen.lock().unwrap();
            assert!(seen.iter().all(|m| *m == "may_reach"), "round {i}: {seen:?}");
        }
    });
}

// ------------------------------------------ a kill in each process state

#[test]
fn killing_a_process_suspended_in_receive_unwinds_its_stack() {
    init();
    common::run(|| {
        let (tx, rx) = mpsc::channel();
        let (pid, m) = spawn_monitor(move || {
            let held = Guard(tx, "dropped");
            receive::<()>();
            drop(held);
            unreachable!();
        });
        wait_until("it waits in receive", || process_info(pid).is_some_and(|i| i.status == Status::Waiting));
        pid.exit(Reason::custom("stop"));
        assert_eq!(down_of(m).reason, Reason::custom("stop"));
        assert_eq!(rx.try_recv(), Ok("dropped"), "the value held across receive was dropped before the Down");
    });
}

#[test]
fn killing_a_process_that_never_ran_or_is_hibernating_drops_its_closure() {
    init();
    common::run(|| {
        let (tx, rx) = mpsc::channel();
        // Killed right after the spawn, usually before it first ran (then it
        // never gets a stack): the closure is dropped either way.
        for i in 0..100u32 {
            let guard = Guard(tx.clone(), i);
            let (pid, m) = spawn_monitor(move || {
                let _g = guard;
                receive::<()>();
            });
            pid.exit(Reason::Kill);
            assert_eq!(down_of(m).reason, Reason::Killed);
            // A `Kill` ends the identity at once: when the process had
            // started, its remnant drops what it holds just after the `Down`.
            assert_eq!(rx.recv_timeout(common::BOUND), Ok(i), "the closure (and what it owns) is dropped");
        }
        // Killed while hibernating: the continuation is dropped.
        let guard = Guard(tx.clone(), 1_000);
        let (pid, m) = spawn_monitor(move || {
            ember_runtime::hibernate(move || {
                let _g = guard;
                receive::<()>();
            })
        });
        wait_until("it hibernates", || process_info(pid).is_some_and(|i| i.status == Status::Hibernating));
        pid.exit(Reason::custom("wake to die"));
        assert_eq!(down_of(m).reason, Reason::custom("wake to die"));
        assert_eq!(rx.try_recv(), Ok(1_000));
    });
}

#[test]
fn destructors_may_use_the_runtime_while_a_killed_process_unwinds() {
    init();
    common::run(|| {
        struct Farewell(Pid);
        impl Drop for Farewell {
            fn drop(&mut self) {
                send(self.0, "farewell");
                let _ = ember_runtime::whereis("nobody");
            }
        }
        let me = self_pid();
        let (pid, m) = spawn_monitor(move || {
            let _f = Farewell(me);
            receive::<()>();
        });
        wait_until("it waits in receive", || process_info(pid).is_some_and(|i| i.status == Status::Waiting));
        pid.exit(Reason::custom("bye"));
        let first = ember_runtime::receive_any_timeout(BOUND).expect("a message");
        assert_eq!(first.downcast_ref::<&str>(), Some(&"farewell"), "sent while unwinding, before the Down");
        assert_eq!(down_of(m).reason, Reason::custom("bye"), "the kill's reason, not disturbed by the destructor");
    });
}

#[test]
fn killing_a_running_process_takes_effect_at_its_next_runtime_call() {
    init();
    common::run(|| {
        let (started_tx, started_rx) = mpsc::channel();
        let go = Arc::new(AtomicBool::new(false));
        let trail = Arc::new(Mutex::new(Vec::new()));
        let (g, t) = (go.clone(), trail.clone());
        let (pid, m) = spawn_monitor(move || {
            started_tx.send(self_pid()).unwrap();
            // Busy, no runtime call: the signal cannot act here.
            while !g.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            t.lock().unwrap().push("spun");
            loop {
                send(self_pid(), ()); // the next runtime call
                t.lock().unwrap().push("after send");
            }
        });
        // A plain thread kills it while it spins, then lets it go on.
        std::thread::spawn(move || {
            let pid = started_rx.recv().unwrap();
            pid.exit(Reason::custom("killed while running"));
            go.store(true, Ordering::SeqCst);
        });
        assert_eq!(down_of(m).reason, Reason::custom("killed while running"));
        assert!(!pid.is_alive());
        assert_eq!(*trail.lock().unwrap(), vec!["spun"]);
    });
}

#[test]
fn a_process_inside_blocking_dies_only_when_the_closure_returns() {
    init();
    common::run(|| {
        let me = self_pid();
        let (tx, rx) = mpsc::channel::<()>();
        let after = Arc::new(AtomicBool::new(false));
        let a = after.clone();
        let (pid, m) = spawn_monitor(move || {
            blocking(move || {
                send(me, "in blocking");
                rx.recv().unwrap();
                // Still in the closure: its process has not exited.
                send(me, "closure returning");
            });
            a.store(true, Ordering::SeqCst);
        });
        assert_eq!(recv::<&str>(), "in blocking");
        pid.exit(Reason::Kill);
        tx.send(()).unwrap();
        // In mailbox order: the closure's last message, then the Down.
        let first = ember_runtime::receive_any_timeout(BOUND).expect("a message");
        assert_eq!(first.downcast_ref::<&str>(), Some(&"closure returning"), "the Down came before f returned");
        assert_eq!(down_of(m).reason, Reason::Killed);
        assert!(!after.load(Ordering::SeqCst), "the process died when f returned");
    });
}

/// A `Kill` ends the identity before its exit signals go out: whoever hears
/// of the exit finds the pid dead. A supervisor restarting a child under a
/// via name depends on it — the registry lets the new child take the name
/// only once the old holder is not `is_alive` — and before, the old pid
/// stayed alive until every link and monitor had been signalled, so under
/// load the restarted child found its own name taken. The monitors held on
/// the victim make that signalling long; the victim busy-yields so that
/// another worker runs it while the test process reads its `Exit`.
#[test]
fn a_killed_pid_is_dead_when_its_exit_signal_arrives() {
    init();
    ember_runtime::run(|| {
        trap_exit(true);
        for round in 0..50 {
            let victim = spawn(|| loop {
                ember_runtime::yield_now();
            });
            link(victim).unwrap();
            let monitors: Vec<_> = (0..1_000).map(|_| monitor(victim)).collect();
            victim.exit(Reason::Kill);
            let exit = exit_from(victim);
            assert_eq!(exit.reason, Reason::Killed);
            assert!(!victim.is_alive(), "round {round}: {victim} alive after its exit signal");
            assert!(process_info(victim).is_none(), "round {round}: {victim} has info after its exit signal");
            for m in monitors {
                assert_eq!(down_of(m).reason, Reason::Killed);
            }
        }
    })
    .unwrap();
}
