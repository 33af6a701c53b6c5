//! Against a real BEAM on loopback: EPMD, the handshake in both directions,
//! terms through the node and back, signals, `gen_server:call` replies by
//! alias, fragments, wrong cookies. Skipped, with a message, when Erlang is
//! not installed.

mod common;

use common::{erlang_available, unique, ErlNode, BOUND};
use ember_dist::connection::{Incoming, Limits, Reader, Writer};
use ember_dist::control::{Control, ProcessRef};
use ember_dist::epmd::{Epmd, EpmdError};
use ember_dist::handshake::{self, Config, HandshakeError, Session, Status};
use ember_dist::{Atom, Cookie, Pid, Term};
use std::net::{TcpListener, TcpStream};

const COOKIE: &str = "ember_test_cookie";

/// An Erlang process that registers `echo` and answers `{From, T}` with
/// `{echo, self(), T}` (the example protocol), and `{From, stop}`
/// with `stopped`. It never halts by itself (a halt could overtake its last
/// message): the test kills the node.
const ECHO: &str = "register(echo, self()), io:format(\"ready~n\"), \
    Loop = fun L() -> receive {From, stop} -> From ! stopped, L(); \
    {From, T} -> From ! {echo, self(), T}, L() end end, Loop()";

struct Conn {
    session: Session,
    reader: Reader<TcpStream>,
    writer: Writer<TcpStream>,
    me: Pid,
}

impl Conn {
    fn new(stream: TcpStream, session: Session) -> Conn {
        let limits = Limits::default();
        let reader = Reader::new(stream.try_clone().unwrap(), limits.clone());
        let writer = Writer::new(stream, &session, &limits);
        let me = Pid { node: Atom::new(&session.local_name), id: 7, serial: 0, creation: session.local_creation };
        Conn { session, reader, writer, me }
    }

    /// The next message, skipping ticks (answered, as a live node would).
    fn next(&mut self) -> Control {
        loop {
            match self.reader.read().expect("read") {
                Incoming::Tick => self.writer.tick().unwrap(),
                Incoming::Message(m) => return m,
            }
        }
    }
}

fn bounded(stream: &TcpStream) {
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream.set_write_timeout(Some(BOUND)).unwrap();
}

fn config(alive: &str, cookie: &str) -> Config {
    Config::new(&format!("{alive}@localhost"), Cookie::new(cookie), handshake::random_creation()).unwrap()
}

/// Connects to `node` as `alive@localhost`.
fn connect(node: &ErlNode, alive: &str, cookie: &str) -> Result<Conn, HandshakeError> {
    let entry = Epmd::localhost().port_please(&node.alive).unwrap().expect("the node is registered");
    let mut stream = TcpStream::connect(("127.0.0.1", entry.port)).unwrap();
    bounded(&stream);
    let session = handshake::connect(&mut stream, &config(alive, cookie), &node.name())?;
    Ok(Conn::new(stream, session))
}

/// An Ember node name registered with EPMD and listening on loopback, for
/// the tests where the BEAM connects to us.
struct Listening {
    alive: String,
    listener: TcpListener,
    _registration: ember_dist::epmd::Registration,
}

impl Listening {
    fn new() -> Listening {
        common::ensure_epmd();
        let alive = unique("ember");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _registration = Epmd::localhost().register(&alive, port, true).expect("ALIVE2");
        Listening { alive, listener, _registration }
    }

    /// Accepts one connection and runs the acceptor's handshake with `cookie`
    /// up to and including our response.
    fn accept(&self, cookie: &str) -> (TcpStream, Result<Session, HandshakeError>) {
        let (mut stream, _) = self.listener.accept().unwrap();
        bounded(&stream);
        let config = config(&self.alive, cookie);
        let result = handshake::accept(&mut stream, &config).and_then(|p| p.respond(Status::Ok));
        (stream, result)
    }
}

#[test]
fn epmd_register_lookup_and_name_taken() {
    if !erlang_available() {
        return;
    }
    common::ensure_epmd();
    let epmd = Epmd::localhost();
    let name = unique("reg");
    let reg = epmd.register(&name, 4242, true).expect("ALIVE2");
    assert!(reg.creation() != 0);
    let entry = epmd.port_please(&name).unwrap().expect("PORT_PLEASE2 finds it");
    assert_eq!((entry.port, entry.hidden, entry.highest, entry.name.as_str()), (4242, true, 6, name.as_str()));
    assert!(epmd.names().unwrap().iter().any(|(n, p)| *n == name && *p == 4242));
    match epmd.register(&name, 4243, true) {
        Err(EpmdError::NameTaken { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected NameTaken, got {other:?}"),
    }
    assert!(epmd.port_please(&unique("nobody")).unwrap().is_none());
    drop(reg);
}

/// A TCP socket bound to a free loopback port, not listening, and the port.
/// While the socket is open no one else binds the port, and the kernel does
/// not pick it as a connection's source port.
fn bound_not_listening() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns; the
    // address structures are initialised and passed with their sizes.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::bind(fd, (&raw const addr).cast(), len);
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        let mut len = len;
        let rc = libc::getsockname(fd, (&raw mut addr).cast(), &mut len);
        assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
        (owned, u16::from_be(addr.sin_port))
    }
}

#[test]
fn no_epmd_is_a_clear_error() {
    // A port held by a socket that is bound but does not listen: a connect
    // to it is refused. (A port merely freed could be taken meanwhile by
    // another test's listener, or picked as the connect's own source port,
    // which connects the socket to itself: "connection reset" in about one
    // suite run in twenty.)
    let (_held, port) = bound_not_listening();
    let epmd = Epmd::at(([127, 0, 0, 1], port).into());
    let err = epmd.port_please("x").unwrap_err();
    assert!(matches!(err, EpmdError::NotRunning { .. }), "{err:?}");
    assert!(err.to_string().contains("no EPMD is running"));
}

#[test]
fn ember_connects_and_terms_round_trip_through_the_beam() {
    if !erlang_available() {
        return;
    }
    let alive = unique("echo");
    let node = ErlNode::start(&alive, COOKIE, ECHO);
    let mut c = connect(&node, &unique("ember"), COOKIE).expect("handshake");
    assert_eq!(c.session.peer_name, node.name());
    assert!(c.session.peer_is_hidden());

    let mut map = ember_dist::Map::new();
    map.insert(Term::atom("k"), Term::List(vec![Term::Float(-0.5)]));
    map.insert(Term::Int(1), Term::binary(&[0, 255]));
    let payload = Term::tuple(vec![
        Term::atom("héllo_wörld"),
        Term::Int(0),
        Term::Int(-1),
        Term::Int(300),
        Term::Int(i64::MIN),
        Term::integer(num_bigint::BigInt::from(u128::MAX) * 7),
        Term::Float(3.25),
        Term::binary(b"bytes"),
        Term::BitString(ember_dist::BitString::new(vec![0b1010_0000], 3).unwrap()),
        Term::improper_list(vec![Term::Int(1), Term::Int(2)], Term::atom("tail")),
        Term::charlist("str"),
        Term::Map(map),
        Term::Pid(c.me.clone()),
        Term::Ref(ember_dist::Reference { node: c.me.node.clone(), creation: c.me.creation, id: vec![1, 2, 3] }),
        Term::tuple(vec![]),
        Term::nil(),
    ]);
    let from = c.me.clone();
    c.writer
        .send(&Control::RegSend {
            from: from.clone(),
            to: Atom::new("echo"),
            message: Term::tuple(vec![Term::Pid(from.clone()), payload.clone()]),
        })
        .unwrap();
    match c.next() {
        Control::Send { to, message, from: sender } => {
            assert_eq!(to, from);
            let t = message.as_tuple().expect("a tuple");
            assert_eq!(t[0], Term::atom("echo"));
            assert!(matches!(&t[1], Term::Pid(p) if p.node.as_str() == node.name()));
            assert_eq!(sender.as_ref().map(|p| Term::Pid(p.clone())), Some(t[1].clone()), "SEND_SENDER names the echo");
            assert_eq!(t[2], payload, "the BEAM sends back the very term");
        }
        other => panic!("expected a send, got {other:?}"),
    }
    c.writer
        .send(&Control::RegSend {
            from: from.clone(),
            to: Atom::new("echo"),
            message: Term::tuple(vec![Term::Pid(from), Term::atom("stop")]),
        })
        .unwrap();
    assert!(matches!(c.next(), Control::Send { message, .. } if message == Term::atom("stopped")));
    drop(node);
}

/// Terms made on the BEAM (funs, ports, refs, its own pids) decode, and
/// encode back to terms the BEAM finds exactly equal (`=:=`).
#[test]
fn beam_made_terms_decode_and_re_encode_exactly() {
    if !erlang_available() {
        return;
    }
    let script = "register(terms, self()), io:format(\"ready~n\"), \
        X = 5, \
        Terms = [fun lists:reverse/1, fun(Y) -> X + Y end, make_ref(), self(), hd(erlang:ports()), \
                 alias(), 1 bsl 200, -(1 bsl 64), 2.5e-300, <<1:1>>, #{[1] => {a}, 2.0 => b}, \
                 lists:seq(1, 300), list_to_atom([955])], \
        receive {go, Ember} -> Ember ! {terms, Terms} end, \
        receive {back, Ember, Same} -> io:format(\"~p~n\", [Same =:= Terms]) end, halt()";
    let mut node = ErlNode::start(&unique("terms"), COOKIE, script);
    let mut c = connect(&node, &unique("ember"), COOKIE).expect("handshake");
    let me = c.me.clone();
    c.writer
        .send(&Control::RegSend {
            from: me.clone(),
            to: Atom::new("terms"),
            message: Term::tuple(vec![Term::atom("go"), Term::Pid(me.clone())]),
        })
        .unwrap();
    let terms = match c.next() {
        Control::Send { message, .. } => message.as_tuple().unwrap()[1].clone(),
        other => panic!("expected the terms, got {other:?}"),
    };
    let Term::List(items) = &terms else { panic!("a list: {terms}") };
    assert!(matches!(&items[0], Term::Fun(ember_dist::Fun::Export { arity: 1, .. })));
    assert!(matches!(&items[1], Term::Fun(ember_dist::Fun::Closure(_))));
    assert!(matches!(&items[2], Term::Ref(_)));
    assert!(matches!(&items[3], Term::Pid(_)));
    assert!(matches!(&items[4], Term::Port(_)));
    assert!(matches!(&items[5], Term::Ref(_)));
    assert_eq!(items[6], Term::integer(num_bigint::BigInt::from(1u8) << 200u32));
    assert_eq!(items[7], Term::integer(-(num_bigint::BigInt::from(1u8) << 64u32)));
    assert_eq!(items[8], Term::Float(2.5e-300));
    assert!(matches!(&items[9], Term::BitString(b) if b.bit_len() == 1));
    assert_eq!(items[11], Term::List((1..=300).map(Term::Int).collect()));
    assert_eq!(items[12], Term::atom("λ"));
    let pid = match &items[3] {
        Term::Pid(p) => p.clone(),
        _ => unreachable!(),
    };
    c.writer
        .send(&Control::Send {
            from: Some(me.clone()),
            to: pid,
            message: Term::tuple(vec![Term::atom("back"), Term::Pid(me), terms.clone()]),
        })
        .unwrap();
    node.expect_line("true");
}

/// The BEAM connects to us: we are registered with EPMD and accept.
#[test]
fn beam_connects_to_ember_and_gets_echoed() {
    if !erlang_available() {
        return;
    }
    let us = Listening::new();
    let ember = us.alive.clone();
    let script = format!(
        "io:format(\"ready~n\"), {{echo, '{ember}@localhost'}} ! {{self(), [hello, <<\"world\">>]}}, \
         receive {{echo, _, M}} -> io:format(\"~p~n\", [M]) after 20000 -> io:format(\"timeout~n\") end, halt()"
    );
    let mut node = ErlNode::start(&unique("client"), COOKIE, &script);
    let (stream, session) = us.accept(COOKIE);
    let session = session.expect("authenticated");
    assert_eq!(session.peer_name, node.name());
    let mut c = Conn::new(stream, session);
    let me = c.me.clone();
    let (from, message) = match c.next() {
        Control::RegSend { from, to, message } if to.as_str() == "echo" => (from, message),
        other => panic!("expected a send to echo, got {other:?}"),
    };
    let t = message.as_tuple().unwrap();
    assert_eq!(t[0], Term::Pid(from.clone()));
    c.writer
        .send(&Control::Send {
            from: Some(me.clone()),
            to: from,
            message: Term::tuple(vec![Term::atom("echo"), Term::Pid(me), t[1].clone()]),
        })
        .unwrap();
    node.expect_line("[hello,<<\"world\">>]");
}

/// Links, monitors, exits and unlinks between a BEAM process and a pid of
/// ours, as the control messages a real node sends and accepts.
#[test]
fn links_monitors_and_exits_with_the_beam() {
    if !erlang_available() {
        return;
    }
    let script = "register(peer, self()), io:format(\"ready~n\"), \
        receive {go, E} -> ok end, \
        link(E), Ref = monitor(process, E), E ! {linked, Ref}, \
        receive {'DOWN', Ref, process, E, R} -> io:format(\"down ~p~n\", [R]) end, \
        unlink(E), \
        receive unlinked -> ok end, \
        process_flag(trap_exit, true), link(E), \
        E ! linked_again, \
        receive {'EXIT', E, R2} -> io:format(\"exit ~p~n\", [R2]) end, \
        exit(E, kill), \
        NameRef = monitor(process, {nobody, node(E)}), \
        receive {'DOWN', NameRef, process, _, R3} -> io:format(\"name down ~p~n\", [R3]) end, \
        halt()";
    let mut node = ErlNode::start(&unique("peer"), COOKIE, script);
    let mut c = connect(&node, &unique("ember"), COOKIE).expect("handshake");
    let me = c.me.clone();
    c.writer
        .send(&Control::RegSend {
            from: me.clone(),
            to: Atom::new("peer"),
            message: Term::tuple(vec![Term::atom("go"), Term::Pid(me.clone())]),
        })
        .unwrap();
    let erl = match c.next() {
        Control::Link { from, to } => {
            assert_eq!(to, me);
            from
        }
        other => panic!("expected LINK, got {other:?}"),
    };
    let reference = match c.next() {
        Control::MonitorP { from, to: ProcessRef::Pid(to), reference } => {
            assert_eq!((&from, &to), (&erl, &me));
            reference
        }
        other => panic!("expected MONITOR_P, got {other:?}"),
    };
    assert!(
        matches!(c.next(), Control::Send { message, .. } if message.as_tuple().is_some_and(|t| t[1] == Term::Ref(reference.clone())))
    );
    c.writer
        .send(&Control::MonitorPExit {
            from: ProcessRef::Pid(me.clone()),
            to: erl.clone(),
            reference,
            reason: Term::tuple(vec![Term::atom("gone"), Term::Int(1)]),
        })
        .unwrap();
    node.expect_line("down {gone,1}");
    match c.next() {
        Control::UnlinkId { id, from, to } => {
            assert_eq!((&from, &to), (&erl, &me));
            c.writer.send(&Control::UnlinkIdAck { id, from: me.clone(), to: erl.clone() }).unwrap();
        }
        other => panic!("expected UNLINK_ID, got {other:?}"),
    }
    c.writer.send(&Control::Send { from: Some(me.clone()), to: erl.clone(), message: Term::atom("unlinked") }).unwrap();
    assert!(matches!(c.next(), Control::Link { .. }));
    assert!(matches!(c.next(), Control::Send { message, .. } if message == Term::atom("linked_again")));
    c.writer.send(&Control::Exit { from: me.clone(), to: erl.clone(), reason: Term::atom("shutdown") }).unwrap();
    node.expect_line("exit shutdown");
    match c.next() {
        Control::Exit2 { from, to, reason } => {
            assert_eq!((from, to, reason), (erl.clone(), me.clone(), Term::atom("kill")))
        }
        other => panic!("expected EXIT2, got {other:?}"),
    }
    let reference = match c.next() {
        Control::MonitorP { to: ProcessRef::Name(name), reference, .. } => {
            assert_eq!(name.as_str(), "nobody");
            reference
        }
        other => panic!("expected MONITOR_P by name, got {other:?}"),
    };
    c.writer
        .send(&Control::MonitorPExit {
            from: ProcessRef::Name(Atom::new("nobody")),
            to: erl,
            reference,
            reason: Term::atom("noproc"),
        })
        .unwrap();
    node.expect_line("name down noproc");
}

/// `gen_server:call({Name, EmberNode}, Req)` from the BEAM: the request
/// arrives as `{'$gen_call', {From, [alias | Ref]}, Req}` and the reply goes
/// back by ALIAS_SEND, as an OTP 24+ server's would.
#[test]
fn gen_server_call_reply_by_alias() {
    if !erlang_available() {
        return;
    }
    let us = Listening::new();
    let ember = us.alive.clone();
    let script = format!(
        "io:format(\"ready~n\"), \
         R = gen_server:call({{counter, '{ember}@localhost'}}, increment, 20000), \
         io:format(\"~p~n\", [R]), halt()"
    );
    let mut node = ErlNode::start(&unique("caller"), COOKIE, &script);
    let (stream, session) = us.accept(COOKIE);
    let mut c = Conn::new(stream, session.unwrap());
    let me = c.me.clone();
    // gen:call monitors the server by name first.
    match c.next() {
        Control::MonitorP { to: ProcessRef::Name(n), .. } => assert_eq!(n.as_str(), "counter"),
        other => panic!("expected MONITOR_P, got {other:?}"),
    }
    let (caller, tag, request) = match c.next() {
        Control::RegSend { to, message, .. } if to.as_str() == "counter" => {
            let t = message.as_tuple().unwrap().to_vec();
            assert_eq!(t[0], Term::atom("$gen_call"));
            let from = t[1].as_tuple().unwrap().to_vec();
            (from[0].clone(), from[1].clone(), t[2].clone())
        }
        other => panic!("expected the call, got {other:?}"),
    };
    assert_eq!(request, Term::atom("increment"));
    let Term::ImproperList(head, alias) = &tag else { panic!("an alias tag: {tag}") };
    assert_eq!(head, &[Term::atom("alias")]);
    let Term::Ref(alias) = (**alias).clone() else { panic!("a ref") };
    let _ = caller;
    c.writer
        .send(&Control::AliasSend { from: me, alias, message: Term::tuple(vec![tag.clone(), Term::Int(1)]) })
        .unwrap();
    node.expect_line("1");
}

/// A message far above the fragment size goes out in fragments and comes
/// back from the BEAM in fragments; both ends reassemble.
#[test]
fn large_messages_fragment_both_ways() {
    if !erlang_available() {
        return;
    }
    let node = ErlNode::start(&unique("echo"), COOKIE, ECHO);
    let mut c = connect(&node, &unique("ember"), COOKIE).expect("handshake");
    assert!(c.session.flags.contains(ember_dist::DistFlags::FRAGMENTS));
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let many = Term::List((0..20_000).map(|i| Term::tuple(vec![Term::Int(i), Term::atom("x")])).collect());
    let payload = Term::tuple(vec![Term::Binary(big), many]);
    let me = c.me.clone();
    c.writer
        .send(&Control::RegSend {
            from: me.clone(),
            to: Atom::new("echo"),
            message: Term::tuple(vec![Term::Pid(me), payload.clone()]),
        })
        .unwrap();
    match c.next() {
        Control::Send { message, .. } => assert_eq!(message.as_tuple().unwrap()[2], payload),
        other => panic!("expected the echo, got {other:?}"),
    }
}

#[test]
fn wrong_cookie_is_refused_both_ways() {
    if !erlang_available() {
        return;
    }
    // We connect with the wrong cookie: the BEAM closes after our reply.
    let node = ErlNode::start(&unique("echo"), COOKIE, ECHO);
    match connect(&node, &unique("ember"), "not_the_cookie") {
        Err(HandshakeError::CookieRejected) => {}
        Err(other) => panic!("expected CookieRejected, got {other:?}"),
        Ok(_) => panic!("a wrong cookie was accepted"),
    }
    drop(node);

    // The BEAM connects with the wrong cookie: we refuse its digest.
    let us = Listening::new();
    let ember = us.alive.clone();
    let script =
        format!("io:format(\"ready~n\"), io:format(\"~p~n\", [net_kernel:connect_node('{ember}@localhost')]), halt()");
    let mut node = ErlNode::start(&unique("intruder"), "another_cookie", &script);
    let (stream, result) = us.accept(COOKIE);
    match result {
        Err(HandshakeError::BadDigest) => {}
        other => panic!("expected BadDigest, got {other:?}"),
    }
    drop(stream);
    node.expect_line("false");
}
