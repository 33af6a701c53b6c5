//! TCP: [`TcpListener`] and [`TcpStream`].

use super::active::SocketId;
use super::addr::ToSocketAddrs;
use super::each_addr;
use crate::io::readiness::Direction;
use crate::io::source::{recv, send_nosignal, Shared};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

/// Backlog of a listening socket (the kernel caps it at `somaxconn`).
const BACKLOG: i32 = 4096;

/// A TCP socket server, listening for connections (as `std::net::TcpListener`).
///
/// [`accept`](TcpListener::accept) parks the calling process until a
/// connection arrives. The usual server runs one process per connection:
///
/// ```
/// use ember_runtime::net::{TcpListener, TcpStream};
/// use std::io::{Read, Write};
///
/// ember_runtime::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     ember_runtime::spawn(move || {
///         for stream in listener.incoming().take(1) {
///             let mut stream = stream.unwrap();
///             ember_runtime::spawn(move || {
///                 let mut buf = [0; 5];
///                 stream.read_exact(&mut buf).unwrap();
///                 stream.write_all(&buf).unwrap();
///             });
///         }
///     });
///     let mut client = TcpStream::connect(addr).unwrap();
///     client.write_all(b"hello").unwrap();
///     let mut back = [0; 5];
///     client.read_exact(&mut back).unwrap();
///     assert_eq!(&back, b"hello");
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    shared: Arc<Shared<mio::net::TcpListener>>,
    accept_timeout: Option<Duration>,
}

impl TcpListener {
    /// Binds to the first address that works (`SO_REUSEADDR` is set, as
    /// `mio` does; the backlog is 4096, capped by the kernel's `somaxconn`).
    ///
    /// ```
    /// let listener = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr.to_socket_addrs()?, |a| {
            let listener = mio::net::TcpListener::bind(a)?;
            // Linux lets `listen` be called again to raise the backlog.
            // SAFETY: a plain syscall on a socket we own.
            if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
                return Err(io::Error::last_os_error());
            }
            TcpListener::from_mio(listener)
        })
    }

    fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener { shared: Shared::new(listener)?, accept_timeout: None })
    }

    /// Takes over a listening `std` socket (made non-blocking).
    ///
    /// ```
    /// let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let listener = ember_runtime::net::TcpListener::from_std(std).unwrap();
    /// assert!(listener.local_addr().is_ok());
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    /// Waits for a connection (parks the process; blocks a plain thread).
    /// Fails with `ErrorKind::TimedOut` after the accept timeout, if set.
    ///
    /// ```
    /// use ember_runtime::net::{TcpListener, TcpStream};
    /// ember_runtime::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let (server, peer) = listener.accept().unwrap();
    ///     assert_eq!(peer, client.local_addr().unwrap());
    ///     assert_eq!(server.peer_addr().unwrap(), peer);
    /// })
    /// .unwrap();
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = self.shared.io(Direction::Read, self.accept_timeout, |l| l.accept())?;
        Ok((TcpStream::from_mio(stream)?, addr))
    }

    /// An endless iterator of [`accept`](TcpListener::accept)ed streams.
    ///
    /// ```
    /// let listener = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let _incoming = listener.incoming();
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address it listens on.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.with(|l| l.local_addr())
    }

    /// Sets how long [`accept`](TcpListener::accept) waits (`None`: for
    /// ever). A zero duration is an error.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// l.set_accept_timeout(Some(Duration::from_millis(10))).unwrap();
    /// assert_eq!(l.accept().unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_accept_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout.is_some_and(|d| d.is_zero()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
        }
        self.accept_timeout = timeout;
        Ok(())
    }

    /// The accept timeout.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(l.accept_timeout(), None);
    /// ```
    pub fn accept_timeout(&self) -> Option<Duration> {
        self.accept_timeout
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// l.set_ttl(42).unwrap();
    /// assert_eq!(l.ttl().unwrap(), 42);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.shared.with(|l| l.set_ttl(ttl))
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.shared.with(|l| l.ttl())
    }

    /// Takes the pending socket error (`SO_ERROR`).
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.shared.with(|l| l.take_error())
    }

    /// A number unique to this socket within the OS process.
    ///
    /// ```
    /// let a = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let b = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> SocketId {
        SocketId(self.shared.id())
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("id", &self.shared.id()).field("addr", &self.local_addr().ok()).finish()
    }
}

/// The iterator of [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection (as `std::net::TcpStream`).
///
/// Reads and writes park the calling process until the socket is ready
/// (or block a plain thread). `Read` and `Write` are implemented for
/// `TcpStream` and `&TcpStream`, so one process can read while another
/// writes through a shared reference.
///
/// ```
/// use ember_runtime::net::{TcpListener, TcpStream};
/// use std::io::{Read, Write};
/// ember_runtime::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
///     let (mut server, _) = listener.accept().unwrap();
///     client.write_all(b"ping").unwrap();
///     client.shutdown(std::net::Shutdown::Write).unwrap();
///     let mut got = String::new();
///     server.read_to_string(&mut got).unwrap(); // until EOF
///     assert_eq!(got, "ping");
/// })
/// .unwrap();
/// ```
pub struct TcpStream {
    pub(super) shared: Arc<Shared<mio::net::TcpStream>>,
}

impl TcpStream {
    pub(super) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream { shared: Shared::new(stream)? })
    }

    /// Connects to the first address that accepts (host names are resolved
    /// on the blocking pool).
    ///
    /// ```
    /// use ember_runtime::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr.to_socket_addrs()?, |a| TcpStream::connect_one(a, None))
    }

    /// Connects, failing with `ErrorKind::TimedOut` after `timeout` (a zero
    /// duration is an error, as in std).
    ///
    /// ```
    /// use ember_runtime::net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_ok());
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
        }
        TcpStream::connect_one(*addr, Some(timeout))
    }

    fn connect_one(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        stream.shared.io(Direction::Write, timeout, |s| {
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
            match s.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
                Err(e) => Err(e),
            }
        })?;
        Ok(stream)
    }

    /// Takes over a connected `std` stream (made non-blocking).
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s = ember_runtime::net::TcpStream::from_std(std).unwrap();
    /// assert!(s.peer_addr().is_ok());
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// The remote address.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.shared.with(|s| s.peer_addr())
    }

    /// The local address.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.with(|s| s.local_addr())
    }

    /// Shuts down the read half, the write half (the peer reads EOF) or both.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.shutdown(std::net::Shutdown::Write).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.shared.with(|s| s.shutdown(how))
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_nodelay(true).unwrap();
    /// assert!(s.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.shared.with(|s| s.set_nodelay(nodelay))
    }

    /// `TCP_NODELAY`.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(!s.nodelay().unwrap());
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.shared.with(|s| s.nodelay())
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_ttl(7).unwrap();
    /// assert_eq!(s.ttl().unwrap(), 7);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.shared.with(|s| s.set_ttl(ttl))
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.shared.with(|s| s.ttl())
    }

    /// Sets `SO_RCVBUF`, the kernel's receive buffer (the kernel doubles
    /// the value for its bookkeeping and bounds it; see `socket(7)`).
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_recv_buffer_size(8192).unwrap();
    /// assert!(s.recv_buffer_size().unwrap() >= 8192);
    /// ```
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.shared.with(|s| set_int_opt(s.as_raw_fd(), libc::SO_RCVBUF, bytes))
    }

    /// `SO_RCVBUF`.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.recv_buffer_size().unwrap() > 0);
    /// ```
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.shared.with(|s| int_opt(s.as_raw_fd(), libc::SO_RCVBUF))
    }

    /// Sets `SO_SNDBUF`, the kernel's send buffer (doubled and bounded by
    /// the kernel, as `SO_RCVBUF`).
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_send_buffer_size(8192).unwrap();
    /// assert!(s.send_buffer_size().unwrap() >= 8192);
    /// ```
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.shared.with(|s| set_int_opt(s.as_raw_fd(), libc::SO_SNDBUF, bytes))
    }

    /// `SO_SNDBUF`.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.send_buffer_size().unwrap() > 0);
    /// ```
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.shared.with(|s| int_opt(s.as_raw_fd(), libc::SO_SNDBUF))
    }

    /// Sets how long a read waits (`None`: for ever); a read that waited
    /// that long fails with `ErrorKind::TimedOut`. Zero is an error.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// use ember_runtime::net::{TcpListener, TcpStream};
    /// ember_runtime::run(|| {
    ///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let err = s.read(&mut [0; 8]).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// })
    /// .unwrap();
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.shared.set_timeout(Direction::Read, timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.shared.timeout(Direction::Read))
    }

    /// Sets how long a write waits for room in the send buffer (`None`: for
    /// ever). Zero is an error.
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.shared.set_timeout(Direction::Write, timeout)
    }

    /// The write timeout.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.shared.timeout(Direction::Write))
    }

    /// Reads without removing the data from the socket's queue (waits like
    /// `read`).
    ///
    /// ```
    /// use std::io::Write;
    /// use ember_runtime::net::{TcpListener, TcpStream};
    /// ember_runtime::run(|| {
    ///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (s, _) = l.accept().unwrap();
    ///     c.write_all(b"x").unwrap();
    ///     let mut buf = [0; 1];
    ///     assert_eq!(s.peek(&mut buf).unwrap(), 1);
    ///     assert_eq!(s.peek(&mut buf).unwrap(), 1);
    /// })
    /// .unwrap();
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.shared
            .io(Direction::Read, self.shared.timeout(Direction::Read), |s| recv(s.as_raw_fd(), buf, libc::MSG_PEEK))
    }

    /// Takes the pending socket error (`SO_ERROR`).
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.shared.with(|s| s.take_error())
    }

    /// A number unique to this socket within the OS process: the `socket`
    /// field of its active-mode messages.
    ///
    /// ```
    /// let l = ember_runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = ember_runtime::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_ne!(s.id(), l.id());
    /// ```
    pub fn id(&self) -> SocketId {
        SocketId(self.shared.id())
    }

    fn read_impl(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.shared.io(Direction::Read, self.shared.timeout(Direction::Read), |s| recv(s.as_raw_fd(), buf, 0))
    }

    fn write_impl(&self, buf: &[u8]) -> io::Result<usize> {
        self.shared.io(Direction::Write, self.shared.timeout(Direction::Write), |s| send_nosignal(s.as_raw_fd(), buf))
    }
}

super::stream_io!(TcpStream);

impl Drop for TcpStream {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("id", &self.shared.id())
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

fn set_int_opt(fd: std::os::fd::RawFd, opt: libc::c_int, value: usize) -> io::Result<()> {
    let v = libc::c_int::try_from(value)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "buffer size too large"))?;
    // SAFETY: setsockopt reads one c_int from a valid pointer; the fd is
    // alive (the caller is counted in by the socket's guard).
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as _,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn int_opt(fd: std::os::fd::RawFd, opt: libc::c_int) -> io::Result<usize> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes to a valid c_int; the fd
    // is alive (the caller is counted in by the socket's guard).
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, opt, (&mut v as *mut libc::c_int).cast(), &mut len) };
    if rc == 0 {
        Ok(v.max(0) as usize)
    } else {
        Err(io::Error::last_os_error())
    }
}
