//! The runtime's counters through the `metrics` facade (feature `metrics`).
//!
//! A real program installs an exporter (Prometheus, StatsD, ...) as the
//! global recorder; this one installs a tiny recorder that keeps the last
//! value of each metric, lets `observer::metrics::spawn_exporter` record a
//! few times while some processes work, and prints what it saw.
//!
//! ```text
//! cargo run --example metrics --features metrics
//! ```

use ember::prelude::*;
use metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The last value of every metric, by its name and labels.
#[derive(Default)]
struct LastValues(Mutex<BTreeMap<String, Arc<AtomicU64>>>);

/// One metric's last value (an f64's bits).
struct Slot(Arc<AtomicU64>);

impl GaugeFn for Slot {
    fn increment(&self, value: f64) {
        GaugeFn::set(self, f64::from_bits(self.0.load(Ordering::Relaxed)) + value);
    }
    fn decrement(&self, value: f64) {
        GaugeFn::increment(self, -value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

impl CounterFn for Slot {
    fn increment(&self, value: u64) {
        GaugeFn::increment(self, value as f64);
    }
    fn absolute(&self, value: u64) {
        GaugeFn::set(self, value as f64);
    }
}

impl LastValues {
    fn slot(&self, key: &Key) -> Arc<Slot> {
        let labels: Vec<String> = key.labels().map(|l| format!("{}=\"{}\"", l.key(), l.value())).collect();
        let name =
            if labels.is_empty() { key.name().to_string() } else { format!("{}{{{}}}", key.name(), labels.join(",")) };
        let value = self.0.lock().unwrap().entry(name).or_default().clone();
        Arc::new(Slot(value))
    }
}

impl Recorder for &'static LastValues {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.slot(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.slot(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn main() {
    let values: &'static LastValues = Box::leak(Box::default());
    metrics::set_global_recorder(values).expect("no other recorder");
    ember::run(|| {
        let exporter = ember::observer::metrics::spawn_exporter(Duration::from_millis(100));
        // Some work to see: a process with a backlog, and a ping-pong pair.
        let backlog = spawn(|| {
            receive::<()>();
        });
        for i in 0..250u32 {
            send(backlog, i);
        }
        let me = self_pid();
        let echo = spawn(move || {
            for _ in 0..10_000 {
                let n: u32 = receive();
                send(me, n);
            }
        });
        for n in 0..10_000u32 {
            send(echo, n);
            let _: u32 = receive();
        }
        // Let the exporter record a few more times.
        sleep(Duration::from_millis(350));
        exporter.exit(Reason::Kill);
        send(backlog, ());
    })
    .expect("the example runs");
    let seen: BTreeMap<String, f64> = values
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), f64::from_bits(value.load(Ordering::Relaxed))))
        .collect();
    for (name, value) in &seen {
        println!("{name:40} {value}");
    }
    // What the exporter saw last: the backlog, and every worker.
    assert_eq!(seen.get("ember_mailbox_longest"), Some(&250.0));
    assert!(seen.get("ember_processes").is_some_and(|&n| n >= 2.0));
    assert!(seen.contains_key("ember_worker_busy_ratio{worker=\"0\"}"));
}
