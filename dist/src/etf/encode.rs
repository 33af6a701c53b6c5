//! The encoder. It writes what an OTP 26 node writes for the same term:
//! UTF-8 atoms, the smallest integer form, `NEW_FLOAT_EXT`, `NEW_PID_EXT`,
//! `NEWER_REFERENCE_EXT`, `STRING_EXT` for short lists of bytes.

use super::{tag, EncodeError, MAX_ENCODE_DEPTH, VERSION};
use crate::term::{Atom, Closure, Fun, Pid, Term};
use num_bigint::Sign;

/// Encodes `term` with the version byte, as `term_to_binary/1` does.
///
/// ```
/// use ember_dist::{etf, Term};
/// let bytes = etf::encode(&Term::tuple(vec![Term::atom("ok"), Term::Int(1)])).unwrap();
/// assert_eq!(bytes, [131, 104, 2, 119, 2, b'o', b'k', 97, 1]);
/// assert!(etf::encode(&Term::Float(f64::NAN)).is_err());
/// ```
pub fn encode(term: &Term) -> Result<Vec<u8>, EncodeError> {
    let mut out = vec![VERSION];
    encode_bare_into(term, &mut out)?;
    Ok(out)
}

/// Encodes `term` without the version byte (the form that follows a
/// distribution header).
///
/// ```
/// assert_eq!(ember_dist::etf::encode_bare(&ember_dist::Term::nil()).unwrap(), [106]);
/// ```
pub fn encode_bare(term: &Term) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_bare_into(term, &mut out)?;
    Ok(out)
}

/// Appends `term`, without the version byte, to `out`. On error `out` is
/// left as it was.
///
/// ```
/// let mut out = vec![1];
/// ember_dist::etf::encode_bare_into(&ember_dist::Term::Int(2), &mut out).unwrap();
/// assert_eq!(out, [1, 97, 2]);
/// ```
pub fn encode_bare_into(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let r = write(term, out, 0);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

fn len32(n: usize, what: &'static str) -> Result<[u8; 4], EncodeError> {
    u32::try_from(n).map(u32::to_be_bytes).map_err(|_| EncodeError::TooLarge(what))
}

fn write(term: &Term, out: &mut Vec<u8>, depth: usize) -> Result<(), EncodeError> {
    if depth > MAX_ENCODE_DEPTH {
        return Err(EncodeError::TooDeep);
    }
    match term {
        Term::Atom(a) => write_atom(a, out)?,
        Term::Int(i) => write_int(*i, out),
        Term::BigInt(b) => match i64::try_from(b) {
            Ok(i) => write_int(i, out),
            Err(_) => {
                let (sign, digits) = b.to_bytes_le();
                if digits.len() <= 255 {
                    out.extend([tag::SMALL_BIG, digits.len() as u8]);
                } else {
                    out.push(tag::LARGE_BIG);
                    out.extend(len32(digits.len(), "bignum")?);
                }
                out.push(u8::from(sign == Sign::Minus));
                out.extend(digits);
            }
        },
        Term::Float(f) => {
            if !f.is_finite() {
                return Err(EncodeError::NonFiniteFloat);
            }
            out.push(tag::NEW_FLOAT);
            out.extend(f.to_be_bytes());
        }
        Term::Binary(b) => {
            out.push(tag::BINARY);
            out.extend(len32(b.len(), "binary")?);
            out.extend_from_slice(b);
        }
        Term::BitString(b) => {
            out.push(tag::BIT_BINARY);
            out.extend(len32(b.bytes().len(), "bit string")?);
            out.push(b.last_bits());
            out.extend_from_slice(b.bytes());
        }
        Term::List(items) if items.is_empty() => out.push(tag::NIL),
        Term::List(items) => {
            if let Some(bytes) = byte_list(items) {
                out.push(tag::STRING);
                out.extend((bytes.len() as u16).to_be_bytes());
                out.extend(bytes);
            } else {
                out.push(tag::LIST);
                out.extend(len32(items.len(), "list")?);
                for t in items {
                    write(t, out, depth + 1)?;
                }
                out.push(tag::NIL);
            }
        }
        Term::ImproperList(items, tail) => {
            out.push(tag::LIST);
            out.extend(len32(items.len(), "list")?);
            for t in items {
                write(t, out, depth + 1)?;
            }
            write(tail, out, depth + 1)?;
        }
        Term::Tuple(items) => {
            if items.len() <= 255 {
                out.extend([tag::SMALL_TUPLE, items.len() as u8]);
            } else {
                out.push(tag::LARGE_TUPLE);
                out.extend(len32(items.len(), "tuple")?);
            }
            for t in items {
                write(t, out, depth + 1)?;
            }
        }
        Term::Map(m) => {
            out.push(tag::MAP);
            out.extend(len32(m.len(), "map")?);
            for (k, v) in m.iter() {
                write(k, out, depth + 1)?;
                write(v, out, depth + 1)?;
            }
        }
        Term::Pid(p) => write_pid(p, out)?,
        Term::Ref(r) => {
            if r.id.is_empty() || r.id.len() > 5 {
                return Err(EncodeError::TooLarge("reference"));
            }
            out.push(tag::NEWER_REFERENCE);
            out.extend((r.id.len() as u16).to_be_bytes());
            write_atom(&r.node, out)?;
            out.extend(r.creation.to_be_bytes());
            for w in &r.id {
                out.extend(w.to_be_bytes());
            }
        }
        Term::Port(p) => {
            match u32::try_from(p.id) {
                Ok(id) => {
                    out.push(tag::NEW_PORT);
                    write_atom(&p.node, out)?;
                    out.extend(id.to_be_bytes());
                }
                Err(_) => {
                    out.push(tag::V4_PORT);
                    write_atom(&p.node, out)?;
                    out.extend(p.id.to_be_bytes());
                }
            }
            out.extend(p.creation.to_be_bytes());
        }
        Term::Fun(Fun::Export { module, function, arity }) => {
            out.push(tag::EXPORT);
            write_atom(module, out)?;
            write_atom(function, out)?;
            out.extend([tag::SMALL_INTEGER, *arity]);
        }
        Term::Fun(Fun::Closure(c)) => write_closure(c, out, depth)?,
    }
    Ok(())
}

/// The bytes of a list that `STRING_EXT` can carry: at most 65535 integers
/// from 0 to 255.
fn byte_list(items: &[Term]) -> Option<Vec<u8>> {
    if items.len() > 0xffff {
        return None;
    }
    items.iter().map(|t| if let Term::Int(b @ 0..=255) = t { Some(*b as u8) } else { None }).collect()
}

fn write_int(i: i64, out: &mut Vec<u8>) {
    if let Ok(b) = u8::try_from(i) {
        out.extend([tag::SMALL_INTEGER, b]);
    } else if let Ok(w) = i32::try_from(i) {
        out.push(tag::INTEGER);
        out.extend(w.to_be_bytes());
    } else {
        let magnitude = i.unsigned_abs().to_le_bytes();
        let n = 8 - magnitude.iter().rev().take_while(|&&b| b == 0).count();
        out.extend([tag::SMALL_BIG, n as u8, u8::from(i < 0)]);
        out.extend(&magnitude[..n]);
    }
}

pub(crate) fn write_atom(a: &Atom, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let s = a.as_str();
    let chars = s.chars().count();
    if chars > Atom::MAX_CHARS {
        return Err(EncodeError::AtomTooLong(chars));
    }
    if s.len() <= 255 {
        out.extend([tag::SMALL_ATOM_UTF8, s.len() as u8]);
    } else {
        out.push(tag::ATOM_UTF8);
        out.extend((s.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_pid(p: &Pid, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(tag::NEW_PID);
    write_atom(&p.node, out)?;
    out.extend(p.id.to_be_bytes());
    out.extend(p.serial.to_be_bytes());
    out.extend(p.creation.to_be_bytes());
    Ok(())
}

fn write_closure(c: &Closure, out: &mut Vec<u8>, depth: usize) -> Result<(), EncodeError> {
    out.push(tag::NEW_FUN);
    let size_at = out.len();
    out.extend([0; 4]);
    out.push(c.arity);
    out.extend(c.uniq);
    out.extend(c.index.to_be_bytes());
    out.extend(len32(c.free_vars.len(), "fun environment")?);
    write_atom(&c.module, out)?;
    write(&c.old_index, out, depth + 1)?;
    write(&c.old_uniq, out, depth + 1)?;
    write_pid(&c.pid, out)?;
    for v in &c.free_vars {
        write(v, out, depth + 1)?;
    }
    let size = len32(out.len() - size_at, "fun")?;
    out[size_at..size_at + 4].copy_from_slice(&size);
    Ok(())
}
