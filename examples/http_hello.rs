//! A minimal HTTP/1.1 server: a process per connection, requests parsed
//! with `httparse`, keep-alive.
//!
//! ```sh
//! cargo run --release --example http_hello              # serves 127.0.0.1:8080 until ^C
//! curl -i http://127.0.0.1:8080/
//! wrk -t2 -c100 -d10s http://127.0.0.1:8080/             # apt-get install wrk
//! ab -k -c 100 -n 100000 http://127.0.0.1:8080/          # apt-get install apache2-utils
//! cargo run --release --example http_hello -- --selftest 10000   # built-in client, then exit (CI)
//! ```
//!
//! The handler is the loop a blocking server would have: fill a buffer
//! from the socket until `httparse` has a whole request head, answer, keep
//! what is left for the next request. Reads and writes park the process.
//! A malformed request gets `400 Bad Request` and the connection closes;
//! nothing else is affected.

use ember::net::{TcpListener, TcpStream};
use ember::prelude::*;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const BODY: &str = "Hello, world!\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["--selftest", n] => selftest(n.parse().expect("N")),
        [] => serve_forever("127.0.0.1:8080"),
        [addr] => serve_forever(addr),
        _ => {
            eprintln!("usage: http_hello [ADDR] | --selftest REQUESTS");
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
        let local = listener.local_addr().unwrap();
        println!("listening on http://{local}/");
        println!("load it with: wrk -t2 -c100 -d10s http://{local}/  (or: ab -k -c 100 -n 100000 http://{local}/)");
        accept_loop(listener);
        ExitCode::SUCCESS
    })
    .unwrap_or(ExitCode::FAILURE)
}

/// Serves every connection `listener` accepts, a process each (also the
/// server of the `net` benchmarks).
pub fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                spawn(move || serve_connection(stream));
            }
            Err(e) => {
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Serves requests on one connection until the peer closes, asks to
/// close, or sends something that is not HTTP.
fn serve_connection(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    loop {
        // Parse what we have; read more while the head is incomplete.
        let (consumed, keep_alive) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&buf[..filled]) {
                Ok(httparse::Status::Complete(n)) => {
                    let close = request
                        .headers
                        .iter()
                        .any(|h| h.name.eq_ignore_ascii_case("connection") && h.value.eq_ignore_ascii_case(b"close"));
                    let http10 = request.version == Some(0);
                    break (n, !close && !http10);
                }
                Ok(httparse::Status::Partial) if filled < buf.len() => match stream.read(&mut buf[filled..]) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => filled += n,
                },
                // Too large or malformed: refuse and close.
                _ => {
                    let _ =
                        stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                    return;
                }
            }
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{}\r\n{BODY}",
            BODY.len(),
            if keep_alive { "" } else { "connection: close\r\n" }
        );
        if stream.write_all(response.as_bytes()).is_err() || !keep_alive {
            return;
        }
        buf.copy_within(consumed..filled, 0);
        filled -= consumed;
    }
}

/// Serves on a free port and runs a built-in keep-alive client: `total`
/// requests over 50 connections, plus one malformed request.
fn selftest(total: usize) -> ExitCode {
    ember::run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        println!("listening on http://{addr}/");
        spawn(move || accept_loop(listener));
        let started = Instant::now();
        let me = self_pid();
        let connections = 50.min(total.max(1));
        for c in 0..connections {
            let n = total / connections + usize::from(c < total % connections);
            spawn_link(move || {
                client(addr, n);
                send(me, ());
            });
        }
        for _ in 0..connections {
            receive::<()>();
        }
        let elapsed = started.elapsed();
        println!(
            "{total} requests over {connections} keep-alive connections in {elapsed:.2?} ({:.0} requests/s; not a benchmark)",
            total as f64 / elapsed.as_secs_f64()
        );
        // A malformed request is refused, and only its connection closes.
        let mut bad = TcpStream::connect(addr).unwrap();
        bad.write_all(b"\x16\x03\x01 this is not HTTP\r\n\r\n").unwrap();
        let mut answer = String::new();
        bad.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        client(addr, 1);
        println!("a malformed request got 400 and its connection closed; the server still answers");
        ExitCode::SUCCESS
    })
    .unwrap_or(ExitCode::FAILURE)
}

/// Sends `n` GET requests on one keep-alive connection, checking each answer.
fn client(addr: SocketAddr, n: usize) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    for _ in 0..n {
        stream.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n").unwrap();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response.parse(&buf[..filled]).expect("a valid response") {
                assert_eq!(response.code, Some(200));
                let end = head + BODY.len();
                if filled >= end {
                    assert_eq!(&buf[head..end], BODY.as_bytes());
                    buf.copy_within(end..filled, 0);
                    filled -= end;
                    break;
                }
            }
            let k = stream.read(&mut buf[filled..]).unwrap();
            assert!(k > 0, "the server closed a keep-alive connection");
            filled += k;
        }
    }
}
