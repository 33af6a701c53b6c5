//! DynamicSupervisor: starting the supervisor and its children
//! (SEMANTICS.md §5.1–§5.3, §5.5).
//!
//! Every test runs in its own runtime and synchronises on messages: children
//! report to the test process when their start function runs.

use ember_runtime::gen_server::{self, CallError, GenServer, Init, StartError, StartOptions};
use ember_runtime::{receive, receive_timeout, self_pid, send, spawn, spawn_link, trap_exit, Pid, Reason, Term};
use ember_supervisor::dynamic_supervisor::{
    DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule, DynamicSupervisorOptions,
    StartChildError,
};
use ember_supervisor::{
    ChildCounts, ChildPid, ChildSpec, ChildSpecError, ChildType, FlagsError, InitError, Restart, Started, StartedChild,
};
use std::time::Duration;

fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let _ = tracing_subscriber::fmt().with_writer(std::io::sink).try_init();
    ember_runtime::run(move || {
        trap_exit(true);
        f()
    })
    .expect("the test process failed")
}

/// A process that waits for ever (until an exit signal).
fn idle() -> Pid {
    spawn_link(|| loop {
        receive::<()>();
    })
}

/// A GenServer child that hibernates at once.
struct Sleeper;

impl GenServer for Sleeper {
    type Arg = ();
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::OkThen(Sleeper, gen_server::Next::Hibernate)
    }
}

/// A GenServer whose `init` does what it is told.
struct Picky;

#[derive(Clone)]
enum InitDoes {
    Ok,
    Ignore,
    Stop(Reason),
    Error(Reason),
    Panic,
}

impl GenServer for Picky {
    type Arg = InitDoes;
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(does: InitDoes) -> Init<Self> {
        match does {
            InitDoes::Ok => Init::Ok(Picky),
            InitDoes::Ignore => Init::Ignore,
            InitDoes::Stop(r) => Init::Stop(r),
            InitDoes::Error(r) => Init::Error(r),
            InitDoes::Panic => panic!("init panicked"),
        }
    }
}

fn picky(does: InitDoes) -> ChildSpec {
    ChildSpec::new("picky", move || gen_server::start_link::<Picky>(does.clone(), StartOptions::new()))
}

fn counts(specs: usize, active: usize, supervisors: usize, workers: usize) -> ChildCounts {
    ChildCounts { specs, active, supervisors, workers }
}

#[test]
fn start_link_options_and_defaults() {
    run(|| {
        let flags = DynamicSupervisorFlags::new();
        assert_eq!((flags.get_max_restarts(), flags.get_max_seconds(), flags.get_max_children()), (3, 5, None));

        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("dyn")).unwrap();
        assert_eq!(ember_runtime::whereis("dyn"), Some(sup));
        assert!(ember_runtime::process_info(sup).unwrap().trap_exit, "a supervisor traps exits");
        assert!(ember_runtime::process_info(self_pid()).unwrap().links.contains(&sup), "linked to its starter");
        assert_eq!(DynamicSupervisor::count_children("dyn").unwrap(), ChildCounts::default());
        assert!(DynamicSupervisor::which_children("dyn").unwrap().is_empty());

        // A name already taken.
        let again = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("dyn"));
        assert_eq!(again.unwrap_err(), StartError::AlreadyStarted(sup));

        // Invalid flags: {supervisor_data, {invalid_period, 0}}.
        let err = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_seconds(0)).unwrap_err();
        assert_eq!(InitError::of(&err), Some(InitError::SupervisorData(FlagsError::InvalidPeriod(0))));

        DynamicSupervisor::stop("dyn", Reason::Normal).unwrap();
        assert_eq!(ember_runtime::whereis("dyn"), None);
    });
}

struct Limited;

impl DynamicSupervisorModule for Limited {
    type Arg = Option<usize>;
    type Extra = &'static str;
    fn init(limit: Option<usize>) -> DynamicInit<&'static str> {
        match limit {
            Some(n) => DynamicInit::Ok(DynamicSupervisorFlags::new().max_children(n).extra_arguments("from init")),
            None => DynamicInit::Ignore,
        }
    }
}

#[test]
fn module_based_supervisor_init_gives_flags_or_ignore() {
    run(|| {
        assert_eq!(
            DynamicSupervisor::start_link_module::<Limited>(None, StartOptions::new().name("m")).unwrap_err(),
            StartError::Ignore
        );
        assert_eq!(ember_runtime::whereis("m"), None, "ignore releases the name");

        let sup = DynamicSupervisor::start_link_module::<Limited>(Some(1), StartOptions::new().name("m")).unwrap();
        let me = self_pid();
        let spec = ChildSpec::with_args("w", move |extra: &'static str| {
            send(me, extra);
            idle()
        });
        DynamicSupervisor::start_child(sup, spec.clone()).unwrap();
        assert_eq!(receive::<&'static str>(), "from init");
        assert_eq!(DynamicSupervisor::start_child(sup, spec).unwrap_err(), StartChildError::MaxChildren);
    });
}

#[test]
fn start_child_returns_what_the_start_function_returns() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();

        // {ok, pid}
        let ok = DynamicSupervisor::start_child(sup, picky(InitDoes::Ok)).unwrap();
        let StartedChild::Running(pid) = ok else { panic!("expected Running, got {ok:?}") };
        assert!(pid.is_alive());

        // {ok, pid, info}
        let with_info = ChildSpec::new("info", || Started::OkInfo(idle(), Term::new("extra")));
        let StartedChild::RunningInfo(pid2, info) = DynamicSupervisor::start_child(sup, with_info).unwrap() else {
            panic!("expected RunningInfo")
        };
        assert_eq!(info, Term::new("extra"));

        // ignore: nothing kept
        assert_eq!(DynamicSupervisor::start_child(sup, picky(InitDoes::Ignore)).unwrap(), StartedChild::Ignored);
        assert_eq!(
            DynamicSupervisor::start_child(sup, ChildSpec::new("i", || Started::Ignore)).unwrap(),
            StartedChild::Ignored
        );

        // errors: returned as is, nothing kept
        let boom = Reason::custom("boom");
        assert_eq!(
            DynamicSupervisor::start_child(sup, picky(InitDoes::Stop(boom.clone()))).unwrap_err(),
            StartChildError::Failed(boom.clone())
        );
        assert_eq!(
            DynamicSupervisor::start_child(sup, picky(InitDoes::Error(boom.clone()))).unwrap_err(),
            StartChildError::Failed(boom.clone())
        );
        assert_eq!(
            DynamicSupervisor::start_child(sup, ChildSpec::new("e", move || Started::Error(Reason::custom("no"))))
                .unwrap_err(),
            StartChildError::Failed(Reason::custom("no"))
        );
        match DynamicSupervisor::start_child(sup, picky(InitDoes::Panic)).unwrap_err() {
            StartChildError::Failed(Reason::Panic { message, .. }) => assert_eq!(&*message, "init panicked"),
            other => panic!("expected a panic reason, got {other:?}"),
        }
        // A start function that panics itself.
        match DynamicSupervisor::start_child(sup, ChildSpec::new("p", || -> Pid { panic!("start panicked") }))
            .unwrap_err()
        {
            StartChildError::Failed(Reason::Panic { message, .. }) => assert_eq!(&*message, "start panicked"),
            other => panic!("expected a panic reason, got {other:?}"),
        }

        // Only the two started children are kept, in start order.
        let children = DynamicSupervisor::which_children(sup).unwrap();
        let pids: Vec<ChildPid> = children.iter().map(|c| c.pid).collect();
        assert_eq!(pids, vec![ChildPid::Running(pid), ChildPid::Running(pid2)]);
        assert!(children.iter().all(|c| c.id.is_none() && c.kind == ChildType::Worker));
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap(), counts(2, 2, 0, 2));
        assert!(sup.is_alive(), "failed starts do not hurt the supervisor");
    });
}

#[test]
fn already_started_comes_from_name_registration_not_ids() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        // Ids are ignored: the same spec (same id) starts many children.
        let anonymous = ChildSpec::gen_server::<Sleeper>(());
        for _ in 0..3 {
            DynamicSupervisor::start_child(sup, anonymous.clone()).unwrap();
        }
        // A name clash is {already_started, pid}, even with a process that
        // is not a child.
        let named = ChildSpec::gen_server_opts::<Sleeper>((), StartOptions::new().name("unique"));
        let first = DynamicSupervisor::start_child(sup, named.clone()).unwrap().pid().unwrap();
        assert_eq!(
            DynamicSupervisor::start_child(sup, named.clone()).unwrap_err(),
            StartChildError::AlreadyStarted(first)
        );
        DynamicSupervisor::terminate_child(sup, first).unwrap();
        let stranger = gen_server::start_link::<Sleeper>((), StartOptions::new().name("unique")).unwrap();
        assert_eq!(
            DynamicSupervisor::start_child(sup, named).unwrap_err(),
            StartChildError::AlreadyStarted(stranger.pid().unwrap())
        );
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap().specs, 3);
    });
}

#[test]
fn invalid_specs_are_refused_in_the_caller() {
    run(|| {
        // No supervisor at this address: the spec is refused before any
        // call (a call would fail with NoProc).
        let significant = ChildSpec::new("s", idle).restart(Restart::Transient).significant(true);
        assert_eq!(
            DynamicSupervisor::start_child("nobody", significant).unwrap_err(),
            StartChildError::InvalidSpec(ChildSpecError::InvalidSignificant)
        );
        assert_eq!(
            DynamicSupervisor::start_child("nobody", ChildSpec::new("", idle)).unwrap_err(),
            StartChildError::InvalidSpec(ChildSpecError::MissingId)
        );
        // A valid spec does reach the call.
        assert_eq!(
            DynamicSupervisor::start_child("nobody", ChildSpec::new("ok", idle)).unwrap_err(),
            StartChildError::Call(CallError::NoProc)
        );

        // With a supervisor: its message count does not move.
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let before = ember_runtime::process_info(sup).unwrap().reductions;
        let bad = ChildSpec::new("s", idle).restart(Restart::Temporary).significant(true);
        assert!(DynamicSupervisor::start_child(sup, bad).is_err());
        assert_eq!(ember_runtime::process_info(sup).unwrap().reductions, before, "the supervisor did not run");
    });
}

#[test]
fn max_children_counts_every_child() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_children(2)).unwrap();
        let a = DynamicSupervisor::start_child(sup, ChildSpec::new("w", idle)).unwrap().pid().unwrap();
        DynamicSupervisor::start_child(sup, ChildSpec::new("w", idle)).unwrap();
        assert_eq!(
            DynamicSupervisor::start_child(sup, ChildSpec::new("w", idle)).unwrap_err(),
            StartChildError::MaxChildren
        );
        // Ignored and failed starts do not take a place; a stopped child frees one.
        DynamicSupervisor::terminate_child(sup, a).unwrap();
        assert!(DynamicSupervisor::start_child(sup, ChildSpec::new("w", idle)).is_ok());
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap().specs, 2);

        let none = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_children(0)).unwrap();
        assert_eq!(
            DynamicSupervisor::start_child(none, ChildSpec::new("w", idle)).unwrap_err(),
            StartChildError::MaxChildren
        );
    });
}

#[test]
fn extra_arguments_reach_every_start_including_restarts() {
    run(|| {
        #[derive(Clone, Debug, PartialEq)]
        struct Db(&'static str);
        let me = self_pid();
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().extra_arguments(Db("pool"))).unwrap();
        let spec = ChildSpec::with_args("w", move |db: Db| {
            let pid = idle();
            send(me, (db, pid));
            pid
        });
        let first = DynamicSupervisor::start_child(sup, spec.clone()).unwrap().pid().unwrap();
        let second = DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap();
        assert_eq!(receive::<(Db, Pid)>(), (Db("pool"), first));
        assert_eq!(receive::<(Db, Pid)>(), (Db("pool"), second));
        // A restart gets them too.
        first.exit(Reason::Kill);
        let (db, restarted) = receive::<(Db, Pid)>();
        assert_eq!(db, Db("pool"));
        assert_ne!(restarted, first);

        // A spec whose argument type is not the supervisor's.
        let wrong = ChildSpec::with_args("w", |_: String| idle());
        assert!(matches!(
            DynamicSupervisor::start_child(sup, wrong).unwrap_err(),
            StartChildError::ArgumentType { given, .. } if given.contains("String")
        ));
        // A plain spec (argument `()`) does not fit either.
        assert!(matches!(
            DynamicSupervisor::start_child(sup, ChildSpec::new("w", idle)).unwrap_err(),
            StartChildError::ArgumentType { .. }
        ));
    });
}

#[test]
fn which_and_count_children_by_type() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let w = DynamicSupervisor::start_child(sup, ChildSpec::new("w", idle)).unwrap().pid().unwrap();
        let nested = DynamicSupervisor::child_spec(DynamicSupervisorOptions::new());
        assert_eq!(nested.get_type(), ChildType::Supervisor);
        let s = DynamicSupervisor::start_child(sup, nested).unwrap().pid().unwrap();
        let children = DynamicSupervisor::which_children(sup).unwrap();
        assert_eq!(children.len(), 2);
        assert_eq!((children[0].pid, children[0].kind), (ChildPid::Running(w), ChildType::Worker));
        assert_eq!((children[1].pid, children[1].kind), (ChildPid::Running(s), ChildType::Supervisor));
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap(), counts(2, 2, 1, 1));
        // The nested supervisor is a DynamicSupervisor of its own.
        DynamicSupervisor::start_child(s, ChildSpec::new("w", idle)).unwrap();
        assert_eq!(DynamicSupervisor::count_children(s).unwrap().active, 1);
    });
}

#[test]
fn counter_and_agent_examples_from_the_docs() {
    use ember_runtime::agent::Agent;
    use std::collections::HashMap;

    /// The Counter of the DynamicSupervisor docs.
    struct Counter(i64);
    impl GenServer for Counter {
        type Arg = i64;
        type Call = ();
        type Reply = i64;
        type Cast = ();
        type Continue = ();
        fn init(initial: i64) -> Init<Self> {
            Init::Ok(Counter(initial))
        }
        fn handle_call(
            &mut self,
            _inc: (),
            _from: ember_runtime::gen_server::ReplyTo<i64>,
        ) -> ember_runtime::gen_server::CallResult<Self> {
            self.0 += 1;
            ember_runtime::gen_server::CallResult::Reply(self.0 - 1)
        }
    }

    run(|| {
        DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("MyApp.DynamicSupervisor")).unwrap();
        let c1 =
            DynamicSupervisor::start_child("MyApp.DynamicSupervisor", ChildSpec::gen_server::<Counter>(0)).unwrap();
        let c1 = gen_server::Server::<Counter>::new(c1.pid().unwrap());
        assert_eq!(c1.call(()).unwrap(), 0);
        let c2 =
            DynamicSupervisor::start_child("MyApp.DynamicSupervisor", ChildSpec::gen_server::<Counter>(10)).unwrap();
        assert_eq!(gen_server::Server::<Counter>::new(c2.pid().unwrap()).call(()).unwrap(), 10);
        assert_eq!(DynamicSupervisor::count_children("MyApp.DynamicSupervisor").unwrap(), counts(2, 2, 0, 2));

        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let agent1 = DynamicSupervisor::start_child(sup, ChildSpec::agent(HashMap::<&str, &str>::new)).unwrap();
        let agent1 = Agent::<HashMap<&str, &str>>::new(agent1.pid().unwrap());
        agent1
            .update(|m| {
                m.insert("key", "value");
            })
            .unwrap();
        assert_eq!(agent1.get(|m| m.clone()).unwrap(), HashMap::from([("key", "value")]));
        let agent2 = DynamicSupervisor::start_child(sup, ChildSpec::agent(HashMap::<&str, &str>::new)).unwrap();
        assert!(Agent::<HashMap<&str, &str>>::new(agent2.pid().unwrap()).get(|m| m.is_empty()).unwrap());
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap(), counts(2, 2, 0, 2));
    });
}

#[test]
fn calls_to_a_missing_supervisor_fail_without_waiting() {
    run(|| {
        assert_eq!(DynamicSupervisor::which_children("none").unwrap_err(), CallError::NoProc);
        assert_eq!(DynamicSupervisor::count_children("none").unwrap_err(), CallError::NoProc);
        assert_eq!(DynamicSupervisor::stop("none", Reason::Normal).unwrap_err(), CallError::NoProc);
        let dead = spawn(|| {});
        let m = ember_runtime::monitor(dead);
        let _: ember_runtime::Down = receive();
        let _ = m;
        assert!(DynamicSupervisor::terminate_child(dead, dead).is_err());
        assert!(receive_timeout::<()>(Duration::ZERO).is_none());
    });
}

/// Elixir's `DynamicSupervisor.start_child` returns `{:error, :oops}` for a
/// start function that calls `exit(:oops)`, and the supervisor lives on.
#[test]
fn exit_in_a_start_function_is_the_start_error() {
    run(|| {
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let spec = ChildSpec::new("oops", || -> Pid { ember_runtime::exit(Reason::custom("oops")) });
        assert_eq!(
            DynamicSupervisor::start_child(sup, spec).unwrap_err(),
            StartChildError::Failed(Reason::custom("oops"))
        );
        assert!(sup.is_alive());
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap(), counts(0, 0, 0, 0));
        // A panic in a start function says where it was raised.
        let panics = ChildSpec::new("p", || -> Pid { panic!("start panicked") });
        match DynamicSupervisor::start_child(sup, panics).unwrap_err() {
            StartChildError::Failed(Reason::Panic { location: Some(location), .. }) => {
                assert!(location.file.ends_with("dynamic_start.rs"), "{location:?}")
            }
            other => panic!("expected a panic with its location, got {other:?}"),
        }
    });
}

/// `DynamicSupervisorModule::child_spec` (Elixir's `use DynamicSupervisor`)
/// and `get_callback_module`.
#[test]
fn module_based_supervisors_have_a_child_spec_and_a_callback_module() {
    run(|| {
        let spec = Limited::child_spec(Some(1));
        assert!(spec.id().as_str().ends_with("Limited"));
        assert_eq!(
            (spec.get_type(), spec.get_restart()),
            (ChildType::Supervisor, ember_supervisor::Restart::Permanent)
        );
        let root =
            ember_supervisor::Supervisor::start_link(vec![spec], ember_supervisor::SupervisorOptions::one_for_one())
                .unwrap();
        let limited = root.which_children().unwrap()[0].pid.pid().unwrap();
        assert_eq!(DynamicSupervisor::get_callback_module(limited).unwrap(), std::any::type_name::<Limited>());
        // Started by the spec with its argument: one child at most.
        let agent = || ChildSpec::with_args("a", |_: &'static str| ember_runtime::agent::Agent::start_link(|| 0));
        DynamicSupervisor::start_child(limited, agent()).unwrap();
        assert_eq!(DynamicSupervisor::start_child(limited, agent()).unwrap_err(), StartChildError::MaxChildren);
        let plain = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        assert_eq!(DynamicSupervisor::get_callback_module(plain).unwrap(), "DynamicSupervisor");
        assert_eq!(DynamicSupervisor::get_callback_module("nobody"), Err(CallError::NoProc));
    });
}
