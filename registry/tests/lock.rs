//! `Registry::lock` (SEMANTICS.md §7.3): a per-key mutex run in the caller,
//! FIFO, released when the function returns or panics or the holder dies.

mod common;

use common::{run, wait_until, Puppet};
use ember_registry::{Options, Registry};
use ember_runtime::{process_info, receive, self_pid, send, Pid, Reason, Status};

type Reg = Registry<String, ()>;

fn k(s: &str) -> String {
    s.to_string()
}

/// `who` holds the lock.
#[derive(Debug, PartialEq)]
struct Locked(u32);

/// Lets a holder return from its lock function.
struct Go;

/// Makes `puppet` take lock `key` and, once it holds it, tell the test
/// `Locked(id)` and wait for `Go`.
fn take(reg: &Reg, puppet: Puppet, key: &str, id: u32) {
    let (r, key, test) = (reg.clone(), k(key), self_pid());
    puppet.cast(move || {
        r.lock(key, || {
            send(test, Locked(id));
            receive::<Go>();
        })
        .unwrap();
    });
}

/// Waits until `pid` is blocked in a lock call (waiting, with the call's
/// monitor on the partition): its request is then in the partition's
/// mailbox, ahead of any request sent after.
fn wait_blocked(pid: Pid) {
    wait_until("the puppet waits for the lock", || {
        process_info(pid).is_some_and(|i| i.status == Status::Waiting && !i.monitors.is_empty())
    });
}

fn returns_the_value_in_the_caller(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Lock.Value").partitions(p)).unwrap();
        let me = self_pid();
        assert_eq!(reg.lock(k("a"), || (ember_runtime::self_pid() == me, 42)).unwrap(), (true, 42));
        // Lock keys are not registry keys: holding the key "a" is unrelated.
        reg.register(k("a"), ()).unwrap();
        assert_eq!(reg.lock(k("a"), || 1).unwrap(), 1);
        // Taken again and again.
        for i in 0..100 {
            assert_eq!(reg.lock(k("b"), || i).unwrap(), i);
        }
    })
}

fn waiters_are_served_in_order(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Lock.Fifo").partitions(p)).unwrap();
        let puppets: Vec<Puppet> = (0..5).map(|_| Puppet::spawn()).collect();
        take(&reg, puppets[0], "key", 0);
        assert_eq!(receive::<Locked>(), Locked(0));
        for (i, puppet) in puppets.iter().enumerate().skip(1) {
            take(&reg, *puppet, "key", i as u32);
            wait_blocked(puppet.pid);
        }
        // Another key is not blocked by this one.
        assert_eq!(reg.lock(k("other"), || "free").unwrap(), "free");
        for (i, puppet) in puppets.iter().enumerate() {
            if i > 0 {
                assert_eq!(receive::<Locked>(), Locked(i as u32));
            }
            send(puppet.pid, Go);
        }
        assert_eq!(reg.lock(k("key"), || "last").unwrap(), "last");
    })
}

fn dead_waiters_are_skipped(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Lock.DeadWaiter").partitions(p)).unwrap();
        let (a, b, c) = (Puppet::spawn(), Puppet::spawn(), Puppet::spawn());
        take(&reg, a, "key", 1);
        assert_eq!(receive::<Locked>(), Locked(1));
        take(&reg, b, "key", 2);
        wait_blocked(b.pid);
        take(&reg, c, "key", 3);
        wait_blocked(c.pid);
        b.exit(Reason::Kill);
        send(a.pid, Go);
        assert_eq!(receive::<Locked>(), Locked(3));
        send(c.pid, Go);
    })
}

fn a_dead_holder_releases_the_lock(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Lock.DeadHolder").partitions(p)).unwrap();
        let (a, b) = (Puppet::spawn(), Puppet::spawn());
        take(&reg, a, "key", 1);
        assert_eq!(receive::<Locked>(), Locked(1));
        take(&reg, b, "key", 2);
        wait_blocked(b.pid);
        a.exit(Reason::Kill);
        assert_eq!(receive::<Locked>(), Locked(2));
        send(b.pid, Go);
        // A holder that exits normally inside the lock releases it too.
        let c = Puppet::spawn();
        let r = reg.clone();
        let m = ember_runtime::monitor(c.pid);
        c.cast(move || {
            let _ = r.lock(k("key"), || ember_runtime::exit(Reason::Normal));
        });
        common::wait_down(m);
        assert_eq!(reg.lock(k("key"), || 3).unwrap(), 3);
    })
}

fn a_panic_releases_the_lock(p: usize) {
    run(move || {
        let reg = Reg::start_link(Options::unique("Lock.Panic").partitions(p)).unwrap();
        let puppet = Puppet::spawn();
        let r = reg.clone();
        let caught = puppet.run(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.lock(k("key"), || panic!("inside the lock"))))
                .is_err()
        });
        assert!(caught);
        // The puppet is alive and does not hold the lock any more.
        assert_eq!(reg.lock(k("key"), || "mine").unwrap(), "mine");
        assert!(puppet.pid.is_alive());
    })
}

partitioned!(
    returns_the_value_in_the_caller,
    waiters_are_served_in_order,
    dead_waiters_are_skipped,
    a_dead_holder_releases_the_lock,
    a_panic_releases_the_lock,
);
