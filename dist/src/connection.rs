//! A connection after the handshake: frames, ticks, distribution headers,
//! the atom cache, fragments.
//!
//! # Frames
//!
//! Every frame is `Length:32, Data`. A frame of length 0 is a *tick*: each
//! side sends one when it has sent nothing else for a quarter of the tick
//! time, and a side that hears nothing for the whole tick time declares the
//! connection dead. [`Reader::read`] reports ticks; [`Writer::tick`] sends
//! one; when to tick is the owner's policy ([`TickTimer`] helps).
//!
//! # Messages
//!
//! When `DIST_HDR_ATOM_CACHE` is negotiated a message is
//! `131, 68, Header, Control, Payload?` with the terms bare (no version
//! byte); the header adds atoms to the connection's atom cache (2048 slots)
//! and lists the atoms that `ATOM_CACHE_REF` tags in the terms refer to.
//! Otherwise it is `112 ('p'), 131 Control, 131 Payload?`. The reader
//! accepts both; the writer sends the first when negotiated (with an empty
//! header: it does not fill the peer's cache).
//!
//! # Fragments
//!
//! With `FRAGMENTS`, a message may come as a start fragment
//! `131, 69, SequenceId:64, FragmentId:64, Header, ...` and continuations
//! `131, 70, SequenceId:64, FragmentId:64, ...`, the fragment id counting
//! down to 1. The reader reassembles, within [`Limits::max_message`] bytes
//! across all open sequences and [`Limits::max_sequences`] open at once; the
//! writer fragments messages longer than [`Limits::fragment_size`].
//!
//! The reader and the writer are separate so a connection process can block
//! reading while others write: split a `TcpStream` with `try_clone`.

use crate::control::{self, Control};
use crate::etf::{self, DecodeError, DecodeLimits, Decoder, EncodeError};
use crate::flags::DistFlags;
use crate::handshake::Session;
use crate::term::{Atom, Term};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// Bounds on what a peer can make the reader hold, and the writer's fragment
/// size.
///
/// ```
/// let limits = ember_dist::connection::Limits { max_frame: 1 << 20, ..Default::default() };
/// assert_eq!(limits.max_frame, 1 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest frame accepted, in bytes (default 64 MiB). A longer length
    /// prefix is an error before anything is allocated.
    pub max_frame: usize,
    /// Most bytes buffered for fragmented messages not yet complete, over all
    /// sequences (default 64 MiB).
    pub max_message: usize,
    /// Most fragmented messages open at once (default 256).
    pub max_sequences: usize,
    /// Messages longer than this are sent in fragments of this size (default
    /// 64 KiB), when the peer accepts fragments.
    pub fragment_size: usize,
    /// Bounds for decoding the terms.
    pub decode: DecodeLimits,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame: 64 << 20,
            max_message: 64 << 20,
            max_sequences: 256,
            fragment_size: 64 << 10,
            decode: DecodeLimits::default(),
        }
    }
}

/// What [`Reader::read`] got.
///
/// ```
/// use ember_dist::connection::{Incoming, Limits, Reader};
/// let mut r = Reader::new(&[0u8, 0, 0, 0][..], Limits::default());
/// assert!(matches!(r.read(), Ok(Incoming::Tick)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// An empty frame: the peer is alive.
    Tick,
    /// A whole control message.
    Message(Control),
}

/// Why a connection failed. The connection is unusable after any of these:
/// the owner closes it and reports the error.
///
/// ```
/// use ember_dist::connection::{ConnectionError, Limits, Reader};
/// // A 4 GiB frame length is refused before anything is allocated.
/// let mut r = Reader::new(&[255u8, 255, 255, 255][..], Limits::default());
/// assert!(matches!(r.read(), Err(ConnectionError::FrameTooLarge { .. })));
/// ```
#[derive(Debug)]
pub enum ConnectionError {
    /// A socket error, including the peer closing.
    Io(io::Error),
    /// A frame length over [`Limits::max_frame`].
    FrameTooLarge {
        /// The length the peer announced.
        len: u64,
        /// The bound.
        limit: usize,
    },
    /// A frame that is not a distribution message.
    BadFrame(&'static str),
    /// A fragment out of sequence, or over the fragment bounds.
    BadFragment(&'static str),
    /// A term that did not decode.
    Decode(DecodeError),
    /// A control tuple of the wrong shape.
    Control(control::BadControl),
    /// A term that cannot be encoded.
    Encode(EncodeError),
}

impl From<io::Error> for ConnectionError {
    fn from(e: io::Error) -> ConnectionError {
        ConnectionError::Io(e)
    }
}

impl From<DecodeError> for ConnectionError {
    fn from(e: DecodeError) -> ConnectionError {
        ConnectionError::Decode(e)
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Io(e) => write!(f, "connection I/O: {e}"),
            ConnectionError::FrameTooLarge { len, limit } => {
                write!(f, "frame of {len} bytes is over the limit of {limit}")
            }
            ConnectionError::BadFrame(w) => write!(f, "bad frame: {w}"),
            ConnectionError::BadFragment(w) => write!(f, "bad fragment: {w}"),
            ConnectionError::Decode(e) => write!(f, "bad term: {e}"),
            ConnectionError::Control(e) => e.fmt(f),
            ConnectionError::Encode(e) => write!(f, "cannot encode: {e}"),
        }
    }
}

impl std::error::Error for ConnectionError {}

const PASS_THROUGH: u8 = 112;
const DIST_HEADER: u8 = 68;
const DIST_FRAG_HEADER: u8 = 69;
const DIST_FRAG_CONT: u8 = 70;
const CACHE_SIZE: usize = 2048;

struct Partial {
    atoms: Vec<Atom>,
    data: Vec<u8>,
    next: u64,
}

/// The receiving half of a connection.
///
/// ```
/// use ember_dist::connection::{Limits, Reader};
/// use std::net::TcpStream;
/// fn reader_for(stream: &TcpStream) -> std::io::Result<Reader<TcpStream>> {
///     Ok(Reader::new(stream.try_clone()?, Limits::default()))
/// }
/// ```
pub struct Reader<R> {
    inner: R,
    limits: Limits,
    cache: Vec<Option<Atom>>,
    frame: Vec<u8>,
    partial: HashMap<u64, Partial>,
    buffered: usize,
}

impl<R: Read> Reader<R> {
    /// The reading half of a connection, over `inner`. It reads each
    /// frame's length and body with separate reads, so give it a buffered
    /// stream (`BufReader<TcpStream>`) rather than a bare socket.
    ///
    /// ```
    /// use ember_dist::connection::{Limits, Reader};
    /// let reader = Reader::new(&[0u8, 0, 0, 0][..], Limits::default());
    /// # let _ = reader;
    /// ```
    pub fn new(inner: R, limits: Limits) -> Reader<R> {
        Reader { inner, limits, cache: Vec::new(), frame: Vec::new(), partial: HashMap::new(), buffered: 0 }
    }

    /// Reads frames until a tick or a whole message. A fragment that does not
    /// complete a message is kept and the next frame read.
    ///
    /// ```
    /// use ember_dist::connection::{Incoming, Limits, Reader};
    /// let mut reader = Reader::new(&[0u8, 0, 0, 0][..], Limits::default());
    /// assert_eq!(reader.read().unwrap(), Incoming::Tick);
    /// assert!(reader.read().is_err()); // end of stream
    /// ```
    pub fn read(&mut self) -> Result<Incoming, ConnectionError> {
        loop {
            let mut len = [0u8; 4];
            self.inner.read_exact(&mut len)?;
            let len = u32::from_be_bytes(len) as usize;
            if len == 0 {
                return Ok(Incoming::Tick);
            }
            if len > self.limits.max_frame {
                return Err(ConnectionError::FrameTooLarge { len: len as u64, limit: self.limits.max_frame });
            }
            self.frame.clear();
            // Grows with the bytes that really arrive, not with the length.
            let got = (&mut self.inner).take(len as u64).read_to_end(&mut self.frame)?;
            if got != len {
                return Err(ConnectionError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            let frame = std::mem::take(&mut self.frame);
            let result = self.frame_message(&frame);
            self.frame = frame;
            if let Some(control) = result? {
                return Ok(Incoming::Message(control));
            }
        }
    }

    fn frame_message(&mut self, frame: &[u8]) -> Result<Option<Control>, ConnectionError> {
        match frame {
            [PASS_THROUGH, rest @ ..] => {
                let mut d = Decoder::new(rest, &self.limits.decode);
                d.set_base_offset(1);
                let control = versioned(&mut d)?;
                let payload = if d.remaining() > 0 { Some(versioned(&mut d)?) } else { None };
                d.finish()?;
                Ok(Some(self.control(control, payload)?))
            }
            [etf::VERSION, DIST_HEADER, rest @ ..] => {
                let (atoms, body) = self.header(rest, 2)?;
                Ok(Some(self.body(body, &atoms, frame.len() - body.len())?))
            }
            [etf::VERSION, DIST_FRAG_HEADER, rest @ ..] => {
                let (seq, id, rest) = fragment_ids(rest)?;
                let (atoms, body) = self.header(rest, 18)?;
                if id == 0 {
                    return Err(ConnectionError::BadFragment("fragment id 0"));
                }
                if id == 1 {
                    return Ok(Some(self.body(body, &atoms, frame.len() - body.len())?));
                }
                if self.partial.contains_key(&seq) {
                    return Err(ConnectionError::BadFragment("sequence started twice"));
                }
                if self.partial.len() >= self.limits.max_sequences {
                    return Err(ConnectionError::BadFragment("too many fragmented messages at once"));
                }
                self.buffer(body.len())?;
                self.partial.insert(seq, Partial { atoms, data: body.to_vec(), next: id - 1 });
                Ok(None)
            }
            [etf::VERSION, DIST_FRAG_CONT, rest @ ..] => {
                let (seq, id, chunk) = fragment_ids(rest)?;
                let next = match self.partial.get(&seq) {
                    Some(p) => p.next,
                    None => return Err(ConnectionError::BadFragment("continuation of no sequence")),
                };
                if id != next {
                    return Err(ConnectionError::BadFragment("fragment out of order"));
                }
                self.buffer(chunk.len())?;
                let p = self.partial.get_mut(&seq).expect("checked above");
                p.data.extend_from_slice(chunk);
                p.next -= 1;
                if id > 1 {
                    return Ok(None);
                }
                let p = self.partial.remove(&seq).expect("checked above");
                self.buffered -= p.data.len();
                Ok(Some(self.body(&p.data, &p.atoms, 0)?))
            }
            _ => Err(ConnectionError::BadFrame("neither a distribution header nor pass-through")),
        }
    }

    fn buffer(&mut self, n: usize) -> Result<(), ConnectionError> {
        if self.buffered + n > self.limits.max_message {
            return Err(ConnectionError::BadFragment("fragmented messages over the size limit"));
        }
        self.buffered += n;
        Ok(())
    }

    /// Parses a distribution header's atom cache part: updates the cache,
    /// returns the atoms the terms refer to and the bytes after the header.
    fn header<'f>(&mut self, h: &'f [u8], base: usize) -> Result<(Vec<Atom>, &'f [u8]), ConnectionError> {
        let bad = ConnectionError::BadFrame("truncated distribution header");
        let (&n, mut rest) = h.split_first().ok_or(ConnectionError::BadFrame("truncated distribution header"))?;
        let n = usize::from(n);
        if n == 0 {
            return Ok((Vec::new(), rest));
        }
        let flag_bytes = n / 2 + 1;
        if rest.len() < flag_bytes {
            return Err(bad);
        }
        let (flags, after) = rest.split_at(flag_bytes);
        rest = after;
        let nibble = |i: usize| if i % 2 == 0 { flags[i / 2] & 0x0f } else { flags[i / 2] >> 4 };
        let long_atoms = nibble(n) & 1 == 1;
        if self.cache.is_empty() {
            self.cache = vec![None; CACHE_SIZE];
        }
        let mut atoms = Vec::with_capacity(n);
        for i in 0..n {
            let f = nibble(i);
            let (&internal, after) = rest.split_first().ok_or(ConnectionError::BadFrame("truncated atom cache ref"))?;
            rest = after;
            let slot = usize::from(f & 7) * 256 + usize::from(internal);
            if f & 8 != 0 {
                let (len, after) = if long_atoms {
                    match rest {
                        [a, b, after @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), after),
                        _ => return Err(ConnectionError::BadFrame("truncated atom cache entry")),
                    }
                } else {
                    match rest {
                        [a, after @ ..] => (usize::from(*a), after),
                        _ => return Err(ConnectionError::BadFrame("truncated atom cache entry")),
                    }
                };
                if after.len() < len {
                    return Err(ConnectionError::BadFrame("truncated atom cache entry"));
                }
                let (text, after) = after.split_at(len);
                rest = after;
                let text = std::str::from_utf8(text).map_err(|_| {
                    ConnectionError::Decode(DecodeError::Invalid { what: "cached atom is not UTF-8", offset: base })
                })?;
                if text.chars().count() > Atom::MAX_CHARS {
                    return Err(ConnectionError::BadFrame("cached atom over 255 characters"));
                }
                self.cache[slot] = Some(Atom::new(text));
            }
            match &self.cache[slot] {
                Some(a) => atoms.push(a.clone()),
                None => return Err(ConnectionError::BadFrame("reference to an empty atom cache slot")),
            }
        }
        Ok((atoms, rest))
    }

    fn body(&self, body: &[u8], atoms: &[Atom], base: usize) -> Result<Control, ConnectionError> {
        let mut d = Decoder::new(body, &self.limits.decode).with_atom_refs(atoms);
        d.set_base_offset(base);
        let control = d.term()?;
        let payload = if d.remaining() > 0 { Some(d.term()?) } else { None };
        d.finish()?;
        self.control(control, payload)
    }

    fn control(&self, control: Term, payload: Option<Term>) -> Result<Control, ConnectionError> {
        Control::from_wire(control, payload).map_err(ConnectionError::Control)
    }
}

fn versioned(d: &mut Decoder<'_>) -> Result<Term, ConnectionError> {
    let rest = d.rest();
    if rest.first() != Some(&etf::VERSION) {
        return Err(ConnectionError::BadFrame("pass-through term without version byte"));
    }
    d.skip(1);
    Ok(d.term()?)
}

fn fragment_ids(b: &[u8]) -> Result<(u64, u64, &[u8]), ConnectionError> {
    if b.len() < 16 {
        return Err(ConnectionError::BadFragment("truncated fragment header"));
    }
    let mut seq = [0u8; 8];
    let mut id = [0u8; 8];
    seq.copy_from_slice(&b[..8]);
    id.copy_from_slice(&b[8..16]);
    Ok((u64::from_be_bytes(seq), u64::from_be_bytes(id), &b[16..]))
}

/// The sending half of a connection.
///
/// ```
/// use ember_dist::connection::{Limits, Writer};
/// # let session = ember_dist::handshake::Session {
/// #     local_name: "a@h".into(), local_creation: 1, peer_name: "b@h".into(),
/// #     peer_creation: 2, peer_flags: ember_dist::DistFlags::DEFAULT, flags: ember_dist::DistFlags::DEFAULT };
/// let w = Writer::new(Vec::new(), &session, &Limits::default());
/// assert!(w.get_ref().is_empty());
/// ```
pub struct Writer<W> {
    inner: W,
    flags: DistFlags,
    fragment_size: usize,
    next_sequence: u64,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// The writing half of the connection that `session` describes.
    ///
    /// ```
    /// use ember_dist::connection::{Limits, Writer};
    /// # let session = ember_dist::handshake::Session {
    /// #     local_name: "a@h".into(), local_creation: 1, peer_name: "b@h".into(),
    /// #     peer_creation: 1, peer_flags: ember_dist::DistFlags::DEFAULT, flags: ember_dist::DistFlags::DEFAULT };
    /// let mut writer = Writer::new(Vec::new(), &session, &Limits::default());
    /// writer.tick().unwrap();
    /// assert_eq!(writer.get_ref(), &[0, 0, 0, 0]);
    /// ```
    pub fn new(inner: W, session: &Session, limits: &Limits) -> Writer<W> {
        Writer {
            inner,
            flags: session.flags,
            fragment_size: limits.fragment_size.max(1024),
            next_sequence: 1,
            buf: Vec::new(),
        }
    }

    /// The stream written to.
    ///
    /// ```
    /// use ember_dist::connection::{Limits, Writer};
    /// # let session = ember_dist::handshake::Session {
    /// #     local_name: "a@h".into(), local_creation: 1, peer_name: "b@h".into(),
    /// #     peer_creation: 2, peer_flags: ember_dist::DistFlags::DEFAULT, flags: ember_dist::DistFlags::DEFAULT };
    /// assert!(Writer::new(Vec::new(), &session, &Limits::default()).get_ref().is_empty());
    /// ```
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The stream written to, to take what was written (a writer over a
    /// `Vec<u8>` encodes frames for the caller to send).
    ///
    /// ```
    /// use ember_dist::connection::{Limits, Writer};
    /// # let session = ember_dist::handshake::Session {
    /// #     local_name: "a@h".into(), local_creation: 1, peer_name: "b@h".into(),
    /// #     peer_creation: 2, peer_flags: ember_dist::DistFlags::DEFAULT, flags: ember_dist::DistFlags::DEFAULT };
    /// let mut w = Writer::new(Vec::new(), &session, &Limits::default());
    /// w.tick().unwrap();
    /// assert_eq!(std::mem::take(w.get_mut()), vec![0, 0, 0, 0]);
    /// ```
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Sends a tick (an empty frame).
    ///
    /// ```
    /// use ember_dist::connection::{Limits, Writer};
    /// # let session = ember_dist::handshake::Session {
    /// #     local_name: "a@h".into(), local_creation: 1, peer_name: "b@h".into(),
    /// #     peer_creation: 2, peer_flags: ember_dist::DistFlags::DEFAULT, flags: ember_dist::DistFlags::DEFAULT };
    /// let mut w = Writer::new(Vec::new(), &session, &Limits::default());
    /// w.tick().unwrap();
    /// assert_eq!(w.get_ref(), &[0, 0, 0, 0]);
    /// ```
    pub fn tick(&mut self) -> Result<(), ConnectionError> {
        self.inner.write_all(&[0; 4])?;
        self.inner.flush()?;
        Ok(())
    }

    /// Sends one control message, in fragments when it is long and the peer
    /// accepts them, and flushes: each frame is one `write_all`. Nothing is
    /// written if the message does not encode.
    ///
    /// ```
    /// use ember_dist::connection::{Incoming, Limits, Reader, Writer};
    /// use ember_dist::{control::Control, Atom, Pid, Term};
    /// # let session = ember_dist::handshake::Session {
    /// #     local_name: "a@h".into(), local_creation: 1, peer_name: "b@h".into(),
    /// #     peer_creation: 2, peer_flags: ember_dist::DistFlags::DEFAULT, flags: ember_dist::DistFlags::DEFAULT };
    /// let to = Pid { node: Atom::new("b@h"), id: 1, serial: 0, creation: 2 };
    /// let msg = Control::Send { from: None, to, message: Term::atom("hi") };
    /// let mut w = Writer::new(Vec::new(), &session, &Limits::default());
    /// w.send(&msg).unwrap();
    /// let mut r = Reader::new(&w.get_ref()[..], Limits::default());
    /// assert_eq!(r.read().unwrap(), Incoming::Message(msg));
    /// ```
    pub fn send(&mut self, message: &Control) -> Result<(), ConnectionError> {
        let (control, payload) = message.to_wire(self.flags);
        let headers = self.flags.contains(DistFlags::DIST_HDR_ATOM_CACHE);
        let mut body = std::mem::take(&mut self.buf);
        body.clear();
        let encoded = (|| {
            if headers {
                etf::encode_bare_into(&control, &mut body)?;
                let control_len = body.len();
                if let Some(p) = &payload {
                    etf::encode_bare_into(p, &mut body)?;
                }
                Ok(control_len)
            } else {
                body.push(etf::VERSION);
                etf::encode_bare_into(&control, &mut body)?;
                if let Some(p) = &payload {
                    body.push(etf::VERSION);
                    etf::encode_bare_into(p, &mut body)?;
                }
                Ok(0)
            }
        })();
        let result = match encoded {
            Err(e) => Err(ConnectionError::Encode(e)),
            Ok(_) if !headers => self.frame(&[PASS_THROUGH], &body),
            Ok(control_len) => {
                if self.flags.contains(DistFlags::FRAGMENTS) && body.len() > self.fragment_size {
                    self.fragments(&body, control_len)
                } else {
                    self.frame(&[etf::VERSION, DIST_HEADER, 0], &body)
                }
            }
        };
        self.buf = body;
        result?;
        self.inner.flush()?;
        Ok(())
    }

    fn frame(&mut self, head: &[u8], body: &[u8]) -> Result<(), ConnectionError> {
        let len = u32::try_from(head.len() + body.len())
            .map_err(|_| ConnectionError::Encode(EncodeError::TooLarge("message")))?;
        let mut f = Vec::with_capacity(4 + head.len() + body.len());
        f.extend(len.to_be_bytes());
        f.extend(head);
        f.extend(body);
        self.inner.write_all(&f)?;
        Ok(())
    }

    /// The control message must be whole in the first fragment; the payload
    /// is cut into `fragment_size` pieces.
    fn fragments(&mut self, body: &[u8], control_len: usize) -> Result<(), ConnectionError> {
        let first_len = control_len.max(self.fragment_size).min(body.len());
        let rest = &body[first_len..];
        let count = 1 + rest.len().div_ceil(self.fragment_size) as u64;
        let seq = self.next_sequence;
        self.next_sequence += 1;
        let mut head = vec![etf::VERSION, DIST_FRAG_HEADER];
        head.extend(seq.to_be_bytes());
        head.extend(count.to_be_bytes());
        head.push(0); // no atom cache refs
        self.frame(&head, &body[..first_len])?;
        for (i, chunk) in rest.chunks(self.fragment_size).enumerate() {
            let mut head = vec![etf::VERSION, DIST_FRAG_CONT];
            head.extend(seq.to_be_bytes());
            head.extend((count - 1 - i as u64).to_be_bytes());
            self.frame(&head, chunk)?;
        }
        Ok(())
    }
}

/// When to tick and when to give up on a silent peer, for a tick time
/// (`net_ticktime`, 60 s by default in OTP): tick after a quarter of it
/// without sending, declare the peer dead after all of it without hearing.
///
/// ```
/// use ember_dist::connection::TickTimer;
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let mut t = TickTimer::new(Duration::from_secs(60), start);
/// assert!(!t.should_tick(start + Duration::from_secs(10)));
/// assert!(t.should_tick(start + Duration::from_secs(15)));
/// assert!(!t.peer_silent(start + Duration::from_secs(59)));
/// t.heard(start + Duration::from_secs(30));
/// assert!(!t.peer_silent(start + Duration::from_secs(80)));
/// assert!(t.peer_silent(start + Duration::from_secs(90)));
/// ```
#[derive(Clone, Debug)]
pub struct TickTimer {
    ticktime: Duration,
    last_sent: Instant,
    last_heard: Instant,
}

impl TickTimer {
    /// A timer for `ticktime`, with everything last seen at `now`.
    ///
    /// ```
    /// use ember_dist::connection::TickTimer;
    /// use std::time::{Duration, Instant};
    /// let now = Instant::now();
    /// let mut t = TickTimer::new(Duration::from_secs(60), now);
    /// assert!(!t.should_tick(now));
    /// ```
    pub fn new(ticktime: Duration, now: Instant) -> TickTimer {
        TickTimer { ticktime, last_sent: now, last_heard: now }
    }

    /// Records that we sent something (a message or a tick) at `now`.
    ///
    /// ```
    /// use ember_dist::connection::TickTimer;
    /// use std::time::{Duration, Instant};
    /// let now = Instant::now();
    /// let mut t = TickTimer::new(Duration::from_secs(60), now);
    /// t.sent(now + Duration::from_secs(14));
    /// assert!(!t.should_tick(now + Duration::from_secs(20)));
    /// ```
    pub fn sent(&mut self, now: Instant) {
        self.last_sent = now;
    }

    /// Records that the peer sent something at `now`.
    ///
    /// ```
    /// use ember_dist::connection::TickTimer;
    /// use std::time::{Duration, Instant};
    /// let now = Instant::now();
    /// let mut t = TickTimer::new(Duration::from_secs(60), now);
    /// t.heard(now + Duration::from_secs(50));
    /// assert!(!t.peer_silent(now + Duration::from_secs(100)));
    /// ```
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// Whether a tick is due: nothing sent for a quarter of the tick time.
    ///
    /// ```
    /// use ember_dist::connection::TickTimer;
    /// use std::time::{Duration, Instant};
    /// let now = Instant::now();
    /// let mut t = TickTimer::new(Duration::from_secs(60), now);
    /// assert!(t.should_tick(now + Duration::from_secs(15)));
    /// ```
    pub fn should_tick(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_sent) >= self.ticktime / 4
    }

    /// Whether the peer has been silent for the whole tick time.
    ///
    /// ```
    /// use ember_dist::connection::TickTimer;
    /// use std::time::{Duration, Instant};
    /// let now = Instant::now();
    /// let mut t = TickTimer::new(Duration::from_secs(60), now);
    /// assert!(t.peer_silent(now + Duration::from_secs(60)));
    /// ```
    pub fn peer_silent(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_heard) >= self.ticktime
    }
}
