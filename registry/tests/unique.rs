//! Unique registries (SEMANTICS.md §7.2, §7.3), with 1 and 8 partitions:
//! the results of every function, links, and cleanup.

mod common;

use common::{die_and_sync, run, sorted, Puppet};
use ember_registry::{Clause, Options, Registry, RegistryError, RegistryEvent, Spec};
use ember_runtime::{process_info, receive, receive_timeout, register, self_pid, Pid, Reason};
use std::time::Duration;

type Reg = Registry<String, u32>;

fn start(name: &str, partitions: usize) -> Reg {
    Reg::start_link(Options::unique(name).partitions(partitions)).unwrap()
}

fn k(s: &str) -> String {
    s.to_string()
}

fn links(pid: Pid) -> Vec<Pid> {
    process_info(pid).unwrap().links
}

fn starts_the_configured_partitions(p: usize) {
    run(move || {
        let reg = start("Unique.Partitions", p);
        assert_eq!(reg.partitions(), p);
        let top = ember_runtime::whereis("Unique.Partitions").unwrap();
        assert_eq!(reg.pid(), Some(top));
        // The top process supervises (is linked to) the p partitions.
        let info = process_info(top).unwrap();
        assert!(info.trap_exit);
        for i in 0..p {
            let part = reg.partition_pid(i).unwrap();
            assert!(info.links.contains(&part), "partition {i} not linked to the top process");
            assert!(process_info(part).unwrap().trap_exit);
        }
        assert_eq!(reg.count().unwrap(), 0);
    })
}

fn has_unique_registrations(p: usize) {
    run(move || {
        let reg = start("Unique.Reg", p);
        let me = self_pid();
        let owner = reg.register(k("hello"), 1).unwrap();
        assert!(links(me).contains(&owner), "the caller is linked to the owning partition");
        assert_eq!(reg.register(k("hello"), 2), Err(RegistryError::AlreadyRegistered(me)));
        // The failed attempt left no trace.
        assert_eq!(reg.keys(me).unwrap(), vec![k("hello")]);
        assert_eq!(reg.lookup(&k("hello")).unwrap(), vec![(me, 1)]);

        reg.register(k("world"), 3).unwrap();
        assert_eq!(sorted(reg.keys(me).unwrap()), vec![k("hello"), k("world")]);
        assert_eq!(reg.count().unwrap(), 2);

        // Another process cannot take a key held by a live process.
        let other = Puppet::spawn();
        let r = reg.clone();
        assert_eq!(other.run(move || r.register(k("hello"), 4)), Err(RegistryError::AlreadyRegistered(me)));
        // ...and its failed attempt did not link it to the partition.
        assert!(links(other.pid).is_empty());
        let r = reg.clone();
        assert!(other.run(move || r.register(k("other"), 5)).is_ok());
        assert_eq!(reg.lookup(&k("other")).unwrap(), vec![(other.pid, 5)]);
        assert_eq!(reg.count().unwrap(), 3);
    })
}

fn unregisters(p: usize) {
    run(move || {
        let reg = start("Unique.Unregister", p);
        let me = self_pid();
        let owner = reg.register(k("hello"), 1).unwrap();
        reg.register(k("world"), 2).unwrap();
        reg.unregister(&k("hello")).unwrap();
        assert!(reg.lookup(&k("hello")).unwrap().is_empty());
        assert_eq!(reg.keys(me).unwrap(), vec![k("world")]);
        assert!(links(me).contains(&owner), "still linked: a key is left");
        reg.unregister(&k("world")).unwrap();
        assert!(!links(me).contains(&owner), "unlinked once no key is left");
        assert_eq!(reg.count().unwrap(), 0);
        // Unregistering what one does not have is fine.
        reg.unregister(&k("never")).unwrap();

        // Nobody can unregister someone else's key.
        let other = Puppet::spawn();
        let r = reg.clone();
        other.run(move || r.register(k("theirs"), 1).unwrap());
        reg.unregister(&k("theirs")).unwrap();
        assert_eq!(reg.lookup(&k("theirs")).unwrap(), vec![(other.pid, 1)]);
        // The key is free again once unregistered.
        let r = reg.clone();
        other.run(move || r.unregister(&k("theirs")).unwrap());
        reg.register(k("theirs"), 9).unwrap();
        assert_eq!(reg.lookup(&k("theirs")).unwrap(), vec![(me, 9)]);
    })
}

fn unregister_match(p: usize) {
    run(move || {
        let reg = start("Unique.UnregisterMatch", p);
        let me = self_pid();
        let owner = reg.register(k("hello"), 7).unwrap();
        // Not matching: kept.
        reg.unregister_match(&k("hello"), |v| *v == 8).unwrap();
        assert_eq!(reg.lookup(&k("hello")).unwrap(), vec![(me, 7)]);
        assert!(links(me).contains(&owner));
        // Matching: removed, and unlinked.
        reg.unregister_match(&k("hello"), |v| *v > 5).unwrap();
        assert!(reg.lookup(&k("hello")).unwrap().is_empty());
        assert!(reg.keys(me).unwrap().is_empty());
        assert!(!links(me).contains(&owner));
    })
}

fn update_value(p: usize) {
    run(move || {
        let reg = start("Unique.Update", p);
        let me = self_pid();
        assert_eq!(reg.update_value(&k("hello"), |v| v + 1).unwrap(), None);
        reg.register(k("hello"), 1).unwrap();
        assert_eq!(reg.update_value(&k("hello"), |v| v + 1).unwrap(), Some((2, 1)));
        assert_eq!(reg.lookup(&k("hello")).unwrap(), vec![(me, 2)]);
        // Only the holder may update; the callback is not called otherwise.
        let other = Puppet::spawn();
        let r = reg.clone();
        let got = other.run(move || r.update_value(&k("hello"), |_| panic!("must not be called")));
        assert_eq!(got, Ok(None));
        assert_eq!(reg.values(&k("hello"), me).unwrap(), vec![2]);
    })
}

fn lookup_match_and_count(p: usize) {
    run(move || {
        let reg = start("Unique.Queries", p);
        let me = self_pid();
        assert!(reg.lookup(&k("a")).unwrap().is_empty());
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            reg.register(k(key), i as u32).unwrap();
        }
        assert_eq!(reg.count().unwrap(), 4);
        assert_eq!(reg.match_values(&k("c"), |v| *v == 2).unwrap(), vec![(me, 2)]);
        assert!(reg.match_values(&k("c"), |v| *v == 3).unwrap().is_empty());
        assert!(reg.match_values(&k("zz"), |_| true).unwrap().is_empty());
        assert_eq!(reg.count_match(&k("b"), |v| *v >= 1).unwrap(), 1);
        assert_eq!(reg.count_match(&k("b"), |v| *v > 1).unwrap(), 0);
        assert_eq!(reg.values(&k("d"), me).unwrap(), vec![3]);
        let other = Puppet::spawn();
        assert!(reg.values(&k("d"), other.pid).unwrap().is_empty());
        assert!(reg.keys(other.pid).unwrap().is_empty());
        assert_eq!(reg.whereis(&k("a")).unwrap(), Some(me));
        assert_eq!(reg.whereis(&k("zz")).unwrap(), None);
        // Lookups from another process read the same tables.
        let r = reg.clone();
        assert_eq!(other.run(move || r.lookup(&k("b")).unwrap()), vec![(me, 1)]);
        // A handle found by name sees the same entries.
        let named = Reg::named("Unique.Queries").unwrap();
        assert_eq!(named.count().unwrap(), 4);
    })
}

fn select_and_count_select(p: usize) {
    run(move || {
        let reg = start("Unique.Select", p);
        let me = self_pid();
        let other = Puppet::spawn();
        reg.register(k("a"), 1).unwrap();
        reg.register(k("b"), 2).unwrap();
        let r = reg.clone();
        other.run(move || r.register(k("c"), 3).unwrap());

        // Everything, as {key, pid, value}.
        let all = reg.select(&Spec::all(|k: &String, pid, v: &u32| (k.clone(), pid, *v))).unwrap();
        assert_eq!(sorted(all), vec![(k("a"), me, 1), (k("b"), me, 2), (k("c"), other.pid, 3)]);
        // A guard on the value, projecting the key.
        let spec = Spec::new().clause(Clause::new().value(|v: &u32| *v > 1).body(|k: &String, _, _: &u32| k.clone()));
        assert_eq!(sorted(reg.select(&spec).unwrap()), vec![k("b"), k("c")]);
        // A pid filter.
        let spec = Spec::new().clause(Clause::new().pid_eq(other.pid).body(|_: &String, _, v: &u32| *v));
        assert_eq!(reg.select(&spec).unwrap(), vec![3]);
        // Clauses are tried in order: the first that accepts projects.
        let spec = Spec::new()
            .clause(Clause::new().key_eq(k("a")).body(|_: &String, _, _: &u32| "first"))
            .clause(Clause::new().body(|_: &String, _, _: &u32| "second"));
        assert_eq!(sorted(reg.select(&spec).unwrap()), vec!["first", "second", "second"]);
        // A guard over all three.
        let spec = Spec::new().clause(
            Clause::new().guard(|k: &String, pid, v: &u32| k == "b" && pid == me && *v == 2).body(|_, _, _| ()),
        );
        assert_eq!(reg.count_select(&spec).unwrap(), 1);
        // Nothing selected; an empty spec selects nothing.
        let none: Spec<String, u32, ()> = Spec::new().clause(Clause::new().key(|k| k == "zz").body(|_, _, _| ()));
        assert!(reg.select(&none).unwrap().is_empty());
        assert!(reg.select(&Spec::<String, u32, ()>::new()).unwrap().is_empty());
        // count_select needs no body.
        let spec: Spec<String, u32, ()> = Spec::new().clause(Clause::new().value(|v| *v < 3));
        assert_eq!(reg.count_select(&spec).unwrap(), 2);
        // select does.
        assert!(matches!(reg.select(&spec), Err(RegistryError::InvalidSelect(_))));
    })
}

fn dispatch(p: usize) {
    run(move || {
        let reg = start("Unique.Dispatch", p);
        let me = self_pid();
        let mut calls = 0;
        reg.dispatch(&k("hello"), |_| calls += 1).unwrap();
        assert_eq!(calls, 0, "never called with no entries");
        reg.register(k("hello"), 7).unwrap();
        reg.dispatch(&k("hello"), |entries| {
            calls += 1;
            assert_eq!(entries, &[(me, 7)]);
        })
        .unwrap();
        assert_eq!(calls, 1);
        // Parallel dispatch on a unique registry runs in the caller.
        reg.dispatch_parallel(&k("hello"), move |entries| {
            assert_eq!(ember_runtime::self_pid(), me);
            ember_runtime::send(me, entries.len());
        })
        .unwrap();
        assert_eq!(receive::<usize>(), 1);
    })
}

fn meta(p: usize) {
    run(move || {
        let reg =
            Reg::start_link(Options::unique("Unique.Meta").partitions(p).meta("custom_key", "custom_value")).unwrap();
        assert_eq!(reg.meta::<&str>("custom_key").unwrap(), Some("custom_value"));
        assert_eq!(reg.meta::<&str>("unknown_key").unwrap(), None);
        assert!(matches!(reg.meta::<u32>("custom_key"), Err(RegistryError::MetaType { .. })));
        reg.put_meta("custom_key", "new_value").unwrap();
        assert_eq!(reg.meta::<&str>("custom_key").unwrap(), Some("new_value"));
        reg.put_meta("tuple_key", (1u8, 2u8)).unwrap();
        assert_eq!(reg.meta::<(u8, u8)>("tuple_key").unwrap(), Some((1, 2)));
        reg.delete_meta("custom_key").unwrap();
        assert_eq!(reg.meta::<&str>("custom_key").unwrap(), None);
        reg.delete_meta("never_there").unwrap();
    })
}

fn cleans_up_after_exits(p: usize) {
    run(move || {
        let reg = start("Unique.Cleanup", p);
        for reason in [Reason::Normal, Reason::Shutdown, Reason::custom("boom"), Reason::Kill] {
            let puppet = Puppet::spawn();
            let r = reg.clone();
            puppet.run(move || {
                r.register(k("a"), 1).unwrap();
                r.register(k("b"), 2).unwrap();
            });
            assert_eq!(reg.count().unwrap(), 2);
            let exit_reason = reason.clone();
            let m = ember_runtime::monitor(puppet.pid);
            if reason == Reason::Kill {
                puppet.pid.exit(Reason::Kill);
            } else {
                puppet.cast(move || ember_runtime::exit(exit_reason));
            }
            common::wait_down(m);
            reg.sync().unwrap();
            assert_eq!(reg.count().unwrap(), 0, "entries left after {reason:?}");
            assert!(reg.keys(puppet.pid).unwrap().is_empty());
            assert!(reg.lookup(&k("a")).unwrap().is_empty());
            // The keys are free again.
            reg.register(k("a"), 3).unwrap();
            reg.unregister(&k("a")).unwrap();
        }
        // A panic too.
        let puppet = Puppet::spawn();
        let r = reg.clone();
        puppet.run(move || r.register(k("p"), 1).unwrap());
        let m = ember_runtime::monitor(puppet.pid);
        puppet.cast(|| panic!("on purpose"));
        assert!(matches!(common::wait_down(m), Reason::Panic { .. }));
        reg.sync().unwrap();
        assert_eq!(reg.count().unwrap(), 0);
        // A process killed by an exit signal from someone else.
        let puppet = Puppet::spawn();
        let r = reg.clone();
        puppet.run(move || r.register(k("q"), 1).unwrap());
        die_and_sync(&reg, puppet.pid, Reason::Kill);
        assert!(reg.lookup(&k("q")).unwrap().is_empty());
    })
}

fn replaces_a_dead_holder_not_yet_cleaned_up(p: usize) {
    run(move || {
        let reg = start("Unique.Stale", p);
        // A holder that unlinked itself from its partition: its death goes
        // unnoticed, so its entry stays behind, dead.
        let puppet = Puppet::spawn();
        let r = reg.clone();
        puppet.run(move || {
            let owner = r.register(k("hello"), 1).unwrap();
            ember_runtime::unlink(owner);
        });
        die_and_sync(&reg, puppet.pid, Reason::Kill);
        // Lookups may return the dead process (cleanup is asynchronous)...
        assert_eq!(reg.lookup(&k("hello")).unwrap(), vec![(puppet.pid, 1)]);
        // ...but whereis (via) does not, and registering replaces it.
        assert_eq!(reg.whereis(&k("hello")).unwrap(), None);
        let me = self_pid();
        reg.register(k("hello"), 2).unwrap();
        assert_eq!(reg.lookup(&k("hello")).unwrap(), vec![(me, 2)]);
        assert_eq!(reg.count().unwrap(), 1);
    })
}

fn listeners(p: usize) {
    run(move || {
        register("unique_listener", self_pid()).unwrap();
        let reg = Reg::start_link(
            Options::unique("Unique.Listeners").partitions(p).listener("unique_listener").listener("nobody_here"),
        )
        .unwrap();
        let name: ember_runtime::Name = "Unique.Listeners".into();
        let me = self_pid();
        reg.register(k("hello"), 1).unwrap();
        let event: RegistryEvent<String, u32> = receive();
        assert_eq!(event, RegistryEvent::Register { registry: name.clone(), key: k("hello"), pid: me, value: 1 });
        // A failed registration is not announced.
        assert!(reg.register(k("hello"), 2).is_err());
        reg.unregister(&k("hello")).unwrap();
        let event: RegistryEvent<String, u32> = receive();
        assert_eq!(event, RegistryEvent::Unregister { registry: name.clone(), key: k("hello"), pid: me });
        // unregister is announced even with nothing to remove.
        reg.unregister(&k("nothing")).unwrap();
        let event: RegistryEvent<String, u32> = receive();
        assert_eq!(event, RegistryEvent::Unregister { registry: name.clone(), key: k("nothing"), pid: me });
        // Deaths are not announced.
        let puppet = Puppet::spawn();
        let r = reg.clone();
        puppet.run(move || r.register(k("dies"), 3).unwrap());
        let event: RegistryEvent<String, u32> = receive();
        assert!(matches!(event, RegistryEvent::Register { pid, .. } if pid == puppet.pid));
        die_and_sync(&reg, puppet.pid, Reason::Kill);
        assert_eq!(receive_timeout::<RegistryEvent<String, u32>>(Duration::ZERO), None);
    })
}

partitioned!(
    starts_the_configured_partitions,
    has_unique_registrations,
    unregisters,
    unregister_match,
    update_value,
    lookup_match_and_count,
    select_and_count_select,
    dispatch,
    meta,
    cleans_up_after_exits,
    replaces_a_dead_holder_not_yet_cleaned_up,
    listeners,
);
