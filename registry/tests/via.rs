//! Via names (SEMANTICS.md §7.4, §8): GenServers and Agents started and
//! called through a registry key.

mod common;

use common::{run, wait_down, Puppet};
use ember_registry::{via, via_with_value, Options, Registry, VIA_DUPLICATE};
use ember_runtime::agent::Agent;
use ember_runtime::gen_server::{
    start_link, CallError, CallResult, GenServer, Init, ReplyTo, Server, StartError, StartOptions,
};
use ember_runtime::{monitor, self_pid, Action, Dest, Reason, Via, ViaError};

/// A counter that can be told to fail.
struct Counter(i64);

enum Req {
    Get,
    Add(i64),
}

impl GenServer for Counter {
    type Arg = i64;
    type Call = Req;
    type Reply = i64;
    type Cast = i64;
    type Continue = ();

    fn init(start: i64) -> Init<Self> {
        match start {
            -1 => Init::Stop(Reason::custom("refused")),
            -2 => Init::Ignore,
            _ => Init::Ok(Counter(start)),
        }
    }

    fn handle_call(&mut self, req: Req, _from: ReplyTo<i64>) -> CallResult<Self> {
        match req {
            Req::Get => CallResult::Reply(self.0),
            Req::Add(n) => {
                self.0 += n;
                CallResult::Reply(self.0)
            }
        }
    }

    fn handle_cast(&mut self, n: i64) -> Action<()> {
        self.0 += n;
        Action::NoReply
    }
}

type Reg = Registry<String, u32>;

fn k(s: &str) -> String {
    s.to_string()
}

fn gen_server_by_via_name(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Via.GenServer").partitions(p)).unwrap();
        let name = via(&reg, k("counter"));
        let started = start_link::<Counter>(10, StartOptions::new().name(name.clone())).unwrap();
        let pid = started.pid().unwrap();
        // Registered by the server itself, with the default value.
        assert_eq!(reg.lookup(&k("counter")).unwrap(), vec![(pid, 0)]);
        assert_eq!(reg.keys(pid).unwrap(), vec![k("counter")]);
        // Called and cast to by name.
        let server = Server::<Counter>::new(name.clone());
        assert_eq!(server.pid(), Some(pid));
        assert_eq!(server.call(Req::Add(5)).unwrap(), 15);
        server.cast(7);
        assert_eq!(server.call(Req::Get).unwrap(), 22);
        // A handle made from another via value of the same key works too.
        assert_eq!(Server::<Counter>::new(reg.via(k("counter"))).call(Req::Get).unwrap(), 22);
        // Sending through the via name.
        assert!(name.send(Box::new(ember_runtime::gen_server::Info::new(()))).is_ok());
        assert!(reg.via(k("nobody")).send(Box::new(())).is_err());
    })
}

fn already_started_through_via(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Via.Already").partitions(p)).unwrap();
        let name = via(&reg, k("one"));
        let first = start_link::<Counter>(0, StartOptions::new().name(name.clone())).unwrap().pid().unwrap();
        let again = start_link::<Counter>(0, StartOptions::new().name(name.clone())).unwrap_err();
        assert_eq!(again, StartError::AlreadyStarted(first));
        // The registration itself (what the new process does after the
        // start's pre-check) reports the holder as well.
        assert_eq!(name.register_name(self_pid()), Err(ViaError::Taken(first)));
        // A process already registered under the key by hand counts too.
        reg.register(k("mine"), 3).unwrap();
        let err = start_link::<Counter>(0, StartOptions::new().name(via(&reg, k("mine")))).unwrap_err();
        assert_eq!(err, StartError::AlreadyStarted(self_pid()));
        // Only the calling process can be registered.
        let other = Puppet::spawn();
        assert!(matches!(reg.via(k("x")).register_name(other.pid), Err(ViaError::Refused(_))));
    })
}

fn name_is_free_again_after_death(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Via.Free").partitions(p)).unwrap();
        let name = via(&reg, k("worker"));
        for how in ["stop", "kill", "crash"] {
            let server = start_link::<Counter>(0, StartOptions::new().name(name.clone())).unwrap();
            let pid = server.pid().unwrap();
            ember_runtime::unlink(pid);
            let m = monitor(pid);
            match how {
                "stop" => Server::<Counter>::new(name.clone()).stop(Reason::Normal, None).unwrap(),
                "kill" => pid.exit(Reason::Kill),
                _ => pid.exit(Reason::custom("crash")),
            }
            wait_down(m);
            // Until the partition cleans up, the dead holder does not
            // resolve; after, the entry is gone.
            assert_eq!(name.whereis_name(), None);
            reg.sync().unwrap();
            assert!(reg.lookup(&k("worker")).unwrap().is_empty(), "after {how}");
            assert_eq!(Server::<Counter>::new(name.clone()).call(Req::Get), Err(CallError::NoProc));
        }
        // And the name can be taken again.
        let again = start_link::<Counter>(1, StartOptions::new().name(name.clone())).unwrap();
        assert_eq!(reg.whereis(&k("worker")).unwrap(), again.pid());
    })
}

fn failed_init_releases_the_name(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Via.InitFails").partitions(p)).unwrap();
        ember_runtime::trap_exit(true);
        let name = via(&reg, k("picky"));
        let err = start_link::<Counter>(-1, StartOptions::new().name(name.clone())).unwrap_err();
        assert_eq!(err, StartError::Failed(Reason::custom("refused")));
        // Unregistered before the start returned: no sync needed.
        assert!(reg.lookup(&k("picky")).unwrap().is_empty());
        assert_eq!(start_link::<Counter>(-2, StartOptions::new().name(name.clone())).unwrap_err(), StartError::Ignore);
        assert!(reg.lookup(&k("picky")).unwrap().is_empty());
        assert!(start_link::<Counter>(0, StartOptions::new().name(name)).is_ok());
    })
}

fn via_with_a_value(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Via.Value").partitions(p)).unwrap();
        let server = start_link::<Counter>(0, StartOptions::new().name(via_with_value(&reg, k("v"), 42))).unwrap();
        let pid = server.pid().unwrap();
        assert_eq!(reg.lookup(&k("v")).unwrap(), vec![(pid, 42)]);
        // The two-part name finds what the three-part one registered.
        assert_eq!(Server::<Counter>::new(via(&reg, k("v"))).call(Req::Get).unwrap(), 0);
        assert_eq!(format!("{:?}", via(&reg, k("v"))), "{:via, Registry, {Via.Value, \"v\"}}");
    })
}

fn agent_by_via_name(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Via.Agent").partitions(p)).unwrap();
        let name = reg.via(k("bucket"));
        Agent::start_link_opts(Vec::<u32>::new, StartOptions::new().name(name.clone())).unwrap();
        let agent = Agent::<Vec<u32>>::new(name.clone());
        agent.update(|v| v.push(1)).unwrap();
        agent.cast(|v| v.push(2));
        assert_eq!(agent.get(|v| v.clone()).unwrap(), vec![1, 2]);
        let dest: Dest = name.clone().into();
        assert_eq!(dest.whereis(), agent.pid());
        agent.stop().unwrap();
        reg.sync().unwrap();
        assert_eq!(dest.whereis(), None);
    })
}

fn duplicate_registries_refuse_via(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::duplicate("Via.Duplicate").partitions(p)).unwrap();
        let name = via(&reg, k("x"));
        assert_eq!(name.register_name(self_pid()), Err(ViaError::Refused(VIA_DUPLICATE.into())));
        let err = start_link::<Counter>(0, StartOptions::new().name(name.clone())).unwrap_err();
        assert_eq!(err, StartError::InvalidName(VIA_DUPLICATE.into()));
        reg.register(k("x"), 1).unwrap();
        assert_eq!(name.whereis_name(), None);
        assert_eq!(Server::<Counter>::new(name).call(Req::Get), Err(CallError::NoProc));
    })
}

fn via_after_the_registry_stopped(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Via.Stopped").partitions(p)).unwrap();
        let name = via(&reg, k("s"));
        reg.stop(Reason::Normal).unwrap();
        let err = start_link::<Counter>(0, StartOptions::new().name(name.clone())).unwrap_err();
        assert!(matches!(err, StartError::InvalidName(why) if why.contains("unknown registry")));
        // Started again under the same name: old via values find the new one.
        let reg2 = Reg::start_link(Options::unique("Via.Stopped").partitions(p)).unwrap();
        let server = start_link::<Counter>(3, StartOptions::new().name(name.clone())).unwrap();
        assert_eq!(reg2.whereis(&k("s")).unwrap(), server.pid());
        assert_eq!(Server::<Counter>::new(name).call(Req::Get).unwrap(), 3);
    })
}

partitioned!(
    gen_server_by_via_name,
    already_started_through_via,
    name_is_free_again_after_death,
    failed_init_releases_the_name,
    via_with_a_value,
    agent_by_via_name,
    duplicate_registries_refuse_via,
    via_after_the_registry_stopped,
);
