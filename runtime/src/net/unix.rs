//! Unix-domain stream sockets: [`UnixListener`] and [`UnixStream`].

use super::active::SocketId;
use crate::io::readiness::Direction;
use crate::io::source::{recv, send_nosignal, Shared};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A Unix-domain socket server (as `std::os::unix::net::UnixListener`).
///
/// ```
/// use ember_runtime::net::{UnixListener, UnixStream};
/// use std::io::{Read, Write};
/// let path = std::env::temp_dir().join(format!("ember-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let p = path.clone();
/// ember_runtime::run(move || {
///     let listener = UnixListener::bind(&p).unwrap();
///     let mut client = UnixStream::connect(&p).unwrap();
///     let (mut server, _) = listener.accept().unwrap();
///     client.write_all(b"hi").unwrap();
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"hi");
/// })
/// .unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    shared: Arc<Shared<mio::net::UnixListener>>,
}

impl UnixListener {
    /// Binds to a filesystem path (which must not exist).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("ember-doc-bind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = ember_runtime::net::UnixListener::bind(&path).unwrap();
    /// assert!(l.local_addr().unwrap().as_pathname().is_some());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        Ok(UnixListener { shared: Shared::new(mio::net::UnixListener::bind(path)?)? })
    }

    /// Waits for a connection.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("ember-doc-acc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = ember_runtime::net::UnixListener::bind(&path).unwrap();
    /// let _c = ember_runtime::net::UnixStream::connect(&path).unwrap();
    /// assert!(l.accept().is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self.shared.io(Direction::Read, None, |l| l.accept())?;
        Ok((UnixStream { shared: Shared::new(stream)? }, addr))
    }

    /// The address it listens on.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("ember-doc-la-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = ember_runtime::net::UnixListener::bind(&path).unwrap();
    /// assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.with(|l| l.local_addr())
    }

    /// A number unique to this socket within the OS process.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("ember-doc-id-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = ember_runtime::net::UnixListener::bind(&path).unwrap();
    /// let _ = l.id();
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn id(&self) -> SocketId {
        SocketId(self.shared.id())
    }
}

impl Drop for UnixListener {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").field("id", &self.shared.id()).finish()
    }
}

/// A Unix-domain stream (as `std::os::unix::net::UnixStream`). Writes use
/// `MSG_NOSIGNAL`: a closed peer is a `BrokenPipe` error, not a SIGPIPE.
///
/// ```
/// use std::io::{Read, Write};
/// let (mut a, mut b) = ember_runtime::net::UnixStream::pair().unwrap();
/// a.write_all(b"x").unwrap();
/// let mut buf = [0; 1];
/// b.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"x");
/// ```
pub struct UnixStream {
    shared: Arc<Shared<mio::net::UnixStream>>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// ```
    /// let r = ember_runtime::net::UnixStream::connect("/nonexistent/ember.sock");
    /// assert!(r.is_err());
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let stream = UnixStream { shared: Shared::new(mio::net::UnixStream::connect(path)?)? };
        // A Unix connect completes at once or fails with WouldBlock (the
        // backlog is full); wait for it like a TCP connect.
        stream.shared.io(Direction::Write, None, |s| {
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

    /// A connected pair of streams.
    ///
    /// ```
    /// let (a, b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream { shared: Shared::new(a)? }, UnixStream { shared: Shared::new(b)? }))
    }

    /// The local address.
    ///
    /// ```
    /// let (a, _b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.with(|s| s.local_addr())
    }

    /// The peer's address.
    ///
    /// ```
    /// let (a, _b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.shared.with(|s| s.peer_addr())
    }

    /// Shuts down one half or both.
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, mut b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert_eq!(b.read(&mut [0; 4]).unwrap(), 0);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.shared.with(|s| s.shutdown(how))
    }

    /// Sets how long a read waits (`None`: for ever); zero is an error.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// let (mut a, _b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// a.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    /// assert_eq!(a.read(&mut [0; 1]).unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.shared.set_timeout(Direction::Read, timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// let (a, _b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// assert_eq!(a.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.shared.timeout(Direction::Read))
    }

    /// Sets how long a write waits (`None`: for ever); zero is an error.
    ///
    /// ```
    /// let (a, _b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// a.set_write_timeout(Some(std::time::Duration::from_secs(1))).unwrap();
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.shared.set_timeout(Direction::Write, timeout)
    }

    /// The write timeout.
    ///
    /// ```
    /// let (a, _b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.shared.timeout(Direction::Write))
    }

    /// Takes the pending socket error (`SO_ERROR`).
    ///
    /// ```
    /// let (a, _b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.shared.with(|s| s.take_error())
    }

    /// A number unique to this socket within the OS process.
    ///
    /// ```
    /// let (a, _b) = ember_runtime::net::UnixStream::pair().unwrap();
    /// let _ = a.id();
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

super::stream_io!(UnixStream);

impl Drop for UnixStream {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream").field("id", &self.shared.id()).finish()
    }
}
