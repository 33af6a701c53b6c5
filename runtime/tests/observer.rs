#![cfg(feature = "observer")]
//! The observer (issue 18): serving snapshots over a Unix socket or
//! loopback TCP, refusing what it must, never disturbing the node.

mod common;

use common::{init, BOUND};
use ember_runtime::observer::{serve, serve_with, Access, ObserverAddr, Reply, MAX_REQUEST};
use ember_runtime::{monitor, process_info, receive, send, spawn, Down, Pid, Reason, Runtime, Status};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

fn socket_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ember-test-observer-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A blocking client on the test's own thread (std sockets, bounded by
/// timeouts).
struct Client {
    reader: BufReader<Box<dyn std::io::Read>>,
    writer: Box<dyn Write>,
}

impl Client {
    fn connect(addr: &ObserverAddr) -> Client {
        match addr {
            ObserverAddr::Unix(path) => {
                let s = std::os::unix::net::UnixStream::connect(path).unwrap();
                s.set_read_timeout(Some(BOUND)).unwrap();
                Client { reader: BufReader::new(Box::new(s.try_clone().unwrap())), writer: Box::new(s) }
            }
            ObserverAddr::Tcp(addr) => {
                let s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(BOUND)).unwrap();
                Client { reader: BufReader::new(Box::new(s.try_clone().unwrap())), writer: Box::new(s) }
            }
        }
    }

    fn raw(&mut self, line: &[u8]) -> Option<String> {
        self.writer.write_all(line).ok()?;
        let mut reply = String::new();
        match self.reader.read_line(&mut reply) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(reply),
        }
    }

    fn request(&mut self, line: &str) -> Reply {
        let reply = self.raw(format!("{line}\n").as_bytes()).expect("a reply");
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("bad reply {reply:?}: {e}"))
    }
}

/// A node with a process whose mailbox holds `queued` messages.
fn node_with_stuffed_process(queued: u32) -> (Runtime, Pid) {
    let rt = Runtime::builder().schedulers(2).build().unwrap();
    let pid = rt
        .block_on(move || {
            let pid = spawn(|| {
                ember_runtime::set_label("stuffed");
                receive::<()>();
            });
            for i in 0..queued {
                send(pid, i);
            }
            common::wait_until("the mailbox is full", || {
                process_info(pid).is_some_and(|i| i.status == Status::Waiting && i.message_queue_len == queued as usize)
            });
            pid
        })
        .unwrap();
    (rt, pid)
}

fn serve_on(rt: &Runtime, addr: String, access: Access) -> (ObserverAddr, Pid) {
    rt.block_on(move || {
        let observer = serve_with(&addr, access).unwrap();
        (observer.addr().clone(), observer.pid())
    })
    .unwrap()
}

#[test]
fn a_client_sees_a_known_process_with_its_mailbox_over_a_unix_socket() {
    init();
    let (rt, stuffed) = node_with_stuffed_process(5);
    let path = socket_path("unix");
    let (addr, _) = serve_on(&rt, format!("unix:{}", path.display()), Access::ReadOnly);
    let mut client = Client::connect(&addr);
    let Reply::Hello { write, version, .. } = client.request(r#"{"op":"hello"}"#) else { panic!() };
    assert!(!write);
    assert_eq!(version, ember_runtime::observer::PROTOCOL_VERSION);
    let Reply::Snapshot(snap) = client.request(r#"{"op":"snapshot"}"#) else { panic!() };
    let listed = snap.processes.iter().find(|p| p.pid == stuffed).expect("listed");
    assert_eq!(listed.message_queue_len, 5);
    assert_eq!(listed.label.as_deref(), Some("stuffed"));
    assert!(snap.processes.iter().any(|p| p.label.as_deref() == Some("observer acceptor")));
    send(stuffed, ());
    drop(client);
    drop(rt);
}

#[test]
fn malformed_requests_get_errors_and_the_node_is_unaffected() {
    init();
    let (rt, stuffed) = node_with_stuffed_process(3);
    let (addr, observer) = serve_on(&rt, "127.0.0.1:0".into(), Access::ReadOnly);
    let mut client = Client::connect(&addr);
    for bad in ["not json", "{}", r#"{"op":"explode"}"#, r#"{"op":"kill","pid":"<1.2>"}"#, "[1,2,3]", "\u{0}\u{1}"] {
        let reply = client.request(bad);
        assert!(matches!(reply, Reply::Error(_)), "{bad:?} got {reply:?}");
    }
    // Still the same connection, still answering.
    let Reply::Snapshot(snap) = client.request(r#"{"op":"snapshot"}"#) else { panic!() };
    assert_eq!(snap.processes.iter().find(|p| p.pid == stuffed).unwrap().message_queue_len, 3);
    // An over-long line: an error, then the connection closes.
    let mut long = vec![b'x'; MAX_REQUEST + 10];
    long.push(b'\n');
    let reply = client.raw(&long).expect("an error before closing");
    assert!(matches!(serde_json::from_str::<Reply>(&reply).unwrap(), Reply::Error(_)));
    assert!(client.raw(b"{\"op\":\"hello\"}\n").is_none(), "closed after an over-long request");
    // The node and the observer are fine: a new connection is served.
    assert!(ember_runtime::is_alive(observer) && ember_runtime::is_alive(stuffed));
    let mut again = Client::connect(&addr);
    assert!(matches!(again.request(r#"{"op":"hello"}"#), Reply::Hello { .. }));
    send(stuffed, ());
    drop(rt);
}

#[test]
fn kills_are_refused_read_only_and_done_read_write() {
    init();
    let (rt, stuffed) = node_with_stuffed_process(0);
    let (read_only, _) = serve_on(&rt, "127.0.0.1:0".into(), Access::ReadOnly);
    let (read_write, _) = serve_on(&rt, format!("unix:{}", socket_path("rw").display()), Access::ReadWrite);
    let kill = format!(r#"{{"op":"kill","pid":"{stuffed}"}}"#);
    assert!(matches!(Client::connect(&read_only).request(&kill), Reply::Error(_)));
    assert!(ember_runtime::is_alive(stuffed));
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(move || {
        let m = monitor(stuffed);
        tx.send(()).unwrap();
        let down: Down = receive();
        tx.send(()).unwrap();
        assert_eq!((down.monitor, down.reason), (m, Reason::Killed));
    })
    .unwrap();
    rx.recv_timeout(BOUND).expect("monitoring");
    let reply = Client::connect(&read_write).request(&kill);
    assert!(matches!(reply, Reply::Killed { pid, was_alive: true } if pid == stuffed), "{reply:?}");
    rx.recv_timeout(BOUND).expect("killed");
    drop(rt);
}

#[test]
fn addresses_are_checked_and_the_socket_file_is_managed() {
    init();
    let rt = Runtime::new().unwrap();
    let path = socket_path("file");
    let unix = format!("unix:{}", path.display());
    rt.block_on(move || {
        assert_eq!(serve("0.0.0.0:0").unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(serve("nonsense").unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        // A stale file (no listener) is replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let observer = serve(&unix).unwrap();
        // A live one is not.
        assert_eq!(serve(&unix).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
        let m = monitor(observer.pid());
        observer.stop();
        // stop() returns once the acceptor is gone and its file removed.
        assert!(!path.exists(), "the socket file goes with the observer");
        assert_eq!(common::down_of(m).pid, observer.pid());
    })
    .unwrap();
}
