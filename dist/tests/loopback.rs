//! Ember to Ember over 127.0.0.1, and a hostile peer's bytes: the handshake
//! from both sides, refusals, fragments, pass-through frames, and frames that
//! must be errors. No BEAM needed.

use ember_dist::connection::{ConnectionError, Incoming, Limits, Reader, Writer};
use ember_dist::control::{Control, ProcessRef};
use ember_dist::etf::DecodeLimits;
use ember_dist::handshake::{self, Config, HandshakeError, Message, MessageFrom, Session, Status};
use ember_dist::{Atom, Cookie, DistFlags, Pid, Reference, Term};
use proptest::prelude::*;
use std::io::{Cursor, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(30);

fn config(name: &str, cookie: &str) -> Config {
    Config::new(name, Cookie::new(cookie), handshake::random_creation()).unwrap()
}

fn bounded(s: &TcpStream) {
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.set_write_timeout(Some(BOUND)).unwrap();
}

/// Runs `acceptor` on an accepted connection in a thread while the caller
/// connects with `initiator`.
fn pair<A, R>(initiator: &Config, peer: &str, acceptor: A) -> (Result<(TcpStream, Session), HandshakeError>, R)
where
    A: FnOnce(TcpStream) -> R + Send + 'static,
    R: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let side = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        bounded(&s);
        acceptor(s)
    });
    let mut s = TcpStream::connect(addr).unwrap();
    bounded(&s);
    let r = handshake::connect(&mut s, initiator, peer).map(|session| (s, session));
    (r, side.join().unwrap())
}

fn pid(node: &str, id: u32) -> Pid {
    Pid { node: Atom::new(node), id, serial: 0, creation: 1 }
}

#[test]
fn two_ember_nodes_handshake_and_talk() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let b_side = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        bounded(&s);
        let b = config("b@localhost", "c");
        let pending = handshake::accept(&mut s, &b).unwrap();
        assert_eq!(pending.peer_name(), "a@localhost");
        let session = pending.respond(Status::Ok).unwrap();
        let limits = Limits::default();
        let mut reader = Reader::new(s.try_clone().unwrap(), limits.clone());
        let mut writer = Writer::new(s, &session, &limits);
        // Answer one tick, echo one message.
        assert_eq!(reader.read().unwrap(), Incoming::Tick);
        writer.tick().unwrap();
        match reader.read().unwrap() {
            Incoming::Message(Control::RegSend { from, to, message }) => {
                assert_eq!(to.as_str(), "echo");
                writer.send(&Control::Send { from: Some(pid("b@localhost", 1)), to: from, message }).unwrap();
            }
            other => panic!("{other:?}"),
        }
        session
    });
    let mut s = TcpStream::connect(addr).unwrap();
    bounded(&s);
    let session = handshake::connect(&mut s, &config("a@localhost", "c"), "b@localhost").unwrap();
    assert_eq!(session.peer_name, "b@localhost");
    assert_eq!(session.flags, DistFlags::DEFAULT);
    let limits = Limits::default();
    let mut reader = Reader::new(s.try_clone().unwrap(), limits.clone());
    let mut writer = Writer::new(s, &session, &limits);
    writer.tick().unwrap();
    assert_eq!(reader.read().unwrap(), Incoming::Tick);
    let me = pid("a@localhost", 3);
    let message = Term::tuple(vec![Term::atom("hello"), Term::Int(1)]);
    writer.send(&Control::RegSend { from: me.clone(), to: Atom::new("echo"), message: message.clone() }).unwrap();
    assert_eq!(
        reader.read().unwrap(),
        Incoming::Message(Control::Send { from: Some(pid("b@localhost", 1)), to: me, message })
    );
    let b = b_side.join().unwrap();
    assert_eq!(b.peer_name, "a@localhost");
    assert_eq!(b.peer_creation, session.local_creation);
}

#[test]
fn a_wrong_cookie_is_refused_on_both_sides() {
    let a = config("a@localhost", "right");
    let (r, b) = pair(&a, "b@localhost", |mut s| {
        let b = config("b@localhost", "wrong");
        handshake::accept(&mut s, &b).unwrap().respond(Status::Ok).map(|_| ())
    });
    assert!(matches!(b, Err(HandshakeError::BadDigest)), "{b:?}");
    assert!(matches!(r, Err(HandshakeError::CookieRejected)), "{:?}", r.err());
}

#[test]
fn refusals_and_the_wrong_peer() {
    let a = config("a@localhost", "c");
    let (r, _) = pair(&a, "b@localhost", |mut s| {
        handshake::accept(&mut s, &config("b@localhost", "c")).unwrap().refuse(Status::NotAllowed).unwrap()
    });
    assert!(matches!(r, Err(HandshakeError::Refused(Status::NotAllowed))));
    let (r, _) = pair(&a, "someone_else@localhost", |mut s| {
        let _ = handshake::accept(&mut s, &config("b@localhost", "c")).unwrap().respond(Status::Ok);
    });
    assert!(matches!(r, Err(HandshakeError::WrongPeer { .. })));
    // `alive`: the initiator says to replace the old connection.
    let (r, b) = pair(&a, "b@localhost", |mut s| {
        handshake::accept(&mut s, &config("b@localhost", "c")).unwrap().respond(Status::Alive).is_ok()
    });
    assert!(r.is_ok() && b);
}

#[test]
fn a_peer_without_mandatory_flags_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let side = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        bounded(&s);
        handshake::accept(&mut s, &config("b@localhost", "c")).map(|_| ())
    });
    let mut s = TcpStream::connect(addr).unwrap();
    bounded(&s);
    // A name message from a node without UNLINK_ID or V4_NC (OTP 23 style).
    let flags = DistFlags(DistFlags::MANDATORY.0 & !(DistFlags::UNLINK_ID.0 | DistFlags::V4_NC.0));
    let body = Message::Name { flags, creation: 1, name: "old@localhost".into() }.encode();
    s.write_all(&(body.len() as u16).to_be_bytes()).unwrap();
    s.write_all(&body).unwrap();
    match side.join().unwrap() {
        Err(HandshakeError::MissingFlags(m)) => assert_eq!(m, DistFlags(DistFlags::UNLINK_ID.0 | DistFlags::V4_NC.0)),
        other => panic!("{other:?}"),
    }
    let mut reply = Vec::new();
    std::io::Read::read_to_end(&mut s, &mut reply).unwrap();
    assert_eq!(reply, b"\0\x0csnot_allowed");
}

fn session(flags: DistFlags) -> Session {
    Session {
        local_name: "a@h".into(),
        local_creation: 1,
        peer_name: "b@h".into(),
        peer_creation: 2,
        peer_flags: flags,
        flags,
    }
}

fn round_trip(flags: DistFlags, limits: &Limits, messages: &[Control]) -> Vec<Incoming> {
    let mut w = Writer::new(Vec::new(), &session(flags), limits);
    for m in messages {
        w.send(m).unwrap();
    }
    let mut r = Reader::new(Cursor::new(w.get_ref().clone()), limits.clone());
    messages.iter().map(|_| r.read().unwrap()).collect()
}

fn every_control() -> Vec<Control> {
    let (a, b) = (pid("a@h", 1), pid("b@h", 2));
    let r = Reference { node: Atom::new("a@h"), creation: 1, id: vec![1, 2, 3] };
    let big = Term::Binary(vec![7; 200_000]);
    vec![
        Control::Link { from: a.clone(), to: b.clone() },
        Control::Send { from: Some(a.clone()), to: b.clone(), message: big.clone() },
        Control::RegSend { from: a.clone(), to: Atom::new("name"), message: Term::nil() },
        Control::AliasSend { from: a.clone(), alias: r.clone(), message: Term::Int(1) },
        Control::Exit { from: a.clone(), to: b.clone(), reason: big },
        Control::Exit2 { from: a.clone(), to: b.clone(), reason: Term::atom("kill") },
        Control::UnlinkId { id: u64::MAX, from: a.clone(), to: b.clone() },
        Control::UnlinkIdAck { id: 1, from: b.clone(), to: a.clone() },
        Control::MonitorP { from: a.clone(), to: ProcessRef::Name(Atom::new("srv")), reference: r.clone() },
        Control::DemonitorP { from: a.clone(), to: ProcessRef::Pid(b.clone()), reference: r.clone() },
        Control::MonitorPExit {
            from: ProcessRef::Pid(b.clone()),
            to: a.clone(),
            reference: r,
            reason: Term::atom("noconnection"),
        },
        Control::Other { control: Term::tuple(vec![Term::Int(7), Term::Pid(a), Term::Pid(b)]), payload: None },
    ]
}

#[test]
fn every_control_message_round_trips_in_every_framing() {
    let limits = Limits { fragment_size: 4096, ..Limits::default() };
    let all = every_control();
    for flags in [
        DistFlags::DEFAULT,
        // No fragments: long messages go whole.
        DistFlags(DistFlags::DEFAULT.0 & !DistFlags::FRAGMENTS.0),
        // No headers: pass-through frames; no SEND_SENDER, no payload exits.
        DistFlags::MANDATORY,
    ] {
        let got = round_trip(flags, &limits, &all);
        for (sent, got) in all.iter().zip(got) {
            let want = match sent {
                Control::Send { to, message, .. } if !flags.contains(DistFlags::SEND_SENDER) => {
                    Control::Send { from: None, to: to.clone(), message: message.clone() }
                }
                other => other.clone(),
            };
            assert_eq!(got, Incoming::Message(want), "flags {flags:?}");
        }
    }
}

#[test]
fn fragments_interleave_and_reassemble() {
    // Two fragmented messages in flight at once, continuations interleaved,
    // as two sending processes on a BEAM would produce.
    let limits = Limits { fragment_size: 1024, ..Limits::default() };
    let mk = |n: u8| Control::Send { from: None, to: pid("b@h", 1), message: Term::Binary(vec![n; 3000]) };
    let mut a = Writer::new(Vec::new(), &session(DistFlags::DEFAULT), &limits);
    a.send(&mk(1)).unwrap();
    let mut b = Writer::new(Vec::new(), &session(DistFlags::DEFAULT), &limits);
    b.send(&mk(2)).unwrap();
    let frames = |bytes: &[u8]| {
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
            out.push(bytes[i..i + 4 + len].to_vec());
            i += 4 + len;
        }
        out
    };
    let fa = frames(a.get_ref());
    let mut fb = frames(b.get_ref());
    assert_eq!((fa.len(), fb.len()), (3, 3));
    for f in &mut fb {
        f[4 + 2 + 7] = 99; // both writers numbered their sequence 1: renumber b's
    }
    let mut wire = Vec::new();
    for (x, y) in fa.iter().zip(&fb) {
        wire.extend(x);
        wire.extend(y);
    }
    let mut r = Reader::new(Cursor::new(wire), limits);
    let first = r.read().unwrap();
    let second = r.read().unwrap();
    assert_eq!(first, Incoming::Message(mk(1)));
    assert_eq!(second, Incoming::Message(mk(2)));
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend(body);
    f
}

fn read_one(bytes: Vec<u8>, limits: Limits) -> Result<Incoming, ConnectionError> {
    Reader::new(Cursor::new(bytes), limits).read()
}

#[test]
fn the_atom_cache_in_headers() {
    // Header: 2 refs; ref 0 new in segment 1 at 5 = "ping", ref 1 new in
    // segment 0 at 9 = "b@h"; then {6, Pid, '', ping} with cached atoms.
    let mut body = vec![131, 68, 2, 0x89, 0x00];
    body.extend([5, 4]);
    body.extend(b"ping");
    body.extend([9, 3]);
    body.extend(b"b@h");
    body.extend([104, 4, 97, 6, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 119, 0, 82, 0]);
    body.extend([82, 0]); // message: the atom ping
    let want = Control::RegSend { from: pid("b@h", 1), to: Atom::new("ping"), message: Term::atom("ping") };
    let mut wire = frame(&body);
    // A second message refers to both entries without sending them again.
    let mut again = vec![131, 68, 2, 0x01, 0x00, 5, 9];
    again.extend([104, 4, 97, 6, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 119, 0, 82, 0, 106]);
    wire.extend(frame(&again));
    let mut r = Reader::new(Cursor::new(wire), Limits::default());
    assert_eq!(r.read().unwrap(), Incoming::Message(want));
    assert_eq!(
        r.read().unwrap(),
        Incoming::Message(Control::RegSend { from: pid("b@h", 1), to: Atom::new("ping"), message: Term::nil() })
    );
}

#[test]
fn hostile_frames_are_errors() {
    let limits = Limits { max_frame: 1 << 16, ..Limits::default() };
    let err = |bytes: Vec<u8>| read_one(bytes, limits.clone()).unwrap_err();
    // A 4 GiB length is refused before any allocation.
    assert!(matches!(err(vec![255, 255, 255, 255]), ConnectionError::FrameTooLarge { .. }));
    // A frame cut short.
    assert!(matches!(err(vec![0, 0, 0, 10, 131, 68]), ConnectionError::Io(_)));
    // Neither a header nor pass-through.
    assert!(matches!(err(frame(&[1, 2, 3])), ConnectionError::BadFrame(_)));
    // A reference to an empty atom cache slot.
    assert!(matches!(err(frame(&[131, 68, 1, 0x00, 7, 82, 0])), ConnectionError::BadFrame(_)));
    // A header that claims more refs than it holds.
    assert!(matches!(err(frame(&[131, 68, 200])), ConnectionError::BadFrame(_)));
    // Deep nesting inside a message.
    let mut deep = vec![131, 68, 0];
    deep.extend([104, 1].repeat(5000));
    deep.push(106);
    assert!(matches!(err(frame(&deep)), ConnectionError::Decode(_)));
    // An unknown tag.
    assert!(matches!(err(frame(&[131, 68, 0, 104, 2, 97, 1, 250])), ConnectionError::Decode(_)));
    // A control tuple of the wrong shape, and a send without its message.
    assert!(matches!(err(frame(&[131, 68, 0, 104, 1, 97, 1])), ConnectionError::Control(_)));
    assert!(matches!(err(frame(&[131, 68, 0, 104, 3, 97, 22, 106, 106])), ConnectionError::Control(_)));
    // An atom flood: 1000 distinct atoms where 100 are allowed.
    let flood_limits = Limits { decode: DecodeLimits { max_atoms: 100, ..DecodeLimits::default() }, ..limits.clone() };
    let mut flood = vec![131, 68, 0, 104, 4, 97, 6, 88, 119, 3, b'b', b'@', b'h', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
    flood.extend([119, 0, 119, 1, b'x', 108, 0, 0, 3, 232]);
    for i in 0..1000u32 {
        let name = format!("a{i}");
        flood.extend([119, name.len() as u8]);
        flood.extend(name.as_bytes());
    }
    flood.push(106);
    assert!(matches!(read_one(frame(&flood), flood_limits), Err(ConnectionError::Decode(_))));
}

#[test]
fn hostile_fragments_are_errors() {
    let limits = Limits { max_message: 10_000, max_sequences: 2, ..Limits::default() };
    let start = |seq: u8, id: u8, payload: &[u8]| {
        let mut f = vec![131, 69, 0, 0, 0, 0, 0, 0, 0, seq, 0, 0, 0, 0, 0, 0, 0, id, 0];
        f.extend(payload);
        frame(&f)
    };
    let cont = |seq: u8, id: u8, payload: &[u8]| {
        let mut f = vec![131, 70, 0, 0, 0, 0, 0, 0, 0, seq, 0, 0, 0, 0, 0, 0, 0, id];
        f.extend(payload);
        frame(&f)
    };
    let run = |wire: Vec<u8>| {
        let mut r = Reader::new(Cursor::new(wire), limits.clone());
        r.read()
    };
    assert!(matches!(run(cont(1, 1, b"x")), Err(ConnectionError::BadFragment(_))), "continuation of nothing");
    assert!(matches!(run([start(1, 3, b"x"), cont(1, 1, b"y")].concat()), Err(ConnectionError::BadFragment(_))));
    assert!(matches!(run(start(1, 0, b"x")), Err(ConnectionError::BadFragment(_))), "fragment id 0");
    assert!(matches!(run([start(1, 3, b"x"), start(1, 3, b"x")].concat()), Err(ConnectionError::BadFragment(_))));
    let three = [start(1, 5, b"x"), start(2, 5, b"x"), start(3, 5, b"x")].concat();
    assert!(matches!(run(three), Err(ConnectionError::BadFragment(_))), "too many sequences");
    let big = vec![0u8; 6000];
    let over = [start(1, 9, &big), cont(1, 8, &big)].concat();
    assert!(matches!(run(over), Err(ConnectionError::BadFragment(_))), "over max_message");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The handshake parser is total: any bytes give a message or an error.
    #[test]
    fn handshake_parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Message::parse(&body, MessageFrom::Initiator);
        let _ = Message::parse(&body, MessageFrom::Acceptor);
    }

    /// So is the acceptor fed arbitrary bytes, and the frame reader.
    #[test]
    fn accept_and_read_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let config = config("b@localhost", "c");
        let mut stream = Cursor::new(bytes.clone());
        if let Ok(p) = handshake::accept(&mut stream, &config) {
            let _ = p.respond(Status::Ok);
        }
        let mut r = Reader::new(Cursor::new(bytes), Limits::default());
        for _ in 0..8 {
            if r.read().is_err() {
                break;
            }
        }
    }

    #[test]
    fn handshake_messages_round_trip(flags in any::<u64>(), challenge in any::<u32>(), creation in any::<u32>(),
                                     digest in any::<[u8; 16]>(), alive in "[a-z][a-z0-9_]{0,20}") {
        let name = format!("{alive}@host");
        let cases = [
            (Message::Name { flags: DistFlags(flags), creation, name: name.clone() }, MessageFrom::Initiator),
            (Message::Challenge { flags: DistFlags(flags), challenge, creation, name }, MessageFrom::Acceptor),
            (Message::ChallengeReply { challenge, digest }, MessageFrom::Initiator),
            (Message::ChallengeAck { digest }, MessageFrom::Acceptor),
            (Message::Status(Status::OkSimultaneous), MessageFrom::Acceptor),
        ];
        for (m, from) in cases {
            prop_assert_eq!(Message::parse(&m.encode(), from).unwrap(), m);
        }
    }
}
