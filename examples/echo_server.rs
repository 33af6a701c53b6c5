//! A line echo server: one process per connection, under a DynamicSupervisor.
//!
//! ```sh
//! cargo run --release --example echo_server                  # serves 127.0.0.1:7878 until ^C
//! cargo run --release --example echo_server -- 127.0.0.1:9000
//! nc 127.0.0.1 7878                                          # type lines; `crash` kills your handler only
//! cargo run --release --example echo_server -- --load 127.0.0.1:7878 1000   # an external client
//! cargo run --release --example echo_server -- --selftest 1000              # both, then exit (CI)
//! ```
//!
//! Each accepted connection gets a temporary child of a DynamicSupervisor;
//! the acceptor hands it the socket in a message. The handler is plain
//! blocking code (`BufReader::lines`, `writeln!`): its reads and writes park
//! the process, not the worker thread. The line `crash` makes the handler
//! panic: its connection closes, the supervisor logs the crash, and every
//! other connection keeps echoing.
//!
//! `--load ADDR N` is a client, in its own OS process: it opens N
//! connections at once, echoes a line on each, has one of them send `crash`
//! (its connection must close), then checks that all the others still
//! echo. `--selftest N` runs the server on a free port and that client as a
//! child process, and exits with the client's verdict.

use ember::net::{TcpListener, TcpStream};
use ember::prelude::*;
use ember::supervisor::{ChildSpec, DynamicSupervisor, DynamicSupervisorOptions, Restart};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["--load", addr, n] => load(addr.parse().expect("ADDR"), n.parse().expect("N")),
        ["--selftest", n] => selftest(n.parse().expect("N")),
        [] => serve_forever("127.0.0.1:7878"),
        [addr] => serve_forever(addr),
        _ => {
            eprintln!("usage: echo_server [ADDR] | --load ADDR N | --selftest N");
            ExitCode::from(2)
        }
    }
}

fn serve_forever(addr: &str) -> ExitCode {
    let addr = addr.to_string();
    ember::run(move || {
        let listener = match TcpListener::bind(addr.as_str()) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("listening on {}", listener.local_addr().unwrap());
        println!("try: nc {} (a line `crash` kills that connection's handler only)", listener.local_addr().unwrap());
        accept_loop(listener);
        ExitCode::SUCCESS
    })
    .unwrap_or(ExitCode::FAILURE)
}

/// The server: a DynamicSupervisor and an acceptor that gives each
/// connection to a new temporary child.
fn accept_loop(listener: TcpListener) {
    let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new()).expect("the supervisor starts");
    loop {
        let (stream, _peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of fds, say: the error is a value; wait a little.
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(10));
                continue;
            }
        };
        let spec = ChildSpec::new("connection", || spawn_link(handle_connection)).restart(Restart::Temporary);
        match DynamicSupervisor::start_child(sup, spec) {
            Ok(child) => send(child.pid().expect("a running child"), stream),
            Err(e) => eprintln!("cannot start a handler: {e:?}"),
        }
    }
}

/// One connection: echo lines until EOF; `crash` panics.
fn handle_connection() {
    let stream: TcpStream = receive();
    let mut writer = &stream;
    for line in BufReader::new(&stream).lines() {
        let Ok(line) = line else { return };
        if line.trim() == "crash" {
            panic!("`crash` requested by {:?}", stream.peer_addr());
        }
        if writeln!(writer, "{line}").is_err() {
            return;
        }
    }
}

/// Runs the server on a free port and `--load` against it as a child OS
/// process; exits with the client's verdict.
fn selftest(n: usize) -> ExitCode {
    ember::run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        println!("listening on {addr}");
        spawn(move || accept_loop(listener));
        let exe = std::env::current_exe().unwrap();
        let status = blocking(move || {
            std::process::Command::new(exe).args(["--load", &addr.to_string(), &n.to_string()]).status()
        });
        match status {
            Ok(s) if s.success() => {
                println!("selftest passed: {n} concurrent connections from an external client");
                ExitCode::SUCCESS
            }
            other => {
                eprintln!("selftest failed: the client ended with {other:?}");
                ExitCode::FAILURE
            }
        }
    })
    .unwrap_or(ExitCode::FAILURE)
}

/// The external client (see the module docs).
fn load(addr: SocketAddr, n: usize) -> ExitCode {
    raise_fd_limit(n as u64 + 100);
    let started = Instant::now();
    let result = ember::run(move || {
        let me = self_pid();
        let clients: Vec<Pid> = (0..n)
            .map(|i| {
                spawn_link(move || {
                    let stream = TcpStream::connect(addr).expect("connect");
                    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    let mut lines = BufReader::new(&stream);
                    let mut round = |text: &str| {
                        writeln!(&stream, "{text}").expect("write");
                        let mut back = String::new();
                        lines.read_line(&mut back).expect("read");
                        assert_eq!(back.trim_end(), text, "client {i}: wrong echo");
                    };
                    round(&format!("hello from {i}"));
                    send(me, i);
                    let order: &str = receive();
                    if order == "crash" {
                        writeln!(&stream, "crash").unwrap();
                        let mut rest = String::new();
                        let eof = lines.read_line(&mut rest);
                        assert!(matches!(eof, Ok(0) | Err(_)), "client {i}: `crash` must close the connection");
                    } else {
                        round(&format!("still here {i}"));
                    }
                    send(me, i);
                })
            })
            .collect();
        for _ in 0..n {
            receive::<usize>();
        }
        println!("{n} connections open at once, each echoed a line");
        send(clients[0], "crash");
        receive::<usize>();
        println!("client 0 sent `crash`: its connection closed");
        for &c in &clients[1..] {
            send(c, "go on");
        }
        for _ in 1..n {
            receive::<usize>();
        }
        println!("the other {} connections still echo", n - 1);
    });
    match result {
        Ok(()) => {
            println!("load: done in {:.2?}", started.elapsed());
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("load failed: {reason:?}");
            ExitCode::FAILURE
        }
    }
}

/// Raises the soft RLIMIT_NOFILE towards `wanted` (up to the hard limit).
fn raise_fd_limit(wanted: u64) {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < wanted {
            lim.rlim_cur = wanted.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
