//! The bounded decoder. It reads from a byte slice, so every length is
//! checked against the bytes that are really there before it is trusted.

use super::tag;
use super::{DecodeError, DecodeLimits};
use crate::term::{Atom, BitString, Closure, Fun, Map, Pid, Port, Reference, Term};
use num_bigint::{BigInt, Sign};
use std::io::Read;

/// Decodes terms without a version byte from a byte slice, as they follow a
/// distribution header, within [`DecodeLimits`].
///
/// ```
/// use ember_dist::{etf::{Decoder, DecodeLimits}, Term};
/// let limits = DecodeLimits::default();
/// // Two bare terms back to back: `ok` then `[]`.
/// let mut d = Decoder::new(&[119, 2, b'o', b'k', 106], &limits);
/// assert_eq!(d.term().unwrap(), Term::atom("ok"));
/// assert_eq!(d.term().unwrap(), Term::nil());
/// d.finish().unwrap();
/// ```
pub struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    base: usize,
    limits: &'a DecodeLimits,
    cache: &'a [Atom],
    terms: usize,
    atoms: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder over `input` (no version byte).
    ///
    /// ```
    /// let limits = ember_dist::etf::DecodeLimits::default();
    /// let d = ember_dist::etf::Decoder::new(&[], &limits);
    /// assert_eq!(d.remaining(), 0);
    /// ```
    pub fn new(input: &'a [u8], limits: &'a DecodeLimits) -> Decoder<'a> {
        Decoder { input, pos: 0, base: 0, limits, cache: &[], terms: 0, atoms: 0 }
    }

    /// The atoms that `ATOM_CACHE_REF` indices refer to (from the
    /// distribution header in front of these terms).
    ///
    /// ```
    /// use ember_dist::{etf::{Decoder, DecodeLimits}, Atom, Term};
    /// let limits = DecodeLimits::default();
    /// let atoms = [Atom::new("hello")];
    /// let mut d = Decoder::new(&[82, 0], &limits).with_atom_refs(&atoms);
    /// assert_eq!(d.term().unwrap(), Term::atom("hello"));
    /// ```
    pub fn with_atom_refs(mut self, atoms: &'a [Atom]) -> Decoder<'a> {
        self.cache = atoms;
        self
    }

    /// Offsets in errors count from `base` (the position of this slice in a
    /// larger frame).
    pub(crate) fn set_base_offset(&mut self, base: usize) {
        self.base = base;
    }

    /// How many bytes are left.
    ///
    /// ```
    /// let limits = ember_dist::etf::DecodeLimits::default();
    /// assert_eq!(ember_dist::etf::Decoder::new(&[106, 0], &limits).remaining(), 2);
    /// ```
    pub fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.input[self.pos..]
    }

    /// Steps over `n` bytes (at most what remains).
    pub(crate) fn skip(&mut self, n: usize) {
        self.pos += n.min(self.remaining());
    }

    /// Decodes the next term.
    ///
    /// ```
    /// let limits = ember_dist::etf::DecodeLimits::default();
    /// assert!(ember_dist::etf::Decoder::new(&[255], &limits).term().is_err());
    /// ```
    pub fn term(&mut self) -> Result<Term, DecodeError> {
        self.decode(0)
    }

    /// Succeeds when every byte has been read.
    ///
    /// ```
    /// let limits = ember_dist::etf::DecodeLimits::default();
    /// let mut d = ember_dist::etf::Decoder::new(&[106, 106], &limits);
    /// d.term().unwrap();
    /// assert!(d.finish().is_err());
    /// ```
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { offset: self.offset() })
        }
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn invalid(&self, what: &'static str) -> DecodeError {
        DecodeError::Invalid { what, offset: self.offset() }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated { offset: self.offset() });
        }
        let b = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Checks a count of elements, each at least `min_bytes` long, against
    /// the input left and the term budget; only then may it be reserved.
    fn count(&mut self, n: u64, min_bytes: u64, what: &'static str) -> Result<usize, DecodeError> {
        let left = self.remaining() as u64;
        if n.saturating_mul(min_bytes) > left {
            return Err(DecodeError::Truncated { offset: self.offset() });
        }
        let budget = (self.limits.max_terms - self.terms.min(self.limits.max_terms)) as u64;
        if n > budget {
            return Err(DecodeError::TooLarge { what, size: n, limit: self.limits.max_terms as u64 });
        }
        // Fits in usize: n <= remaining bytes.
        let n = n as usize;
        self.terms += n;
        Ok(n)
    }

    /// The recursive step. Only containers recurse; every other tag is
    /// decoded out of line in [`Decoder::leaf`], which keeps this frame —
    /// paid once per nesting level — small.
    fn decode(&mut self, depth: usize) -> Result<Term, DecodeError> {
        if depth > self.limits.max_depth {
            return Err(DecodeError::TooDeep { limit: self.limits.max_depth });
        }
        let at = self.offset();
        let tag = self.u8()?;
        match tag {
            tag::SMALL_TUPLE => {
                let n = u64::from(self.u8()?);
                Ok(Term::Tuple(self.elements(n, depth)?))
            }
            tag::LARGE_TUPLE => {
                let n = u64::from(self.u32()?);
                Ok(Term::Tuple(self.elements(n, depth)?))
            }
            tag::LIST => {
                let n = u64::from(self.u32()?);
                // n elements and a tail, each at least one byte.
                let head = self.elements_min(n, depth, 1, 1)?;
                let tail = self.decode(depth + 1)?;
                Ok(Term::improper_list(head, tail))
            }
            tag::MAP => self.map(at, depth),
            tag::NEW_FUN => Ok(Term::Fun(Fun::Closure(Box::new(self.closure(at, depth)?)))),
            _ => self.leaf(tag, at),
        }
    }

    #[inline(never)]
    fn map(&mut self, at: usize, depth: usize) -> Result<Term, DecodeError> {
        let n = u64::from(self.u32()?);
        let n = self.count(n, 2, "map")?;
        self.count(n as u64, 0, "map")?; // keys and values both count
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.decode(depth + 1)?;
            let v = self.decode(depth + 1)?;
            entries.push((k, v));
        }
        let map = Map::from_entries(entries).ok_or(DecodeError::Invalid { what: "duplicate map key", offset: at })?;
        Ok(Term::Map(map))
    }

    /// Every tag that holds no nested term.
    #[inline(never)]
    fn leaf(&mut self, tag: u8, at: usize) -> Result<Term, DecodeError> {
        Ok(match tag {
            tag::SMALL_INTEGER => Term::Int(i64::from(self.u8()?)),
            tag::INTEGER => Term::Int(i64::from(i32::from_be_bytes(self.array()?))),
            tag::SMALL_BIG => {
                let n = u64::from(self.u8()?);
                self.bignum(n)?
            }
            tag::LARGE_BIG => {
                let n = u64::from(self.u32()?);
                self.bignum(n)?
            }
            tag::NEW_FLOAT => finite(f64::from_be_bytes(self.array()?)).ok_or_else(|| self.invalid("float"))?,
            tag::FLOAT => {
                let text = self.bytes(31)?;
                let end = text.iter().position(|&b| b == 0).unwrap_or(31);
                std::str::from_utf8(&text[..end])
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .and_then(finite)
                    .ok_or_else(|| self.invalid("float text"))?
            }
            tag::ATOM_UTF8 | tag::SMALL_ATOM_UTF8 | tag::ATOM | tag::SMALL_ATOM | tag::ATOM_CACHE_REF => {
                Term::Atom(self.atom_with_tag(tag)?)
            }
            tag::NIL => Term::nil(),
            tag::STRING => {
                let n = usize::from(self.u16()?);
                let n = self.count(n as u64, 1, "string")?;
                Term::List(self.bytes(n)?.iter().map(|&b| Term::Int(i64::from(b))).collect())
            }
            tag::BINARY => {
                let n = self.u32()? as usize;
                Term::Binary(self.bytes(n)?.to_vec())
            }
            tag::BIT_BINARY => {
                let n = self.u32()? as usize;
                let bits = self.u8()?;
                let bytes = self.bytes(n)?.to_vec();
                match bits {
                    8 => Term::Binary(bytes),
                    0 if bytes.is_empty() => Term::Binary(bytes),
                    _ => Term::BitString(BitString::new(bytes, bits).ok_or_else(|| self.invalid("bit count"))?),
                }
            }
            tag::NEW_PID | tag::PID => Term::Pid(self.pid_with_tag(tag)?),
            tag::V4_PORT | tag::NEW_PORT | tag::PORT => {
                let node = self.atom()?;
                let id = if tag == tag::V4_PORT { self.u64()? } else { u64::from(self.u32()?) };
                let creation = self.creation(tag == tag::PORT)?;
                Term::Port(Port { node, id, creation })
            }
            tag::NEWER_REFERENCE | tag::NEW_REFERENCE => {
                let len = usize::from(self.u16()?);
                if len == 0 || len > 5 {
                    return Err(DecodeError::TooLarge { what: "reference id words", size: len as u64, limit: 5 });
                }
                let node = self.atom()?;
                let creation = self.creation(tag == tag::NEW_REFERENCE)?;
                let id = (0..len).map(|_| self.u32()).collect::<Result<_, _>>()?;
                Term::Ref(Reference { node, creation, id })
            }
            tag::REFERENCE => {
                let node = self.atom()?;
                let id = vec![self.u32()?];
                let creation = self.creation(true)?;
                Term::Ref(Reference { node, creation, id })
            }
            tag::EXPORT => {
                let module = self.atom()?;
                let function = self.atom()?;
                let arity = match (self.u8()?, self.u8()?) {
                    (tag::SMALL_INTEGER, a) => a,
                    _ => return Err(self.invalid("export arity")),
                };
                Term::Fun(Fun::Export { module, function, arity })
            }
            _ => return Err(DecodeError::UnknownTag { tag, offset: at }),
        })
    }

    fn elements(&mut self, n: u64, depth: usize) -> Result<Vec<Term>, DecodeError> {
        self.elements_min(n, depth, 1, 0)
    }

    /// `n` terms, each at least `min` bytes, with `after` more bytes needed
    /// once they are read.
    #[inline(never)]
    fn elements_min(&mut self, n: u64, depth: usize, min: u64, after: u64) -> Result<Vec<Term>, DecodeError> {
        if n.saturating_mul(min).saturating_add(after) > self.remaining() as u64 {
            return Err(DecodeError::Truncated { offset: self.offset() });
        }
        let n = self.count(n, min, "elements")?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.decode(depth + 1)?);
        }
        Ok(v)
    }

    fn bignum(&mut self, n: u64) -> Result<Term, DecodeError> {
        let limit = self.limits.max_bignum_bytes as u64;
        if n > limit {
            return Err(DecodeError::TooLarge { what: "bignum bytes", size: n, limit });
        }
        let sign = self.u8()?;
        let digits = self.bytes(n as usize)?;
        let sign = match sign {
            0 => Sign::Plus,
            1 => Sign::Minus,
            _ => return Err(self.invalid("bignum sign")),
        };
        Ok(Term::integer(BigInt::from_bytes_le(sign, digits)))
    }

    fn atom(&mut self) -> Result<Atom, DecodeError> {
        let tag = self.u8()?;
        match tag {
            tag::ATOM_UTF8 | tag::SMALL_ATOM_UTF8 | tag::ATOM | tag::SMALL_ATOM | tag::ATOM_CACHE_REF => {
                self.atom_with_tag(tag)
            }
            _ => Err(self.invalid("expected an atom")),
        }
    }

    fn atom_with_tag(&mut self, tag: u8) -> Result<Atom, DecodeError> {
        self.atoms += 1;
        if self.atoms > self.limits.max_atoms {
            let limit = self.limits.max_atoms as u64;
            return Err(DecodeError::TooLarge { what: "atoms in one term", size: self.atoms as u64, limit });
        }
        if tag == tag::ATOM_CACHE_REF {
            let i = usize::from(self.u8()?);
            return self.cache.get(i).cloned().ok_or_else(|| self.invalid("atom cache reference"));
        }
        let len = match tag {
            tag::ATOM_UTF8 | tag::ATOM => usize::from(self.u16()?),
            _ => usize::from(self.u8()?),
        };
        let bytes = self.bytes(len)?;
        let name: String = match tag {
            tag::ATOM_UTF8 | tag::SMALL_ATOM_UTF8 => {
                std::str::from_utf8(bytes).map_err(|_| self.invalid("atom is not UTF-8"))?.to_owned()
            }
            // Latin-1: each byte is its code point.
            _ => bytes.iter().map(|&b| char::from(b)).collect(),
        };
        if name.chars().count() > Atom::MAX_CHARS {
            return Err(DecodeError::TooLarge {
                what: "atom characters",
                size: name.chars().count() as u64,
                limit: Atom::MAX_CHARS as u64,
            });
        }
        Ok(Atom::new(&name))
    }

    fn creation(&mut self, small: bool) -> Result<u32, DecodeError> {
        if small {
            Ok(u32::from(self.u8()?))
        } else {
            self.u32()
        }
    }

    fn pid_with_tag(&mut self, tag: u8) -> Result<Pid, DecodeError> {
        let node = self.atom()?;
        let id = self.u32()?;
        let serial = self.u32()?;
        let creation = self.creation(tag == tag::PID)?;
        Ok(Pid { node, id, serial, creation })
    }

    #[inline(never)]
    fn closure(&mut self, at: usize, depth: usize) -> Result<Closure, DecodeError> {
        let start = self.pos;
        let size = self.u32()? as usize;
        // Size counts itself and everything after the tag.
        if size < 4 + 1 + 16 + 4 + 4 || size - 4 > self.remaining() {
            return Err(DecodeError::Invalid { what: "fun size", offset: at });
        }
        let arity = self.u8()?;
        let uniq = self.array::<16>()?;
        let index = self.u32()?;
        let num_free = u64::from(self.u32()?);
        let module = self.atom()?;
        let old_index = self.decode(depth + 1)?;
        let old_uniq = self.decode(depth + 1)?;
        if !matches!(old_index, Term::Int(_)) || !matches!(old_uniq, Term::Int(_)) {
            return Err(self.invalid("fun old index or uniq"));
        }
        let pid_tag = self.u8()?;
        if pid_tag != tag::NEW_PID && pid_tag != tag::PID {
            return Err(self.invalid("fun pid"));
        }
        let pid = self.pid_with_tag(pid_tag)?;
        let free_vars = self.elements(num_free, depth)?;
        if self.pos - start != size {
            return Err(DecodeError::Invalid { what: "fun size", offset: at });
        }
        Ok(Closure { arity, uniq, index, module, old_index, old_uniq, pid, free_vars })
    }
}

fn finite(f: f64) -> Option<Term> {
    f.is_finite().then_some(Term::Float(f))
}

/// `131, 80, UncompressedSize, zlib...`: inflates at most the announced size
/// (itself bounded) and decodes the result.
pub(super) fn decode_compressed(bytes: &[u8], limits: &DecodeLimits) -> Result<Term, DecodeError> {
    let size = bytes.get(2..6).ok_or(DecodeError::Truncated { offset: bytes.len() })?;
    let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
    if size > limits.max_uncompressed {
        let limit = limits.max_uncompressed as u64;
        return Err(DecodeError::TooLarge { what: "uncompressed term", size: size as u64, limit });
    }
    // Reserve no more than the input could plausibly inflate to up front;
    // the vector grows as real output arrives, never past `size`.
    let mut inflated = Vec::with_capacity(size.min(bytes.len().saturating_mul(8)));
    let mut z = flate2::read::ZlibDecoder::new(&bytes[6..]).take(size as u64 + 1);
    z.read_to_end(&mut inflated).map_err(|_| DecodeError::Invalid { what: "zlib data", offset: 6 })?;
    if inflated.len() != size {
        return Err(DecodeError::Invalid { what: "uncompressed size does not match", offset: 2 });
    }
    let mut d = Decoder::new(&inflated, limits);
    let term = d.term().map_err(|e| match e {
        // Offsets inside the inflated data mean nothing to the caller.
        DecodeError::Truncated { .. } => DecodeError::Invalid { what: "compressed term truncated", offset: 6 },
        other => other,
    })?;
    d.finish()?;
    Ok(term)
}
