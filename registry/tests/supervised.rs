//! The registry with ember-supervisor (the registry is built on it; the
//! supervisor crate knows nothing of the registry): the registry as a
//! supervisor's child, and
//! GenServers, Agents, Supervisors and DynamicSupervisors named through it.

mod common;

use common::{run, wait_down, wait_until};
use ember_registry::{via, Options, Registry};
use ember_runtime::agent::Agent;
use ember_runtime::gen_server::{start_link, CallResult, GenServer, Init, ReplyTo, Server, StartOptions};
use ember_runtime::{monitor, Reason};
use ember_supervisor::{
    ChildSpec, DynamicSupervisor, DynamicSupervisorOptions, Restart, StartChildError, StartedChild, Supervisor,
    SupervisorOptions,
};

type Reg = Registry<String, ()>;

fn k(s: &str) -> String {
    s.to_string()
}

/// A worker that answers its name, and crashes on request.
struct Worker(String);

enum Req {
    Name,
    Crash,
}

impl GenServer for Worker {
    type Arg = String;
    type Call = Req;
    type Reply = String;
    type Cast = ();
    type Continue = ();

    fn init(name: String) -> Init<Self> {
        Init::Ok(Worker(name))
    }

    fn handle_call(&mut self, req: Req, _from: ReplyTo<String>) -> CallResult<Self> {
        match req {
            Req::Name => CallResult::Reply(self.0.clone()),
            Req::Crash => panic!("worker {} crashes on request", self.0),
        }
    }
}

fn worker_spec(reg: &Reg, name: &str) -> ChildSpec {
    let (reg, name) = (reg.clone(), k(name));
    ChildSpec::new(name.clone(), move || {
        start_link::<Worker>(name.clone(), StartOptions::new().name(via(&reg, name.clone())))
    })
    .restart(Restart::Transient)
}

#[test]
fn registry_as_a_supervised_child() {
    run(|| {
        let opts = Options::unique("Sup.Registry").partitions(2);
        let spec = ChildSpec::new("Sup.Registry", move || Reg::start_link(opts.clone())).supervisor();
        let sup = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
        let reg = Reg::named("Sup.Registry").unwrap();
        let top = reg.pid().unwrap();
        let children = sup.which_children().unwrap();
        assert_eq!(children.len(), 1);
        assert_eq!(children[0].pid.pid(), Some(top));
        assert_eq!(children[0].kind, ember_supervisor::ChildType::Supervisor);

        // Killed, it is restarted by its supervisor, empty, under its name;
        // the old handle follows.
        let m = monitor(top);
        top.exit(Reason::Kill);
        wait_down(m);
        wait_until("the registry is restarted", || reg.pid().is_some_and(|p| p != top));
        assert_eq!(reg.count().unwrap(), 0);
        reg.register(k("back"), ()).unwrap();
        assert_eq!(Reg::named("Sup.Registry").unwrap().count().unwrap(), 1);
        // Stopped with its supervisor.
        ember_runtime::trap_exit(true);
        let new_top = reg.pid().unwrap();
        sup.stop(Reason::Shutdown, None).unwrap();
        assert!(!new_top.is_alive());
    })
}

#[test]
fn workers_by_name_under_a_dynamic_supervisor() {
    run(|| {
        let reg = Reg::start_link(Options::unique("Sup.Workers")).unwrap();
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let first = DynamicSupervisor::start_child(sup, worker_spec(&reg, "worker_1")).unwrap().pid().unwrap();
        DynamicSupervisor::start_child(sup, worker_spec(&reg, "worker_2")).unwrap();
        let w1 = Server::<Worker>::new(via(&reg, k("worker_1")));
        assert_eq!(w1.call(Req::Name).unwrap(), "worker_1");
        assert_eq!(reg.count().unwrap(), 2);

        // The name is taken: starting another worker_1 fails as in OTP.
        let again = DynamicSupervisor::start_child(sup, worker_spec(&reg, "worker_1")).unwrap_err();
        assert_eq!(again, StartChildError::AlreadyStarted(first));

        // Crash: restarted (transient, abnormal exit) under the same name.
        let m = monitor(first);
        assert!(w1.call(Req::Crash).is_err());
        wait_down(m);
        wait_until("worker_1 is back", || w1.pid().is_some_and(|p| p != first));
        assert_eq!(w1.call(Req::Name).unwrap(), "worker_1");

        // Stopped normally: transient, so not restarted; the name goes.
        let pid = w1.pid().unwrap();
        let m = monitor(pid);
        w1.stop(Reason::Normal, None).unwrap();
        wait_down(m);
        reg.sync().unwrap();
        assert!(reg.lookup(&k("worker_1")).unwrap().is_empty());
        assert_eq!(DynamicSupervisor::count_children(sup).unwrap().active, 1);
        assert_eq!(reg.count().unwrap(), 1);
    })
}

#[test]
fn supervisors_and_agents_named_through_the_registry() {
    run(|| {
        let reg = Reg::start_link(Options::unique("Sup.Named")).unwrap();
        // A DynamicSupervisor registered under a via name, used by it.
        let dynsup_name = via(&reg, k("dynsup"));
        let dynsup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name(dynsup_name.clone())).unwrap();
        assert_eq!(reg.whereis(&k("dynsup")).unwrap(), Some(dynsup));
        let started = DynamicSupervisor::start_child(dynsup_name.clone(), ChildSpec::agent(|| 5)).unwrap();
        assert!(matches!(started, StartedChild::Running(_)));
        assert_eq!(DynamicSupervisor::count_children(dynsup_name).unwrap().active, 1);

        // A static Supervisor under a via name, with an Agent child under
        // another one.
        let agent_name = via(&reg, k("agent"));
        let name = agent_name.clone();
        let agent_spec =
            ChildSpec::new("agent", move || Agent::start_link_opts(|| 0u32, StartOptions::new().name(name.clone())));
        Supervisor::start_link(vec![agent_spec], SupervisorOptions::one_for_one().name(via(&reg, k("sup")))).unwrap();
        let sup = Supervisor::new(via(&reg, k("sup")));
        assert_eq!(sup.which_children().unwrap().len(), 1);
        let agent = Agent::<u32>::new(agent_name);
        agent.update(|n| *n += 1).unwrap();
        assert_eq!(agent.get(|n| *n).unwrap(), 1);
        // Killed: restarted by the supervisor, under the same name.
        let old = agent.pid().unwrap();
        old.exit(Reason::Kill);
        wait_until("the agent is back", || agent.pid().is_some_and(|p| p != old));
        assert_eq!(agent.get(|n| *n).unwrap(), 0);
        // A second supervisor under a taken name.
        ember_runtime::trap_exit(true);
        let err = Supervisor::start_link(vec![], SupervisorOptions::one_for_one().name(via(&reg, k("sup"))));
        assert_eq!(err.unwrap_err(), ember_runtime::gen_server::StartError::AlreadyStarted(sup.pid().unwrap()));
    })
}
