//! The tokio peer of Ember's network benchmarks: a task per connection on
//! tokio's multi-threaded runtime (default settings: a worker per core),
//! the same servers as `benches/net_ember.rs`.
//!
//! ```text
//! ember-netpeer-tokio echo ADDR   # line echo, a 4 KiB BufReader per connection
//! ember-netpeer-tokio http ADDR   # examples/http_hello's loop, on tokio
//! ```

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const BODY: &str = "Hello, world!\n";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, addr] = args.as_slice() else {
        eprintln!("usage: ember-netpeer-tokio echo|http ADDR");
        std::process::exit(2);
    };
    raise_nofile();
    let listener = TcpListener::bind(addr.as_str()).await.expect("bind");
    let http = kind == "http";
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        if http {
            tokio::spawn(serve_http(stream));
        } else {
            tokio::spawn(echo(stream));
        }
    }
}

async fn echo(stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::with_capacity(4096, read);
    let mut line = Vec::with_capacity(64);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if write.write_all(&line).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn serve_http(mut stream: TcpStream) {
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    loop {
        let (consumed, keep_alive) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(&buf[..filled]) {
                Ok(httparse::Status::Complete(n)) => {
                    let close = request.headers.iter().any(|h| {
                        h.name.eq_ignore_ascii_case("connection") && h.value.eq_ignore_ascii_case(b"close")
                    });
                    break (n, !close && request.version != Some(0));
                }
                Ok(httparse::Status::Partial) if filled < buf.len() => match stream.read(&mut buf[filled..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => filled += n,
                },
                _ => {
                    let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                    return;
                }
            }
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{}\r\n{BODY}",
            BODY.len(),
            if keep_alive { "" } else { "connection: close\r\n" }
        );
        if stream.write_all(response.as_bytes()).await.is_err() || !keep_alive {
            return;
        }
        buf.copy_within(consumed..filled, 0);
        filled -= consumed;
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
