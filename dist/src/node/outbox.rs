//! The sending side of a connection.
//!
//! A sender encodes its message into the outbox's buffer and, when nothing
//! is waiting to be written before it, hands it to the socket at once
//! without blocking; what the socket does not take is left for the writer
//! thread, which writes it blocking (bounded by the socket's write timeout)
//! while later messages queue behind it. So a message usually costs its
//! sender an encode and one `send(2)`, no thread switch, and a peer that
//! reads slowly never blocks a scheduler thread.
//!
//! The outbox is bounded by `limit` bytes (queued, and taken by the writer
//! thread but not yet written). A message sender waits for room before
//! queuing ([`Outbox::has_room`]), as Erlang suspends a process that
//! sends on a busy distribution port; what cannot wait (signals from the
//! runtime's exit paths, senders outside processes, the reader thread's
//! answers) is queued anyway, up to twice the limit: past that, the
//! connection is beyond saving and [`push`](Outbox::push) says so.

use crate::connection::{ConnectionError, Writer};
use crate::control::Control;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::io::{self, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

struct State {
    /// Frames not yet handed to the socket, in order.
    writer: Writer<Vec<u8>>,
    /// The writer thread owns bytes taken from `writer`: until it is done,
    /// senders only queue (so frames never interleave).
    busy: bool,
    /// When something was last handed to the socket (a tick is sent after
    /// a quarter tick time of silence).
    last_write: Instant,
    /// Bytes the writer thread took and is writing.
    in_flight: usize,
    closed: bool,
}

impl State {
    /// Bytes not yet handed to the socket.
    fn pending(&self) -> usize {
        self.writer.get_ref().len() + self.in_flight
    }
}

/// What a push does when the outbox is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Room {
    /// Queue nothing: the caller waits and tries again (a message).
    Wait,
    /// Queue it; past twice the limit, close (what cannot wait).
    Bounded,
}

/// Why a push failed.
#[derive(Debug)]
pub(super) enum PushError {
    /// The socket failed; the outbox is closed.
    Io(io::Error),
    /// Past twice the limit: the peer does not read. The outbox is closed.
    Overflow(usize),
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::Io(e) => write!(f, "{e}"),
            PushError::Overflow(n) => write!(f, "{n} bytes wait for a peer that does not read"),
        }
    }
}

pub(super) struct Outbox {
    state: Mutex<State>,
    /// Wakes the writer thread: bytes to write, or closing.
    kick: Condvar,
    /// For the senders' non-blocking writes.
    stream: TcpStream,
    /// The byte bound (see the module's documentation).
    limit: usize,
}

impl Outbox {
    pub(super) fn new(stream: TcpStream, writer: Writer<Vec<u8>>, limit: usize) -> Outbox {
        let state = State { writer, busy: false, last_write: Instant::now(), in_flight: 0, closed: false };
        Outbox { state: Mutex::new(state), kick: Condvar::new(), stream, limit }
    }

    /// How many bytes wait for the socket.
    pub(super) fn pending(&self) -> usize {
        self.state.lock().pending()
    }

    /// Sends `control`, or queues it behind what is waiting. `Ok(false)`:
    /// [`Room::Wait`] and the limit is reached, nothing was done. An error
    /// means the socket failed, or ([`Room::Bounded`]) that more than twice
    /// the limit waits: the outbox is closed (the writer thread returns). A
    /// closed outbox drops what it is given; a message that does not encode
    /// is dropped with a warning.
    pub(super) fn push(&self, control: &Control, room: Room) -> Result<bool, PushError> {
        let mut state = self.state.lock();
        if state.closed {
            return Ok(true);
        }
        if room == Room::Wait && state.pending() >= self.limit {
            return Ok(false);
        }
        if let Err(e) = state.writer.send(control) {
            // Nothing was queued.
            tracing::warn!(error = %e, "distribution: a message that does not encode was dropped");
            return Ok(true);
        }
        if state.busy {
            let pending = state.pending();
            if room == Room::Bounded && pending > self.limit.saturating_mul(2) {
                self.close_locked(state);
                return Err(PushError::Overflow(pending));
            }
            return Ok(true);
        }
        let buf = state.writer.get_mut();
        match send_nonblocking(&self.stream, buf) {
            Ok(n) => {
                buf.drain(..n);
            }
            Err(e) => {
                self.close_locked(state);
                return Err(PushError::Io(e));
            }
        }
        state.last_write = Instant::now();
        if !state.writer.get_ref().is_empty() {
            state.busy = true;
            drop(state);
            self.kick.notify_one();
        }
        Ok(true)
    }

    /// No more writes; wakes the writer thread so that it returns.
    pub(super) fn close(&self) {
        self.close_locked(self.state.lock());
    }

    fn close_locked(&self, mut state: MutexGuard<'_, State>) {
        state.closed = true;
        drop(state);
        self.kick.notify_one();
    }

    /// The writer thread's loop: writes what senders left, ticks after
    /// `tick` of silence. Returns when closed, or with the socket's error.
    pub(super) fn run(&self, mut stream: TcpStream, tick: Duration) -> io::Result<()> {
        let mut state = self.state.lock();
        loop {
            if state.closed {
                return Ok(());
            }
            if !state.busy {
                let idle = state.last_write.elapsed();
                if idle < tick {
                    self.kick.wait_for(&mut state, tick - idle);
                    continue;
                }
                // A tick is an empty frame, queued like any other.
                state.writer.tick().map_err(into_io)?;
                state.busy = true;
            }
            let bytes = std::mem::take(state.writer.get_mut());
            if bytes.is_empty() {
                state.busy = false;
                continue;
            }
            // Blocking, outside the lock: senders queue meanwhile.
            state.in_flight = bytes.len();
            let written = MutexGuard::unlocked(&mut state, || stream.write_all(&bytes));
            state.in_flight = 0;
            state.last_write = Instant::now();
            if let Err(e) = written {
                state.closed = true;
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
impl Outbox {
    fn is_busy(&self) -> bool {
        self.state.lock().busy
    }
}

fn into_io(e: ConnectionError) -> io::Error {
    match e {
        ConnectionError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// Writes what the socket takes now, without blocking; returns how many
/// bytes it took (0 when its buffer is full).
fn send_nonblocking(stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    if bytes.is_empty() {
        return Ok(0);
    }
    // The socket stays blocking for the reader and the writer thread (the
    // flag belongs to the open file, which they share); MSG_DONTWAIT makes
    // this one call non-blocking.
    // SAFETY: the descriptor is open for as long as `stream` is borrowed,
    // and the pointer and length describe the live slice `bytes`.
    let n = unsafe {
        libc::send(stream.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
    };
    if n >= 0 {
        return Ok(n as usize);
    }
    let e = io::Error::last_os_error();
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{Incoming, Limits, Reader};
    use crate::handshake::Session;
    use crate::{Atom, DistFlags, Pid, Term};
    use std::io::BufReader;
    use std::net::TcpListener;
    use std::sync::Arc;

    /// Both ends of a loopback connection: (client, server).
    fn connected_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// The session of a node a@localhost talking to b@localhost.
    fn session() -> Session {
        Session {
            local_name: "a@localhost".into(),
            local_creation: 1,
            peer_name: "b@localhost".into(),
            peer_creation: 2,
            peer_flags: DistFlags::DEFAULT,
            flags: DistFlags::DEFAULT,
        }
    }

    /// Far more bytes than the socket buffers hold, pushed while the peer
    /// reads: whichever way each frame goes (at once, or by the writer
    /// thread), the peer gets every message whole and in order.
    #[test]
    fn frames_keep_their_order_through_a_full_socket() {
        let (client, server) = connected_pair();
        server.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        client.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        let session = session();
        let limits = Limits::default();
        let writer = Writer::new(Vec::new(), &session, &limits);
        let outbox = Arc::new(Outbox::new(client.try_clone().unwrap(), writer, usize::MAX / 4));
        let writer = {
            let outbox = outbox.clone();
            let stream = client.try_clone().unwrap();
            std::thread::spawn(move || outbox.run(stream, Duration::from_secs(60)))
        };
        const N: i64 = 3000;
        let to = Pid { node: Atom::new("b@localhost"), id: 1, serial: 0, creation: 2 };
        let payload = Term::Binary(vec![7; 20_000]);
        let push = |i: i64| {
            let message = Term::tuple(vec![Term::Int(i), payload.clone()]);
            outbox.push(&Control::Send { from: None, to: to.clone(), message }, Room::Bounded).unwrap();
        };
        // Fill the socket first, nobody reading: the writer thread takes over.
        let mut i = 0;
        while i < N && !outbox.is_busy() {
            push(i);
            i += 1;
        }
        assert!(outbox.is_busy(), "60 MB fill any socket buffer");
        let reader = std::thread::spawn(move || {
            let mut reader = Reader::new(BufReader::new(server), limits);
            let mut next = 0;
            while next < N {
                match reader.read().unwrap() {
                    Incoming::Tick => {}
                    Incoming::Message(Control::Send { message, .. }) => {
                        let t = message.as_tuple().unwrap().to_vec();
                        assert_eq!(t[0], Term::Int(next), "in order");
                        next += 1;
                    }
                    other => panic!("{other:?}"),
                }
            }
        });
        // The rest while the peer reads and the writer thread writes.
        for i in i..N {
            push(i);
        }
        reader.join().unwrap();
        outbox.close();
        writer.join().unwrap().unwrap();
    }

    /// What cannot wait (signals) piles up only to twice the limit: the
    /// push that goes past it closes the outbox and says so.
    #[test]
    fn pushes_that_cannot_wait_overflow_at_twice_the_limit() {
        let (client, _server) = connected_pair(); // the server end is never read
        let session = session();
        const LIMIT: usize = 64 << 10;
        let outbox = Outbox::new(client, Writer::new(Vec::new(), &session, &Limits::default()), LIMIT);
        let to = Pid { node: Atom::new("b@localhost"), id: 1, serial: 0, creation: 2 };
        let message = Term::Binary(vec![7; 1000]);
        let overflowed = (0..200_000).find_map(|_| {
            match outbox.push(&Control::Send { from: None, to: to.clone(), message: message.clone() }, Room::Bounded) {
                Ok(_) => {
                    assert!(outbox.pending() <= 2 * LIMIT + 1100);
                    None
                }
                Err(e) => Some(e),
            }
        });
        assert!(matches!(overflowed, Some(PushError::Overflow(n)) if n > 2 * LIMIT), "{overflowed:?}");
        let pushed = outbox.push(&Control::Send { from: None, to, message }, Room::Wait).unwrap();
        assert!(pushed, "closed: a message is dropped, nobody waits");
    }
}
