//! The runtime's counters through the [`metrics`] facade (feature
//! `metrics`): plug in any recorder (a Prometheus exporter, StatsD...) and
//! call [`record`] with a snapshot, or let [`spawn_exporter`] do it every
//! interval.
//!
//! What is exported (gauges unless said otherwise; `worker` is a label):
//!
//! | name | what |
//! |---|---|
//! | `ember_processes` | live processes |
//! | `ember_mailbox_messages` | messages queued, all mailboxes together |
//! | `ember_mailbox_longest` | the longest mailbox |
//! | `ember_injector_len` | processes queued from outside the workers |
//! | `ember_timers_pending` | timers not yet fired |
//! | `ember_stacks_in_use`, `ember_stacks_pooled` | the stack pool |
//! | `ember_stack_bytes_mapped` | stack address space mapped (virtual) |
//! | `ember_blocking_threads` | threads of the blocking pool |
//! | `ember_worker_busy_ratio{worker}` | busy fraction of the last 250 ms |
//! | `ember_worker_run_queue{worker}` | processes queued to run on it |
//! | `ember_worker_steals_total{worker}` | counter: work taken from elsewhere |
//! | `ember_worker_parks_total{worker}` | counter: times it slept |
//!
//! Per-process values are not exported one by one (their pids would be
//! labels without end): that is what the observer is for.

use crate::pid::Pid;
use crate::snapshot::Snapshot;
use std::time::Duration;

/// Records `snapshot` through the current `metrics` recorder.
///
/// ```
/// ember_runtime::run(|| ember_runtime::observer::metrics::record(&ember_runtime::snapshot())).unwrap();
/// ```
pub fn record(snapshot: &Snapshot) {
    let queued: usize = snapshot.processes.iter().map(|p| p.message_queue_len).sum();
    let longest = snapshot.processes.iter().map(|p| p.message_queue_len).max().unwrap_or(0);
    let timers: usize =
        snapshot.workers.iter().map(|w| w.timers_pending).sum::<usize>() + snapshot.external_timers_pending;
    metrics::gauge!("ember_processes").set(snapshot.processes.len() as f64);
    metrics::gauge!("ember_mailbox_messages").set(queued as f64);
    metrics::gauge!("ember_mailbox_longest").set(longest as f64);
    metrics::gauge!("ember_injector_len").set(snapshot.injector_len as f64);
    metrics::gauge!("ember_timers_pending").set(timers as f64);
    metrics::gauge!("ember_stacks_in_use").set(snapshot.stacks.in_use as f64);
    metrics::gauge!("ember_stacks_pooled").set(snapshot.stacks.pooled as f64);
    metrics::gauge!("ember_stack_bytes_mapped").set(snapshot.stacks.bytes_mapped as f64);
    metrics::gauge!("ember_blocking_threads").set(snapshot.blocking_threads as f64);
    for w in &snapshot.workers {
        let worker = w.index.to_string();
        metrics::gauge!("ember_worker_busy_ratio", "worker" => worker.clone()).set(w.busy_ratio);
        metrics::gauge!("ember_worker_run_queue", "worker" => worker.clone()).set(w.run_queue_len as f64);
        metrics::counter!("ember_worker_steals_total", "worker" => worker.clone()).absolute(w.steals);
        metrics::counter!("ember_worker_parks_total", "worker" => worker).absolute(w.parks);
    }
}

/// Spawns a process that takes a snapshot and [`record`]s it every
/// `interval` (at least 100 ms: a snapshot walks every process), until it
/// is killed. Returns its pid; it is labelled `metrics exporter`.
///
/// ```
/// ember_runtime::run(|| {
///     let exporter = ember_runtime::observer::metrics::spawn_exporter(std::time::Duration::from_secs(10));
///     exporter.exit(ember_runtime::Reason::Kill);
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn spawn_exporter(interval: Duration) -> Pid {
    let interval = interval.max(Duration::from_millis(100));
    crate::spawn(move || {
        crate::set_label("metrics exporter");
        loop {
            record(&crate::snapshot());
            crate::sleep(interval);
        }
    })
}
