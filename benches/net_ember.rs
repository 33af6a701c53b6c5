//! Ember's servers for the network benchmarks (`benches/peers/net/`): the
//! same servers as the Go, tokio and Erlang peers, driven by the same load
//! generator.
//!
//! ```text
//! cargo bench --bench net_ember -- echo ADDR    # line echo, a process per connection
//! cargo bench --bench net_ember -- http ADDR    # examples/http_hello's server
//! cargo bench --bench net_ember -- echo-hibernate ADDR
//!     # echo in active mode, hibernating between messages: an idle
//!     # connection holds no stack (Erlang's {active, once} + hibernate)
//! ```
//!
//! Runs until killed. Default runtime settings (one scheduler per core).

#[allow(dead_code)]
#[path = "../examples/http_hello.rs"]
mod http_hello;

use ember::net::{Tcp, TcpClosed, TcpError, TcpListener, TcpStream};
use std::io::{BufRead, BufReader, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (kind, addr) = match args.as_slice() {
        [kind, addr] => (kind.clone(), addr.clone()),
        _ => {
            eprintln!("usage: net_ember echo|http ADDR");
            std::process::exit(2);
        }
    };
    raise_nofile();
    ember::run(move || {
        let listener = TcpListener::bind(addr.as_str()).expect("bind");
        match kind.as_str() {
            "echo" => loop {
                if let Ok((stream, _)) = listener.accept() {
                    ember::spawn(move || echo(stream));
                }
            },
            "http" => http_hello::accept_loop(listener),
            "echo-hibernate" => loop {
                if let Ok((stream, _)) = listener.accept() {
                    ember::spawn(move || {
                        let _ = stream.set_nodelay(true);
                        wait_hibernated(stream)
                    });
                }
            },
            _ => panic!("unknown server {kind}"),
        }
    })
    .unwrap();
}

/// Echoes lines until EOF (a 4 KiB buffer, as Go's `bufio` default).
fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::with_capacity(4096, &stream);
    let mut line = Vec::with_capacity(64);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if (&stream).write_all(&line).is_err() {
                    return;
                }
            }
        }
    }
}

/// Arms the socket for one message and gives the stack back until it comes.
fn wait_hibernated(stream: TcpStream) -> ! {
    if stream.set_active_once().is_err() {
        ember::exit(ember::Reason::Normal);
    }
    ember::hibernate(move || on_data(stream))
}

fn on_data(stream: TcpStream) {
    let open = ember::Select::new()
        .on(|m: Tcp| (&stream).write_all(&m.data).is_ok())
        .on(|_: TcpClosed| false)
        .on(|_: TcpError| false)
        .wait();
    if open {
        wait_hibernated(stream)
    }
}

fn raise_nofile() {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
