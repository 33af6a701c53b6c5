//! The DynamicSupervisor docs, run (seeds `000_dd1c1614bbb045f6.txt` and
//! `001_5b10a361ab763625.txt`): `Counter` servers and `Agent`s started on
//! demand, and a module-based DynamicSupervisor.
//!
//! ```sh
//! cargo run --example dynamic_counters
//! ```

#[allow(dead_code)]
#[path = "counter.rs"]
mod counter;

use counter::Counter;
use ember::agent::Agent;
use ember::prelude::*;
use ember::supervisor::{
    ChildCounts, DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
    DynamicSupervisorOptions, Supervisor, SupervisorOptions,
};
use std::collections::HashMap;

fn show(counts: ChildCounts) -> String {
    format!(
        "%{{active: {}, specs: {}, supervisors: {}, workers: {}}}",
        counts.active, counts.specs, counts.supervisors, counts.workers
    )
}

/// ```elixir
/// defmodule MyApp.DynamicSupervisor do
///   use DynamicSupervisor
///   def start_link(init_arg), do: DynamicSupervisor.start_link(__MODULE__, init_arg, name: __MODULE__)
///   def init(_init_arg), do: DynamicSupervisor.init(strategy: :one_for_one)
/// end
/// ```
struct MyAppDynamicSupervisor;

impl DynamicSupervisorModule for MyAppDynamicSupervisor {
    type Arg = ();
    type Extra = ();
    fn init(_init_arg: ()) -> DynamicInit<()> {
        DynamicInit::Ok(DynamicSupervisorFlags::new())
    }
}

impl MyAppDynamicSupervisor {
    fn start_link(init_arg: ()) -> Result<Pid, StartError> {
        DynamicSupervisor::start_link_module::<Self>(init_arg, StartOptions::new().name("MyApp.ModuleSupervisor"))
    }
}

fn main() {
    ember::run(|| {
        // children = [{DynamicSupervisor, name: MyApp.DynamicSupervisor, strategy: :one_for_one}]
        // Supervisor.start_link(children, strategy: :one_for_one)
        let children =
            vec![DynamicSupervisor::child_spec(DynamicSupervisorOptions::new().name("MyApp.DynamicSupervisor"))];
        let app = Supervisor::start_link(children, SupervisorOptions::one_for_one()).unwrap();

        println!("# Counters (DynamicSupervisor docs)");
        let counter1 =
            DynamicSupervisor::start_child("MyApp.DynamicSupervisor", Counter::child_spec(0)).unwrap().pid().unwrap();
        let n = Counter::inc(counter1);
        println!("Counter.inc(counter1)  #=> {n}");
        assert_eq!(n, 0);
        let counter2 =
            DynamicSupervisor::start_child("MyApp.DynamicSupervisor", Counter::child_spec(10)).unwrap().pid().unwrap();
        let n = Counter::inc(counter2);
        println!("Counter.inc(counter2)  #=> {n}");
        assert_eq!(n, 10);
        let counts = DynamicSupervisor::count_children("MyApp.DynamicSupervisor").unwrap();
        println!("DynamicSupervisor.count_children(MyApp.DynamicSupervisor)  #=> {}", show(counts));
        assert_eq!(counts, ChildCounts { active: 2, specs: 2, supervisors: 0, workers: 2 });

        // A crashed counter is restarted with its initial value.
        let watch = monitor(counter1);
        counter1.exit(Reason::custom("boom"));
        let _: Down = receive_if(move |d: &Down| d.monitor == watch);
        let restarted = DynamicSupervisor::which_children("MyApp.DynamicSupervisor").unwrap()[1].pid.pid().unwrap();
        let n = Counter::inc(restarted);
        println!("# counter1 crashed; the restarted one starts over: Counter.inc  #=> {n}");
        assert_eq!(n, 0);

        println!("# Agents (older DynamicSupervisor docs)");
        let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).unwrap();
        let agent1 = DynamicSupervisor::start_child(sup, ChildSpec::agent(HashMap::<&str, &str>::new)).unwrap();
        let agent1 = Agent::<HashMap<&str, &str>>::new(agent1.pid().unwrap());
        agent1
            .update(|m| {
                m.insert("key", "value");
            })
            .unwrap();
        let map = agent1.get(|m| m.clone()).unwrap();
        println!("Agent.get(agent1, & &1)  #=> {map:?}");
        assert_eq!(map, HashMap::from([("key", "value")]));
        let agent2 = DynamicSupervisor::start_child(sup, ChildSpec::agent(HashMap::<&str, &str>::new)).unwrap();
        let map = Agent::<HashMap<&str, &str>>::new(agent2.pid().unwrap()).get(|m| m.clone()).unwrap();
        println!("Agent.get(agent2, & &1)  #=> {map:?}");
        assert!(map.is_empty());
        let counts = DynamicSupervisor::count_children(sup).unwrap();
        println!("DynamicSupervisor.count_children(sup)  #=> {}", show(counts));
        assert_eq!(counts, ChildCounts { active: 2, specs: 2, supervisors: 0, workers: 2 });

        println!("# A module-based DynamicSupervisor");
        let module_sup = MyAppDynamicSupervisor::start_link(()).unwrap();
        let c = DynamicSupervisor::start_child("MyApp.ModuleSupervisor", Counter::child_spec(5)).unwrap();
        println!("Counter.inc(counter)  #=> {}", Counter::inc(c.pid().unwrap()));
        println!("MyApp.ModuleSupervisor is {module_sup}");

        DynamicSupervisor::stop(module_sup, Reason::Normal).unwrap();
        DynamicSupervisor::stop(sup, Reason::Normal).unwrap();
        app.stop(Reason::Normal, None).unwrap();
    })
    .unwrap();
}
