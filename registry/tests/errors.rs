//! Errors are values: unknown registries, wrong types, bad options, bad
//! select specifications, calls from outside a process.

mod common;

use common::run;
use ember_registry::{Clause, Options, Registry, RegistryError, Spec, MAX_PARTITIONS};
use ember_runtime::gen_server::StartError;
use ember_runtime::{register, self_pid, spawn, Reason};

fn bad_options(options: Options) -> RegistryError {
    let err = Registry::<u32, ()>::start_link(options).unwrap_err();
    RegistryError::from_start_error(&err).cloned().unwrap_or_else(|| panic!("not a registry error: {err:?}"))
}

#[test]
fn invalid_options() {
    run(|| {
        for options in [
            Options::unique(""),
            Options::unique("r").partitions(0),
            Options::unique("r").partitions(MAX_PARTITIONS + 1),
            Options::duplicate("r").listener(""),
            Options::unique("r").meta("", 1u8),
        ] {
            let what = format!("{options:?}");
            let err = bad_options(options);
            assert!(matches!(err, RegistryError::InvalidOptions(_)), "{what}: {err:?}");
            assert!(err.to_string().starts_with("invalid registry options: expected"), "{err}");
        }
        // Nothing was started.
        assert!(ember_runtime::whereis("r").is_none());
    })
}

#[test]
fn a_taken_name() {
    run(|| {
        register("taken", self_pid()).unwrap();
        let err = Registry::<u32, ()>::start_link(Options::unique("taken")).unwrap_err();
        assert_eq!(err, StartError::AlreadyStarted(self_pid()));
        assert_eq!(Registry::<u32, ()>::named("taken").unwrap_err(), RegistryError::UnknownRegistry("taken".into()));
    })
}

#[test]
fn unknown_registries_and_wrong_types() {
    run(|| {
        let err = Registry::<String, u32>::named("Errors.Nope").unwrap_err();
        assert_eq!(err, RegistryError::UnknownRegistry("Errors.Nope".into()));
        assert!(err.to_string().contains("unknown registry: Errors.Nope"));

        Registry::<String, u32>::start_link(Options::unique("Errors.Typed")).unwrap();
        let err = Registry::<String, u64>::named("Errors.Typed").unwrap_err();
        match &err {
            RegistryError::WrongTypes { registry, expected, found } => {
                assert_eq!(registry.as_str(), "Errors.Typed");
                assert!(expected.contains("u64") && found.contains("u32"), "{err}");
            }
            other => panic!("{other:?}"),
        }
        // Registries are per runtime: another runtime does not see this one.
        let elsewhere = std::thread::spawn(|| {
            ember_runtime::run(|| Registry::<String, u32>::named("Errors.Typed").map(|_| ())).unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(elsewhere, Err(RegistryError::UnknownRegistry("Errors.Typed".into())));
    })
}

#[test]
fn a_stopped_registry() {
    run(|| {
        let reg = Registry::<u32, ()>::start_link(Options::unique("Errors.Stopped")).unwrap();
        // Registered processes are linked to the partitions, which stop
        // with `shutdown`: trap it.
        ember_runtime::trap_exit(true);
        reg.register(1, ()).unwrap();
        reg.stop(Reason::Normal).unwrap();
        let gone = RegistryError::UnknownRegistry("Errors.Stopped".into());
        assert_eq!(reg.lookup(&1), Err(gone.clone()));
        assert_eq!(reg.register(2, ()), Err(gone.clone()));
        assert_eq!(reg.count(), Err(gone.clone()));
        assert_eq!(reg.sync(), Err(gone.clone()));
        assert_eq!(reg.lock(1, || ()), Err(gone.clone()));
        assert_eq!(reg.pid(), None);
        assert!(reg.stop(Reason::Normal).is_err());
        assert_eq!(Registry::<u32, ()>::named("Errors.Stopped").unwrap_err(), gone);
        // A new registry under the name: the old handle follows.
        let again = Registry::<u32, ()>::start_link(Options::unique("Errors.Stopped")).unwrap();
        again.register(3, ()).unwrap();
        assert_eq!(reg.lookup(&3).unwrap(), vec![(self_pid(), ())]);
    })
}

#[test]
fn outside_a_process() {
    run(|| {
        let reg = Registry::<u32, ()>::start_link(Options::unique("Errors.Thread")).unwrap();
        reg.register(1, ()).unwrap();
        let me = self_pid();
        let r = reg.clone();
        let (lookup, register, lock, named, start) = std::thread::spawn(move || {
            (
                r.lookup(&1),
                r.register(2, ()),
                r.lock(1, || ()),
                Registry::<u32, ()>::named("Errors.Thread").map(|_| ()),
                Registry::<u32, ()>::start_link(Options::unique("Errors.Thread2")).map(|_| ()),
            )
        })
        .join()
        .unwrap();
        // Reads work from any thread; what acts for "the caller" does not.
        assert_eq!(lookup, Ok(vec![(me, ())]));
        assert_eq!(register, Err(RegistryError::NotAProcess));
        assert_eq!(lock, Err(RegistryError::NotAProcess));
        assert_eq!(named, Err(RegistryError::NotAProcess));
        assert!(matches!(RegistryError::from_start_error(&start.unwrap_err()), Some(RegistryError::NotAProcess)));
    })
}

#[test]
fn bad_select_specs() {
    run(|| {
        let reg = Registry::<u32, u32>::start_link(Options::unique("Errors.Select")).unwrap();
        reg.register(1, 1).unwrap();
        let spec: Spec<u32, u32, u32> =
            Spec::new().clause(Clause::new().body(|k, _, _| *k)).clause(Clause::new().value(|v| *v > 0));
        let err = reg.select(&spec).unwrap_err();
        assert!(matches!(&err, RegistryError::InvalidSelect(why) if why.contains("clause 1 has no body")), "{err}");
        assert!(err.to_string().starts_with("invalid match specification"));
        // count_select accepts it.
        assert_eq!(reg.count_select(&spec).unwrap(), 1);
    })
}

#[test]
fn errors_do_not_kill_anyone() {
    run(|| {
        let reg = Registry::<u32, ()>::start_link(Options::duplicate("Errors.Survive")).unwrap();
        let pid = spawn(|| ember_runtime::receive::<()>());
        let _ = reg.update_value(&1, |_| ());
        let _ = Registry::<u8, ()>::named("Errors.Survive");
        assert!(reg.pid().unwrap().is_alive());
        assert!(pid.is_alive());
        ember_runtime::send(pid, ());
    })
}
