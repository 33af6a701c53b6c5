//! The remote-node hook: what reaches a route, and what a route delivers.

use ember_runtime::node::{self, Route, Signal};
use ember_runtime::{
    demonitor, exit, link, monitor, receive, self_pid, send, spawn, trap_exit, unlink, Down, Exit, Pid, Reason,
};
use std::any::Any;
use std::sync::Arc;

/// Forwards what it is handed, as text, to a local process.
struct Recorder(Pid);

impl Route for Recorder {
    fn message(&self, from: Option<Pid>, to: Pid, msg: Box<dyn Any + Send>) {
        let text = msg.downcast::<&str>().map(|s| *s).unwrap_or("?");
        send(self.0, format!("message {from:?} {to} {text}"));
    }
    fn signal(&self, signal: Signal) {
        let text = match signal {
            Signal::Link { to, .. } => format!("link {to}"),
            Signal::Unlink { to, .. } => format!("unlink {to}"),
            Signal::Exit { to, reason, link, .. } => format!("exit {to} {reason:?} {link}"),
            Signal::Monitor { to, .. } => format!("monitor {to}"),
            Signal::Demonitor { to, .. } => format!("demonitor {to}"),
            Signal::Down { to, reason, .. } => format!("down {to} {reason:?}"),
        };
        send(self.0, text);
    }
}

fn remote_with_recorder() -> Pid {
    let n = node::add_remote_node();
    node::set_route(n, Some(Arc::new(Recorder(self_pid()))));
    Pid::from_parts(n, 5, 1)
}

#[test]
fn sends_links_monitors_and_exits_reach_the_route() {
    ember_runtime::run(|| {
        let remote = remote_with_recorder();
        assert!(node::is_remote(remote));
        let me = self_pid();
        send(remote, "hi");
        assert_eq!(receive::<String>(), format!("message Some({me}) {remote} hi"));

        link(remote).unwrap();
        assert_eq!(receive::<String>(), format!("link {remote}"));
        unlink(remote);
        assert_eq!(receive::<String>(), format!("unlink {remote}"));

        let m = monitor(remote);
        assert_eq!(receive::<String>(), format!("monitor {remote}"));
        assert!(demonitor(m));
        assert_eq!(receive::<String>(), format!("demonitor {remote}"));

        remote.exit(Reason::custom("bye"));
        assert_eq!(receive::<String>(), format!("exit {remote} \"bye\" false"));

        // A local process linked to the remote one exits: the link breaks
        // through the route; a remote watcher gets its Down.
        let recorder = self_pid();
        let child = spawn(move || {
            link(remote).unwrap();
            send(recorder, "linked");
            receive::<()>();
            exit(Reason::custom("crash"));
        });
        assert_eq!(receive::<String>(), format!("link {remote}"));
        assert!(node::add_monitor(child, ember_runtime::Ref::new(), remote));
        send(child, ());
        let mut got = vec![receive::<String>(), receive::<String>()];
        got.sort();
        assert_eq!(got, vec![format!("down {remote} \"crash\""), format!("exit {remote} \"crash\" true")]);
        let _ = receive::<&str>();
    })
    .unwrap();
}

#[test]
fn a_route_delivers_exits_and_downs() {
    ember_runtime::run(|| {
        let remote = remote_with_recorder();
        trap_exit(true);
        assert!(node::add_link(self_pid(), remote));
        assert!(node::deliver_exit(self_pid(), remote, Reason::custom("gone"), true));
        let exit: Exit = receive();
        assert_eq!((exit.from, exit.reason), (remote, Reason::custom("gone")));
        // No link any more: a second link exit is dropped, exit/2 is not.
        node::deliver_exit(self_pid(), remote, Reason::custom("again"), true);
        node::deliver_exit(self_pid(), remote, Reason::custom("exit2"), false);
        let exit: Exit = receive();
        assert_eq!(exit.reason, Reason::custom("exit2"));

        let m = monitor(remote);
        let _ = receive::<String>();
        node::deliver_down(self_pid(), m, remote, node::noconnection());
        let down: Down = receive();
        assert_eq!(down.monitor, m);
        assert!(down.reason.is_noconnection());
    })
    .unwrap();
}

#[test]
fn without_a_route_links_and_monitors_fire_noconnection() {
    ember_runtime::run(|| {
        let remote = Pid::from_parts(node::add_remote_node(), 1, 0);
        send(remote, "dropped");
        trap_exit(true);
        link(remote).unwrap();
        let exit: Exit = receive();
        assert_eq!(exit.from, remote);
        assert!(exit.reason.is_noconnection());
        let m = monitor(remote);
        let down: Down = receive();
        assert_eq!((down.monitor, down.pid), (m, remote));
        assert!(down.reason.is_noconnection());
    })
    .unwrap();
}
