//! The observer's processes: an acceptor, and one process per connection.

use super::addr::ObserverAddr;
use super::protocol::{Reply, Request, PROTOCOL_VERSION};
use crate::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use crate::pid::Pid;
use crate::reason::Reason;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connections served at once; more are answered with an error and closed.
pub const MAX_CONNECTIONS: usize = 16;

/// The longest request line, in bytes; a longer one closes the connection.
pub const MAX_REQUEST: usize = 64 * 1024;

/// A connection idle this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// What clients may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Look only (the default of [`serve`]).
    ReadOnly,
    /// Look, and kill processes.
    ReadWrite,
}

/// A running observer (see [`serve`]). Dropping it leaves the observer
/// running; [`Observer::stop`] ends it.
#[derive(Debug)]
pub struct Observer {
    pid: Pid,
    addr: ObserverAddr,
}

impl Observer {
    /// The acceptor process.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Where it listens (for TCP with port 0, the port it got).
    pub fn addr(&self) -> &ObserverAddr {
        &self.addr
    }

    /// Stops accepting connections and removes the Unix socket's file;
    /// called from a process, returns once both are done. Connections
    /// already open finish on their own.
    ///
    /// The acceptor gets an exit signal with reason `shutdown` (it does not
    /// trap exits), so its stack unwinds and the file is removed before its
    /// monitors fire; a `Kill` would let that cleanup finish after them.
    pub fn stop(&self) {
        let watch = crate::process::current::try_current().map(|_| crate::monitor(self.pid));
        self.pid.exit(Reason::Shutdown);
        if let Some(watch) = watch {
            let _gone: crate::Down = crate::receive_if(|down: &crate::Down| down.monitor == watch);
        }
    }
}

/// Serves this node's snapshots, read-only, on `addr`: `unix:PATH` or a
/// path, or a loopback `IP:PORT` (see [`ObserverAddr`]). Call it from a
/// process; it returns once listening. Errors are values: an address that
/// does not parse or is not loopback, a socket that cannot be bound.
///
/// A Unix socket file left by an observer that is gone is replaced; one
/// that a live observer still answers on is an `AddrInUse` error.
///
/// ```
/// ember_runtime::run(|| {
///     let observer = ember_runtime::observer::serve("127.0.0.1:0").unwrap();
///     assert!(observer.addr().to_string().starts_with("tcp:127.0.0.1:"));
///     assert!(ember_runtime::observer::serve("0.0.0.0:0").is_err());
///     observer.stop();
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn serve(addr: &str) -> io::Result<Observer> {
    serve_with(addr, Access::ReadOnly)
}

/// [`serve`], with the given [`Access`] for clients.
///
/// ```
/// use ember_runtime::observer::{serve_with, Access};
/// ember_runtime::run(|| {
///     let observer = serve_with("127.0.0.1:0", Access::ReadWrite).unwrap();
///     observer.stop();
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn serve_with(addr: &str, access: Access) -> io::Result<Observer> {
    let parsed: ObserverAddr = addr.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let listener = match &parsed {
        ObserverAddr::Tcp(addr) => Listener::Tcp(TcpListener::bind(*addr)?),
        ObserverAddr::Unix(path) => {
            remove_stale_socket(path)?;
            Listener::Unix(UnixListener::bind(path)?, SocketFile(path.clone()))
        }
    };
    let bound = match &listener {
        Listener::Tcp(l) => ObserverAddr::Tcp(l.local_addr()?),
        Listener::Unix(..) => parsed,
    };
    let pid = crate::spawn(move || {
        crate::set_label("observer acceptor");
        accept_loop(listener, access)
    });
    Ok(Observer { pid, addr: bound })
}

/// A socket file nobody answers on is a leftover: remove it. One that
/// answers belongs to a live observer.
fn remove_stale_socket(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => {
            Err(io::Error::new(io::ErrorKind::AddrInUse, format!("an observer already listens on {}", path.display())))
        }
        Err(_) => std::fs::remove_file(path),
    }
}

enum Listener {
    Tcp(TcpListener),
    /// The file is removed when the listener goes.
    Unix(UnixListener, #[allow(dead_code)] SocketFile),
}

/// Removes the Unix socket's file when the acceptor ends.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn set_timeouts(&self) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => {
                s.set_read_timeout(Some(IDLE_TIMEOUT))?;
                s.set_write_timeout(Some(IDLE_TIMEOUT))
            }
            Conn::Unix(s) => {
                s.set_read_timeout(Some(IDLE_TIMEOUT))?;
                s.set_write_timeout(Some(IDLE_TIMEOUT))
            }
        }
    }
}

impl Read for &Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => (&*s).read(buf),
            Conn::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for &Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => (&*s).write(buf),
            Conn::Unix(s) => (&*s).write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn accept_loop(listener: Listener, access: Access) {
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = match &listener {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Conn::Tcp(s)),
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Conn::Unix(s)),
        };
        let conn = match accepted {
            Ok(conn) => conn,
            // A connection that failed before it was accepted (reset) is
            // the client's problem; anything else ends the observer.
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) => continue,
            Err(e) => {
                tracing::error!(target: "ember::observer", error = %e, "the observer stops accepting connections");
                return;
            }
        };
        if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            let _ =
                write_reply(&conn, &Reply::Error(format!("too many observer connections (at most {MAX_CONNECTIONS})")));
            continue;
        }
        open.fetch_add(1, Ordering::Relaxed);
        let open = open.clone();
        crate::spawn(move || {
            crate::set_label("observer connection");
            let _count = OpenConnection(open);
            serve_connection(conn, access);
        });
    }
}

/// Counts a connection's process until it ends, however it ends.
struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn serve_connection(conn: Conn, access: Access) {
    if conn.set_timeouts().is_err() {
        return;
    }
    let mut reader = BufReader::new(&conn);
    let mut line = Vec::new();
    loop {
        line.clear();
        // One byte more than allowed tells an over-long line from a full one.
        let read = (&mut reader).take(MAX_REQUEST as u64 + 1).read_until(b'\n', &mut line);
        match read {
            Ok(0) | Err(_) => return, // closed, idle too long, or broken
            Ok(_) => {}
        }
        if line.len() > MAX_REQUEST {
            // Read the rest of the line (up to a bound) before answering:
            // closing with unread data resets the connection, and the
            // client would lose the error.
            let mut rest = Vec::new();
            let _ = (&mut reader).take(16 * MAX_REQUEST as u64).read_until(b'\n', &mut rest);
            let _ = write_reply(&conn, &Reply::Error(format!("request longer than {MAX_REQUEST} bytes")));
            return;
        }
        let reply = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => answer(request, access),
            Err(e) => Reply::Error(format!("bad request: {e}")),
        };
        if write_reply(&conn, &reply).is_err() {
            return;
        }
    }
}

fn answer(request: Request, access: Access) -> Reply {
    let node = crate::self_pid().node();
    match request {
        Request::Hello => Reply::Hello { version: PROTOCOL_VERSION, node, write: access == Access::ReadWrite },
        Request::Snapshot => Reply::Snapshot(crate::snapshot()),
        Request::Kill { .. } if access == Access::ReadOnly => {
            Reply::Error("this observer is read-only (serve it with Access::ReadWrite to allow kills)".into())
        }
        Request::Kill { pid } if pid.node() != node => Reply::Error(format!("{pid} is not a process of this node")),
        Request::Kill { pid } => {
            let was_alive = pid.is_alive();
            pid.exit(Reason::Kill);
            Reply::Killed { pid, was_alive }
        }
    }
}

fn write_reply(conn: &Conn, reply: &Reply) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(reply).map_err(io::Error::other)?;
    bytes.push(b'\n');
    let mut w = conn;
    w.write_all(&bytes)
}
