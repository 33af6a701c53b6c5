//! Sockets for processes: TCP, UDP and Unix-domain, shaped like `std::net`.
//!
//! A call that would block parks the calling *process* on the socket, the
//! way `receive` parks it on its mailbox: its worker runs other processes
//! meanwhile, and the reactor (`epoll`, through `mio`) wakes it when the
//! socket is ready. So a server is plain blocking code with one process per
//! connection:
//!
//! ```
//! use ember_runtime::net::{TcpListener, TcpStream};
//! use std::io::{BufRead, BufReader, Write};
//!
//! ember_runtime::run(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     ember_runtime::spawn(move || {
//!         let (stream, _) = listener.accept().unwrap();
//!         // One process per connection: this one echoes a line.
//!         let mut line = String::new();
//!         BufReader::new(&stream).read_line(&mut line).unwrap();
//!         (&stream).write_all(line.as_bytes()).unwrap();
//!     });
//!     let mut client = TcpStream::connect(addr).unwrap();
//!     client.write_all(b"hello\n").unwrap();
//!     let mut echoed = String::new();
//!     BufReader::new(client).read_line(&mut echoed).unwrap();
//!     assert_eq!(echoed, "hello\n");
//! })
//! .unwrap();
//! ```
//!
//! # What to expect
//!
//! * **Read, Write.** Streams implement `std::io::Read` and `Write` (also
//!   on `&TcpStream`), so `BufReader`, `serde_json::from_reader` or an
//!   `httparse` loop run unchanged inside a process.
//! * **Timeouts** (`set_read_timeout`, `set_write_timeout`,
//!   `connect_timeout`, `TcpListener::set_accept_timeout`) use Ember's
//!   timers and fail with `ErrorKind::TimedOut`.
//! * **Name resolution** (`"localhost:80"`) runs on the blocking pool; a
//!   literal address is parsed on the spot.
//! * **Killable.** An exit signal interrupts a process blocked in I/O: its
//!   stack unwinds and its sockets close.
//! * **Moving.** A socket is `Send`: move it into a spawned process, or send
//!   it in a message. The process that last used a socket owns it (see
//!   *Ownership*).
//! * **No SIGPIPE.** Stream writes use `MSG_NOSIGNAL`: a write to a closed
//!   peer is an `ErrorKind::BrokenPipe` error, never a signal. Ember does not
//!   change the OS process's signal dispositions (a library should not).
//! * **Active mode** ([`TcpStream::set_active_once`]), as `gen_tcp`'s
//!   `{active, once}`: the next data arrives as a [`Tcp`] message (or
//!   [`TcpClosed`], [`TcpError`]), so a GenServer serves calls and its
//!   connection in one `handle_info` loop.
//! * **Outside a process** (a plain thread, `main` before `ember::run`) the
//!   same calls block the thread, like `std::net`.
//!
//! # Ownership
//!
//! Every socket is closed when its object is dropped, as in `std`. In
//! addition, the process that last used a socket *owns* it: if that
//! process's stack is abandoned (a stack overflow, where no destructor of
//! the stack's frames runs), the runtime closes the sockets it owns, so no
//! fd leaks. An object that outlives such a close (it was in a message, or
//! with another process that never used it) stays safe: its calls fail with
//! `ErrorKind::NotConnected`, and its fd number is never reused under it.
//! A socket that is `mem::forget`-ed by a process that exits normally
//! leaks, as a `std` socket would.

/// `Read` and `Write` for a stream type and for shared references to it,
/// through its `read_impl` / `write_impl` (one copy for TCP and Unix).
macro_rules! stream_io {
    ($t:ty) => {
        impl std::io::Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.read_impl(buf)
            }
        }

        impl std::io::Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.read_impl(buf)
            }
        }

        impl std::io::Write for $t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.write_impl(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Write for &$t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.write_impl(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}
use stream_io;

mod active;
mod addr;
mod tcp;
mod udp;
mod unix;

pub use active::{SocketId, Tcp, TcpClosed, TcpError};
pub use addr::ToSocketAddrs;
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};

use std::io;

/// Tries `f` on each address in turn; the last error if none worked.
fn each_addr<T>(
    addrs: Vec<std::net::SocketAddr>,
    mut f: impl FnMut(std::net::SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for addr in addrs {
        match f(addr) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any addresses")))
}

/// How many sockets of this OS process are registered with the reactor
/// (open `ember::net` sockets). For leak checks.
///
/// ```
/// use ember_runtime::net::{open_sockets, UdpSocket};
/// let before = open_sockets();
/// let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
/// assert!(open_sockets() >= before + 1);
/// drop(socket);
/// ```
pub fn open_sockets() -> usize {
    crate::io::started().map_or(0, |r| r.registered())
}

/// Marks the calling process as if its stack were going to be abandoned:
/// when it exits, the sockets it owns are closed even though no destructor
/// ran. Stands in for the runtime's abandonment path in tests (simulate a
/// lost stack with `std::mem::forget` of a socket). Not for programs.
#[doc(hidden)]
pub fn simulate_abandoned_stack() {
    let cur = crate::process::current::current();
    // SAFETY: the process is running on this thread; short borrow.
    unsafe { cur.local().resources.mark_abandoned() };
}
