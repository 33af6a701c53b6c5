//! DynamicSupervisor: stopping children — `terminate_child`, the
//! supervisor's own termination, and the concurrent procedure behind both
//! (SEMANTICS.md §5.6).
//!
//! Orderings are checked on the messages children and monitors deliver to
//! the test process; elapsed time is only used as a loose failure bound.

mod captured;
mod common;

use captured::{logged, run};
use ember_runtime::gen_server::{self, GenServer, Init, Next, StartOptions};
use ember_runtime::{
    exit, monitor, receive, receive_any_timeout, receive_if, receive_timeout, self_pid, send, spawn, spawn_link,
    trap_exit, Down, Exit, Pid, Reason, Select,
};
use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, TerminateChildError};
use ember_supervisor::shutdown::{shutdown_children, Others, Stopping};
use ember_supervisor::{ChildCounts, ChildSpec, Restart, Shutdown, Started};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A child that got its shutdown exit signal (it traps exits).
#[derive(Debug, PartialEq)]
struct GotExit(Pid);

/// Told to a stubborn child by its partner, when the partner got its exit
/// signal.
struct PartnerGotExit;

/// Told to the test by a stubborn child that heard from its partner while
/// it was still alive.
#[derive(Debug, PartialEq)]
struct Overlapped(Pid);

/// How a child reacts to its shutdown signal.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Does not trap exits: dies with the signal's reason.
    Obedient,
    /// Traps; tells the test (and its partner, if any); exits with this reason.
    Exits(fn() -> Reason),
    /// Traps; tells the test (and its partner); ignores the signal until
    /// killed. With `wait_partner`, also waits to hear that its partner got
    /// its signal, and tells the test.
    Stubborn { wait_partner: bool },
}

/// Sent by a child to whoever started it once it is set up (traps exits
/// when it should): a start function waits for it, as `proc_lib` starts do.
struct Ready(Pid);

/// Spawns a linked process running `f` once it is set up, and waits until
/// it is.
fn spawn_ready(trap: bool, f: impl FnOnce() + Send + 'static) -> Pid {
    let starter = self_pid();
    let pid = spawn_link(move || {
        trap_exit(trap);
        send(starter, Ready(self_pid()));
        f()
    });
    receive_if(|r: &Ready| r.0 == pid);
    pid
}

fn child(behaviour: Behaviour, shutdown: Shutdown, partner: Option<Pid>) -> ChildSpec {
    let test = self_pid();
    ChildSpec::new("child", move || {
        spawn_ready(!matches!(behaviour, Behaviour::Obedient), move || {
            let _: Exit = receive();
            let me = self_pid();
            send(test, GotExit(me));
            if let Some(p) = partner {
                send(p, PartnerGotExit);
            }
            match behaviour {
                Behaviour::Obedient => unreachable!("killed by the signal"),
                Behaviour::Exits(reason) => exit(reason()),
                Behaviour::Stubborn { wait_partner } => {
                    if wait_partner {
                        let PartnerGotExit = receive();
                        send(test, Overlapped(me));
                    }
                    loop {
                        receive::<()>();
                    }
                }
            }
        })
    })
    .shutdown(shutdown)
}

fn start(sup: Pid, spec: ChildSpec) -> Pid {
    DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap()
}

fn down_of(m: ember_runtime::Ref) -> Down {
    receive_if(|d: &Down| d.monitor == m)
}

#[test]
fn terminate_child_stops_one_child_and_forgets_it() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let a = start(sup, child(Behaviour::Obedient, Shutdown::Timeout(Duration::from_secs(60)), None));
        let b = start(sup, child(Behaviour::Obedient, Shutdown::Infinity, None));
        let m = monitor(a);
        DynamicSupervisor::terminate_child(sup, a).unwrap();
        // Stopped, not restarted (it is permanent), gone when the call returns.
        assert_eq!(down_of(m).reason, Reason::Shutdown);
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap().specs, 1);
        assert!(b.is_alive());
        // Strangers: a live process that is not a child, a dead child, the supervisor itself.
        let stranger = spawn(|| {
            receive::<()>();
        });
        assert_eq!(DynamicSupervisor::terminate_child(sup, stranger), Err(TerminateChildError::NotFound));
        assert_eq!(DynamicSupervisor::terminate_child(sup, a), Err(TerminateChildError::NotFound));
        assert_eq!(DynamicSupervisor::terminate_child(sup, sup), Err(TerminateChildError::NotFound));
        assert!(stranger.is_alive());
        send(stranger, ());
    });
}

#[test]
fn terminate_child_honours_the_shutdown_of_the_child() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("tc-shutdown")).unwrap();
        // Ignores shutdown: killed once its timeout has passed.
        let stubborn = start(
            sup,
            child(Behaviour::Stubborn { wait_partner: false }, Shutdown::Timeout(Duration::from_millis(50)), None),
        );
        let m = monitor(stubborn);
        let t0 = Instant::now();
        DynamicSupervisor::terminate_child(sup, stubborn).unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(45), "waited for the timeout");
        assert_eq!(receive::<GotExit>(), GotExit(stubborn), "it was asked first");
        assert_eq!(down_of(m).reason, Reason::Killed);
        assert_eq!(logged("Supervisor tc-shutdown shut down abnormally").len(), 1, "killed is a shutdown_error");

        // Brutal kill: killed at once, nothing reported.
        let brutal = start(sup, child(Behaviour::Stubborn { wait_partner: false }, Shutdown::BrutalKill, None));
        let m = monitor(brutal);
        DynamicSupervisor::terminate_child(sup, brutal).unwrap();
        assert_eq!(down_of(m).reason, Reason::Killed);
        assert!(receive_timeout::<GotExit>(Duration::ZERO).is_none(), "a kill cannot be trapped");

        // Infinity: waits as long as the child takes; {shutdown, _} is fine.
        let polite = start(sup, child(Behaviour::Exits(|| Reason::shutdown_with("bye")), Shutdown::Infinity, None));
        let m = monitor(polite);
        DynamicSupervisor::terminate_child(sup, polite).unwrap();
        assert_eq!(down_of(m).reason, Reason::shutdown_with("bye"));

        // Any other reason is a shutdown_error, never fatal.
        let rude = start(sup, child(Behaviour::Exits(|| Reason::custom("rude")), Shutdown::Infinity, None));
        DynamicSupervisor::terminate_child(sup, rude).unwrap();
        assert_eq!(logged("Supervisor tc-shutdown shut down abnormally").len(), 2);
        assert!(logged("Supervisor tc-shutdown shut down abnormally")[1].contains("rude"));
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap(), ChildCounts::default());
    });
}

#[test]
fn shutdown_is_concurrent_and_honours_each_timeout() {
    const T1: Duration = Duration::from_millis(800);
    const T2: Duration = Duration::from_millis(1000);
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("concurrent")).unwrap();
        let long = Shutdown::Timeout(Duration::from_secs(60));
        let quick: Vec<Pid> = (0..3).map(|_| start(sup, child(Behaviour::Obedient, long, None))).collect();
        let brutal = start(sup, child(Behaviour::Obedient, Shutdown::BrutalKill, None));
        let polite = start(sup, child(Behaviour::Exits(|| Reason::Shutdown), Shutdown::Infinity, None));
        // s1 ignores its signal and waits to hear that s2 got its own: it
        // can only hear it if s2 is signalled while s1 is still alive.
        let s1 = start(sup, child(Behaviour::Stubborn { wait_partner: true }, Shutdown::Timeout(T1), None));
        let s2 = start(sup, child(Behaviour::Stubborn { wait_partner: false }, Shutdown::Timeout(T2), Some(s1)));
        let children: Vec<Pid> = quick.iter().copied().chain([brutal, polite, s1, s2]).collect();
        for &c in &children {
            monitor(c);
        }
        let watch_sup = monitor(sup);

        let t0 = Instant::now();
        DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
        let elapsed = t0.elapsed();

        // Everything that happened is in the mailbox, in arrival order.
        #[derive(Debug, PartialEq)]
        enum Ev {
            Down(Pid, Reason),
            Got(Pid),
            Overlapped(Pid),
        }
        let mut events = Vec::new();
        while let Some(msg) = receive_any_timeout(Duration::ZERO) {
            let msg = match msg.downcast::<Down>() {
                Ok(d) => {
                    events.push(Ev::Down(d.pid, d.reason));
                    continue;
                }
                Err(m) => m,
            };
            let msg = match msg.downcast::<GotExit>() {
                Ok(g) => {
                    events.push(Ev::Got(g.0));
                    continue;
                }
                Err(m) => m,
            };
            if let Ok(o) = msg.downcast::<Overlapped>() {
                events.push(Ev::Overlapped(o.0));
            }
        }
        let at = |ev: &Ev| events.iter().position(|e| e == ev).unwrap_or_else(|| panic!("{ev:?} in {events:?}"));
        // Every child was signalled at once: s1 was still alive when s2 got its signal.
        assert!(at(&Ev::Overlapped(s1)) < at(&Ev::Down(s1, Reason::Killed)));
        assert!(at(&Ev::Got(s2)) < at(&Ev::Down(s1, Reason::Killed)));
        // The quick ones did not wait for the stubborn ones.
        for &q in &quick {
            assert!(at(&Ev::Down(q, Reason::Shutdown)) < at(&Ev::Down(s1, Reason::Killed)));
        }
        assert!(at(&Ev::Down(brutal, Reason::Killed)) < at(&Ev::Down(s1, Reason::Killed)));
        assert!(at(&Ev::Down(polite, Reason::Shutdown)) < at(&Ev::Down(s1, Reason::Killed)));
        // Each stubborn child was killed after its own timeout.
        assert!(at(&Ev::Down(s1, Reason::Killed)) < at(&Ev::Down(s2, Reason::Killed)));
        // The supervisor went last.
        let sup_down = at(&Ev::Down(sup, Reason::Normal));
        assert_eq!(sup_down, events.len() - 1, "{events:?}");
        let _ = watch_sup;
        // Time: at least the longest timeout, and (loosely) less than the sum.
        assert!(elapsed + Duration::from_millis(20) >= T2, "{elapsed:?}");
        assert!(elapsed < T1 + T2, "shutdown took {elapsed:?}: timeouts were waited for one after the other");
        // killed is a shutdown_error for the two timeout children.
        assert_eq!(logged("Supervisor concurrent shut down abnormally").len(), 2);
    });
}

#[test]
fn a_parent_exit_shuts_the_supervisor_and_its_children_down() {
    run(|| {
        let test = self_pid();
        let parent = spawn(move || {
            let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
            let children: Vec<Pid> = (0..3)
                .map(|_| start(sup, child(Behaviour::Obedient, Shutdown::Timeout(Duration::from_secs(60)), None)))
                .collect();
            send(test, (sup, children));
            receive::<()>();
            exit(Reason::custom("parent gone"));
        });
        let (sup, children) = receive::<(Pid, Vec<Pid>)>();
        let watches: Vec<_> = children.iter().map(|&c| monitor(c)).collect();
        let watch_sup = monitor(sup);
        send(parent, ());
        for m in watches {
            assert_eq!(down_of(m).reason, Reason::Shutdown);
        }
        assert_eq!(down_of(watch_sup).reason, Reason::custom("parent gone"), "exits with the parent's reason");
    });
}

#[test]
fn restarting_children_are_skipped_at_shutdown() {
    run(|| {
        let me = self_pid();
        let attempts = Arc::new(AtomicU32::new(0));
        let spec = ChildSpec::new("flaky", move || {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            if n == 0 {
                return Started::Ok(spawn_link(|| loop {
                    receive::<()>();
                }));
            }
            send(me, n);
            // Wait for the verdict (the supervisor is blocked meanwhile).
            let ok: bool = receive();
            assert!(!ok);
            Started::Error(Reason::custom("not yet"))
        });
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_restarts(1000)).unwrap();
        let first = start(sup, spec);
        let healthy = start(sup, child(Behaviour::Obedient, Shutdown::Infinity, None));
        first.exit(Reason::Kill);
        assert_eq!(receive::<u32>(), 1);
        // Stop from a helper: the stop is served between two attempts, when
        // the child is restarting.
        let stopper = spawn(move || send(me, DynamicSupervisor::stop(sup, Reason::Normal).is_ok()));
        let watch = monitor(stopper);
        send(sup, false);
        loop {
            match Select::new().on(|_: u32| None).on(|stopped: bool| Some(stopped)).wait() {
                None => send(sup, false),
                Some(stopped) => {
                    assert!(stopped);
                    break;
                }
            }
        }
        down_of(watch);
        assert!(!healthy.is_alive());
        let _ = receive_if(|e: &Exit| e.from == sup);
    });
}

#[test]
fn one_hundred_thousand_children() {
    struct Hibernating;
    impl GenServer for Hibernating {
        type Arg = ();
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Continue = ();
        fn init(_: ()) -> Init<Self> {
            Init::OkThen(Hibernating, Next::Hibernate)
        }
    }
    const N: usize = 100_000;
    run(|| {
        let before = ember_runtime::stats().processes;
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let spec = ChildSpec::new("h", || gen_server::start_link::<Hibernating>((), StartOptions::new()));
        let mut last = None;
        for _ in 0..N {
            last = DynamicSupervisor::start_child(sup, spec.clone()).unwrap().pid();
        }
        assert_eq!(
            DynamicSupervisor::count_children(sup).unwrap(),
            ChildCounts { specs: N, active: N, supervisors: 0, workers: N }
        );
        assert_eq!(DynamicSupervisor::which_children(sup).unwrap().len(), N);
        assert_eq!(ember_runtime::stats().processes, before + N + 1);
        let last = last.unwrap();
        let m = monitor(last);
        DynamicSupervisor::terminate_child(sup, last).unwrap();
        assert_eq!(down_of(m).reason, Reason::Shutdown);

        let t0 = Instant::now();
        DynamicSupervisor::stop(sup, Reason::Shutdown).unwrap();
        let took = t0.elapsed();
        let _ = receive_if(|e: &Exit| e.from == sup);
        // Every child has exited: the supervisor waited for all their Downs.
        // A process is counted until its exit procedure is over, which is
        // after its signals went out (as `processes/0` lists exiting
        // processes on the BEAM), so neither the last child's `Down` nor the
        // supervisor's `Exit` means its slot is free yet: let the count
        // settle (no message marks that point).
        assert_eq!(common::settle_processes(before), before);
        assert!(took < Duration::from_secs(30), "stopping {N} children took {took:?}");
    });
}

// ---------------------------------------------------------------------------
// The procedure itself, run by the test process as the supervisor.

fn linked_idle() -> Pid {
    spawn_link(|| loop {
        receive::<()>();
    })
}

/// A linked child that has exited with `reason`, its `Exit` queued here.
///
/// It is monitored while alive and told to go: its `Down` then comes after
/// its `Exit` (a dying process sends its link signals first). Monitoring a
/// process that is already dead would give a `NoProc` `Down` at once,
/// possibly before its `Exit` has arrived.
fn exited_child(reason: Reason) -> Pid {
    let pid = spawn_link(move || {
        receive::<()>();
        exit(reason)
    });
    let m = monitor(pid);
    send(pid, ());
    down_of(m);
    pid
}

#[test]
fn a_child_whose_exit_is_queued_is_dead_already() {
    run(|| {
        let alive = linked_idle();
        let died_normal = exited_child(Reason::Normal);
        let died_crash = exited_child(Reason::custom("crash"));
        let stopping = |pid, restart| Stopping { pid, shutdown: Shutdown::Infinity, restart };
        let errors = shutdown_children(
            [
                stopping(alive, Restart::Permanent),
                stopping(died_normal, Restart::Temporary),
                stopping(died_crash, Restart::Temporary),
            ],
            Others::Keep,
        );
        // normal is fine for a non-permanent child; crash is an error; the
        // live one stopped with shutdown.
        assert_eq!(errors, vec![(died_crash, Reason::custom("crash"))]);
        assert!(!alive.is_alive());
        // The Exits were consumed, nothing else is left.
        assert!(receive_timeout::<Exit>(Duration::ZERO).is_none());
        assert!(receive_timeout::<Down>(Duration::ZERO).is_none());

        // A permanent child that exited normal is an error.
        let died = exited_child(Reason::Normal);
        assert_eq!(shutdown_children([stopping(died, Restart::Permanent)], Others::Keep), vec![(died, Reason::Normal)]);

        // The same with the discarding procedure.
        let alive = linked_idle();
        let died_normal = exited_child(Reason::Normal);
        let died_crash = exited_child(Reason::custom("crash"));
        let errors = shutdown_children(
            [
                stopping(alive, Restart::Permanent),
                stopping(died_normal, Restart::Transient),
                stopping(died_crash, Restart::Transient),
            ],
            Others::Drop,
        );
        assert_eq!(errors, vec![(died_crash, Reason::custom("crash"))]);
        assert!(!alive.is_alive());
    });
}

#[test]
fn shutdown_children_keeps_or_drops_other_messages() {
    run(|| {
        send(self_pid(), "before");
        let kids: Vec<Stopping> = (0..10)
            .map(|_| Stopping { pid: linked_idle(), shutdown: Shutdown::BrutalKill, restart: Restart::Permanent })
            .collect();
        let pids: Vec<Pid> = kids.iter().map(|k| k.pid).collect();
        assert!(shutdown_children(kids, Others::Keep).is_empty());
        // The links to the stopped children and their Exits are gone too.
        let links = ember_runtime::process_info(self_pid()).unwrap().links;
        assert!(pids.iter().all(|p| !links.contains(p)), "{links:?}");
        assert!(receive_timeout::<Exit>(Duration::ZERO).is_none());
        send(self_pid(), "after");
        assert_eq!(receive::<&str>(), "before");
        assert_eq!(receive::<&str>(), "after");

        send(self_pid(), "dropped");
        let kids: Vec<Stopping> = (0..10)
            .map(|_| Stopping { pid: linked_idle(), shutdown: Shutdown::Infinity, restart: Restart::Transient })
            .collect();
        assert!(shutdown_children(kids, Others::Drop).is_empty());
        assert!(receive_timeout::<&str>(Duration::ZERO).is_none());
    });
}

#[test]
fn mixed_timeout_groups_each_get_their_own_timer() {
    run(|| {
        // Three groups of stubborn children (three timeouts), one obedient.
        let test = self_pid();
        let stubborn = move || {
            spawn_ready(true, move || {
                let _: Exit = receive();
                send(test, GotExit(self_pid()));
                loop {
                    receive::<()>();
                }
            })
        };
        let mut kids = Vec::new();
        for ms in [10u64, 30, 60] {
            for _ in 0..3 {
                kids.push(Stopping {
                    pid: stubborn(),
                    shutdown: Shutdown::Timeout(Duration::from_millis(ms)),
                    restart: Restart::Permanent,
                });
            }
        }
        kids.push(Stopping {
            pid: linked_idle(),
            shutdown: Shutdown::Timeout(Duration::from_secs(60)),
            restart: Restart::Permanent,
        });
        let watched: Vec<(Pid, u64)> = kids
            .iter()
            .filter_map(|k| match k.shutdown {
                Shutdown::Timeout(t) if t < Duration::from_secs(1) => Some((k.pid, t.as_millis() as u64)),
                _ => None,
            })
            .collect();
        let refs: Vec<_> = watched.iter().map(|&(p, _)| monitor(p)).collect();
        let errors = shutdown_children(kids, Others::Keep);
        assert_eq!(errors.len(), 9, "the nine stubborn children were killed: {errors:?}");
        assert!(errors.iter().all(|(_, r)| *r == Reason::Killed));
        // Downs arrive group by group, shortest timeout first.
        let mut order = Vec::new();
        while let Some(d) = receive_timeout::<Down>(Duration::ZERO) {
            let i = refs.iter().position(|&r| r == d.monitor).unwrap();
            order.push(watched[i].1);
        }
        assert_eq!(order.len(), 9);
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    });
}

/// ERTS orders a dead process's link `Exit` before the `NoProc` `Down` a
/// `monitor` of it gets (the monitor request reaches the exiting process
/// after it has sent its link signals; a process already gone sent them
/// before it went). Ember's `monitor` answers `NoProc` as soon as the target
/// is marked not alive — the first step of its exit, before its link
/// signals go out — so the `Down` can arrive first. The DynamicSupervisor's
/// stop procedures tolerate it (a `NoProc` child is reported as such, as
/// Elixir does when it loses the same race); a test that waits for such a
/// `Down` and then expects the `Exit` in the mailbox does not.
#[test]

fn runtime_noproc_down_may_overtake_the_link_exit() {
    run(|| {
        for i in 0..200_000 {
            let pid = spawn_link(|| {});
            let m = monitor(pid);
            let down = down_of(m);
            if down.reason == Reason::NoProc {
                // Dead before the monitor: its Exit was sent before.
                assert!(
                    receive_if_timeout_exit(pid).is_some(),
                    "iteration {i}: NoProc Down arrived before the Exit of {pid}"
                );
            } else {
                let _ = receive_if(|e: &Exit| e.from == pid);
            }
        }
    });
}

fn receive_if_timeout_exit(pid: Pid) -> Option<Exit> {
    ember_runtime::receive_if_timeout(|e: &Exit| e.from == pid, Duration::ZERO)
}
