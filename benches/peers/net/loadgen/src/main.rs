//! The network benchmarks' client: one thread, one epoll loop (mio), many
//! connections, closed loop.
//!
//! ```text
//! ember-netload echo   ADDR CONNS SECS [SIZE]   # round trips/s, SIZE-byte lines (default 32)
//! ember-netload accept ADDR CONCURRENCY SECS    # connect, echo of one empty line, close: connections/s
//! ember-netload http   ADDR CONNS SECS          # keep-alive GET /: requests/s
//! ember-netload idle   ADDR CONNS               # open CONNS, one echo each, print "ready", hold until stdin closes
//! ember-netload wait   ADDR                     # until ADDR accepts (20 s at most)
//! ```
//!
//! Prints one line `<value> <unit>` (or `ready`); diagnostics on stderr.
//! Connections are opened at most 256 at a time (the server's backlog is
//! not the subject), then a 1 s warm-up, then SECS of measurement.

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).unwrap_or_else(|| usage());
    let num = |i: usize| arg(i).parse::<usize>().unwrap_or_else(|_| usage());
    raise_nofile();
    match arg(0).as_str() {
        "wait" => wait(addr(arg(1))),
        "echo" => {
            let size = args.get(4).map_or(32, |s| s.parse().unwrap_or_else(|_| usage()));
            let rate = closed_loop(addr(arg(1)), num(2), num(3), Proto::Echo(size));
            println!("{rate:.0} roundtrips/s");
        }
        "http" => {
            let rate = closed_loop(addr(arg(1)), num(2), num(3), Proto::Http);
            println!("{rate:.0} requests/s");
        }
        "accept" => {
            let rate = accept(addr(arg(1)), num(2), num(3));
            println!("{rate:.0} conns/s");
        }
        "idle" => idle(addr(arg(1)), num(2)),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: ember-netload echo|http ADDR CONNS SECS [SIZE] | accept ADDR CONC SECS | idle ADDR CONNS | wait ADDR");
    std::process::exit(2)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|_| usage())
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

fn wait(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("{addr} does not accept");
    std::process::exit(1);
}

#[derive(Clone, Copy)]
enum Proto {
    Echo(usize),
    Http,
}

struct Conn {
    stream: TcpStream,
    /// Bytes of the current reply received so far.
    got: usize,
    buf: Vec<u8>,
}

/// Opens `n` connections, at most 256 connecting at once.
fn open(poll: &mut Poll, addr: SocketAddr, n: usize) -> Vec<Conn> {
    let mut conns: Vec<Conn> = Vec::with_capacity(n);
    let mut events = Events::with_capacity(1024);
    let mut connected = 0;
    let mut pending = 0;
    while connected < n {
        while conns.len() < n && pending < 256 {
            let mut stream = TcpStream::connect(addr).expect("connect");
            let token = Token(conns.len());
            poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE).unwrap();
            conns.push(Conn { stream, got: 0, buf: vec![0; 4096] });
            pending += 1;
        }
        poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
        if events.is_empty() {
            eprintln!("connecting stalled at {connected}/{n}");
            std::process::exit(1);
        }
        for e in events.iter() {
            let c = &mut conns[e.token().0];
            if c.got == usize::MAX {
                continue;
            }
            if e.is_error() || matches!(c.stream.take_error(), Ok(Some(_))) {
                eprintln!("a connect failed");
                std::process::exit(1);
            }
            if e.is_writable() && c.stream.peer_addr().is_ok() {
                c.got = usize::MAX; // connected (reset below)
                c.stream.set_nodelay(true).unwrap();
                connected += 1;
                pending -= 1;
            }
        }
    }
    for c in &mut conns {
        c.got = 0;
    }
    conns
}

/// Every connection sends a request, waits for the whole reply, sends the
/// next. Returns replies per second over `secs` (after 1 s of warm-up).
fn closed_loop(addr: SocketAddr, n: usize, secs: usize, proto: Proto) -> f64 {
    let mut poll = Poll::new().unwrap();
    let mut conns = open(&mut poll, addr, n);
    let request: Vec<u8> = match proto {
        // A line: the echo servers are line servers.
        Proto::Echo(size) => {
            let mut line = vec![b'x'; size.max(1)];
            *line.last_mut().unwrap() = b'\n';
            line
        }
        Proto::Http => HTTP_REQUEST.to_vec(),
    };
    for c in &mut conns {
        c.stream.write_all(&request).expect("first write");
    }
    let mut events = Events::with_capacity(4096);
    let started = Instant::now();
    let warm = started + Duration::from_secs(1);
    let end = warm + Duration::from_secs(secs as u64);
    let mut counted = 0u64;
    let mut measuring = false;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if !measuring && now >= warm {
            measuring = true;
            counted = 0;
        }
        poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
        for e in events.iter() {
            if !e.is_readable() {
                continue;
            }
            let c = &mut conns[e.token().0];
            loop {
                match c.stream.read(&mut c.buf[c.got..]) {
                    Ok(0) => {
                        eprintln!("the server closed a connection");
                        std::process::exit(1);
                    }
                    Ok(k) => {
                        c.got += k;
                        if let Some(len) = reply_len(proto, &c.buf[..c.got]) {
                            // One reply is in (the client never pipelines).
                            c.buf.copy_within(len..c.got, 0);
                            c.got -= len;
                            counted += 1;
                            c.stream.write_all(&request).expect("write");
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        eprintln!("read: {e}");
                        std::process::exit(1);
                    }
                }
            }
        }
    }
    counted as f64 / end.duration_since(warm).as_secs_f64()
}

/// The length of the complete reply at the start of `buf`, if it is there.
fn reply_len(proto: Proto, buf: &[u8]) -> Option<usize> {
    match proto {
        Proto::Echo(size) => (buf.len() >= size).then_some(size),
        Proto::Http => {
            let head = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
            let text = std::str::from_utf8(&buf[..head]).ok()?;
            let length: usize = text
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            (buf.len() >= head + length).then_some(head + length)
        }
    }
}

/// `conc` connectors, each: connect, write 1 byte, read it back, close.
fn accept(addr: SocketAddr, conc: usize, secs: usize) -> f64 {
    let started = Instant::now();
    let warm = started + Duration::from_secs(1);
    let end = warm + Duration::from_secs(secs as u64);
    let counted = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        // A few threads of blocking std sockets: the server is the subject.
        for _ in 0..conc.clamp(1, 4) {
            s.spawn(|| {
                let mut one = [0u8; 1];
                while Instant::now() < end {
                    let mut c = match std::net::TcpStream::connect(addr) {
                        Ok(c) => c,
                        Err(e) => {
                            eprintln!("connect: {e}");
                            std::thread::sleep(Duration::from_millis(1));
                            continue;
                        }
                    };
                    c.set_nodelay(true).unwrap();
                    if c.write_all(b"\n").is_err() || c.read_exact(&mut one).is_err() {
                        continue;
                    }
                    if Instant::now() >= warm {
                        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    // SO_LINGER 0: closed with a RST, so the client's ports
                    // do not pile up in TIME_WAIT over a long run.
                    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
                    // SAFETY: setsockopt with a valid struct on a live socket.
                    unsafe {
                        use std::os::fd::AsRawFd;
                        libc::setsockopt(
                            c.as_raw_fd(),
                            libc::SOL_SOCKET,
                            libc::SO_LINGER,
                            (&linger as *const libc::linger).cast(),
                            std::mem::size_of::<libc::linger>() as u32,
                        );
                    }
                }
            });
        }
    });
    counted.into_inner() as f64 / end.duration_since(warm).as_secs_f64()
}

/// Opens `n` connections, echoes one 32-byte message on each, prints
/// `ready`, and holds them until stdin is closed.
fn idle(addr: SocketAddr, n: usize) {
    let mut poll = Poll::new().unwrap();
    let mut conns = open(&mut poll, addr, n);
    for c in &mut conns {
        let mut line = [b'i'; 32];
        line[31] = b'\n';
        c.stream.write_all(&line).expect("write");
    }
    let mut done = 0;
    let mut events = Events::with_capacity(4096);
    let deadline = Instant::now() + Duration::from_secs(60);
    while done < n && Instant::now() < deadline {
        poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
        for e in events.iter() {
            let c = &mut conns[e.token().0];
            while c.got < 32 {
                match c.stream.read(&mut c.buf[c.got..]) {
                    Ok(0) => {
                        eprintln!("closed early");
                        std::process::exit(1);
                    }
                    Ok(k) => {
                        c.got += k;
                        if c.got >= 32 {
                            done += 1;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
    }
    if done < n {
        eprintln!("only {done}/{n} connections echoed");
        std::process::exit(1);
    }
    println!("ready");
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    drop(conns);
}
