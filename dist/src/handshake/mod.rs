//! The connection handshake, version 6 (OTP 23+), both sides.
//!
//! ```text
//! A (initiator, connect)                     B (acceptor, accept)
//! send_name   'N' Flags Creation Name   ───▶
//!             ◀───  's' Status               (Pending::respond decides)
//!             ◀───  'N' Flags ChB Creation Name
//! 'r' ChA MD5(cookie ++ ChB)            ───▶  checks the digest, or closes
//!             ◀───  'a' MD5(cookie ++ ChA)
//! checks the digest, or fails
//! ```
//!
//! Each message travels in a packet with a 2-byte length. Nothing of the
//! peer's is trusted before the digest checks pass: [`connect`] and
//! [`Pending::respond`] return a [`Session`] only after both digests match,
//! and the acceptor sends nothing but its status and challenge before the
//! initiator has proved it holds the cookie. Both sides refuse a peer that
//! lacks a flag of [`DistFlags::MANDATORY`].
//!
//! The functions work over any `Read + Write` stream. They set no timeouts:
//! bound a `TcpStream` with `set_read_timeout` / `set_write_timeout` before
//! the handshake so a silent peer cannot hold it forever.

mod message;

pub use message::{From as MessageFrom, Message, Status};

use crate::cookie::Cookie;
use crate::flags::DistFlags;
use std::fmt;
use std::io::{self, Read, Write};

/// Who we are, for a handshake.
///
/// ```
/// use ember_dist::{handshake::Config, Cookie};
/// let config = Config::new("ember@localhost", Cookie::new("secret"), 1).unwrap();
/// assert_eq!(config.name(), "ember@localhost");
/// assert!(Config::new("no-at-sign", Cookie::new("c"), 1).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    name: String,
    cookie: Cookie,
    creation: u32,
    flags: DistFlags,
}

impl Config {
    /// This node is `name` (`alive@host`), authenticates with `cookie`, and
    /// makes identifiers with `creation` (from its EPMD registration, or
    /// [`random_creation`] when it has none). The node is hidden.
    ///
    /// ```
    /// use ember_dist::{handshake::Config, Cookie};
    /// let c = Config::new("ember@localhost", Cookie::new("secret"), 7).unwrap();
    /// assert_eq!(c.creation(), 7);
    /// ```
    pub fn new(name: &str, cookie: Cookie, creation: u32) -> Result<Config, HandshakeError> {
        if !valid_node_name(name) {
            return Err(HandshakeError::BadNodeName(name.to_owned()));
        }
        Ok(Config { name: name.to_owned(), cookie, creation, flags: DistFlags::DEFAULT })
    }

    /// Offers `flags` instead of [`DistFlags::DEFAULT`]. The mandatory flags
    /// and `HANDSHAKE_23` are always added.
    ///
    /// ```
    /// use ember_dist::{handshake::Config, Cookie, DistFlags};
    /// let c = Config::new("a@h", Cookie::new("c"), 1).unwrap().flags(DistFlags::MANDATORY);
    /// assert!(!c.offered_flags().contains(DistFlags::FRAGMENTS));
    /// ```
    pub fn flags(mut self, flags: DistFlags) -> Config {
        self.flags = flags | DistFlags::MANDATORY;
        self
    }

    /// Makes this node visible (`DFLAG_PUBLISHED`) rather than hidden.
    /// Phase 1 does not run `global`, so hidden is the default.
    ///
    /// ```
    /// use ember_dist::{handshake::Config, Cookie};
    /// let c = Config::new("ember@localhost", Cookie::new("secret"), 7).unwrap();
    /// assert!(c.published(true).offered_flags().contains(ember_dist::DistFlags::PUBLISHED));
    /// ```
    pub fn published(mut self, published: bool) -> Config {
        self.flags = if published {
            self.flags | DistFlags::PUBLISHED
        } else {
            DistFlags(self.flags.0 & !DistFlags::PUBLISHED.0)
        };
        self
    }

    /// The node name.
    ///
    /// ```
    /// use ember_dist::{handshake::Config, Cookie};
    /// let c = Config::new("ember@localhost", Cookie::new("secret"), 7).unwrap();
    /// assert_eq!(c.name(), "ember@localhost");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The creation.
    ///
    /// ```
    /// use ember_dist::{handshake::Config, Cookie};
    /// let c = Config::new("ember@localhost", Cookie::new("secret"), 7).unwrap();
    /// assert_eq!(c.creation(), 7);
    /// ```
    pub fn creation(&self) -> u32 {
        self.creation
    }

    /// The flags this node offers.
    ///
    /// ```
    /// use ember_dist::{handshake::Config, Cookie};
    /// let c = Config::new("ember@localhost", Cookie::new("secret"), 7).unwrap();
    /// assert_eq!(c.offered_flags(), ember_dist::DistFlags::DEFAULT);
    /// ```
    pub fn offered_flags(&self) -> DistFlags {
        self.flags
    }
}

/// `alive@host`, with a non-empty alive part of letters, digits, `_` and
/// `-`, and a non-empty host.
pub(crate) fn valid_node_name(name: &str) -> bool {
    match name.split_once('@') {
        Some((alive, host)) => {
            !alive.is_empty()
                && !host.is_empty()
                && name.len() <= 255
                && alive.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && !host.contains('@')
        }
        None => false,
    }
}

/// A random non-zero creation for a node that has no EPMD registration.
///
/// ```
/// assert_ne!(ember_dist::handshake::random_creation(), 0);
/// ```
pub fn random_creation() -> u32 {
    loop {
        let c = random_u32();
        if c != 0 {
            return c;
        }
    }
}

/// A challenge from the OS's random source: predictable challenges would let
/// a recorded handshake be replayed.
fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_err() {
        // No /dev/urandom: mix the clock and a per-process random hasher key.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        b = (h.finish() as u32).to_be_bytes();
    }
    u32::from_be_bytes(b)
}

/// What the handshake established: who the peer is and what both sides
/// agreed to use.
///
/// ```
/// let session = ember_dist::handshake::Session {
///     local_name: "a@h".into(), local_creation: 1, peer_name: "b@h".into(),
///     peer_creation: 2, peer_flags: ember_dist::DistFlags::DEFAULT, flags: ember_dist::DistFlags::DEFAULT };
/// assert!(session.peer_is_hidden());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Our node name.
    pub local_name: String,
    /// Our creation.
    pub local_creation: u32,
    /// The peer's node name.
    pub peer_name: String,
    /// The peer's creation.
    pub peer_creation: u32,
    /// The peer's flags as it sent them.
    pub peer_flags: DistFlags,
    /// The flags both sides offered: what the connection uses.
    pub flags: DistFlags,
}

impl Session {
    /// What a handshake with `config` established with a peer that proved
    /// its identity.
    fn new(config: &Config, peer_name: String, peer_creation: u32, peer_flags: DistFlags) -> Session {
        Session {
            local_name: config.name.clone(),
            local_creation: config.creation,
            peer_name,
            peer_creation,
            peer_flags,
            flags: config.flags & peer_flags,
        }
    }

    /// Whether the peer is a hidden node.
    ///
    /// ```
    /// # let session = ember_dist::handshake::Session {
    /// #     local_name: "a@h".into(), local_creation: 1, peer_name: "b@h".into(),
    /// #     peer_creation: 2, peer_flags: ember_dist::DistFlags::DEFAULT, flags: ember_dist::DistFlags::DEFAULT };
    /// assert!(session.peer_is_hidden());
    /// ```
    pub fn peer_is_hidden(&self) -> bool {
        !self.peer_flags.contains(DistFlags::PUBLISHED)
    }
}

/// Why a handshake failed.
///
/// ```
/// use ember_dist::handshake::{self, Config, HandshakeError};
/// use ember_dist::Cookie;
/// // A peer that closes at once.
/// let config = Config::new("a@h", Cookie::new("c"), 1).unwrap();
/// let mut stream = std::io::Cursor::new(Vec::new());
/// assert!(matches!(handshake::accept(&mut stream, &config), Err(HandshakeError::Io(_))));
/// ```
#[derive(Debug)]
pub enum HandshakeError {
    /// A socket error, including a timeout and the peer closing early.
    Io(io::Error),
    /// A packet that is not a valid handshake message, or not the one
    /// expected at this step.
    Malformed(&'static str),
    /// The peer speaks only protocol version 5 (pre-OTP 23 handshake).
    OldProtocol,
    /// The peer lacks capabilities OTP 25+ and this crate require.
    MissingFlags(DistFlags),
    /// The acceptor refused the connection with this status.
    Refused(Status),
    /// The peer's digest does not match our cookie: the cookies differ.
    BadDigest,
    /// The acceptor closed the connection right after our challenge reply:
    /// it did not accept our digest, which means the cookies differ.
    CookieRejected,
    /// The peer is not the node we meant to connect to.
    WrongPeer {
        /// The node we wanted.
        expected: String,
        /// The node that answered.
        got: String,
    },
    /// A node name that is not `alive@host`.
    BadNodeName(String),
}

impl From<io::Error> for HandshakeError {
    fn from(e: io::Error) -> HandshakeError {
        HandshakeError::Io(e)
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Io(e) => write!(f, "handshake I/O: {e}"),
            HandshakeError::Malformed(what) => write!(f, "bad handshake message: {what}"),
            HandshakeError::OldProtocol => {
                f.write_str("the peer speaks only distribution protocol 5 (OTP 22 or older)")
            }
            HandshakeError::MissingFlags(m) => write!(f, "the peer lacks mandatory capabilities {m:?}"),
            HandshakeError::Refused(s) => write!(f, "the peer refused the connection: {s:?}"),
            HandshakeError::BadDigest => f.write_str("the peer's challenge digest is wrong: the cookies differ"),
            HandshakeError::CookieRejected => {
                f.write_str("the peer closed the connection after our challenge reply: the cookies differ")
            }
            HandshakeError::WrongPeer { expected, got } => write!(f, "connected to {got}, not {expected}"),
            HandshakeError::BadNodeName(n) => write!(f, "{n:?} is not a node name of the form name@host"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// The longest handshake packet accepted. A name message is ~20 bytes plus
/// a name of at most 255: anything near the 2-byte length's 65535 is hostile.
const MAX_PACKET: usize = 1024;

fn read_packet<S: Read>(s: &mut S) -> Result<Vec<u8>, HandshakeError> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let len = usize::from(u16::from_be_bytes(len));
    if len > MAX_PACKET {
        return Err(HandshakeError::Malformed("handshake packet too long"));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok(body)
}

fn write_packet<S: Write>(s: &mut S, m: &Message) -> Result<(), HandshakeError> {
    let body = m.encode();
    let mut packet = Vec::with_capacity(body.len() + 2);
    packet.extend((body.len() as u16).to_be_bytes());
    packet.extend(body);
    s.write_all(&packet)?;
    s.flush()?;
    Ok(())
}

fn check_flags(flags: DistFlags) -> Result<(), HandshakeError> {
    let missing = flags.missing(DistFlags::MANDATORY);
    if missing.0 != 0 {
        return Err(HandshakeError::MissingFlags(missing));
    }
    Ok(())
}

/// Runs the initiator's side over `stream`, which is connected to the node
/// named `peer`. On success the stream carries distribution frames.
///
/// ```no_run
/// use ember_dist::{epmd::Epmd, handshake, Cookie};
/// use std::net::TcpStream;
/// let port = Epmd::localhost().port_please("erlang").unwrap().unwrap().port;
/// let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
/// let config = handshake::Config::new("ember@localhost", Cookie::new("secret"), handshake::random_creation()).unwrap();
/// let session = handshake::connect(&mut stream, &config, "erlang@localhost").unwrap();
/// assert_eq!(session.peer_name, "erlang@localhost");
/// ```
pub fn connect<S: Read + Write>(stream: &mut S, config: &Config, peer: &str) -> Result<Session, HandshakeError> {
    write_packet(stream, &Message::Name { flags: config.flags, creation: config.creation, name: config.name.clone() })?;
    match Message::parse(&read_packet(stream)?, MessageFrom::Acceptor)? {
        Message::Status(Status::Ok | Status::OkSimultaneous) => {}
        Message::Status(Status::Alive) => {
            // The acceptor still holds a connection from a node of our name.
            // We are connecting, so we hold none to it: tell it to drop the
            // stale one.
            write_packet(stream, &Message::Status(Status::Other("true".into())))?;
        }
        Message::Status(other) => return Err(HandshakeError::Refused(other)),
        _ => return Err(HandshakeError::Malformed("expected a status")),
    }
    let (peer_flags, their_challenge, peer_creation, peer_name) =
        match Message::parse(&read_packet(stream)?, MessageFrom::Acceptor)? {
            Message::Challenge { flags, challenge, creation, name } => (flags, challenge, creation, name),
            _ => return Err(HandshakeError::Malformed("expected a challenge")),
        };
    check_flags(peer_flags)?;
    if peer_name != peer {
        return Err(HandshakeError::WrongPeer { expected: peer.to_owned(), got: peer_name });
    }
    let our_challenge = random_u32();
    write_packet(
        stream,
        &Message::ChallengeReply { challenge: our_challenge, digest: config.cookie.digest(their_challenge) },
    )?;
    let ack = match read_packet(stream) {
        Ok(p) => p,
        Err(HandshakeError::Io(e)) if is_closed(&e) => return Err(HandshakeError::CookieRejected),
        Err(e) => return Err(e),
    };
    match Message::parse(&ack, MessageFrom::Acceptor)? {
        Message::ChallengeAck { digest } if config.cookie.verify(our_challenge, &digest) => {}
        Message::ChallengeAck { .. } => return Err(HandshakeError::BadDigest),
        _ => return Err(HandshakeError::Malformed("expected a challenge ack")),
    }
    Ok(Session::new(config, peer_name, peer_creation, peer_flags))
}

fn is_closed(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe)
}

/// The acceptor's side, after the initiator has said who it is and before
/// anything is decided. The caller looks at [`Pending::peer_name`] (phase 2:
/// against its node table) and calls [`Pending::respond`] or
/// [`Pending::refuse`].
///
/// ```no_run
/// use ember_dist::{handshake::{self, Config, Status}, Cookie};
/// use std::net::TcpListener;
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let (mut stream, _) = listener.accept().unwrap();
/// let config = Config::new("ember@localhost", Cookie::new("secret"), 1).unwrap();
/// let pending = handshake::accept(&mut stream, &config).unwrap();
/// let _ = pending.respond(Status::Ok);
/// ```
#[derive(Debug)]
pub struct Pending<'a, S> {
    stream: &'a mut S,
    config: &'a Config,
    peer_name: String,
    peer_flags: DistFlags,
    peer_creation: u32,
}

/// Runs the acceptor's side up to the initiator's name message.
///
/// ```no_run
/// use ember_dist::{handshake, Cookie};
/// use std::net::TcpListener;
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let (mut stream, _) = listener.accept().unwrap();
/// let config = handshake::Config::new("ember@localhost", Cookie::new("secret"), 1).unwrap();
/// let pending = handshake::accept(&mut stream, &config).unwrap();
/// println!("{} wants to connect", pending.peer_name());
/// let session = pending.respond(handshake::Status::Ok).unwrap();
/// ```
pub fn accept<'a, S: Read + Write>(stream: &'a mut S, config: &'a Config) -> Result<Pending<'a, S>, HandshakeError> {
    let (peer_flags, peer_creation, peer_name) = match Message::parse(&read_packet(stream)?, MessageFrom::Initiator)? {
        Message::Name { flags, creation, name } => (flags, creation, name),
        Message::OldName { .. } => {
            let _ = write_packet(stream, &Message::Status(Status::NotAllowed));
            return Err(HandshakeError::OldProtocol);
        }
        _ => return Err(HandshakeError::Malformed("expected a name")),
    };
    if let Err(e) = check_flags(peer_flags) {
        let _ = write_packet(stream, &Message::Status(Status::NotAllowed));
        return Err(e);
    }
    Ok(Pending { stream, config, peer_name, peer_flags, peer_creation })
}

impl<S: Read + Write> Pending<'_, S> {
    /// The node that wants to connect (not yet authenticated).
    ///
    /// ```no_run
    /// use ember_dist::{handshake::{self, Config, Status}, Cookie};
    /// use std::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let (mut stream, _) = listener.accept().unwrap();
    /// let config = Config::new("ember@localhost", Cookie::new("secret"), 1).unwrap();
    /// let pending = handshake::accept(&mut stream, &config).unwrap();
    /// println!("{}", pending.peer_name());
    /// ```
    pub fn peer_name(&self) -> &str {
        &self.peer_name
    }

    /// The flags it offered.
    ///
    /// ```no_run
    /// use ember_dist::{handshake::{self, Config, Status}, Cookie};
    /// use std::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let (mut stream, _) = listener.accept().unwrap();
    /// let config = Config::new("ember@localhost", Cookie::new("secret"), 1).unwrap();
    /// let pending = handshake::accept(&mut stream, &config).unwrap();
    /// assert!(pending.peer_flags().contains(ember_dist::DistFlags::MANDATORY));
    /// ```
    pub fn peer_flags(&self) -> DistFlags {
        self.peer_flags
    }

    /// Refuses the connection with `status` (`Nok`, `NotAllowed`).
    ///
    /// ```no_run
    /// use ember_dist::{handshake::{self, Config, Status}, Cookie};
    /// use std::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let (mut stream, _) = listener.accept().unwrap();
    /// let config = Config::new("ember@localhost", Cookie::new("secret"), 1).unwrap();
    /// let pending = handshake::accept(&mut stream, &config).unwrap();
    /// pending.refuse(Status::NotAllowed).unwrap();
    /// ```
    pub fn refuse(self, status: Status) -> Result<(), HandshakeError> {
        write_packet(self.stream, &Message::Status(status))
    }

    /// Goes on with `status` (`Ok`, `OkSimultaneous`, or `Alive` when a
    /// connection to the peer is already up: then the peer answers whether it
    /// replaces the old one, and `Refused` comes back if it does not), sends
    /// the challenge and checks the peer's digest before sending ours.
    ///
    /// ```no_run
    /// use ember_dist::{handshake::{self, Config, Status}, Cookie};
    /// use std::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let (mut stream, _) = listener.accept().unwrap();
    /// let config = Config::new("ember@localhost", Cookie::new("secret"), 1).unwrap();
    /// let pending = handshake::accept(&mut stream, &config).unwrap();
    /// let session = pending.respond(Status::Ok).unwrap();
    /// ```
    pub fn respond(self, status: Status) -> Result<Session, HandshakeError> {
        let Pending { stream, config, peer_name, peer_flags, peer_creation } = self;
        write_packet(stream, &Message::Status(status.clone()))?;
        match status {
            Status::Ok | Status::OkSimultaneous => {}
            Status::Alive => match Message::parse(&read_packet(stream)?, MessageFrom::Initiator)? {
                Message::Status(Status::Other(s)) if s == "true" => {}
                Message::Status(s) => return Err(HandshakeError::Refused(s)),
                _ => return Err(HandshakeError::Malformed("expected a status")),
            },
            other => return Err(HandshakeError::Refused(other)),
        }
        let our_challenge = random_u32();
        write_packet(
            stream,
            &Message::Challenge {
                flags: config.flags,
                challenge: our_challenge,
                creation: config.creation,
                name: config.name.clone(),
            },
        )?;
        let (their_challenge, digest) = match Message::parse(&read_packet(stream)?, MessageFrom::Initiator)? {
            Message::ChallengeReply { challenge, digest } => (challenge, digest),
            _ => return Err(HandshakeError::Malformed("expected a challenge reply")),
        };
        if !config.cookie.verify(our_challenge, &digest) {
            // Like the BEAM: close without a word.
            return Err(HandshakeError::BadDigest);
        }
        write_packet(stream, &Message::ChallengeAck { digest: config.cookie.digest(their_challenge) })?;
        Ok(Session::new(config, peer_name, peer_creation, peer_flags))
    }
}
