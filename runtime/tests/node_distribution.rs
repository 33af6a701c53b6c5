//! The distribution hook: `send_named((name, node))`, `Server::call` and
//! `Server::cast` on `(name, node)` reach the runtime's `Distribution`, and
//! a call's answer comes back through `node::deliver_reply`.

use ember_runtime::gen_server::{CallError, GenServer, Init, Server};
use ember_runtime::node::{self, Distribution, RemoteCall, RemoteCast, RemoteReply};
use ember_runtime::{receive, register, self_pid, send, send_named, Name, Pid, Ref};
use parking_lot::Mutex;
use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

/// A handle type for calls with `u32` requests and replies.
enum Doubler {}

impl GenServer for Doubler {
    type Arg = ();
    type Call = u32;
    type Reply = u32;
    type Cast = u32;
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ignore
    }
}

/// "Another node" that doubles what it is called with (0: no answer;
/// 1: an answer of the wrong type), and reports everything else as text
/// to `recorder`.
struct Fake {
    recorder: Pid,
    /// The call left unanswered, to answer late.
    unanswered: Mutex<Option<(Pid, Ref)>>,
}

impl Distribution for Fake {
    fn name(&self) -> &str {
        "here@localhost"
    }

    fn send_named(&self, from: Pid, name: &Name, node: &str, msg: Box<dyn Any + Send>) {
        let msg = match msg.downcast::<RemoteCall>() {
            Ok(call) => {
                let n = *call.request.downcast::<u32>().unwrap();
                let value: Box<dyn Any + Send> = match n {
                    0 => {
                        *self.unanswered.lock() = Some((call.from, call.tag));
                        return;
                    }
                    1 => Box::new("not a u32"),
                    n => Box::new(n * 2),
                };
                node::deliver_reply(call.from, RemoteReply { tag: call.tag, value: Ok(value) });
                return;
            }
            Err(msg) => msg,
        };
        let text = match msg.downcast::<RemoteCast>() {
            Ok(cast) => format!("cast {}", cast.request.downcast::<u32>().unwrap()),
            Err(msg) => msg.downcast::<&str>().map(|s| s.to_string()).unwrap_or("?".into()),
        };
        send(self.recorder, format!("{from} -> {{{name}, {node}}}: {text}"));
    }

    fn monitor_name(&self, _from: Pid, _name: &Name, _node: &str) -> Ref {
        node::record_monitor(Pid::UNDEFINED)
    }
}

#[test]
fn names_on_other_nodes_go_through_the_distribution() {
    ember_runtime::run(|| {
        let me = self_pid();
        let fake = Arc::new(Fake { recorder: me, unanswered: Mutex::new(None) });
        node::set_distribution(me.node(), Some(fake.clone()));
        register("me", me).unwrap();

        send_named(("log", "other@localhost"), "hello").unwrap();
        assert_eq!(receive::<String>(), format!("{me} -> {{log, other@localhost}}: hello"));
        // This node's own name: a local send, nothing for the distribution.
        send_named(("me", "here@localhost"), 7u8).unwrap();
        assert_eq!(receive::<u8>(), 7);

        let doubler = Server::<Doubler>::new(("doubler", "other@localhost"));
        assert_eq!(doubler.call(21), Ok(42));
        assert!(matches!(doubler.call(1), Err(CallError::BadTerm(_))));
        doubler.cast(5);
        assert_eq!(receive::<String>(), format!("{me} -> {{doubler, other@localhost}}: cast 5"));

        // No answer in time: a timeout; the late answer is dropped.
        assert_eq!(doubler.call_timeout(0, Some(Duration::from_millis(10))), Err(CallError::Timeout));
        let (caller, tag) = fake.unanswered.lock().take().unwrap();
        assert!(!node::deliver_reply(caller, RemoteReply { tag, value: Ok(Box::new(0u32)) }));
        assert!(ember_runtime::process_info(me).unwrap().monitors.is_empty(), "every call's monitor is gone");

        node::set_distribution(me.node(), None);
        // Without a distribution: dropped, and a call cannot connect.
        send_named(("log", "other@localhost"), "dropped").unwrap();
        assert!(matches!(doubler.call(2), Err(CallError::Exited(r)) if r.is_noconnection()));
    })
    .unwrap();
}
