//! A client of EPMD, the Erlang port mapper daemon.
//!
//! Every Erlang host runs one EPMD (port 4369, or `ERL_EPMD_PORT`). A node
//! registers its name and listening port with it (`ALIVE2_REQ`) and stays
//! registered exactly as long as that TCP connection stays open: so
//! [`register`] returns a [`Registration`] that owns the connection, and
//! dropping it unregisters. A node that wants to connect to `name@host` asks
//! the EPMD on `host` for the port of `name` (`PORT_PLEASE2_REQ`); EPMD
//! answers and closes.
//!
//! Every request is `Length:16, Request`; every length in a reply is checked
//! against a fixed bound before it is read.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// EPMD's standard port.
pub const DEFAULT_PORT: u16 = 4369;

/// The distribution protocol version this crate speaks (OTP 23+).
pub const PROTOCOL_VERSION: u16 = 6;

const ALIVE2_REQ: u8 = 120;
const ALIVE2_RESP: u8 = 121;
const ALIVE2_X_RESP: u8 = 118;
const PORT_PLEASE2_REQ: u8 = 122;
const PORT2_RESP: u8 = 119;
const NAMES_REQ: u8 = 110;

/// Where EPMD listens and how long to wait for it.
///
/// ```
/// let epmd = ember_dist::epmd::Epmd::localhost();
/// assert_eq!(epmd.addr().port(), ember_dist::epmd::DEFAULT_PORT);
/// ```
#[derive(Clone, Debug)]
pub struct Epmd {
    addr: SocketAddr,
    timeout: Duration,
}

impl Epmd {
    /// The EPMD on 127.0.0.1, at `ERL_EPMD_PORT` if that is set, else 4369.
    ///
    /// ```
    /// let _ = ember_dist::epmd::Epmd::localhost();
    /// ```
    pub fn localhost() -> Epmd {
        let port = std::env::var("ERL_EPMD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PORT);
        Epmd::at(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// The EPMD at `addr`.
    ///
    /// ```
    /// let e = ember_dist::epmd::Epmd::at(([127, 0, 0, 1], 4369).into());
    /// assert_eq!(e.addr().port(), 4369);
    /// ```
    pub fn at(addr: SocketAddr) -> Epmd {
        Epmd { addr, timeout: Duration::from_secs(5) }
    }

    /// The EPMD on `host` (resolved now), at the standard port.
    ///
    /// ```
    /// let e = ember_dist::epmd::Epmd::on_host("localhost").unwrap();
    /// assert!(e.addr().ip().is_loopback());
    /// ```
    pub fn on_host(host: &str) -> Result<Epmd, EpmdError> {
        let port = std::env::var("ERL_EPMD_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PORT);
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| EpmdError::Resolve { host: host.to_owned(), error: e.to_string() })?
            .min_by_key(|a| !a.is_ipv4())
            .ok_or_else(|| EpmdError::Resolve { host: host.to_owned(), error: "no address".into() })?;
        Ok(Epmd::at(addr))
    }

    /// Bounds connecting and each read and write (default 5 s).
    ///
    /// ```
    /// let e = ember_dist::epmd::Epmd::localhost().timeout(std::time::Duration::from_secs(1));
    /// # let _ = e;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Epmd {
        self.timeout = timeout;
        self
    }

    /// The address asked.
    ///
    /// ```
    /// assert!(ember_dist::epmd::Epmd::localhost().addr().ip().is_loopback());
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn connect(&self) -> Result<TcpStream, EpmdError> {
        let s = TcpStream::connect_timeout(&self.addr, self.timeout).map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => EpmdError::NotRunning { addr: self.addr },
            _ => EpmdError::Io(e),
        })?;
        s.set_read_timeout(Some(self.timeout))?;
        s.set_write_timeout(Some(self.timeout))?;
        s.set_nodelay(true)?;
        Ok(s)
    }

    /// Registers `alive` (the name before the `@`) as listening on `port`.
    /// The registration lasts as long as the returned value; EPMD refuses a
    /// name that is already registered.
    ///
    /// ```no_run
    /// use ember_dist::epmd::Epmd;
    /// let reg = Epmd::localhost().register("ember", 5555, true).unwrap();
    /// println!("creation {}", reg.creation());
    /// ```
    pub fn register(&self, alive: &str, port: u16, hidden: bool) -> Result<Registration, EpmdError> {
        check_alive(alive)?;
        let mut req = vec![ALIVE2_REQ];
        req.extend(port.to_be_bytes());
        req.push(if hidden { 72 } else { 77 });
        req.push(0); // TCP/IPv4
        req.extend(PROTOCOL_VERSION.to_be_bytes()); // highest
        req.extend(PROTOCOL_VERSION.to_be_bytes()); // lowest
        req.extend((alive.len() as u16).to_be_bytes());
        req.extend(alive.as_bytes());
        req.extend(0u16.to_be_bytes()); // no extra
        let mut s = self.connect()?;
        send_request(&mut s, &req)?;
        let mut head = [0u8; 2];
        read_exact(&mut s, &mut head)?;
        let creation = match head {
            [ALIVE2_X_RESP, 0] => {
                let mut c = [0u8; 4];
                read_exact(&mut s, &mut c)?;
                u32::from_be_bytes(c)
            }
            [ALIVE2_RESP, 0] => {
                let mut c = [0u8; 2];
                read_exact(&mut s, &mut c)?;
                u32::from(u16::from_be_bytes(c))
            }
            [ALIVE2_X_RESP | ALIVE2_RESP, code] => {
                return Err(EpmdError::NameTaken { name: alive.to_owned(), code });
            }
            [tag, _] => return Err(EpmdError::Protocol(format!("unexpected reply {tag} to ALIVE2"))),
        };
        // No reads are expected on a registration; clear the timeout so an
        // idle registration is not mistaken for a dead one by anything that
        // reads it later.
        s.set_read_timeout(None)?;
        Ok(Registration { stream: s, alive: alive.to_owned(), port, creation })
    }

    /// Looks up the node named `alive` (the part before the `@`): its port
    /// and protocol versions, or `Ok(None)` if EPMD does not know it.
    ///
    /// ```no_run
    /// let node = ember_dist::epmd::Epmd::localhost().port_please("erlang").unwrap();
    /// if let Some(n) = node { println!("port {}", n.port); }
    /// ```
    pub fn port_please(&self, alive: &str) -> Result<Option<NodeEntry>, EpmdError> {
        check_alive(alive)?;
        let mut req = vec![PORT_PLEASE2_REQ];
        req.extend(alive.as_bytes());
        let mut s = self.connect()?;
        send_request(&mut s, &req)?;
        let mut head = [0u8; 2];
        read_exact(&mut s, &mut head)?;
        match head {
            [PORT2_RESP, 0] => {}
            [PORT2_RESP, _] => return Ok(None),
            [tag, _] => return Err(EpmdError::Protocol(format!("unexpected reply {tag} to PORT_PLEASE2"))),
        }
        let mut fixed = [0u8; 10];
        read_exact(&mut s, &mut fixed)?;
        let port = u16::from_be_bytes([fixed[0], fixed[1]]);
        let hidden = fixed[2] == 72;
        let protocol = fixed[3];
        let highest = u16::from_be_bytes([fixed[4], fixed[5]]);
        let lowest = u16::from_be_bytes([fixed[6], fixed[7]]);
        let nlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        if nlen > 255 {
            return Err(EpmdError::Protocol(format!("node name of {nlen} bytes in PORT2_RESP")));
        }
        let mut name = vec![0u8; nlen];
        read_exact(&mut s, &mut name)?;
        let name = String::from_utf8(name).map_err(|_| EpmdError::Protocol("node name is not UTF-8".into()))?;
        Ok(Some(NodeEntry { name, port, hidden, protocol, highest, lowest }))
    }

    /// The names EPMD has registered, with their ports (`NAMES_REQ`).
    ///
    /// ```no_run
    /// for (name, port) in ember_dist::epmd::Epmd::localhost().names().unwrap() {
    ///     println!("{name} at {port}");
    /// }
    /// ```
    pub fn names(&self) -> Result<Vec<(String, u16)>, EpmdError> {
        let mut s = self.connect()?;
        send_request(&mut s, &[NAMES_REQ])?;
        let mut port = [0u8; 4];
        read_exact(&mut s, &mut port)?;
        let mut text = Vec::new();
        // At most 1 MiB of listing: far more than any real host has.
        (&mut s).take(1 << 20).read_to_end(&mut text)?;
        let text = String::from_utf8_lossy(&text);
        Ok(text
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("name ")?;
                let (name, port) = rest.split_once(" at port ")?;
                Some((name.to_owned(), port.trim().parse().ok()?))
            })
            .collect())
    }
}

fn check_alive(alive: &str) -> Result<(), EpmdError> {
    let ok = !alive.is_empty()
        && alive.len() <= 255
        && alive.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(EpmdError::BadName(alive.to_owned()))
    }
}

fn send_request(s: &mut TcpStream, req: &[u8]) -> Result<(), EpmdError> {
    let mut buf = Vec::with_capacity(req.len() + 2);
    buf.extend((req.len() as u16).to_be_bytes());
    buf.extend(req);
    s.write_all(&buf)?;
    Ok(())
}

fn read_exact(s: &mut TcpStream, buf: &mut [u8]) -> Result<(), EpmdError> {
    s.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => EpmdError::Protocol("EPMD closed the connection mid-reply".into()),
        _ => EpmdError::Io(e),
    })
}

/// What EPMD knows of a registered node.
///
/// ```no_run
/// # fn main() -> Result<(), ember_dist::epmd::EpmdError> {
/// if let Some(entry) = ember_dist::epmd::Epmd::localhost().port_please("erlang")? {
///     println!("{} listens on {}", entry.name, entry.port);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEntry {
    /// The name before the `@`.
    pub name: String,
    /// The node's distribution port.
    pub port: u16,
    /// Whether it registered as hidden.
    pub hidden: bool,
    /// 0 for TCP/IPv4.
    pub protocol: u8,
    /// The highest protocol version it speaks (6 for OTP 23+).
    pub highest: u16,
    /// The lowest protocol version it speaks.
    pub lowest: u16,
}

/// A live EPMD registration: the node's name maps to its port for as long
/// as this value lives. Drop it to unregister.
///
/// ```no_run
/// # fn main() -> Result<(), ember_dist::epmd::EpmdError> {
/// let reg = ember_dist::epmd::Epmd::localhost().register("ember", 5555, true)?;
/// drop(reg); // unregistered
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Registration {
    stream: TcpStream,
    alive: String,
    port: u16,
    creation: u32,
}

impl Registration {
    /// The creation EPMD assigned: the node's incarnation number, which
    /// goes into every pid, port and reference it makes.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ember_dist::epmd::EpmdError> {
    /// let reg = ember_dist::epmd::Epmd::localhost().register("ember", 5555, true)?;
    /// assert_ne!(reg.creation(), 0);
    /// # Ok(()) }
    /// ```
    pub fn creation(&self) -> u32 {
        self.creation
    }

    /// The registered name.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ember_dist::epmd::EpmdError> {
    /// let reg = ember_dist::epmd::Epmd::localhost().register("ember", 5555, true)?;
    /// assert_eq!(reg.name(), "ember");
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.alive
    }

    /// The registered port.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ember_dist::epmd::EpmdError> {
    /// let reg = ember_dist::epmd::Epmd::localhost().register("ember", 5555, true)?;
    /// assert_eq!(reg.port(), 5555);
    /// # Ok(()) }
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether EPMD still holds the registration's connection open (it
    /// closes it only if EPMD itself stops).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ember_dist::epmd::EpmdError> {
    /// let reg = ember_dist::epmd::Epmd::localhost().register("ember", 5555, true)?;
    /// assert!(reg.is_alive());
    /// # Ok(()) }
    /// ```
    pub fn is_alive(&self) -> bool {
        let _ = self.stream.set_nonblocking(true);
        let mut b = [0u8; 1];
        let alive = match self.stream.peek(&mut b) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        };
        let _ = self.stream.set_nonblocking(false);
        alive
    }
}

/// Why an EPMD request failed.
///
/// ```
/// use ember_dist::epmd::{Epmd, EpmdError};
/// // Port 1 on loopback: nothing listens there.
/// let err = Epmd::at(([127, 0, 0, 1], 1).into()).names().unwrap_err();
/// assert!(matches!(err, EpmdError::NotRunning { .. } | EpmdError::Io(_)));
/// ```
#[derive(Debug)]
pub enum EpmdError {
    /// Nothing listens at EPMD's address: no EPMD runs there. Start one with
    /// `epmd -daemon` (it ships with Erlang), or start any `erl -sname` node.
    NotRunning {
        /// The address tried.
        addr: SocketAddr,
    },
    /// EPMD refused the registration: the name is registered already.
    NameTaken {
        /// The name.
        name: String,
        /// EPMD's result code.
        code: u8,
    },
    /// Not a valid node name (letters, digits, `_` and `-`, at most 255).
    BadName(String),
    /// The EPMD host name did not resolve.
    Resolve {
        /// The host.
        host: String,
        /// Why.
        error: String,
    },
    /// EPMD's reply broke the protocol.
    Protocol(String),
    /// A socket error (including a timeout).
    Io(io::Error),
}

impl From<io::Error> for EpmdError {
    fn from(e: io::Error) -> EpmdError {
        EpmdError::Io(e)
    }
}

impl fmt::Display for EpmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EpmdError::NotRunning { addr } => {
                write!(f, "no EPMD is running at {addr} (start one with `epmd -daemon`, or any `erl -sname` node)")
            }
            EpmdError::NameTaken { name, code } => {
                write!(f, "EPMD refused to register {name:?}: the name is taken (result {code})")
            }
            EpmdError::BadName(n) => write!(f, "{n:?} is not a valid node name"),
            EpmdError::Resolve { host, error } => write!(f, "cannot resolve {host}: {error}"),
            EpmdError::Protocol(m) => write!(f, "EPMD protocol error: {m}"),
            EpmdError::Io(e) => write!(f, "EPMD: {e}"),
        }
    }
}

impl std::error::Error for EpmdError {}
