//! Sockets in processes (`ember_runtime::net`): loopback only, every loop
//! bounded in count and time, and after each test no fd is left open.
//!
//! The tests of this binary count the OS process's open fds
//! (`/proc/self/fd`), so each runs alone in a child process of its own
//! (`alone`: the tests of one binary share the OS process, and any of them
//! opening an fd while another counts would make that one fail), and each
//! runs its runtime to the end (shutdown included) before counting.

mod common;

use common::BOUND;
use ember_runtime::net::{
    open_sockets, Tcp, TcpClosed, TcpError, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream,
};
use ember_runtime::{
    monitor, receive, receive_timeout, self_pid, send, spawn, spawn_monitor, Builder, Down, Pid, Reason,
};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs the test `name` alone in a child process of its own, where no other
/// test thread opens or closes fds while it counts them, and returns `None`
/// once the child passed. In that child it returns `Some` (the test body
/// then runs), having started the reactor, so that the reactor's own fds
/// are there before any count is taken. The parents take turns (`SERIAL`),
/// so the heavy tests still run one at a time.
fn alone(name: &str) -> Option<MutexGuard<'static, ()>> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !common::child::is(name) {
        let ended = common::child::rerun(name);
        assert!(ended.passed(), "{name} failed in its child process: {ended:?}");
        return None;
    }
    common::init();
    drop(UdpSocket::bind("127.0.0.1:0").unwrap());
    Some(guard)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Runs `f` as the root of a fresh 2-scheduler runtime on its own thread and
/// shuts the runtime down completely (every process exited, every thread
/// joined) before returning; fails the test past `BOUND` x 6.
fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = Builder::default().schedulers(2).build().unwrap();
        let result = rt.block_on(f);
        drop(rt);
        let _ = tx.send(result);
    });
    match rx.recv_timeout(BOUND * 6) {
        Ok(Ok(v)) => v,
        Ok(Err(reason)) => panic!("root process exited: {reason:?}"),
        Err(_) => panic!("the runtime did not finish in time"),
    }
}

/// Asserts that `f` leaves exactly as many fds open as it found.
fn no_fd_leaked<T>(f: impl FnOnce() -> T) -> T {
    let before = open_fds();
    let sockets_before = open_sockets();
    let result = f();
    assert_eq!(open_sockets(), sockets_before, "sockets still registered with the reactor");
    assert_eq!(open_fds(), before, "fds leaked");
    result
}

fn recv_bounded<M: std::any::Any + Send>() -> M {
    receive_timeout::<M>(BOUND).expect("message within the bound")
}

/// An echo server in processes: an acceptor, one process per connection.
/// Returns its address; the acceptor ends when the runtime does.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    spawn(move || loop {
        let Ok((stream, _)) = listener.accept() else { continue };
        spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stream = stream;
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    });
    addr
}

/// Raises RLIMIT_NOFILE to `wanted` if the hard limit allows (or, with the
/// privilege to, raises the hard limit too), else to the hard limit; returns
/// the soft limit in force.
fn raise_nofile(wanted: u64) -> u64 {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur >= wanted {
            return lim.rlim_cur;
        }
        let raised = libc::rlimit { rlim_cur: wanted.max(lim.rlim_max), rlim_max: wanted.max(lim.rlim_max) };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur
    }
}

#[test]
fn echo_lines_and_read_until_eof() {
    let Some(_s) = alone("echo_lines_and_read_until_eof") else { return };
    no_fd_leaked(|| {
        run(|| {
            let addr = echo_server();
            let stream = TcpStream::connect(addr).unwrap();
            let mut reader = BufReader::new(&stream);
            for i in 0..100 {
                (&stream).write_all(format!("line {i}\n").as_bytes()).unwrap();
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                assert_eq!(line, format!("line {i}\n"));
            }
            // Half-close: the server sees EOF, stops echoing and closes;
            // we read until EOF.
            (&stream).write_all(b"tail").unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            let mut rest = String::new();
            reader.read_to_string(&mut rest).unwrap();
            assert_eq!(rest, "tail");
        })
    });
}

#[test]
fn ten_thousand_concurrent_connections() {
    let Some(_s) = alone("ten_thousand_concurrent_connections") else { return };
    // Both ends live in this OS process: two fds a connection, plus slack.
    let wanted = 10_000u64;
    let limit = raise_nofile(2 * wanted + 200);
    let allowed = (limit.saturating_sub(200) / 2).min(wanted);
    if allowed < wanted {
        println!(
            "RLIMIT_NOFILE hard limit is {limit}: testing {allowed} concurrent connections instead of {wanted} \
             (raise `ulimit -Hn` to test all of them)"
        );
    }
    let n = allowed as usize;
    no_fd_leaked(|| {
        run(move || {
            let addr = echo_server();
            let me = self_pid();
            // Clients: each connects, says hello, waits for the go, then
            // round-trips once more and reports. All n are open at once.
            let clients: Vec<Pid> = (0..n)
                .map(|i| {
                    spawn(move || {
                        let mut s = TcpStream::connect(addr).unwrap();
                        let msg = (i as u32).to_le_bytes();
                        let mut back = [0u8; 4];
                        s.write_all(&msg).unwrap();
                        s.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg);
                        send(me, ("connected", i));
                        let _go: &str = receive();
                        s.write_all(&msg).unwrap();
                        s.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg);
                        send(me, ("done", i));
                    })
                })
                .collect();
            for _ in 0..n {
                let (what, _): (&str, usize) = receive_timeout(BOUND * 3).expect("every client connects");
                assert_eq!(what, "connected");
            }
            assert!(open_sockets() >= 2 * n, "all {n} connections are open at once");
            for c in &clients {
                send(*c, "go");
            }
            for _ in 0..n {
                let (what, _): (&str, usize) = receive_timeout(BOUND * 3).expect("every client finishes");
                assert_eq!(what, "done");
            }
        })
    });
}

#[test]
fn peer_reset_is_an_error_for_the_reader() {
    let Some(_s) = alone("peer_reset_is_an_error_for_the_reader") else { return };
    no_fd_leaked(|| {
        run(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (mut server, _) = listener.accept().unwrap();
            // SO_LINGER 0: close sends a RST.
            let linger = libc::linger { l_onoff: 1, l_linger: 0 };
            // SAFETY: setsockopt with a valid option struct on a live fd.
            let rc = unsafe {
                libc::setsockopt(
                    client.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as u32,
                )
            };
            assert_eq!(rc, 0);
            drop(client);
            let err = server.read(&mut [0u8; 16]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        })
    });
}

#[test]
fn writes_to_a_closed_peer_are_broken_pipe_errors() {
    let Some(_s) = alone("writes_to_a_closed_peer_are_broken_pipe_errors") else { return };
    no_fd_leaked(|| {
        run(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            drop(server);
            // The first writes may be accepted by the kernel; once the RST
            // is back, every write fails. Bounded.
            let mut error = None;
            for _ in 0..1000 {
                if let Err(e) = client.write(&[0u8; 1024]) {
                    error = Some(e);
                    break;
                }
                ember_runtime::sleep(Duration::from_millis(1));
            }
            let e = error.expect("writes to a closed peer fail");
            assert!(matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{e:?}");
            // And again, now surely a broken pipe.
            let e = client.write(&[0u8; 8]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokenPipe);
        })
    });
}

/// The child half of `no_sigpipe_even_with_the_default_disposition`.
#[test]
fn sigpipe_child() {
    if std::env::var_os("EMBER_SIGPIPE_CHILD").is_none() {
        return;
    }
    // Restore the default disposition (the Rust runtime ignores SIGPIPE):
    // a SIGPIPE would now kill this OS process.
    // SAFETY: setting a signal disposition to its default.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let rt = Builder::default().schedulers(1).build().unwrap();
    rt.block_on(|| {
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let e = (&a).write(b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        drop(listener.accept().unwrap());
        for _ in 0..1000 {
            if client.write(&[0u8; 1024]).is_err() {
                break;
            }
            ember_runtime::sleep(Duration::from_millis(1));
        }
        assert_eq!(client.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
    })
    .unwrap();
    println!("sigpipe child: survived");
}

#[test]
fn no_sigpipe_even_with_the_default_disposition() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigpipe_child", "--nocapture", "--test-threads=1"])
        .env("EMBER_SIGPIPE_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child died: {:?}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("sigpipe child: survived"), "{stdout}");
}

#[test]
fn read_accept_and_connect_timeouts() {
    let Some(_s) = alone("read_accept_and_connect_timeouts") else { return };
    no_fd_leaked(|| {
        run(|| {
            // Read.
            let mut listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = TcpStream::connect(addr).unwrap();
            client.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let t = Instant::now();
            assert_eq!(client.read(&mut [0u8; 8]).unwrap_err().kind(), ErrorKind::TimedOut);
            assert!(t.elapsed() >= Duration::from_millis(20), "never early");
            assert!(client.set_read_timeout(Some(Duration::ZERO)).is_err(), "zero is refused, as in std");

            // Accept (the one pending connection is taken first).
            let (_server, _) = listener.accept().unwrap();
            listener.set_accept_timeout(Some(Duration::from_millis(20))).unwrap();
            assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::TimedOut);

            // Write: the peer never reads, so the buffers fill up.
            let (server, _) = {
                let _c2 = TcpStream::connect(addr).unwrap();
                listener.set_accept_timeout(None).unwrap();
                let accepted = listener.accept().unwrap();
                drop(_c2);
                accepted
            };
            drop(server);
            let sink = TcpStream::connect(addr).unwrap();
            let (_held, _) = listener.accept().unwrap();
            sink.set_write_timeout(Some(Duration::from_millis(50))).unwrap();
            let chunk = vec![0u8; 64 * 1024];
            let mut result = Ok(0);
            for _ in 0..10_000 {
                result = (&sink).write(&chunk);
                if result.is_err() {
                    break;
                }
            }
            assert_eq!(result.unwrap_err().kind(), ErrorKind::TimedOut);

            // Connect: a listener with a full backlog drops the SYNs.
            let full = full_backlog_listener();
            let target = full.local_addr().unwrap();
            let mut held = Vec::new();
            let mut timed_out = false;
            for _ in 0..64 {
                match TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
                    Ok(s) => held.push(s),
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
                        timed_out = true;
                        break;
                    }
                }
            }
            assert!(timed_out, "a connect to a full backlog times out");
        })
    });
}

/// A listening socket with backlog 0 that never accepts.
fn full_backlog_listener() -> std::net::TcpListener {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen on a socket we own.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    l
}

#[test]
fn a_process_blocked_in_read_accept_or_connect_is_killable() {
    let Some(_s) = alone("a_process_blocked_in_read_accept_or_connect_is_killable") else { return };
    no_fd_leaked(|| {
        run(|| {
            let me = self_pid();
            // Read.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let (reader, m1) = spawn_monitor(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                send(me, "reading");
                let _ = s.read(&mut [0u8; 8]);
                unreachable!("nobody writes");
            });
            let (_server, _) = listener.accept().unwrap();
            let _: &str = recv_bounded();
            // Accept.
            let (acceptor, m2) = spawn_monitor(move || {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                send(me, "accepting");
                let _ = l.accept();
                unreachable!("nobody connects");
            });
            let _: &str = recv_bounded();
            // Connect (to a full backlog: the SYN is dropped, it waits).
            let full = full_backlog_listener();
            let target = full.local_addr().unwrap();
            let (connector, m3) = spawn_monitor(move || {
                let mut held = Vec::new();
                send(me, "connecting");
                for _ in 0..64 {
                    held.push(TcpStream::connect(target));
                }
                unreachable!("some connect blocks");
            });
            let _: &str = recv_bounded();
            // Let them block (a failure bound, not a schedule: killing one
            // that has not blocked yet is fine too).
            ember_runtime::sleep(Duration::from_millis(50));
            for pid in [reader, acceptor, connector] {
                pid.exit(Reason::Kill);
            }
            for m in [m1, m2, m3] {
                let down = common::down_of(m);
                assert_eq!(down.reason, Reason::Killed);
            }
        })
    });
}

#[test]
fn a_socket_moves_to_another_process_in_a_message() {
    let Some(_s) = alone("a_socket_moves_to_another_process_in_a_message") else { return };
    no_fd_leaked(|| {
        run(|| {
            let me = self_pid();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let handler = spawn(move || {
                let mut stream: TcpStream = receive();
                let mut buf = [0u8; 5];
                stream.read_exact(&mut buf).unwrap();
                stream.write_all(&buf).unwrap();
                send(me, "echoed");
            });
            let acceptor = spawn(move || {
                let (stream, _) = listener.accept().unwrap();
                send(handler, stream);
                // The acceptor exits at once; the socket lives on in the
                // handler's mailbox and then in the handler.
            });
            let _ = acceptor;
            let mut client = TcpStream::connect(addr).unwrap();
            client.write_all(b"hello").unwrap();
            let _: &str = recv_bounded();
            let mut back = [0u8; 5];
            client.read_exact(&mut back).unwrap();
            assert_eq!(&back, b"hello");
        })
    });
}

#[test]
fn a_socket_left_in_a_dead_processs_mailbox_is_closed() {
    let Some(_s) = alone("a_socket_left_in_a_dead_processs_mailbox_is_closed") else { return };
    no_fd_leaked(|| {
        run(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            let (victim, m) = spawn_monitor(|| {
                let _: u8 = receive();
            });
            send(victim, server);
            send(victim, 1u8);
            common::down_of(m);
            // The mailbox's socket was dropped with it: the client reads EOF.
            assert_eq!((&client).read(&mut [0u8; 4]).unwrap(), 0);
        })
    });
}

#[test]
fn an_abandoned_stack_does_not_leak_its_sockets() {
    let Some(_s) = alone("an_abandoned_stack_does_not_leak_its_sockets") else { return };
    no_fd_leaked(|| {
        run(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let (pid, m) = spawn_monitor(move || {
                let a = TcpStream::connect(addr).unwrap();
                let b = UdpSocket::bind("127.0.0.1:0").unwrap();
                let c = TcpListener::bind("127.0.0.1:0").unwrap();
                // What a lost stack looks like: the objects are gone, their
                // destructors never run.
                std::mem::forget((a, b, c));
                ember_runtime::net::simulate_abandoned_stack();
            });
            let _ = pid;
            let (mut server, _) = listener.accept().unwrap();
            common::down_of(m);
            // The forgotten client end was closed by the resource table.
            assert_eq!(server.read(&mut [0u8; 4]).unwrap(), 0);
        })
    });
}

#[test]
fn a_socket_closed_by_an_abandoned_owner_is_safe_to_use_elsewhere() {
    let Some(_s) = alone("a_socket_closed_by_an_abandoned_owner_is_safe_to_use_elsewhere") else { return };
    no_fd_leaked(|| {
        run(|| {
            let me = self_pid();
            let (pid, m) = spawn_monitor(move || {
                let (a, b) = UnixStream::pair().unwrap();
                // Owned by this process (it made them), then sent away
                // unused: the owner's stack is "abandoned" with them in
                // transit.
                send(me, (a, b));
                ember_runtime::net::simulate_abandoned_stack();
            });
            let _ = pid;
            common::down_of(m);
            let (a, b): (UnixStream, UnixStream) = recv_bounded();
            // The fd numbers are free again; a new file may take them. The
            // old objects must never reach it.
            let file = tempfile_with(b"untouched");
            let e = (&a).write(b"overwrite").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotConnected);
            assert_eq!((&b).read(&mut [0u8; 4]).unwrap_err().kind(), ErrorKind::NotConnected);
            let mut content = String::new();
            std::fs::File::open(&file.0).unwrap().read_to_string(&mut content).unwrap();
            assert_eq!(content, "untouched");
            drop((a, b));
        })
    });
}

struct TempFile(std::path::PathBuf, #[allow(dead_code)] std::fs::File);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tempfile_with(content: &[u8]) -> TempFile {
    let path = std::env::temp_dir().join(format!("ember-net-{}-{:?}", std::process::id(), Instant::now()));
    let mut f = std::fs::OpenOptions::new().create(true).write(true).read(true).truncate(true).open(&path).unwrap();
    f.write_all(content).unwrap();
    TempFile(path, f)
}

#[test]
fn active_mode_under_a_flood() {
    let Some(_s) = alone("active_mode_under_a_flood") else { return };
    no_fd_leaked(|| {
        run(|| {
            const TOTAL: usize = 8 * 1024 * 1024;
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            // A plain thread floods, then closes.
            let flooder = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                let chunk = vec![7u8; 64 * 1024];
                for _ in 0..TOTAL / chunk.len() {
                    s.write_all(&chunk).unwrap();
                }
            });
            let (server, _) = listener.accept().unwrap();
            let mut received = 0;
            let mut messages = 0;
            let id = server.id();
            loop {
                server.set_active_once().unwrap();
                let closed = ember_runtime::Select::new()
                    .on(|m: Tcp| {
                        assert_eq!(m.socket, id);
                        assert!(m.data.iter().all(|&b| b == 7));
                        received += m.data.len();
                        messages += 1;
                        false
                    })
                    .on(|m: TcpClosed| {
                        assert_eq!(m.socket, id);
                        true
                    })
                    .on(|m: TcpError| panic!("{:?}", m.error))
                    .after(BOUND, || panic!("no active-mode message within the bound"))
                    .wait();
                if closed {
                    break;
                }
                assert!(received <= TOTAL);
            }
            assert_eq!(received, TOTAL);
            assert!(messages > 1, "one message per arming");
            flooder.join().unwrap();
        })
    });
}

#[test]
fn arming_active_mode_twice_delivers_one_message() {
    let Some(_s) = alone("arming_active_mode_twice_delivers_one_message") else { return };
    no_fd_leaked(|| {
        run(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            // Re-arming an armed socket (a loop that arms before every
            // receive, whatever came in) must neither spin nor duplicate.
            for _ in 0..3 {
                server.set_active_once().unwrap();
            }
            client.write_all(b"once").unwrap();
            let m: Tcp = recv_bounded();
            assert_eq!(m.data, b"once");
            assert!(receive_timeout::<Tcp>(Duration::from_millis(20)).is_none());
            server.set_active_once().unwrap();
            client.write_all(b"twice").unwrap();
            let m: Tcp = recv_bounded();
            assert_eq!(m.data, b"twice");
        })
    });
}

/// A connection served by a GenServer in active mode: calls and socket
/// data arrive in one mailbox and are served by one loop.
struct Conn {
    stream: TcpStream,
    lines: u32,
}

impl ember_runtime::GenServer for Conn {
    type Arg = TcpStream;
    type Call = ();
    type Reply = u32;
    type Cast = ();
    type Continue = ();

    fn init(stream: TcpStream) -> ember_runtime::Init<Self> {
        stream.set_active_once().unwrap();
        ember_runtime::Init::Ok(Conn { stream, lines: 0 })
    }

    fn handle_call(&mut self, (): (), _from: ember_runtime::ReplyTo<u32>) -> ember_runtime::CallResult<Self> {
        ember_runtime::CallResult::Reply(self.lines)
    }

    fn handle_info(&mut self, message: ember_runtime::gen_server::Info) -> ember_runtime::Action<()> {
        if let Some(m) = message.downcast_ref::<Tcp>() {
            assert_eq!(m.socket, self.stream.id());
            self.lines += m.data.iter().filter(|&&b| b == b'\n').count() as u32;
            (&self.stream).write_all(&m.data).unwrap();
            self.stream.set_active_once().unwrap();
            ember_runtime::Action::NoReply
        } else if message.is::<TcpClosed>() {
            ember_runtime::Action::Stop(Reason::Normal)
        } else {
            ember_runtime::Action::NoReply
        }
    }
}

#[test]
fn a_gen_server_serves_calls_and_its_connection_in_one_loop() {
    let Some(_s) = alone("a_gen_server_serves_calls_and_its_connection_in_one_loop") else { return };
    no_fd_leaked(|| {
        run(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (stream, _) = listener.accept().unwrap();
            let server = ember_runtime::gen_server::start::<Conn>(stream, ember_runtime::StartOptions::new()).unwrap();
            let m = monitor(server.pid().unwrap());
            let mut reader = BufReader::new(&client);
            for i in 0..3u32 {
                (&client).write_all(format!("line {i}\n").as_bytes()).unwrap();
                let mut echoed = String::new();
                reader.read_line(&mut echoed).unwrap();
                assert_eq!(echoed, format!("line {i}\n"));
                assert_eq!(server.call(()).unwrap(), i + 1);
            }
            drop(reader);
            drop(client);
            assert_eq!(common::down_of(m).reason, Reason::Normal);
        })
    });
}

#[test]
fn std_io_code_runs_unchanged_and_host_names_resolve() {
    let Some(_s) = alone("std_io_code_runs_unchanged_and_host_names_resolve") else { return };
    no_fd_leaked(|| {
        run(|| {
            let me = self_pid();
            // "localhost" is a host name: resolved on the blocking pool.
            let listener = TcpListener::bind("localhost:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            spawn(move || {
                let (stream, _) = listener.accept().unwrap();
                // serde_json reads a document straight off the socket.
                let value: serde_json::Value = serde_json::from_reader(&stream).unwrap();
                send(me, value.to_string());
            });
            let mut client = TcpStream::connect(("localhost", port)).unwrap();
            client.write_all(br#"{"greeting": "hello", "n": [1, 2, 3]}"#).unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let got: String = recv_bounded();
            assert_eq!(got, r#"{"greeting":"hello","n":[1,2,3]}"#);
            // IPv6 loopback, where the machine has it.
            if let Ok(v6) = TcpListener::bind("[::1]:0") {
                let addr = v6.local_addr().unwrap();
                let c = TcpStream::connect(addr).unwrap();
                let (s, peer) = v6.accept().unwrap();
                assert_eq!(peer, c.local_addr().unwrap());
                drop((c, s));
            }
        })
    });
}

#[test]
fn udp_and_unix_sockets() {
    let Some(_s) = alone("udp_and_unix_sockets") else { return };
    no_fd_leaked(|| {
        run(|| {
            let me = self_pid();
            let server = UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = server.local_addr().unwrap();
            spawn(move || {
                let mut buf = [0u8; 64];
                for _ in 0..10 {
                    let (n, from) = server.recv_from(&mut buf).unwrap();
                    server.send_to(&buf[..n], from).unwrap();
                }
                send(me, "udp done");
            });
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.connect(addr).unwrap();
            for i in 0..10u8 {
                client.send(&[i; 3]).unwrap();
                let mut buf = [0u8; 8];
                assert_eq!(client.recv(&mut buf).unwrap(), 3);
                assert_eq!(&buf[..3], &[i; 3]);
            }
            let _: &str = recv_bounded();

            let path = std::env::temp_dir().join(format!("ember-net-test-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path).unwrap();
            spawn(move || {
                let (s, _) = listener.accept().unwrap();
                let mut line = String::new();
                BufReader::new(&s).read_line(&mut line).unwrap();
                (&s).write_all(line.to_uppercase().as_bytes()).unwrap();
            });
            let s = UnixStream::connect(&path).unwrap();
            (&s).write_all(b"hello\n").unwrap();
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).unwrap();
            assert_eq!(line, "HELLO\n");
            std::fs::remove_file(&path).unwrap();
        })
    });
}

#[test]
fn outside_a_process_calls_block_the_thread() {
    let Some(_s) = alone("outside_a_process_calls_block_the_thread") else { return };
    no_fd_leaked(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 3];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"abc").unwrap();
        let mut back = [0u8; 3];
        c.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"abc");
        t.join().unwrap();
        c.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let e = c.read(&mut back);
        assert!(matches!(e, Ok(0)) || e.unwrap_err().kind() == ErrorKind::TimedOut);
    });
}

#[test]
fn garbage_and_disconnects_mid_write_affect_only_their_processes() {
    let Some(_s) = alone("garbage_and_disconnects_mid_write_affect_only_their_processes") else { return };
    no_fd_leaked(|| {
        run(|| {
            let me = self_pid();
            // A line server whose handlers parse numbers and panic on garbage.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            spawn(move || loop {
                let Ok((s, _)) = listener.accept() else { continue };
                let h = spawn(move || {
                    let mut lines = BufReader::new(&s).lines();
                    while let Some(Ok(line)) = lines.next() {
                        let n: u64 = line.trim().parse().expect("a number");
                        (&s).write_all(format!("{}\n", n * 2).as_bytes()).unwrap();
                    }
                });
                send(me, h);
            });
            // A well-behaved client keeps working throughout.
            let good = TcpStream::connect(addr).unwrap();
            let good_handler: Pid = recv_bounded();
            monitor(good_handler);
            let mut good_lines = BufReader::new(&good);
            let mut ask = |n: u64| {
                (&good).write_all(format!("{n}\n").as_bytes()).unwrap();
                let mut line = String::new();
                good_lines.read_line(&mut line).unwrap();
                assert_eq!(line, format!("{}\n", n * 2));
            };
            ask(1);
            // Garbage, in several shapes.
            for garbage in [&b"\xff\xfe\x00garbage\n"[..], b"-1\n", b"99999999999999999999999\n", &[0u8; 10_000]] {
                let mut bad = std::net::TcpStream::connect(addr).unwrap();
                let h: Pid = recv_bounded();
                let m = monitor(h);
                let _ = bad.write_all(garbage);
                let _ = bad.shutdown(Shutdown::Write);
                let down = common::down_of(m);
                assert!(matches!(down.reason, Reason::Panic { .. } | Reason::Normal), "{:?}", down.reason);
                ask(2);
            }
            // Disconnect in the middle of a write: the handler's write fails
            // (an error value or a panic of its own), nothing else notices.
            for _ in 0..5 {
                let mut bad = std::net::TcpStream::connect(addr).unwrap();
                let h: Pid = recv_bounded();
                let m = monitor(h);
                let many: String = (0..20_000).map(|i| format!("{i}\n")).collect();
                bad.write_all(many.as_bytes()).unwrap();
                drop(bad);
                common::down_of(m);
                ask(3);
            }
            ask(4);
            assert!(ember_runtime::is_alive(good_handler));
        })
    });
}

#[test]
fn ten_thousand_connections_that_never_read() {
    let Some(_s) = alone("ten_thousand_connections_that_never_read") else { return };
    let limit = raise_nofile(2 * 10_000 + 200);
    let n = ((limit.saturating_sub(200) / 2).min(10_000)) as usize;
    if n < 10_000 {
        println!("RLIMIT_NOFILE hard limit is {limit}: {n} silent connections instead of 10000");
    }
    no_fd_leaked(|| {
        run(move || {
            let me = self_pid();
            // A server that sends 256 KiB to every connection, with a write
            // timeout: a peer that never reads holds up only its own
            // handler, which gives up after the timeout.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            spawn(move || loop {
                let Ok((s, _)) = listener.accept() else { continue };
                spawn(move || {
                    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
                    let chunk = vec![1u8; 16 * 1024];
                    for _ in 0..16 {
                        if (&s).write_all(&chunk).is_err() {
                            return;
                        }
                    }
                });
            });
            // n silent clients with tiny receive buffers, connected by a few
            // processes and kept open by them until told to go.
            let holders: Vec<Pid> = (0..10)
                .map(|h| {
                    let count = n / 10 + usize::from(h < n % 10);
                    spawn(move || {
                        let held: Vec<TcpStream> = (0..count)
                            .map(|_| {
                                let s = TcpStream::connect(addr).unwrap();
                                s.set_recv_buffer_size(4096).unwrap();
                                s
                            })
                            .collect();
                        send(me, held.len());
                        let _go: () = receive();
                    })
                })
                .collect();
            let mut connected = 0;
            for _ in 0..10 {
                connected += receive_timeout::<usize>(BOUND * 3).expect("the holders connect");
            }
            assert_eq!(connected, n);
            // A live client still gets its whole reply.
            let mut live = TcpStream::connect(addr).unwrap();
            let mut got = 0;
            let mut buf = vec![0u8; 64 * 1024];
            while got < 16 * 16 * 1024 {
                let k = live.read(&mut buf).unwrap();
                assert!(k > 0);
                got += k;
            }
            for h in holders {
                send(h, ());
            }
        })
    });
}

#[test]
fn a_listener_and_many_processes_do_not_keep_the_reactor_busy() {
    // Dropping everything leaves nothing registered.
    let Some(_s) = alone("a_listener_and_many_processes_do_not_keep_the_reactor_busy") else { return };
    no_fd_leaked(|| {
        run(|| {
            let me = self_pid();
            let mut pids = Vec::new();
            for _ in 0..100 {
                pids.push(spawn(move || {
                    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                    send(me, ());
                    let _ = s.recv(&mut [0u8; 1]);
                }));
            }
            for _ in 0..100 {
                let () = recv_bounded();
            }
            for p in pids {
                exit_pid(p);
            }
        })
    });
}

fn exit_pid(pid: Pid) {
    let m = monitor(pid);
    pid.exit(Reason::Kill);
    let down: Down = common::down_of(m);
    assert_eq!(down.reason, Reason::Killed);
}
