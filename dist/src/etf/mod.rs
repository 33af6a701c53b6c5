//! The external term format: [`Term`]s to bytes and back.
//!
//! A term on its own (`term_to_binary/1`) starts with the version byte 131;
//! [`encode`] and [`decode`] write and read that form, and [`decode`] also
//! reads compressed terms (`131, 80, Size, zlib...`). Inside a distribution
//! message the terms follow a distribution header and have no version byte:
//! [`encode_bare`] and [`Decoder`] are that form, and the decoder resolves
//! atom cache references against the header's atoms.
//!
//! # Hostile input
//!
//! Decoding never panics and never allocates from an unchecked length:
//!
//! * every length is checked against the bytes actually left before anything
//!   is reserved (an element takes at least one byte, so a count can never
//!   exceed what remains);
//! * nesting is bounded by [`DecodeLimits::max_depth`], so a deep term cannot
//!   overflow the stack of the decoding thread or process;
//! * the number of terms and of atoms in one value, the size of a bignum and
//!   the inflated size of a compressed term each have a bound;
//! * duplicate map keys, non-finite floats, over-long atoms, invalid UTF-8,
//!   unknown tags and trailing bytes are errors, as in `binary_to_term/1`.
//!
//! So the memory a decoded term takes is at most about
//! `max_terms × size_of::<Term>()` plus the input's own size.

mod decode;
mod encode;
pub(crate) mod tag;

pub use decode::Decoder;
pub use encode::{encode, encode_bare, encode_bare_into};

use crate::term::Term;
use std::fmt;

/// The version byte that starts a term in the external format.
pub const VERSION: u8 = 131;

/// Bounds the decoder holds a peer's bytes to. The defaults suit a
/// distribution connection; every bound is an error value when exceeded.
///
/// ```
/// use ember_dist::{etf, Term};
/// let limits = etf::DecodeLimits { max_depth: 1, ..Default::default() };
/// let nested = etf::encode(&Term::tuple(vec![Term::tuple(vec![Term::tuple(vec![])])])).unwrap(); // {{{}}}
/// assert!(matches!(etf::decode_with(&nested, &limits), Err(etf::DecodeError::TooDeep { limit: 1 })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Deepest nesting of tuples, lists, maps and funs (default 128). The
    /// decoder recurses: at this bound it takes up to ~128 KiB of stack in a
    /// release build, so decode on a thread or process with at least 256 KiB
    /// (or lower the bound).
    pub max_depth: usize,
    /// Most terms in one value, counting every element (default 4 Mi).
    pub max_terms: usize,
    /// Most atoms in one value (default 1 Mi).
    pub max_atoms: usize,
    /// Largest bignum, in bytes of magnitude (default 64 KiB).
    pub max_bignum_bytes: usize,
    /// Largest inflated size of a compressed term (default 64 MiB).
    pub max_uncompressed: usize,
}

impl Default for DecodeLimits {
    fn default() -> DecodeLimits {
        DecodeLimits {
            max_depth: 128,
            max_terms: 4 << 20,
            max_atoms: 1 << 20,
            max_bignum_bytes: 64 << 10,
            max_uncompressed: 64 << 20,
        }
    }
}

/// Why bytes did not decode to a term.
///
/// ```
/// use ember_dist::etf::{decode, DecodeError};
/// assert_eq!(decode(&[131, 104, 2]), Err(DecodeError::Truncated { offset: 3 }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended inside a term, at this offset.
    Truncated {
        /// Where more bytes were needed.
        offset: usize,
    },
    /// The first byte is not the version byte 131.
    BadVersion(u8),
    /// A tag the external format does not define, or one that cannot occur
    /// here (`LOCAL_EXT`, the pre-OTP-23 `FUN_EXT`, a nested header).
    UnknownTag {
        /// The tag byte.
        tag: u8,
        /// Its offset.
        offset: usize,
    },
    /// Nesting deeper than [`DecodeLimits::max_depth`].
    TooDeep {
        /// The bound.
        limit: usize,
    },
    /// A count or size above its bound ([`DecodeLimits`] or a fixed limit of
    /// the format).
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The size the input asked for.
        size: u64,
        /// The bound.
        limit: u64,
    },
    /// The bytes break a rule of the format.
    Invalid {
        /// What was wrong.
        what: &'static str,
        /// Where.
        offset: usize,
    },
    /// A whole term was read but bytes remain.
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { offset } => write!(f, "term truncated at byte {offset}"),
            DecodeError::BadVersion(v) => write!(f, "not the external term format (version byte {v}, expected 131)"),
            DecodeError::UnknownTag { tag, offset } => write!(f, "unknown or unsupported tag {tag} at byte {offset}"),
            DecodeError::TooDeep { limit } => write!(f, "term nested deeper than {limit}"),
            DecodeError::TooLarge { what, size, limit } => write!(f, "{what} of {size} is over the limit of {limit}"),
            DecodeError::Invalid { what, offset } => write!(f, "invalid term at byte {offset}: {what}"),
            DecodeError::TrailingBytes { offset } => write!(f, "bytes left after the term, from byte {offset}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a term cannot be encoded.
///
/// ```
/// use ember_dist::{etf, Term};
/// assert_eq!(etf::encode(&Term::Float(f64::NAN)), Err(etf::EncodeError::NonFiniteFloat));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// An atom longer than 255 characters.
    AtomTooLong(usize),
    /// NaN or an infinity: the format has no such float.
    NonFiniteFloat,
    /// A list, tuple, map, binary or bignum with more than 2³² − 1 elements
    /// or bytes, or a reference with more than 5 id words.
    TooLarge(&'static str),
    /// Nesting deeper than [`MAX_ENCODE_DEPTH`].
    TooDeep,
}

/// The deepest term [`encode`] writes (it recurses; this keeps it within a
/// process stack; a release build needs ~64 KiB at this depth). Twice the
/// decoder's default bound, so anything decoded can be sent on.
pub const MAX_ENCODE_DEPTH: usize = 256;

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::AtomTooLong(n) => write!(f, "atom of {n} characters (at most 255)"),
            EncodeError::NonFiniteFloat => f.write_str("NaN or infinite float (the external format has none)"),
            EncodeError::TooLarge(what) => write!(f, "{what} too large for the external format"),
            EncodeError::TooDeep => write!(f, "term nested deeper than {MAX_ENCODE_DEPTH}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Decodes a whole term that starts with the version byte, as
/// `binary_to_term/1` does, with the default [`DecodeLimits`].
///
/// ```
/// use ember_dist::{etf, Term};
/// // term_to_binary({ok, 1}) on a BEAM:
/// let bytes = [131, 104, 2, 119, 2, b'o', b'k', 97, 1];
/// assert_eq!(etf::decode(&bytes).unwrap(), Term::tuple(vec![Term::atom("ok"), Term::Int(1)]));
/// assert!(etf::decode(&bytes[..5]).is_err());
/// ```
pub fn decode(bytes: &[u8]) -> Result<Term, DecodeError> {
    decode_with(bytes, &DecodeLimits::default())
}

/// [`decode`] with explicit limits.
///
/// ```
/// let limits = ember_dist::etf::DecodeLimits::default();
/// assert!(ember_dist::etf::decode_with(&[131, 106], &limits).is_ok());
/// ```
pub fn decode_with(bytes: &[u8], limits: &DecodeLimits) -> Result<Term, DecodeError> {
    match bytes.first() {
        None => return Err(DecodeError::Truncated { offset: 0 }),
        Some(&VERSION) => {}
        Some(&v) => return Err(DecodeError::BadVersion(v)),
    }
    if bytes.get(1) == Some(&tag::COMPRESSED) {
        return decode::decode_compressed(bytes, limits);
    }
    let mut d = Decoder::new(&bytes[1..], limits);
    d.set_base_offset(1);
    let term = d.term()?;
    d.finish()?;
    Ok(term)
}
