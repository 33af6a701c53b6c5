//! A chat server: a process per client, rooms as Registry duplicate keys.
//!
//! ```sh
//! cargo run --example chat                 # serves 127.0.0.1:7879 until ^C
//! nc 127.0.0.1 7879                        # in two or more terminals
//! cargo run --example chat -- --demo       # three built-in clients chat, then exit (CI)
//! ```
//!
//! A client first types its name, then lines that go to everyone in its
//! room; `/join ROOM` changes rooms (everyone starts in `lobby`), `/who`
//! lists the room, `/quit` leaves.
//!
//! Each client's process registers itself in the room's key of a duplicate
//! -key Registry; saying something is `Registry::dispatch` over that key,
//! a message to each member's process. The client process serves two
//! sources at once — its socket and its mailbox — with active mode: the
//! socket's input arrives as `Tcp` messages, and one `Select` waits for
//! either.

use ember::net::{Tcp, TcpClosed, TcpError, TcpListener, TcpStream};
use ember::prelude::*;
use ember::registry::{Options, Registry};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Rooms: room name -> (member process, member name).
type Rooms = Registry<String, String>;

/// A line said in a room, as delivered to its members.
struct Said(String);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--demo") => demo(),
        Some(addr) => serve_forever(addr.to_string()),
        None => serve_forever("127.0.0.1:7879".to_string()),
    }
}

fn serve_forever(addr: String) -> ExitCode {
    ember::run(move || {
        let listener = match TcpListener::bind(addr.as_str()) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("listening on {}", listener.local_addr().unwrap());
        println!("connect with: nc {}", listener.local_addr().unwrap());
        let rooms = Rooms::start_link(Options::duplicate("chat_rooms")).unwrap();
        accept_loop(listener, rooms);
        ExitCode::SUCCESS
    })
    .unwrap_or(ExitCode::FAILURE)
}

fn accept_loop(listener: TcpListener, rooms: Rooms) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let rooms = rooms.clone();
                spawn(move || client(stream, rooms));
            }
            Err(e) => {
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(10));
            }
        }
    }
}

/// One client's process.
fn client(stream: TcpStream, rooms: Rooms) {
    let mut out = &stream;
    let _ = write!(out, "welcome! your name? ");
    let mut name = String::new();
    let mut input = Vec::new();
    let mut room = "lobby".to_string();
    loop {
        stream.set_active_once().expect("active mode");
        let event = Select::new()
            .on(|m: Tcp| Event::Input(m.data))
            .on(|m: Said| Event::Said(m.0))
            .on(|_: TcpClosed| Event::Closed)
            .on(|_: TcpError| Event::Closed)
            .wait();
        match event {
            Event::Said(line) => {
                if out.write_all(line.as_bytes()).is_err() {
                    return;
                }
            }
            Event::Closed => break,
            Event::Input(data) => {
                input.extend_from_slice(&data);
                while let Some(end) = input.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = input.drain(..=end).collect();
                    let line = String::from_utf8_lossy(&line).trim().to_string();
                    if name.is_empty() {
                        if line.is_empty() {
                            let _ = write!(out, "your name? ");
                            continue;
                        }
                        name = line;
                        rooms.register(room.clone(), name.clone()).unwrap();
                        announce(&rooms, &room, &format!("* {name} joined {room}\n"));
                        continue;
                    }
                    match line.split_once(' ').unwrap_or((line.as_str(), "")) {
                        ("/quit", _) => {
                            announce(&rooms, &room, &format!("* {name} left\n"));
                            return;
                        }
                        ("/who", _) => {
                            let members: Vec<String> =
                                rooms.lookup(&room).unwrap().into_iter().map(|(_, n)| n).collect();
                            let _ = writeln!(out, "* in {room}: {}", members.join(", "));
                        }
                        ("/join", new_room) if !new_room.trim().is_empty() => {
                            rooms.unregister(&room).unwrap();
                            announce(&rooms, &room, &format!("* {name} left for {}\n", new_room.trim()));
                            room = new_room.trim().to_string();
                            rooms.register(room.clone(), name.clone()).unwrap();
                            announce(&rooms, &room, &format!("* {name} joined {room}\n"));
                        }
                        _ => announce(&rooms, &room, &format!("[{room}] {name}: {line}\n")),
                    }
                }
            }
        }
    }
    if !name.is_empty() {
        announce(&rooms, &room, &format!("* {name} left\n"));
    }
}

enum Event {
    Input(Vec<u8>),
    Said(String),
    Closed,
}

fn announce(rooms: &Rooms, room: &String, line: &str) {
    rooms
        .dispatch(room, |members| {
            for (pid, _) in members {
                send(*pid, Said(line.to_string()));
            }
        })
        .unwrap();
}

/// Three built-in clients: alice and bob in `lobby`, carol in `garden`.
fn demo() -> ExitCode {
    ember::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        println!("listening on {addr}");
        let rooms = Rooms::start_link(Options::duplicate("chat_rooms")).unwrap();
        spawn(move || accept_loop(listener, rooms));

        let connect = |name: &str| {
            let s = Arc::new(TcpStream::connect(addr).unwrap());
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut r = BufReader::new(Shared(s.clone()));
            let mut prompt = [0u8; 20];
            r.read_exact(&mut prompt).unwrap();
            assert_eq!(&prompt, b"welcome! your name? ");
            writeln!(&*s, "{name}").unwrap();
            (s, r)
        };
        let read_line = |r: &mut BufReader<Shared>| {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            print!("  {line}");
            line
        };

        let (alice, mut alice_in) = connect("alice");
        assert_eq!(read_line(&mut alice_in), "* alice joined lobby\n");
        let (bob, mut bob_in) = connect("bob");
        assert_eq!(read_line(&mut bob_in), "* bob joined lobby\n");
        assert_eq!(read_line(&mut alice_in), "* bob joined lobby\n");
        let (carol, mut carol_in) = connect("carol");
        read_line(&mut carol_in);
        read_line(&mut alice_in);
        read_line(&mut bob_in);
        writeln!(&*carol, "/join garden").unwrap();
        assert_eq!(read_line(&mut carol_in), "* carol joined garden\n");
        read_line(&mut alice_in);
        read_line(&mut bob_in);

        writeln!(&*alice, "hi bob").unwrap();
        assert_eq!(read_line(&mut bob_in), "[lobby] alice: hi bob\n");
        assert_eq!(read_line(&mut alice_in), "[lobby] alice: hi bob\n");
        writeln!(&*carol, "anyone in the garden?").unwrap();
        assert_eq!(read_line(&mut carol_in), "[garden] carol: anyone in the garden?\n");
        writeln!(&*bob, "/who").unwrap();
        let who = read_line(&mut bob_in);
        assert!(who.starts_with("* in lobby: ") && who.contains("alice") && who.contains("bob"), "{who}");
        writeln!(&*bob, "/quit").unwrap();
        assert_eq!(read_line(&mut alice_in), "* bob left\n");
        drop((alice, bob, carol));
        println!("demo done: rooms are Registry keys, a process per client");
        ExitCode::SUCCESS
    })
    .unwrap_or(ExitCode::FAILURE)
}

/// The demo writes through a client's stream and reads it through a
/// `BufReader` at the same time: `&TcpStream` is `Read`, so the reader
/// holds a shared handle.
struct Shared(Arc<TcpStream>);

impl Read for Shared {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (&*self.0).read(buf)
    }
}
