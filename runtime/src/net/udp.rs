//! UDP: [`UdpSocket`].

use super::active::SocketId;
use super::addr::ToSocketAddrs;
use super::each_addr;
use crate::io::readiness::Direction;
use crate::io::source::Shared;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A UDP socket (as `std::net::UdpSocket`); receives park the calling
/// process until a datagram arrives.
///
/// ```
/// use ember_runtime::net::UdpSocket;
/// ember_runtime::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// })
/// .unwrap();
/// ```
pub struct UdpSocket {
    shared: Arc<Shared<mio::net::UdpSocket>>,
}

impl UdpSocket {
    /// Binds to the first address that works.
    ///
    /// ```
    /// let s = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().is_ok());
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr.to_socket_addrs()?, |a| Ok(UdpSocket { shared: Shared::new(mio::net::UdpSocket::bind(a)?)? }))
    }

    /// Takes over a `std` socket (made non-blocking).
    ///
    /// ```
    /// let std = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(ember_runtime::net::UdpSocket::from_std(std).is_ok());
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket { shared: Shared::new(mio::net::UdpSocket::from_std(socket))? })
    }

    /// Sets the default peer for [`send`](UdpSocket::send) and
    /// [`recv`](UdpSocket::recv) (and filters what is received).
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr.to_socket_addrs()?, |a| self.shared.with(|s| s.connect(a)))
    }

    /// Sends a datagram to `addr`.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(a.send_to(b"x", a.local_addr().unwrap()).unwrap(), 1);
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let addrs = addr.to_socket_addrs()?;
        let Some(&target) = addrs.first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to"));
        };
        self.shared.io(Direction::Write, self.shared.timeout(Direction::Write), |s| s.send_to(buf, target))
    }

    /// Receives a datagram and its sender (waits for one).
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"x", a.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 4];
    /// assert_eq!(a.recv_from(&mut buf).unwrap().0, 1);
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.shared.io(Direction::Read, self.shared.timeout(Direction::Read), |s| s.recv_from(buf))
    }

    /// Receives a datagram without removing it from the queue.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"x", a.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 4];
    /// assert_eq!(a.peek_from(&mut buf).unwrap().0, 1);
    /// assert_eq!(a.recv_from(&mut buf).unwrap().0, 1);
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.shared.io(Direction::Read, self.shared.timeout(Direction::Read), |s| s.peek_from(buf))
    }

    /// Sends to the connected peer.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.send(b"hey").unwrap(), 3);
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.shared.io(Direction::Write, self.shared.timeout(Direction::Write), |s| s.send(buf))
    }

    /// Receives from the connected peer.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"hey").unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(a.recv(&mut buf).unwrap(), 3);
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.shared.io(Direction::Read, self.shared.timeout(Direction::Read), |s| s.recv(buf))
    }

    /// The local address.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(a.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.with(|s| s.local_addr())
    }

    /// The connected peer's address.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(a.peer_addr().is_err(), "not connected");
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.shared.with(|s| s.peer_addr())
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.set_broadcast(true).unwrap();
    /// assert!(a.broadcast().unwrap());
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.shared.with(|s| s.set_broadcast(on))
    }

    /// `SO_BROADCAST`.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(!a.broadcast().unwrap());
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.shared.with(|s| s.broadcast())
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.set_ttl(9).unwrap();
    /// assert_eq!(a.ttl().unwrap(), 9);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.shared.with(|s| s.set_ttl(ttl))
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(a.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.shared.with(|s| s.ttl())
    }

    /// Sets how long a receive waits (`None`: for ever); zero is an error.
    ///
    /// ```
    /// use std::time::Duration;
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    /// let err = a.recv_from(&mut [0; 4]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.shared.set_timeout(Direction::Read, timeout)
    }

    /// The receive timeout.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(a.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.shared.timeout(Direction::Read))
    }

    /// Sets how long a send waits (`None`: for ever); zero is an error.
    ///
    /// ```
    /// use std::time::Duration;
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.shared.set_timeout(Direction::Write, timeout)
    }

    /// The send timeout.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.shared.timeout(Direction::Write))
    }

    /// Takes the pending socket error (`SO_ERROR`).
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.shared.with(|s| s.take_error())
    }

    /// A number unique to this socket within the OS process.
    ///
    /// ```
    /// let a = ember_runtime::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let _ = a.id();
    /// ```
    pub fn id(&self) -> SocketId {
        SocketId(self.shared.id())
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("id", &self.shared.id()).field("local", &self.local_addr().ok()).finish()
    }
}
