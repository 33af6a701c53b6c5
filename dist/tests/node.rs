//! Phase 2 against a real BEAM: an Ember node (`ember_dist::node::Node`)
//! under Ember's processes, pinged by `net_adm:ping`, sending, linking and
//! monitoring across nodes, `noconnection` when the BEAM halts; two Ember
//! nodes clustering; a wrong cookie refused. Skipped, with a message, when
//! Erlang is not installed. Every wait is on a message, a line the BEAM
//! prints, or a monitor; the timeouts are failure bounds only.

mod common;

use common::{erlang_available, unique, ErlNode, BOUND};
use ember_dist::node::{Node, NodeError};
use ember_dist::{Cookie, Term};
use ember_runtime::{
    blocking, link, monitor, receive_if_timeout, receive_timeout, register, self_pid, send, spawn, trap_exit, Down,
    Exit, Pid, Reason,
};

const COOKIE: &str = "ember_node_test_cookie";

fn start_node() -> (Node, String) {
    common::ensure_epmd();
    let name = format!("{}@localhost", unique("ember"));
    let node = Node::start(&name, Cookie::new(COOKIE)).expect("the node starts");
    (node, name)
}

/// Starts an erl node off the scheduler's threads.
fn erl(cookie: &'static str, script: String) -> ErlNode {
    blocking(move || ErlNode::start(&unique("erl"), cookie, &script))
}

fn line(node: &mut ErlNode) -> String {
    blocking(|| node.line())
}

/// The next term in the mailbox that `f` accepts, within the bound.
fn recv_term(f: impl Fn(&Term) -> bool) -> Term {
    receive_if_timeout::<Term>(&f, BOUND).expect("a term within the bound")
}

fn tuple(items: Vec<Term>) -> Term {
    Term::tuple(items)
}

#[test]
fn beam_pings_and_messages_go_both_ways() {
    if !erlang_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, name) = start_node();
        register("echo", self_pid()).unwrap();
        let script = format!(
            "pong = net_adm:ping('{name}'), register(erl_echo, self()), io:format(\"ready~n\"), \
             {{echo, '{name}'}} ! {{self(), hello}}, \
             receive {{echo, P, hello}} when node(P) =:= '{name}' -> io:format(\"echoed~n\") after 20000 -> io:format(\"timeout~n\") end, \
             receive {{From, T}} -> From ! {{echo, self(), T}} end, \
             receive stop -> ok end"
        );
        let mut erl = erl(COOKIE, script);
        assert!(node.nodes().contains(&erl.name()));
        // {From, hello} arrived as a Term by REG_SEND; answer the sender's pid.
        let msg = recv_term(|t| t.as_tuple().is_some_and(|t| t.len() == 2));
        let [Term::Pid(from), hello] = msg.as_tuple().unwrap() else { panic!("{msg}") };
        assert_eq!(hello, &Term::atom("hello"));
        let from = node.pid(from);
        assert!(ember_runtime::node::is_remote(from));
        assert!(from.to_string().starts_with('<'));
        let me = Term::Pid(node.dist_pid(self_pid()).unwrap());
        send(from, tuple(vec![Term::atom("echo"), me.clone(), Term::atom("hello")]));
        assert_eq!(line(&mut erl), "echoed");
        // Ember to a name on the BEAM, and the reply by pid.
        node.send_named("erl_echo", &erl.name(), tuple(vec![me, Term::Int(42)])).unwrap();
        let reply = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("echo"))));
        assert_eq!(reply.as_tuple().unwrap()[2], Term::Int(42));
        node.stop();
    })
    .unwrap();
}

#[test]
fn links_and_monitors_both_ways() {
    if !erlang_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, name) = start_node();
        register("test", self_pid()).unwrap();
        // The BEAM: a process that links to whatever Ember sends it and
        // reports its exit signals; another Ember monitors and kills.
        let script = format!(
            "process_flag(trap_exit, true), register(watcher, self()), io:format(\"ready~n\"), \
             Victim = spawn(fun() -> receive die -> exit(boom) end end), \
             {{test, '{name}'}} ! {{victim, Victim}}, \
             receive {{link_to, P}} -> link(P), P ! go, io:format(\"linked~n\") end, \
             receive {{'EXIT', P2, R}} -> io:format(\"exit ~p~n\", [R]), P2 end, \
             receive {{monitor, Q}} -> erlang:monitor(process, Q), Q ! go, io:format(\"monitoring~n\") end, \
             receive {{'DOWN', _, process, _, R2}} -> io:format(\"down ~p~n\", [R2]) end, \
             receive stop -> ok end"
        );
        let mut erl = erl(COOKIE, script);
        let victim = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("victim"))));
        let Term::Pid(victim) = &victim.as_tuple().unwrap()[1] else { panic!() };
        let victim = node.pid(victim);

        // Ember links to and monitors a BEAM process; it dies with `boom`.
        trap_exit(true);
        link(victim).unwrap();
        let m = monitor(victim);
        send(victim, Term::atom("die"));
        let exit = receive_timeout::<Exit>(BOUND).expect("the link fires");
        assert_eq!(exit.from, victim);
        assert_eq!(exit.reason.downcast_ref::<Term>(), Some(&Term::atom("boom")));
        let down = receive_timeout::<Down>(BOUND).expect("the monitor fires");
        assert_eq!((down.monitor, down.pid), (m, victim));
        assert_eq!(down.reason.downcast_ref::<Term>(), Some(&Term::atom("boom")));

        // The BEAM links to an Ember process, then tells it to panic: the
        // message follows the link on the same connection, so the link is
        // made when it arrives (a line on erl's stdout would be no such
        // guarantee).
        let to_dist = |p: Pid| Term::Pid(node.dist_pid(p).unwrap());
        let crasher = spawn(|| {
            let _: Term = ember_runtime::receive();
            panic!("crash on request");
        });
        let m = monitor(crasher);
        node.send_named("watcher", &erl.name(), tuple(vec![Term::atom("link_to"), to_dist(crasher)])).unwrap();
        assert_eq!(line(&mut erl), "linked");
        let down = receive_timeout::<Down>(BOUND).expect("crashed");
        assert_eq!(down.monitor, m);
        let got = line(&mut erl);
        assert!(got.starts_with("exit {panic,<<\"crash on request\">>}"), "{got}");

        // The BEAM monitors an Ember process that exits with a custom term.
        let target = spawn(|| {
            let _: Term = ember_runtime::receive();
            ember_runtime::exit(Reason::custom(Term::atom("bye")));
        });
        node.send_named("watcher", &erl.name(), tuple(vec![Term::atom("monitor"), to_dist(target)])).unwrap();
        assert_eq!(line(&mut erl), "monitoring");
        assert_eq!(line(&mut erl), "down bye");
        node.stop();
    })
    .unwrap();
}

#[test]
fn a_halting_beam_gives_noconnection() {
    if !erlang_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, name) = start_node();
        register("test", self_pid()).unwrap();
        let script = format!(
            "register(halter, self()), io:format(\"ready~n\"), P = spawn(fun() -> receive _ -> ok end end), \
             {{test, '{name}'}} ! {{proc, P}}, receive halt -> halt() end"
        );
        let erl = erl(COOKIE, script);
        let p = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("proc"))));
        let Term::Pid(p) = &p.as_tuple().unwrap()[1] else { panic!() };
        let p = node.pid(p);
        trap_exit(true);
        link(p).unwrap();
        let m = monitor(p);
        node.monitor_node(&erl.name());
        node.send_named("halter", &erl.name(), Term::atom("halt")).unwrap();
        let exit = receive_timeout::<Exit>(BOUND).expect("the link fires");
        assert_eq!(exit.from, p);
        assert!(exit.reason.is_noconnection(), "{:?}", exit.reason);
        let down = receive_timeout::<Down>(BOUND).expect("the monitor fires");
        assert_eq!((down.monitor, down.pid), (m, p));
        assert!(down.reason.is_noconnection(), "{:?}", down.reason);
        let nodedown = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("nodedown"))));
        assert_eq!(nodedown.as_tuple().unwrap()[1], Term::atom(&erl.name()));
        assert!(node.nodes().is_empty());
        // After the loss, a new link to the dead node's pid breaks at once.
        link(p).unwrap();
        let exit = receive_timeout::<Exit>(BOUND).expect("noconnection at once");
        assert!(exit.reason.is_noconnection());
        blocking(move || drop(erl));
        node.stop();
    })
    .unwrap();
}

#[test]
fn a_wrong_cookie_is_refused() {
    if !erlang_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, name) = start_node();
        let script =
            format!("io:format(\"ready~n\"), io:format(\"~p~n\", [net_adm:ping('{name}')]), receive _ -> ok end");
        let mut erl = erl("another_cookie", script);
        assert_eq!(line(&mut erl), "pang");
        assert!(node.nodes().is_empty());
        match node.connect(&erl.name()) {
            Err(NodeError::Handshake(_)) => {}
            other => panic!("expected a handshake error, got {other:?}"),
        }
        node.stop();
    })
    .unwrap();
}

#[test]
fn two_ember_nodes_cluster() {
    if !common::epmd_available() {
        return;
    }
    let b_name = format!("{}@localhost", unique("emberb"));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let b_name2 = b_name.clone();
    let b = std::thread::spawn(move || {
        ember_runtime::run(move || {
            let node = Node::start(&b_name2, Cookie::new(COOKIE)).unwrap();
            register("echo", self_pid()).unwrap();
            ember_runtime::gen_server::start_link::<counter::Counter>(
                (),
                ember_runtime::gen_server::StartOptions::new().name("counter"),
            )
            .unwrap();
            node.expose::<counter::Counter>("counter");
            let crasher = spawn(|| {
                let _: Term = ember_runtime::receive();
                panic!("crash on request");
            });
            ready_tx.send(()).unwrap();
            // Echo one message, with the crasher's pid; then wait to stop.
            let msg = receive_timeout::<Term>(BOUND).expect("a request");
            let [Term::Pid(from), body] = msg.as_tuple().unwrap() else { panic!("{msg}") };
            let from = node.pid(from);
            let me = Term::Pid(node.dist_pid(self_pid()).unwrap());
            let crasher = Term::Pid(node.dist_pid(crasher).unwrap());
            send(from, tuple(vec![Term::atom("echo"), me, body.clone(), crasher]));
            let _ = blocking(move || done_rx.recv_timeout(BOUND));
            node.stop();
        })
        .unwrap();
    });
    ready_rx.recv_timeout(BOUND).unwrap();
    ember_runtime::run(move || {
        let (node, _) = start_node();
        let me = Term::Pid(node.dist_pid(self_pid()).unwrap());
        node.send_named("echo", &b_name, tuple(vec![me, Term::atom("ping")])).unwrap();
        let reply = receive_timeout::<Term>(BOUND).expect("an echo");
        let t = reply.as_tuple().unwrap();
        assert_eq!((&t[0], &t[2]), (&Term::atom("echo"), &Term::atom("ping")));
        let Term::Pid(echo) = &t[1] else { panic!() };
        let echo = node.pid(echo);
        assert!(node.ping(&b_name));
        // A link across: the other node's process panics, this one traps.
        let Term::Pid(crasher) = &t[3] else { panic!() };
        let crasher = node.pid(crasher);
        trap_exit(true);
        link(crasher).unwrap();
        send(crasher, Term::atom("go")); // after the link, on the same connection
        let exit = receive_timeout::<Exit>(BOUND).expect("the link fires");
        assert_eq!(exit.from, crasher);
        let panic = tuple(vec![Term::atom("panic"), Term::binary(b"crash on request")]);
        assert_eq!(exit.reason.downcast_ref::<Term>(), Some(&panic));
        // A GenServer call across, in terms.
        assert_eq!(node.call("counter", &b_name, Term::atom("increment"), BOUND).unwrap(), Term::Int(1));
        assert_eq!(
            node.call("counter", &b_name, tuple(vec![Term::atom("add"), Term::Int(9)]), BOUND).unwrap(),
            Term::Int(10)
        );
        // And typed, through the ordinary handle, once the types are known.
        ember_dist::node::register_call_types::<counter::Counter>();
        let counter = ember_runtime::Server::<counter::Counter>::new(("counter", b_name.as_str()));
        assert_eq!(counter.call(counter::Call::Add(5)).unwrap().0, 15);
        assert_eq!(counter.call(counter::Call::Increment).unwrap().0, 16);
        // The other node goes away: the monitor says noconnection.
        let m = monitor(echo);
        node.monitor_node(&b_name);
        done_tx.send(()).unwrap();
        let down = receive_timeout::<Down>(BOUND).expect("down");
        assert_eq!(down.monitor, m);
        assert!(down.reason.is_noconnection() || down.reason == Reason::Normal, "{:?}", down.reason);
        let nodedown = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("nodedown"))));
        let _ = nodedown;
        node.stop();
    })
    .unwrap();
    b.join().unwrap();
}

/// An Ember GenServer whose requests decode from Erlang terms.
mod counter {
    use ember_runtime::gen_server::{CallResult, GenServer, Init, ReplyTo};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub enum Call {
        Increment,
        Add(i64),
    }

    #[derive(Serialize, Deserialize)]
    pub struct Count(pub i64);

    pub struct Counter(i64);

    impl GenServer for Counter {
        type Arg = ();
        type Call = Call;
        type Reply = Count;
        type Cast = ();
        type Continue = ();
        fn init(_: ()) -> Init<Self> {
            Init::Ok(Counter(0))
        }
        fn handle_call(&mut self, call: Call, _from: ReplyTo<Count>) -> CallResult<Self> {
            self.0 += match call {
                Call::Increment => 1,
                Call::Add(n) => n,
            };
            CallResult::Reply(Count(self.0))
        }
    }
}

#[test]
fn gen_server_calls_both_ways() {
    if !erlang_available() {
        return;
    }
    use ember_runtime::gen_server::{start_link, StartOptions};
    ember_runtime::run(|| {
        let (node, name) = start_node();
        start_link::<counter::Counter>((), StartOptions::new().name("counter")).unwrap();
        node.expose::<counter::Counter>("counter");
        // The BEAM calls the Ember counter, and runs a real gen_server
        // (compiled from forms: erlang-base has no counter module) for
        // Ember to call.
        let script = format!(
            "Forms = [begin {{ok, T, _}} = erl_scan:string(S), {{ok, F}} = erl_parse:parse_form(T), F end || S <- \
               [\"-module(cnt).\", \"-export([init/1, handle_call/3, handle_cast/2]).\", \
                \"init(N) -> {{ok, N}}.\", \"handle_call({{add, K}}, _, N) -> {{reply, N + K, N + K}}.\", \
                \"handle_cast(_, N) -> {{noreply, N}}.\"]], \
             {{ok, cnt, Bin}} = compile:forms(Forms), {{module, cnt}} = code:load_binary(cnt, \"cnt.erl\", Bin), \
             {{ok, _}} = gen_server:start({{local, cnt}}, cnt, 100, []), io:format(\"ready~n\"), \
             C = {{counter, '{name}'}}, \
             io:format(\"~p ~p ~p ~p~n\", [gen_server:call(C, increment), gen_server:call(C, increment), \
               gen_server:call(C, {{add, 40}}), gen_server:call(C, nonsense)]), \
             receive stop -> ok end"
        );
        let mut erl = erl(COOKIE, script);
        assert_eq!(line(&mut erl), "1 2 42 {error,{bad_call,nonsense}}");
        let request = tuple(vec![Term::atom("add"), Term::Int(5)]);
        let got = node.call("cnt", &erl.name(), request.clone(), BOUND).unwrap();
        assert_eq!(got, Term::Int(105));
        assert_eq!(node.call("cnt", &erl.name(), request, BOUND).unwrap(), Term::Int(110));
        // No such server: noproc, from the monitor, as in OTP.
        let err = node.call("nobody", &erl.name(), Term::atom("x"), BOUND).unwrap_err();
        assert_eq!(err, ember_runtime::CallError::NoProc);
        node.stop();
    })
    .unwrap();
}

/// A handle type whose call types no test registers.
struct Unregistered;

impl ember_runtime::GenServer for Unregistered {
    type Arg = ();
    type Call = Unregistered;
    type Reply = ();
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> ember_runtime::Init<Self> {
        ember_runtime::Init::Ignore
    }
}

/// The runtime's own API reaches names on the BEAM: `send_named((name,
/// node))`, `Server::call` and `Server::cast` on `(name, node)`, with no
/// `Node` method.
#[test]
fn ordinary_send_named_and_server_call_reach_the_beam() {
    if !erlang_available() {
        return;
    }
    use ember_dist::node::TermServer;
    use ember_runtime::{send_named, CallError, Server};
    ember_runtime::run(|| {
        let (node, name) = start_node();
        register("me", self_pid()).unwrap();
        let script =
            "Forms = [begin {ok, T, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(T), F end || S <- \
               [\"-module(cnt).\", \"-export([init/1, handle_call/3, handle_cast/2]).\", \
                \"init(N) -> {ok, N}.\", \"handle_call({add, K}, _, N) -> {reply, N + K, N + K}.\", \
                \"handle_cast({add, K}, N) -> {noreply, N + K}.\"]], \
             {ok, cnt, Bin} = compile:forms(Forms), {module, cnt} = code:load_binary(cnt, \"cnt.erl\", Bin), \
             {ok, _} = gen_server:start({local, cnt}, cnt, 100, []), register(erl_echo, self()), \
             io:format(\"ready~n\"), \
             Loop = fun L() -> receive {From, T} -> From ! {echo, T}, L() end end, Loop()"
                .to_string();
        let erl = erl(COOKIE, script);
        let me = Term::Pid(node.dist_pid(self_pid()).unwrap());
        send_named(("erl_echo", erl.name()), tuple(vec![me, Term::Int(7)])).unwrap();
        let echo = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("echo"))));
        assert_eq!(echo.as_tuple().unwrap()[1], Term::Int(7));
        // This node's own name is the local name.
        send_named(("me", name.as_str()), Term::atom("local")).unwrap();
        recv_term(|t| t == &Term::atom("local"));
        let cnt = Server::<TermServer>::new(("cnt", erl.name()));
        let add = |k| tuple(vec![Term::atom("add"), Term::Int(k)]);
        assert_eq!(cnt.call(add(5)).unwrap(), Term::Int(105));
        assert_eq!(cnt.call_timeout(add(1), Some(BOUND)).unwrap(), Term::Int(106));
        // A cast, then a call: they keep their order.
        cnt.cast(add(1000));
        assert_eq!(cnt.call(add(0)).unwrap(), Term::Int(1106));
        let nobody = Server::<TermServer>::new(("nobody", erl.name()));
        assert_eq!(nobody.call(Term::atom("x")).unwrap_err(), CallError::NoProc);
        // A typed handle whose types were never registered: an error value,
        // nothing sent.
        let typed = Server::<Unregistered>::new(("cnt", erl.name()));
        assert!(matches!(typed.call(Unregistered), Err(CallError::BadTerm(_))));
        // The calls left no monitor behind.
        assert!(ember_runtime::process_info(self_pid()).unwrap().monitors.is_empty());
        blocking(move || drop(erl));
        node.stop();
    })
    .unwrap();
}

#[test]
fn exit2_and_unlink_both_ways() {
    if !erlang_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, name) = start_node();
        register("test", self_pid()).unwrap();
        let script = format!(
            "process_flag(trap_exit, true), io:format(\"ready~n\"), \
             Doomed = spawn(fun() -> receive die -> exit(boom) end end), \
             {{test, '{name}'}} ! {{me, self(), Doomed}}, \
             receive {{'EXIT', _, R}} -> io:format(\"exit2 ~p~n\", [R]) end, \
             receive {{kill_me, P}} -> exit(P, goodbye) end, \
             receive {{link_unlink, Q}} -> link(Q), unlink(Q), Q ! unlinked end, \
             receive stop -> ok end"
        );
        let mut erl = erl(COOKIE, script);
        let msg = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("me"))));
        let [_, Term::Pid(erl_pid), Term::Pid(doomed)] = msg.as_tuple().unwrap() else { panic!("{msg}") };
        let (erl_pid, doomed) = (node.pid(erl_pid), node.pid(doomed));
        // Ember's exit/2 reaches a trapping BEAM process as {'EXIT', From, R}.
        erl_pid.exit(Reason::custom(Term::atom("bye")));
        assert_eq!(line(&mut erl), "exit2 bye");
        // The BEAM's exit/2 reaches a trapping Ember process as an Exit.
        trap_exit(true);
        let me = Term::Pid(node.dist_pid(self_pid()).unwrap());
        send(erl_pid, tuple(vec![Term::atom("kill_me"), me.clone()]));
        let exit = receive_timeout::<Exit>(BOUND).expect("exit/2 from the BEAM");
        assert_eq!(exit.from, erl_pid);
        assert_eq!(exit.reason.downcast_ref::<Term>(), Some(&Term::atom("goodbye")));
        // The BEAM links and unlinks; then Ember links, unlinks, and the
        // BEAM process dies: no exit signal, only the monitor's Down.
        send(erl_pid, tuple(vec![Term::atom("link_unlink"), me]));
        recv_term(|t| t == &Term::atom("unlinked"));
        assert!(ember_runtime::process_info(self_pid()).unwrap().links.is_empty());
        link(doomed).unwrap();
        ember_runtime::unlink(doomed);
        let m = monitor(doomed);
        send(doomed, Term::atom("die"));
        let down = receive_timeout::<Down>(BOUND).expect("down");
        assert_eq!(down.monitor, m);
        assert!(receive_timeout::<Exit>(std::time::Duration::ZERO).is_none(), "the unlink held");
        node.stop();
    })
    .unwrap();
}

#[test]
fn start_and_connect_errors_are_values() {
    if !common::epmd_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, name) = start_node();
        assert!(matches!(Node::start("other@localhost", Cookie::new(COOKIE)), Err(NodeError::AlreadyStarted)));
        assert!(matches!(node.connect("nobody_here@localhost"), Err(NodeError::NotRegistered(_))));
        assert!(matches!(node.connect("x@192.0.2.1"), Err(NodeError::BadName(_))));
        assert!(!node.ping("nobody_here@localhost"));
        // The same name from another runtime: taken.
        let taken = std::thread::spawn(move || {
            ember_runtime::run(move || matches!(Node::start(&name, Cookie::new(COOKIE)), Err(NodeError::Epmd(_))))
                .unwrap()
        });
        assert!(blocking(move || taken.join().unwrap()));
        node.stop();
    })
    .unwrap();
    let outside = Node::start("outside@localhost", Cookie::new(COOKIE));
    assert!(matches!(outside, Err(NodeError::NotInProcess)));
}

/// A peer that breaks the protocol loses its own connection, with the
/// links over it firing `noconnection`; another peer's connection carries on.
#[test]
fn a_hostile_peer_loses_only_its_connection() {
    use ember_dist::connection::{Limits, Writer};
    use ember_dist::control::Control;
    use ember_dist::handshake::{self, Config};
    use std::io::Write;
    use std::net::TcpStream;
    if !common::epmd_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, name) = start_node();
        let port = node.port();
        trap_exit(true);
        let me = node.dist_pid(self_pid()).unwrap();
        let dial = move |alive: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(BOUND)).unwrap();
            let config =
                Config::new(&format!("{alive}@localhost"), Cookie::new(COOKIE), handshake::random_creation()).unwrap();
            let session = handshake::connect(&mut s, &config, &name).unwrap();
            let w = Writer::new(s.try_clone().unwrap(), &session, &Limits::default());
            let pid = ember_dist::Pid {
                node: ember_dist::Atom::new(&session.local_name),
                id: 1,
                serial: 0,
                creation: session.local_creation,
            };
            (s, w, pid)
        };
        let (mut evil, mut evil_w, evil_pid) = blocking(|| dial(&unique("evil")));
        let (_good, mut good_w, good_pid) = blocking(|| dial(&unique("good")));
        evil_w.send(&Control::Link { from: evil_pid.clone(), to: me.clone() }).unwrap();
        // A frame longer than any limit.
        evil.write_all(&u32::MAX.to_be_bytes()).unwrap();
        let exit = receive_timeout::<Exit>(BOUND).expect("the link over the bad connection fires");
        assert_eq!(exit.from, node.pid(&evil_pid));
        assert!(exit.reason.is_noconnection());
        good_w.send(&Control::Send { from: Some(good_pid), to: me, message: Term::atom("still here") }).unwrap();
        recv_term(|t| t == &Term::atom("still here"));
        node.stop();
    })
    .unwrap();
}

/// Many small messages and one far larger than the socket's buffer keep
/// their order; the big one goes through the writer thread (and fragments)
/// and comes back whole.
#[test]
fn big_and_many_messages_keep_their_order() {
    if !erlang_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, _) = start_node();
        let script = "register(seq, self()), io:format(\"ready~n\"), \
             Loop = fun L(N) -> receive {From, {n, N}} -> L(N + 1); \
               {From, {big, B}} -> From ! {big, N, B}, L(N); \
               {From, done} -> From ! {done, N} end end, Loop(0)"
            .to_string();
        let erl = erl(COOKIE, script);
        let me = Term::Pid(node.dist_pid(self_pid()).unwrap());
        let big: Vec<u8> = (0..6_000_000u32).map(|i| (i % 251) as u8).collect();
        for i in 0..3000 {
            node.send_named("seq", &erl.name(), tuple(vec![me.clone(), tuple(vec![Term::atom("n"), Term::Int(i)])]))
                .unwrap();
            if i == 1500 {
                let msg = tuple(vec![me.clone(), tuple(vec![Term::atom("big"), Term::Binary(big.clone())])]);
                node.send_named("seq", &erl.name(), msg).unwrap();
            }
        }
        node.send_named("seq", &erl.name(), tuple(vec![me.clone(), Term::atom("done")])).unwrap();
        let back = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("big"))));
        let t = back.as_tuple().unwrap();
        assert_eq!(t[1], Term::Int(1501), "the big message came after the 1501 before it");
        assert!(t[2] == Term::Binary(big), "the binary came back whole");
        let done = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("done"))));
        assert_eq!(done.as_tuple().unwrap()[1], Term::Int(3000), "every small message arrived, in order");
        blocking(move || drop(erl));
        node.stop();
    })
    .unwrap();
}

/// A node stopped and another started in the same runtime: the new one
/// answers pings (its net_kernel took the name over).
#[test]
fn a_node_restarted_in_one_runtime_answers_pings() {
    if !erlang_available() {
        return;
    }
    ember_runtime::run(|| {
        let (first, _) = start_node();
        first.stop();
        assert!(Node::current().is_none());
        let (node, name) = start_node();
        let script =
            format!("io:format(\"ready~n\"), io:format(\"~p~n\", [net_adm:ping('{name}')]), receive _ -> ok end");
        let mut erl = erl(COOKIE, script);
        assert_eq!(line(&mut erl), "pong");
        node.stop();
    })
    .unwrap();
}

/// A node that is known but no longer connected is dialled again by a
/// send, as Erlang auto-connects: the link and the message that waited for
/// the connection go into it in order (the BEAM sees the link before the
/// message, so its exit reaches the Ember process).
#[test]
fn a_known_node_is_dialled_again_on_send() {
    if !erlang_available() {
        return;
    }
    ember_runtime::run(|| {
        let (node, name) = start_node();
        register("test", self_pid()).unwrap();
        let script = format!(
            "W = spawn(fun() -> {{test, '{name}'}} ! {{me, self()}}, \
               receive go_away -> true = erlang:disconnect_node('{name}') end, \
               receive {{From, hello}} -> From ! {{hi, self()}} end, \
               receive {{From2, again}} -> From2 ! again, exit(bye) end end), \
             register(back, W), io:format(\"ready~n\"), receive stop -> ok end"
        );
        let erl = erl(COOKIE, script);
        let msg = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("me"))));
        let Term::Pid(erl_pid) = &msg.as_tuple().unwrap()[1] else { panic!("{msg}") };
        let erl_pid = node.pid(erl_pid);
        node.monitor_node(&erl.name());
        send(erl_pid, Term::atom("go_away"));
        recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("nodedown"))));
        assert!(!node.nodes().contains(&erl.name()));
        // Not connected: these wait for the dial they start.
        trap_exit(true);
        link(erl_pid).unwrap();
        let me = Term::Pid(node.dist_pid(self_pid()).unwrap());
        send(erl_pid, tuple(vec![me.clone(), Term::atom("hello")]));
        ember_runtime::send_named(("back", erl.name()), tuple(vec![me, Term::atom("again")])).unwrap();
        let hi = recv_term(|t| t.as_tuple().is_some_and(|t| t.first() == Some(&Term::atom("hi"))));
        assert_eq!(hi.as_tuple().unwrap()[1], Term::Pid(node.dist_pid(erl_pid).unwrap()));
        assert!(node.nodes().contains(&erl.name()));
        recv_term(|t| t == &Term::atom("again"));
        let exit = receive_timeout::<Exit>(BOUND).expect("the link made over the new connection fires");
        assert_eq!(exit.from, erl_pid);
        assert_eq!(exit.reason.downcast_ref::<Term>(), Some(&Term::atom("bye")));
        blocking(move || drop(erl));
        node.stop();
    })
    .unwrap();
}

/// A dial to a node whose port accepts but never answers the handshake
/// ends by the connect timeout: what waited for it gets what an
/// unreachable node gives in OTP (the message dropped, the link and the
/// monitor `noconnection`), and the node carries on.
#[test]
fn a_stalled_dial_ends_by_the_connect_timeout() {
    use ember_dist::node::Builder;
    use std::net::TcpListener;
    use std::sync::mpsc;
    if !common::epmd_available() {
        return;
    }
    let silent = unique("silent");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let registration = ember_dist::epmd::Epmd::localhost().register(&silent, port, true).unwrap();
    let (accepted_tx, accepted_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        accepted_tx.send(()).unwrap();
        let _ = done_rx.recv_timeout(BOUND);
        drop(stream);
    });
    let silent_node = format!("{silent}@localhost");
    ember_runtime::run(move || {
        let name = format!("{}@localhost", unique("ember"));
        let node = Builder::new(&name, Cookie::new(COOKIE))
            .connect_timeout(std::time::Duration::from_millis(500))
            .start()
            .unwrap();
        // A pid of a node never connected to, as a term could carry it.
        let pid =
            node.pid(&ember_dist::Pid { node: ember_dist::Atom::new(&silent_node), id: 1, serial: 0, creation: 1 });
        trap_exit(true);
        let m = monitor(pid);
        link(pid).unwrap();
        send(pid, Term::atom("dropped"));
        // The send dialled: the silent node's port saw the connection.
        blocking(move || accepted_rx.recv_timeout(BOUND)).expect("a dial reached the silent node");
        let down = receive_timeout::<Down>(BOUND).expect("the monitor fires when the dial times out");
        assert_eq!((down.monitor, down.pid), (m, pid));
        assert!(down.reason.is_noconnection(), "{:?}", down.reason);
        let exit = receive_timeout::<Exit>(BOUND).expect("the link breaks");
        assert!(exit.reason.is_noconnection(), "{:?}", exit.reason);
        assert!(node.nodes().is_empty());
        node.stop();
    })
    .unwrap();
    done_tx.send(()).unwrap();
    holder.join().unwrap();
    drop(registration);
}

/// A peer that stops reading: the outbox never holds much more than its
/// limit (the sending process waits for room), and the connection ends
/// within a tick time with `noconnection`, while the peer still ticks; the
/// sender is not stuck.
#[test]
fn a_peer_that_stops_reading_meets_a_bounded_outbox() {
    use ember_dist::connection::{Limits, Writer};
    use ember_dist::handshake::{self, Config};
    use ember_dist::node::Builder;
    use std::net::TcpStream;
    use std::time::Duration;
    if !common::epmd_available() {
        return;
    }
    const LIMIT: usize = 256 << 10;
    ember_runtime::run(|| {
        let name = format!("{}@localhost", unique("ember"));
        let node = Builder::new(&name, Cookie::new(COOKIE))
            .ticktime(Duration::from_secs(1))
            .outbox_limit(LIMIT)
            .start()
            .unwrap();
        let port = node.port();
        let alive = unique("deaf");
        let (stream, pid) = blocking(|| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(BOUND)).unwrap();
            let config =
                Config::new(&format!("{alive}@localhost"), Cookie::new(COOKIE), handshake::random_creation()).unwrap();
            let session = handshake::connect(&mut s, &config, &name).unwrap();
            let pid = ember_dist::Pid {
                node: ember_dist::Atom::new(&session.local_name),
                id: 1,
                serial: 0,
                creation: session.local_creation,
            };
            // Ticks from a thread, so the node does not see a silent peer:
            // only its full outbox can end the connection.
            let mut w = Writer::new(s.try_clone().unwrap(), &session, &Limits::default());
            std::thread::spawn(move || {
                while w.tick().is_ok() {
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
            (s, pid)
        });
        let peer = pid.node.as_str().to_owned();
        let pid = node.pid(&pid);
        let m = monitor(pid);
        let chunk = Term::Binary(vec![1; 16 << 10]);
        let mut most = 0;
        // 64 MB: more than loopback socket buffers take.
        for _ in 0..4000 {
            send(pid, chunk.clone());
            let queued = node.queued_bytes(&peer).unwrap_or(0);
            most = most.max(queued);
            assert!(queued <= LIMIT + (17 << 10), "{queued} bytes queued, over the limit");
        }
        assert!(most > LIMIT / 2, "the outbox filled ({most})");
        let down = receive_timeout::<Down>(BOUND).expect("the connection ends");
        assert_eq!(down.monitor, m);
        assert!(down.reason.is_noconnection(), "{:?}", down.reason);
        assert!(!node.nodes().contains(&peer));
        drop(stream);
        node.stop();
    })
    .unwrap();
}

/// A peer whose gen_server answers a call by plain `SEND` to the caller's
/// pid (OTP before 24 ignores the alias): the answer still reaches the
/// call. The peer is played by hand over the protocol.
#[test]
fn a_call_answered_by_pid_rather_than_alias_returns() {
    use ember_dist::connection::{Incoming, Limits, Reader, Writer};
    use ember_dist::control::Control;
    use ember_dist::handshake::{self, Config, Status};
    use ember_dist::node::TermServer;
    use std::io::BufReader;
    use std::net::TcpListener;
    if !common::epmd_available() {
        return;
    }
    let alive = unique("oldotp");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let registration = ember_dist::epmd::Epmd::localhost().register(&alive, port, true).unwrap();
    let peer_name = format!("{alive}@localhost");
    let config = Config::new(&peer_name, Cookie::new(COOKIE), handshake::random_creation()).unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(BOUND)).unwrap();
        let session = handshake::accept(&mut s, &config).unwrap().respond(Status::Ok).unwrap();
        let mut w = Writer::new(s.try_clone().unwrap(), &session, &Limits::default());
        let mut r = Reader::new(BufReader::new(s), Limits::default());
        loop {
            match r.read().unwrap() {
                Incoming::Message(Control::RegSend { message, .. }) => {
                    let [_, from, request] = message.as_tuple().unwrap() else { panic!("{message}") };
                    let [Term::Pid(caller), tag] = from.as_tuple().unwrap() else { panic!("{from}") };
                    let reply = Term::tuple(vec![tag.clone(), Term::tuple(vec![Term::atom("got"), request.clone()])]);
                    w.send(&Control::Send { from: None, to: caller.clone(), message: reply }).unwrap();
                    return;
                }
                Incoming::Message(_) | Incoming::Tick => {}
            }
        }
    });
    ember_runtime::run(move || {
        let (node, _) = start_node();
        let server = ember_runtime::Server::<TermServer>::new(("srv", peer_name.as_str()));
        let reply = server.call(Term::atom("hello")).unwrap();
        assert_eq!(reply, tuple(vec![Term::atom("got"), Term::atom("hello")]));
        assert!(receive_timeout::<Term>(std::time::Duration::ZERO).is_none(), "nothing left in the mailbox");
        node.stop();
    })
    .unwrap();
    peer.join().unwrap();
    drop(registration);
}
