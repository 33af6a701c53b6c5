//! The "Dynamic Supervisor Example" tutorial, run (seed
//! `002_95084c951feb1704.txt`): an application supervisor with a
//! DynamicSupervisor and a Registry; workers started on demand and reached
//! by name through the registry (`{:via, Registry, {:worker_registry,
//! name}}`); a crashed worker comes back under the same name; a worker
//! stopped normally is not restarted (transient).
//!
//! ```sh
//! cargo run --example worker_registry
//! ```

use ember::gen_server::{
    self, Action, CallError, CallResult, GenServer, Init, ReplyTo, Server, StartError, StartOptions,
};
use ember::registry::{via, Options, Registry, ViaName};
use ember::supervisor::{
    ChildSpec, DynamicSupervisor, DynamicSupervisorOptions, Restart, StartChildError, StartedChild, Supervisor,
    SupervisorOptions,
};
use ember::{monitor, receive_if, Down, Pid, Reason};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::info;

/// `@registry :worker_registry`
const REGISTRY: &str = "worker_registry";

/// The registry's type: worker names to nothing (`{registry, name}` via
/// names register `nil`).
type WorkerRegistry = Registry<String, ()>;

/// ```elixir
/// defmodule DynamicSupervisorWithRegistry.Worker do
///   use GenServer
/// ```
struct Worker {
    name: String,
    /// Not in the tutorial: how many `:work` casts this incarnation served,
    /// so that the transcript can show a restarted worker starting over.
    served: u32,
}

enum Cast {
    Work,
    Raise,
}

/// Not in the tutorial: a call to wait until the casts sent before it are
/// served, so the transcript prints in order.
struct Served;

impl Worker {
    /// `def start_link(name), do: GenServer.start_link(__MODULE__, name, name: via_tuple(name))`
    fn start_link(name: String) -> Result<Server<Worker>, StartError> {
        gen_server::start_link::<Worker>(name.clone(), StartOptions::new().name(via_tuple(&name)))
    }

    /// `def stop(name), do: GenServer.stop(via_tuple(name))`
    fn stop(name: &str) -> Result<(), CallError> {
        Server::<Worker>::new(via_tuple(name)).stop(Reason::Normal, None)
    }

    /// `def crash(name), do: GenServer.cast(via_tuple(name), :raise)`
    fn crash(name: &str) {
        Server::<Worker>::new(via_tuple(name)).cast(Cast::Raise)
    }

    /// `GenServer.cast(via_tuple(name), :work)`
    fn work(name: &str) {
        Server::<Worker>::new(via_tuple(name)).cast(Cast::Work)
    }

    fn served(name: &str) -> Result<u32, CallError> {
        Server::<Worker>::new(via_tuple(name)).call(Served)
    }

    fn whereis(name: &str) -> Option<Pid> {
        Server::<Worker>::new(via_tuple(name)).pid()
    }
}

/// `defp via_tuple(name), do: {:via, Registry, {@registry, name}}`
fn via_tuple(name: &str) -> Arc<ViaName<String, ()>> {
    let registry = WorkerRegistry::named(REGISTRY).expect("the worker registry is running");
    via(&registry, name.to_string())
}

impl GenServer for Worker {
    type Arg = String;
    type Call = Served;
    type Reply = u32;
    type Cast = Cast;
    type Continue = ();

    fn init(name: String) -> Init<Self> {
        info!("Starting {name:?}");
        Init::Ok(Worker { name, served: 0 })
    }

    fn handle_cast(&mut self, request: Cast) -> Action<()> {
        match request {
            Cast::Work => {
                info!("hola");
                self.served += 1;
                Action::NoReply
            }
            Cast::Raise => panic!("Error, Server {} has crashed", self.name),
        }
    }

    fn handle_call(&mut self, _: Served, _from: ReplyTo<u32>) -> CallResult<Self> {
        CallResult::Reply(self.served)
    }

    fn terminate(&mut self, reason: &Reason) {
        info!("Exiting worker: {} with reason: {reason:?}", self.name);
    }
}

/// ```elixir
/// defmodule DynamicSupervisorWithRegistry.WorkersSupervisor do
///   use DynamicSupervisor
/// ```
mod workers_supervisor {
    use super::*;

    pub const NAME: &str = "DynamicSupervisorWithRegistry.WorkersSupervisor";

    /// `def start_link(_arg), do: DynamicSupervisor.start_link(__MODULE__, [], name: __MODULE__)`
    /// with `init/1` = `DynamicSupervisor.init(strategy: :one_for_one)`.
    pub fn child_spec() -> ChildSpec {
        DynamicSupervisor::child_spec(DynamicSupervisorOptions::new().name(NAME))
    }

    /// ```elixir
    /// def start_child(child_name) do
    ///   DynamicSupervisor.start_child(__MODULE__,
    ///     %{id: Worker, start: {Worker, :start_link, [child_name]}, restart: :transient})
    /// end
    /// ```
    pub fn start_child(child_name: &str) -> Result<StartedChild, StartChildError> {
        let child_name = child_name.to_string();
        let spec = ChildSpec::new("Worker", move || Worker::start_link(child_name.clone())).restart(Restart::Transient);
        DynamicSupervisor::start_child(NAME, spec)
    }
}

/// ```elixir
/// def start(_args, _opts) do
///   children = [
///     {DynamicSupervisorWithRegistry.WorkerSupervisor, []},
///     {Registry, [keys: :unique, name: @registry]}
///   ]
///   opts = [strategy: :one_for_one, name: __MODULE__]
///   Supervisor.start_link(children, opts)
/// end
/// ```
fn start_application() -> Result<Supervisor, StartError> {
    let children = vec![
        workers_supervisor::child_spec(),
        ChildSpec::new(REGISTRY, || WorkerRegistry::start_link(Options::unique(REGISTRY))).supervisor(),
    ];
    Supervisor::start_link(children, SupervisorOptions::one_for_one().name("DynamicSupervisorWithRegistry"))
}

/// Waits (bounded) until `name` is registered by a process other than `old`.
fn wait_for_restart(name: &str, old: Pid) -> Pid {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Worker::whereis(name) {
            Some(pid) if pid != old => return pid,
            _ if Instant::now() > deadline => panic!("{name} did not come back"),
            _ => ember::yield_now(),
        }
    }
}

fn main() {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt().with_target(false).without_time().with_ansi(ansi).init();
    ember::run(|| {
        let app = start_application().expect("start the application");
        let registry = WorkerRegistry::named(REGISTRY).unwrap();

        println!("# WorkerSupervisor.start_child(\"worker_1\") and (\"worker_2\")");
        for name in ["worker_1", "worker_2"] {
            let started = workers_supervisor::start_child(name).unwrap();
            println!("  {name}: {:?}", started);
        }
        // Starting a worker under a name that is taken fails as in OTP.
        let again = workers_supervisor::start_child("worker_1");
        println!("# starting worker_1 again  #=> {again:?}");

        println!("# GenServer.cast(via_tuple(\"worker_1\"), :work)");
        Worker::work("worker_1");
        Worker::work("worker_1");
        println!("  worker_1 served {} casts", Worker::served("worker_1").unwrap());

        let lookup = registry.lookup(&"worker_1".to_string()).unwrap();
        println!("Registry.lookup(:worker_registry, \"worker_1\")  #=> {lookup:?}");
        println!("Registry.lookup(:worker_registry, 345)  #=> {:?}", registry.lookup(&"345".to_string()).unwrap());

        println!("# Worker.crash(\"worker_1\")");
        let before = Worker::whereis("worker_1").unwrap();
        let m = monitor(before);
        Worker::crash("worker_1");
        let down: Down = receive_if(move |d: &Down| d.monitor == m);
        println!("  {before} exited: {:?}", down.reason);
        let after = wait_for_restart("worker_1", before);
        println!("  worker_1 is back under the same name: {before} -> {after}");
        Worker::work("worker_1");
        println!("  the new worker_1 served {} casts", Worker::served("worker_1").unwrap());

        registry.sync().unwrap();
        println!("Registry.count(:worker_registry)  #=> {}", registry.count().unwrap());

        println!("# Worker.stop(\"worker_1\")  (normal exit: transient, so not restarted)");
        Worker::stop("worker_1").unwrap();
        registry.sync().unwrap();
        println!(
            "  Registry.lookup(:worker_registry, \"worker_1\")  #=> {:?}",
            registry.lookup(&"worker_1".to_string()).unwrap()
        );
        println!("Registry.count(:worker_registry)  #=> {}", registry.count().unwrap());
        let counts = DynamicSupervisor::count_children(workers_supervisor::NAME).unwrap();
        println!("DynamicSupervisor.count_children(WorkersSupervisor)  #=> active: {}", counts.active);
        assert_eq!(registry.count().unwrap(), 1);
        assert_eq!(counts.active, 1);

        // Stopping the application stops everything, in reverse order.
        ember::trap_exit(true);
        app.stop(Reason::Shutdown, None).unwrap();
        println!("# application stopped");
    })
    .unwrap();
}
