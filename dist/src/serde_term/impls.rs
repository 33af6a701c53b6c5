//! `Serialize` and `Deserialize` for [`Term`] and the identifier types, so a
//! struct can hold a pid, a reference or any term next to ordinary fields.
//!
//! With [`to_term`](super::to_term) and [`from_term`](super::from_term) the
//! term is carried whole. Through any other serde format a term is its
//! external-format bytes (`term_to_binary`), which is lossless too.

use super::TERM_MAGIC;
use crate::term::{Atom, Fun, Pid, Port, Reference, Term};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{self, Serialize, Serializer};
use std::fmt;

struct Encoded<'a>(&'a [u8]);

impl Serialize for Encoded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl Serialize for Term {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = crate::etf::encode(self).map_err(ser::Error::custom)?;
        s.serialize_newtype_struct(TERM_MAGIC, &Encoded(&bytes))
    }
}

struct TermVisitor;

impl<'de> Visitor<'de> for TermVisitor {
    type Value = Term;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Erlang term in the external format")
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Term, E> {
        crate::etf::decode(v).map_err(E::custom)
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Term, E> {
        self.visit_bytes(&v)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Term, D::Error> {
        d.deserialize_bytes(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Term, A::Error> {
        // Formats that write bytes as a sequence of numbers.
        let mut bytes = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        self.visit_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Term, D::Error> {
        d.deserialize_newtype_struct(TERM_MAGIC, TermVisitor)
    }
}

macro_rules! via_term {
    ($($ty:ident => $variant:ident, $what:literal;)*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                Term::$variant(self.clone()).serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                match Term::deserialize(d)? {
                    Term::$variant(x) => Ok(x),
                    other => Err(de::Error::custom(format!(concat!("expected ", $what, ", found {}"), other))),
                }
            }
        }
    )*};
}

via_term! {
    Atom => Atom, "an atom";
    Pid => Pid, "a pid";
    Reference => Ref, "a reference";
    Port => Port, "a port";
    Fun => Fun, "a fun";
}
