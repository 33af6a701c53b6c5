//! Supervisor reports (SEMANTICS.md §9.1–9.2), captured with a `tracing`
//! layer: which context, level, child and reason each situation reports.
//! One test, since the subscriber is global to the test binary.

mod common;

use common::*;
use ember_runtime::{monitor, receive_if_timeout, send, Down, Reason};
use ember_supervisor::{ChildSpec, Restart, Shutdown, Supervisor, SupervisorOptions};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// One captured report.
#[derive(Clone, Debug, Default)]
struct Report {
    level: String,
    supervisor: String,
    context: String,
    child: String,
    reason: String,
    message: String,
}

#[derive(Default)]
struct Visitor(Report);

impl Visit for Visitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        match field.name() {
            "context" => self.0.context = v.trim_matches('"').to_string(),
            "child" => self.0.child = v.trim_matches('"').to_string(),
            "reason" => self.0.reason = v,
            "message" => self.0.message = v,
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "supervisor" => self.0.supervisor = value.to_string(),
            "context" => self.0.context = value.to_string(),
            _ => self.record_debug(field, &value),
        }
    }
}

struct Capture;

fn reports() -> &'static Mutex<Vec<Report>> {
    static R: OnceLock<Mutex<Vec<Report>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "ember::supervisor" {
            return;
        }
        let mut v = Visitor::default();
        event.record(&mut v);
        v.0.level = event.metadata().level().to_string();
        reports().lock().unwrap().push(v.0);
    }
}

/// The reports of supervisor `name` so far, as `LEVEL context child`, and
/// clears them.
fn take(name: &str) -> Vec<Report> {
    let mut all = reports().lock().unwrap();
    let (mine, rest): (Vec<Report>, Vec<Report>) = all.drain(..).partition(|r| r.supervisor == name);
    *all = rest;
    mine
}

fn short(r: &[Report]) -> Vec<String> {
    r.iter()
        .map(|r| {
            let context = if r.context.is_empty() { "progress" } else { &r.context };
            format!("{} {} {}", r.level, context, r.child)
        })
        .collect()
}

#[test]
fn every_report_context_and_level() {
    let _ = tracing_subscriber::registry()
        .with(Capture.with_filter(tracing_subscriber::filter::LevelFilter::TRACE))
        .try_init();
    ember_runtime::run(|| {
        ember_runtime::trap_exit(true);

        // Progress: info at init and on restarts, debug on request.
        let sup = Supervisor::start_link(vec![worker("a")], SupervisorOptions::one_for_one().name("rep")).unwrap();
        sup.start_child(worker("b")).unwrap();
        assert_eq!(short(&take("rep")), ["INFO progress a", "DEBUG progress b"]);
        assert!(take("rep").is_empty());

        // child_terminated (error), then the restart's progress (info).
        let a = wait_started("a");
        crash(&sup, a, &How::Exit(Reason::custom("boom")));
        let r = take("rep");
        assert_eq!(short(&r), ["ERROR child_terminated a", "INFO progress a"]);
        assert_eq!(r[0].reason, "\"boom\"");
        assert!(r[0].message.contains("Child \"a\" of Supervisor rep terminated"), "{}", r[0].message);

        // Temporary: abnormal exit reported, normal exit silent; transient normal silent.
        let t = sup.start_child(worker("t").restart(Restart::Temporary)).unwrap().pid().unwrap();
        let u = sup.start_child(worker("u").restart(Restart::Temporary)).unwrap().pid().unwrap();
        let v = sup.start_child(worker("v").restart(Restart::Transient)).unwrap().pid().unwrap();
        take("rep");
        crash(&sup, t, &How::Kill);
        crash(&sup, u, &How::Exit(Reason::Normal));
        crash(&sup, v, &How::Exit(Reason::Shutdown));
        assert_eq!(short(&take("rep")), ["ERROR child_terminated t"]);

        // shutdown_error: a child that ignores shutdown and is killed.
        let observer = ember_runtime::self_pid();
        sup.start_child(
            ChildSpec::new("stubborn", move || {
                ember_runtime::spawn_link(move || {
                    ember_runtime::trap_exit(true);
                    send(observer, Event::Started("stubborn".into(), ember_runtime::self_pid()));
                    loop {
                        ember_runtime::receive::<ember_runtime::Exit>();
                    }
                })
            })
            .shutdown(Shutdown::Timeout(Duration::from_millis(10))),
        )
        .unwrap();
        wait_started("stubborn");
        take("rep");
        sup.terminate_child("stubborn").unwrap();
        let r = take("rep");
        assert_eq!(short(&r), ["ERROR shutdown_error stubborn"]);
        assert_eq!(r[0].reason, "killed");

        // Unexpected message.
        send(sup.pid().unwrap(), "hello");
        sync(&sup);
        let r = take("rep");
        assert_eq!(r.len(), 1);
        assert!(r[0].message.contains("unexpected message"), "{}", r[0].message);
        sup.stop(Reason::Shutdown, None).unwrap();
        take("rep");

        // start_error on a failed restart, then shutdown: reached_max_restart_intensity.
        let failures = Arc::new(AtomicU32::new(0));
        let sup = Supervisor::start_link(
            vec![flaky("f", failures.clone())],
            SupervisorOptions::one_for_one().max_restarts(1).name("giving_up"),
        )
        .unwrap();
        let f = wait_started("f");
        let m = monitor(sup.pid().unwrap());
        failures.store(100, std::sync::atomic::Ordering::SeqCst);
        f.exit(Reason::Kill);
        receive_if_timeout(|d: &Down| d.monitor == m, BOUND).unwrap();
        let r = take("giving_up");
        assert_eq!(
            short(&r),
            ["INFO progress f", "ERROR child_terminated f", "ERROR start_error f", "ERROR shutdown f"]
        );
        assert_eq!(r[1].reason, "killed");
        assert_eq!(r[3].reason, "reached_max_restart_intensity");

        // start_error during init.
        let _ = Supervisor::start_link(
            vec![ChildSpec::new("bad", || ember_supervisor::Started::Error(Reason::custom("no")))],
            SupervisorOptions::one_for_one().name("bad_init"),
        );
        assert_eq!(short(&take("bad_init")), ["ERROR start_error bad"]);
    })
    .unwrap();
}
