//! A blocking client of the observer protocol, on std sockets (the viewer
//! runs no Ember runtime of its own).

use ember_runtime::observer::{ObserverAddr, Reply, Request};
use ember_runtime::{Pid, Snapshot};
use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::time::Duration;

/// How long a request may take before the client gives up.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to a node's observer.
///
/// ```no_run
/// let mut client = ember_observer::Client::connect("/tmp/node.sock").unwrap();
/// let snapshot = client.snapshot().unwrap();
/// println!("{} processes", snapshot.processes.len());
/// ```
pub struct Client {
    reader: BufReader<Box<dyn io::Read + Send>>,
    writer: Box<dyn Write + Send>,
    addr: ObserverAddr,
}

/// What went wrong talking to an observer.
#[derive(Debug)]
pub enum ClientError {
    /// The address does not parse (see `ObserverAddr`).
    Addr(String),
    /// The connection failed or broke.
    Io(io::Error),
    /// The node answered something that is not a reply.
    Protocol(String),
    /// The node refused the request (for example a kill on a read-only
    /// observer).
    Refused(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Addr(e) => write!(f, "bad address: {e}"),
            ClientError::Io(e) => write!(f, "connection: {e}"),
            ClientError::Protocol(e) => write!(f, "protocol: {e}"),
            ClientError::Refused(e) => write!(f, "refused: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl Client {
    /// Connects to the observer at `addr` (`unix:PATH`, a path, or a
    /// loopback `IP:PORT`).
    pub fn connect(addr: &str) -> Result<Client, ClientError> {
        let addr: ObserverAddr = addr.parse().map_err(|e| ClientError::Addr(format!("{e}")))?;
        let (reader, writer): (Box<dyn io::Read + Send>, Box<dyn Write + Send>) = match &addr {
            ObserverAddr::Unix(path) => {
                let s = std::os::unix::net::UnixStream::connect(path)?;
                s.set_read_timeout(Some(TIMEOUT))?;
                s.set_write_timeout(Some(TIMEOUT))?;
                (Box::new(s.try_clone()?), Box::new(s))
            }
            ObserverAddr::Tcp(a) => {
                let s = std::net::TcpStream::connect_timeout(a, TIMEOUT)?;
                s.set_read_timeout(Some(TIMEOUT))?;
                s.set_write_timeout(Some(TIMEOUT))?;
                (Box::new(s.try_clone()?), Box::new(s))
            }
        };
        Ok(Client { reader: BufReader::new(reader), writer, addr })
    }

    /// The address it is connected to.
    pub fn addr(&self) -> &ObserverAddr {
        &self.addr
    }

    /// Sends one request, reads one reply.
    pub fn request(&mut self, request: &Request) -> Result<Reply, ClientError> {
        let mut line = serde_json::to_vec(request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        let mut reply = String::new();
        if self.reader.read_line(&mut reply)? == 0 {
            return Err(ClientError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        match serde_json::from_str(&reply) {
            Ok(Reply::Error(e)) => Err(ClientError::Refused(e)),
            Ok(reply) => Ok(reply),
            Err(e) => Err(ClientError::Protocol(format!("{e}: {:?}", reply.chars().take(80).collect::<String>()))),
        }
    }

    /// Whether the observer accepts kills.
    pub fn writable(&mut self) -> Result<bool, ClientError> {
        match self.request(&Request::Hello)? {
            Reply::Hello { write, .. } => Ok(write),
            other => Err(ClientError::Protocol(format!("expected hello, got {other:?}"))),
        }
    }

    /// A snapshot of the node.
    pub fn snapshot(&mut self) -> Result<Snapshot, ClientError> {
        match self.request(&Request::Snapshot)? {
            Reply::Snapshot(s) => Ok(s),
            other => Err(ClientError::Protocol(format!("expected a snapshot, got {other:?}"))),
        }
    }

    /// Kills `pid` (untrappably); returns whether it was alive.
    pub fn kill(&mut self, pid: Pid) -> Result<bool, ClientError> {
        match self.request(&Request::Kill { pid })? {
            Reply::Killed { was_alive, .. } => Ok(was_alive),
            other => Err(ClientError::Protocol(format!("expected killed, got {other:?}"))),
        }
    }
}
