//! Active mode, as `gen_tcp`'s `{active, once}`: the next data on a socket
//! arrives in its owner's mailbox as a message.
//!
//! [`TcpStream::set_active_once`] arms the socket for one message to the
//! calling process: [`Tcp`] with the bytes that were there, [`TcpClosed`]
//! when the peer closed, or [`TcpError`]. Then the socket is passive again
//! until re-armed — the flow control of `{active, once}`: a peer that floods
//! fills the kernel's buffers and is slowed down by TCP, never the mailbox.
//!
//! The read is done by whichever thread sees the readiness (the polling
//! worker, or the arming process itself if data is already there), as the
//! BEAM's port drivers read on the scheduler that polled. Do not mix active
//! mode with blocking reads on the same socket; writes are fine.

use super::tcp::TcpStream;
use crate::io::readiness::{ActiveSink, Direction, Waiter};
use crate::io::source::{recv, Shared};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

/// Identifies a socket in active-mode messages: compare it with
/// [`TcpStream::id`].
///
/// ```
/// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let id = l.id();
/// assert_eq!(id, l.id());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub(crate) u64);

/// Data that arrived on a socket in active mode (gen_tcp's
/// `{tcp, Socket, Data}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    /// The socket it came from.
    pub socket: SocketId,
    /// The bytes (at most 64 KiB per message).
    pub data: Vec<u8>,
}

/// The peer closed its end (gen_tcp's `{tcp_closed, Socket}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpClosed {
    /// The socket.
    pub socket: SocketId,
}

/// Reading failed (gen_tcp's `{tcp_error, Socket, Reason}`).
#[derive(Debug)]
pub struct TcpError {
    /// The socket.
    pub socket: SocketId,
    /// What went wrong.
    pub error: io::Error,
}

const MAX_MESSAGE: usize = 64 * 1024;

impl TcpStream {
    /// Arms active mode for one message: the next data (or the peer's close,
    /// or an error) is sent to the calling process as a [`Tcp`],
    /// [`TcpClosed`] or [`TcpError`] message, then the socket is passive
    /// again. Call it again after each message to keep receiving.
    ///
    /// Fails with `ErrorKind::InvalidInput` outside a process.
    ///
    /// ```
    /// use ember_runtime::net::{Tcp, TcpClosed, TcpListener, TcpStream};
    /// use ember_runtime::receive;
    /// use std::io::Write;
    /// ember_runtime::run(|| {
    ///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (server, _) = l.accept().unwrap();
    ///     server.set_active_once().unwrap();
    ///     client.write_all(b"hi").unwrap();
    ///     let msg: Tcp = receive();
    ///     assert_eq!((msg.socket, &msg.data[..]), (server.id(), &b"hi"[..]));
    ///     drop(client);
    ///     server.set_active_once().unwrap();
    ///     let closed: TcpClosed = receive();
    ///     assert_eq!(closed.socket, server.id());
    /// })
    /// .unwrap();
    /// ```
    pub fn set_active_once(&self) -> io::Result<()> {
        let Some(cur) = crate::process::current::try_current() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "ember: active mode delivers to a process"));
        };
        cur.charge(1);
        self.shared.claim(&cur);
        if self.shared.is_closed() {
            return Err(crate::io::source::closed_error());
        }
        *self.shared.active.lock() = Some(cur.pid());
        self.shared.clone().on_ready();
        Ok(())
    }

    /// Disarms active mode (a message already sent stays in the mailbox).
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_passive();
    /// ```
    pub fn set_passive(&self) {
        *self.shared.active.lock() = None;
    }
}

impl ActiveSink for Shared<mio::net::TcpStream> {
    fn on_ready(self: Arc<Self>) {
        loop {
            let snap = self.readiness.snapshot();
            let socket = SocketId(self.id());
            // Read under the `active` lock, so two threads that both saw
            // readiness deliver one message per arming between them.
            let mut active = self.active.lock();
            let Some(owner) = *active else { return };
            let mut buf = Vec::new();
            let result = self.with(|s| read_available(s.as_raw_fd(), &mut buf));
            let msg: Box<dyn std::any::Any + Send> = match result {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    drop(active);
                    self.readiness.clear(snap, Direction::Read);
                    let mut displaced = None;
                    if self.readiness.wait_or_ready(Direction::Read, Waiter::Active(self.clone()), &mut displaced) {
                        continue;
                    }
                    if let Some(w) = displaced {
                        crate::io::wake(w);
                    }
                    return;
                }
                // Closed locally: nobody to tell.
                Err(_) if self.is_closed() => return,
                Ok(0) => Box::new(TcpClosed { socket }),
                Ok(_) => Box::new(Tcp { socket, data: buf }),
                Err(error) => Box::new(TcpError { socket, error }),
            };
            *active = None;
            drop(active);
            crate::mailbox::deliver::send_message(owner, msg);
            return;
        }
    }
}

thread_local! {
    /// Where active-mode reads land before they are copied into a message
    /// of the exact size: no large transient allocation per read, which
    /// fragments the heap of a server with many idle connections.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads what is there, up to [`MAX_MESSAGE`] bytes, into `buf` (exactly
/// sized). Returns the bytes read (0: the peer closed).
fn read_available(fd: std::os::fd::RawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut read = |scratch: &mut Vec<u8>| {
        scratch.resize(MAX_MESSAGE, 0);
        let n = recv(fd, scratch, 0)?;
        buf.extend_from_slice(&scratch[..n]);
        Ok(n)
    };
    // Not held across anything that could suspend or re-enter: the borrow
    // ends with the call (a nested use, should one happen, gets its own).
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut scratch) => read(&mut scratch),
        Err(_) => read(&mut Vec::new()),
    })
}
