//! One DynamicSupervisor per core behind a PartitionSupervisor, with
//! children started from many callers at once — the "Scalability and
//! partitioning" section of the DynamicSupervisor docs:
//!
//! ```elixir
//! children = [{PartitionSupervisor, child_spec: DynamicSupervisor, name: MyApp.DynamicSupervisors}]
//! DynamicSupervisor.start_child({:via, PartitionSupervisor, {MyApp.DynamicSupervisors, self()}}, {Counter, 0})
//! ```
//!
//! ```sh
//! cargo run --example partitioned
//! ```

#[allow(dead_code)]
#[path = "counter.rs"]
mod counter;

use counter::Counter;
use ember::prelude::*;
use ember::supervisor::{
    via_partition, DynamicSupervisor, DynamicSupervisorOptions, PartitionSupervisor, PartitionSupervisorOptions,
    Supervisor, SupervisorOptions,
};
use std::time::Instant;

const NAME: &str = "MyApp.DynamicSupervisors";
const CALLERS: usize = 8;
const PER_CALLER: usize = 2_000;

fn main() {
    ember::run(|| {
        // A PartitionSupervisor running one DynamicSupervisor per scheduler
        // (the default number of partitions), under the application's
        // supervisor.
        let partitions = PartitionSupervisor::child_spec(PartitionSupervisorOptions::new(
            NAME,
            DynamicSupervisor::child_spec(DynamicSupervisorOptions::new()),
        ));
        let app = Supervisor::start_link(vec![partitions], SupervisorOptions::one_for_one()).unwrap();
        let n = PartitionSupervisor::partitions(NAME).unwrap();
        println!("{NAME}: {n} partitions (one per scheduler)");

        // Many callers start children at once; each routes by its own pid,
        // so callers spread over the partitions.
        let me = self_pid();
        let t0 = Instant::now();
        for _ in 0..CALLERS {
            spawn(move || {
                let mut last = None;
                for i in 0..PER_CALLER {
                    let started =
                        DynamicSupervisor::start_child(via_partition(NAME, self_pid()), Counter::child_spec(i as i64))
                            .unwrap();
                    last = started.pid();
                }
                send(me, (self_pid(), last.unwrap()));
            });
        }
        let mut lasts = Vec::new();
        for _ in 0..CALLERS {
            lasts.push(receive::<(Pid, Pid)>());
        }
        let elapsed = t0.elapsed();
        let total = CALLERS * PER_CALLER;
        println!("{CALLERS} callers started {total} counters in {elapsed:?}");

        // Where did they go?
        let mut sum = 0;
        let mut children = PartitionSupervisor::which_children(NAME).unwrap();
        children.reverse();
        for child in children {
            let dynsup = child.pid.pid().unwrap();
            let counts = DynamicSupervisor::count_children(dynsup).unwrap();
            println!("  partition {}: {} counters", child.id.unwrap(), counts.active);
            sum += counts.active;
        }
        assert_eq!(sum, total);

        // Each caller's last counter was started with PER_CALLER - 1.
        for (caller, counter) in lasts {
            assert_eq!(Counter::inc(counter), PER_CALLER as i64 - 1);
            let _ = caller;
        }
        println!("every caller's last counter answers {}", PER_CALLER - 1);

        // Shrink to one partition: every key now routes to partition 0.
        PartitionSupervisor::resize(NAME, 1).unwrap();
        assert_eq!(via_partition(NAME, self_pid()).whereis(), via_partition(NAME, 0).whereis());
        println!("after resize: {} partition(s)", PartitionSupervisor::partitions(NAME).unwrap());

        let t0 = Instant::now();
        app.stop(Reason::Normal, None).unwrap();
        println!("stopped everything in {:?}", t0.elapsed());
    })
    .unwrap();
}
