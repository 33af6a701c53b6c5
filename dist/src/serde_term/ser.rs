//! Rust values → terms (see the mapping in the module docs).

use super::{atom_name, variant_atom_name, Error, TERM_MAGIC};
use crate::term::{Atom, Map, Term};
use serde::ser::{self, Serialize};

/// Turns a value into a term, by the mapping in
/// [`serde_term`](crate::serde_term).
///
/// ```
/// use ember_dist::{to_term, Term};
/// assert_eq!(to_term(&(1u8, "a", true)).unwrap().to_string(), "{1,<<\"a\">>,true}");
/// assert_eq!(to_term(&vec![1, 2]).unwrap(), Term::list(vec![Term::Int(1), Term::Int(2)]));
/// assert!(to_term(&f64::NAN).is_ok()); // NaN is refused when encoded, not here
/// ```
pub fn to_term<T: Serialize + ?Sized>(value: &T) -> Result<Term, Error> {
    value.serialize(Serializer)
}

struct Serializer;

fn variant_atom(variant: &str) -> Term {
    Term::Atom(Atom::new(&atom_name(variant)))
}

fn enum_atom(name: &str, variant: &'static str) -> Term {
    Term::Atom(Atom::new(&variant_atom_name(name, variant)))
}

impl ser::Serializer for Serializer {
    type Ok = Term;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Seq;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = MapSer;

    fn serialize_bool(self, v: bool) -> Result<Term, Error> {
        Ok(Term::atom(if v { "true" } else { "false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<Term, Error> {
        Ok(Term::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Term, Error> {
        Ok(Term::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Term, Error> {
        Ok(Term::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Term, Error> {
        Ok(Term::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Term, Error> {
        Ok(Term::integer(v.into()))
    }
    fn serialize_u8(self, v: u8) -> Result<Term, Error> {
        Ok(Term::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Term, Error> {
        Ok(Term::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Term, Error> {
        Ok(Term::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Term, Error> {
        Ok(Term::integer(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Result<Term, Error> {
        Ok(Term::integer(v.into()))
    }
    fn serialize_f32(self, v: f32) -> Result<Term, Error> {
        Ok(Term::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Term, Error> {
        Ok(Term::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Term, Error> {
        Ok(Term::Int(u32::from(v).into()))
    }
    fn serialize_str(self, v: &str) -> Result<Term, Error> {
        Ok(Term::binary(v.as_bytes()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Term, Error> {
        Ok(Term::binary(v))
    }
    fn serialize_none(self) -> Result<Term, Error> {
        Ok(Term::atom("undefined"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Term, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Term, Error> {
        Ok(Term::tuple(vec![]))
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Term, Error> {
        Ok(variant_atom(name))
    }
    fn serialize_unit_variant(self, name: &'static str, _: u32, variant: &'static str) -> Result<Term, Error> {
        Ok(enum_atom(name, variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<Term, Error> {
        if name == TERM_MAGIC {
            // A Term crossing serde as its encoded bytes: decode it back.
            let bytes = match value.serialize(Serializer)? {
                Term::Binary(b) => b,
                _ => return Err(Error("a term did not serialize as its encoding".into())),
            };
            return crate::etf::decode(&bytes).map_err(|e| Error(e.to_string()));
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Term, Error> {
        Ok(Term::tuple(vec![enum_atom(name, variant), value.serialize(self)?]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, Error> {
        Ok(Seq { items: Vec::with_capacity(len.unwrap_or(0).min(4096)), tuple: false })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, Error> {
        Ok(Seq { items: Vec::with_capacity(len.min(4096)), tuple: true })
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq, Error> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq, Error> {
        let mut items = Vec::with_capacity(len.min(4096) + 1);
        items.push(enum_atom(name, variant));
        Ok(Seq { items, tuple: true })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, Error> {
        Ok(MapSer { map: Map::new(), key: None, variant: None })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSer, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<MapSer, Error> {
        Ok(MapSer { map: Map::new(), key: None, variant: Some(enum_atom(name, variant)) })
    }
}

struct Seq {
    items: Vec<Term>,
    tuple: bool,
}

impl Seq {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(Serializer)?);
        Ok(())
    }
    fn done(self) -> Term {
        if self.tuple {
            Term::Tuple(self.items)
        } else {
            Term::List(self.items)
        }
    }
}

/// The four sequence traits of serde differ only in the name of their
/// element method.
macro_rules! seq_impl {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Seq {
            type Ok = Term;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            fn end(self) -> Result<Term, Error> {
                Ok(self.done())
            }
        }
    )*};
}

seq_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

struct MapSer {
    map: Map,
    key: Option<Term>,
    variant: Option<Term>,
}

impl MapSer {
    fn done(self) -> Term {
        match self.variant {
            Some(v) => Term::tuple(vec![v, Term::Map(self.map)]),
            None => Term::Map(self.map),
        }
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Term;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(Serializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| Error("map value without a key".into()))?;
        self.map.insert(key, value.serialize(Serializer)?);
        Ok(())
    }
    fn end(self) -> Result<Term, Error> {
        Ok(self.done())
    }
}

macro_rules! struct_impl {
    ($($trait:ident),*) => {$(
        impl ser::$trait for MapSer {
            type Ok = Term;
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
                self.map.insert(Term::atom(key), value.serialize(Serializer)?);
                Ok(())
            }
            fn end(self) -> Result<Term, Error> {
                Ok(self.done())
            }
        }
    )*};
}

struct_impl!(SerializeStruct, SerializeStructVariant);
