//! The handshake's messages, as bytes and back. Each one travels in a packet
//! with a 2-byte length; [`Message::parse`] reads one packet's body and is
//! total: every input gives a message or an error (it is fuzzed).

use super::HandshakeError;
use crate::flags::DistFlags;

/// The status the accepting side sends after reading the initiator's name.
///
/// ```
/// use ember_dist::handshake::{Message, MessageFrom, Status};
/// assert_eq!(Message::parse(b"snot_allowed", MessageFrom::Acceptor).unwrap(), Message::Status(Status::NotAllowed));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Go on.
    Ok,
    /// Go on; the acceptor drops its own concurrent attempt.
    OkSimultaneous,
    /// Stop: the acceptor's own concurrent attempt wins.
    Nok,
    /// Stop: not allowed.
    NotAllowed,
    /// A connection to the initiator is already up; the initiator answers
    /// whether to replace it.
    Alive,
    /// Any other status text.
    Other(String),
}

impl Status {
    fn as_str(&self) -> &str {
        match self {
            Status::Ok => "ok",
            Status::OkSimultaneous => "ok_simultaneous",
            Status::Nok => "nok",
            Status::NotAllowed => "not_allowed",
            Status::Alive => "alive",
            Status::Other(s) => s,
        }
    }

    fn from_bytes(b: &[u8]) -> Status {
        match b {
            b"ok" => Status::Ok,
            b"ok_simultaneous" => Status::OkSimultaneous,
            b"nok" => Status::Nok,
            b"not_allowed" => Status::NotAllowed,
            b"alive" => Status::Alive,
            other => Status::Other(String::from_utf8_lossy(other).into_owned()),
        }
    }
}

/// One handshake message.
///
/// ```
/// use ember_dist::handshake::{Message, MessageFrom};
/// let reply = Message::ChallengeReply { challenge: 7, digest: [0; 16] };
/// assert_eq!(Message::parse(&reply.encode(), MessageFrom::Initiator).unwrap(), reply);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// `'N'`: the initiator's name, flags and creation (version 6).
    Name {
        /// Capability flags.
        flags: DistFlags,
        /// The sender's creation.
        creation: u32,
        /// The sender's full node name.
        name: String,
    },
    /// `'n'`: the version 5 name message (OTP 23/24 without EPMD). Parsed so
    /// it can be refused clearly.
    OldName {
        /// The version field.
        version: u16,
        /// The low 32 flag bits.
        flags: DistFlags,
        /// The node name.
        name: String,
    },
    /// `'s'`: a status.
    Status(Status),
    /// `'N'` from the acceptor: its flags, challenge, creation and name.
    Challenge {
        /// Capability flags.
        flags: DistFlags,
        /// The acceptor's challenge.
        challenge: u32,
        /// The acceptor's creation.
        creation: u32,
        /// The acceptor's full node name.
        name: String,
    },
    /// `'r'`: the initiator's challenge and its answer to the acceptor's.
    ChallengeReply {
        /// The initiator's challenge.
        challenge: u32,
        /// MD5(cookie ++ acceptor's challenge).
        digest: [u8; 16],
    },
    /// `'a'`: the acceptor's answer to the initiator's challenge.
    ChallengeAck {
        /// MD5(cookie ++ initiator's challenge).
        digest: [u8; 16],
    },
}

/// Which side sent the message: the `'N'` tag means a name from the
/// initiator and a challenge from the acceptor.
///
/// ```
/// use ember_dist::handshake::{Message, MessageFrom};
/// // 'r' comes only from the initiator.
/// assert!(Message::parse(&[b'r'; 21], MessageFrom::Acceptor).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// The side that connected.
    Initiator,
    /// The side that accepted.
    Acceptor,
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HandshakeError> {
        if n > self.0.len() {
            return Err(HandshakeError::Malformed("handshake message truncated"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, HandshakeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, HandshakeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, HandshakeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn name(&mut self, len: usize) -> Result<String, HandshakeError> {
        let b = self.take(len)?;
        let s = std::str::from_utf8(b).map_err(|_| HandshakeError::Malformed("node name is not UTF-8"))?;
        if !super::valid_node_name(s) {
            return Err(HandshakeError::Malformed("node name is not name@host"));
        }
        Ok(s.to_owned())
    }
}

impl Message {
    /// Parses one packet body sent by `from`.
    ///
    /// ```
    /// use ember_dist::handshake::{Message, MessageFrom, Status};
    /// assert_eq!(Message::parse(b"sok", MessageFrom::Acceptor).unwrap(), Message::Status(Status::Ok));
    /// assert!(Message::parse(b"", MessageFrom::Acceptor).is_err());
    /// assert!(Message::parse(b"N\0", MessageFrom::Initiator).is_err());
    /// ```
    pub fn parse(body: &[u8], from: From) -> Result<Message, HandshakeError> {
        let (&tag, rest) = body.split_first().ok_or(HandshakeError::Malformed("empty handshake message"))?;
        let mut c = Cursor(rest);
        // Extra bytes after the documented fields must be accepted and
        // ignored (the protocol says so), so no message checks for them.
        Ok(match (tag, from) {
            (b'N', From::Initiator) => {
                let flags = DistFlags(c.u64()?);
                let creation = c.u32()?;
                let len = usize::from(c.u16()?);
                Message::Name { flags, creation, name: c.name(len)? }
            }
            (b'N', From::Acceptor) => {
                let flags = DistFlags(c.u64()?);
                let challenge = c.u32()?;
                let creation = c.u32()?;
                let len = usize::from(c.u16()?);
                Message::Challenge { flags, challenge, creation, name: c.name(len)? }
            }
            (b'n', _) => {
                let version = c.u16()?;
                let flags = DistFlags(u64::from(c.u32()?));
                let name = String::from_utf8_lossy(c.0).into_owned();
                Message::OldName { version, flags, name }
            }
            (b's', _) => Message::Status(Status::from_bytes(c.0)),
            (b'r', From::Initiator) => {
                let challenge = c.u32()?;
                let mut digest = [0u8; 16];
                digest.copy_from_slice(c.take(16)?);
                Message::ChallengeReply { challenge, digest }
            }
            (b'a', From::Acceptor) => {
                let mut digest = [0u8; 16];
                digest.copy_from_slice(c.take(16)?);
                Message::ChallengeAck { digest }
            }
            _ => return Err(HandshakeError::Malformed("unexpected handshake message tag")),
        })
    }

    /// The packet body of this message.
    ///
    /// ```
    /// use ember_dist::handshake::{Message, MessageFrom};
    /// let m = Message::ChallengeAck { digest: [7; 16] };
    /// assert_eq!(Message::parse(&m.encode(), MessageFrom::Acceptor).unwrap(), m);
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Message::Name { flags, creation, name } => {
                out.push(b'N');
                out.extend(flags.0.to_be_bytes());
                out.extend(creation.to_be_bytes());
                out.extend((name.len() as u16).to_be_bytes());
                out.extend(name.as_bytes());
            }
            Message::OldName { version, flags, name } => {
                out.push(b'n');
                out.extend(version.to_be_bytes());
                out.extend((flags.0 as u32).to_be_bytes());
                out.extend(name.as_bytes());
            }
            Message::Status(s) => {
                out.push(b's');
                out.extend(s.as_str().as_bytes());
            }
            Message::Challenge { flags, challenge, creation, name } => {
                out.push(b'N');
                out.extend(flags.0.to_be_bytes());
                out.extend(challenge.to_be_bytes());
                out.extend(creation.to_be_bytes());
                out.extend((name.len() as u16).to_be_bytes());
                out.extend(name.as_bytes());
            }
            Message::ChallengeReply { challenge, digest } => {
                out.push(b'r');
                out.extend(challenge.to_be_bytes());
                out.extend(digest);
            }
            Message::ChallengeAck { digest } => {
                out.push(b'a');
                out.extend(digest);
            }
        }
        out
    }
}
