//! Terms → Rust values (see the mapping in the module docs).

use super::{atom_name, variant_atom_name, Error, TERM_MAGIC};
use crate::term::Term;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

/// Turns a term into a value, by the mapping in
/// [`serde_term`](crate::serde_term).
///
/// ```
/// use ember_dist::{from_term, Term};
/// let (n, s): (u32, String) = from_term(Term::tuple(vec![Term::Int(7), Term::charlist("hi")])).unwrap();
/// assert_eq!((n, s.as_str()), (7, "hi"));
/// assert!(from_term::<u8>(Term::Int(300)).is_err());
/// ```
pub fn from_term<T: DeserializeOwned>(term: Term) -> Result<T, Error> {
    T::deserialize(Deserializer(term))
}

pub(super) struct Deserializer(pub(super) Term);

fn unexpected(t: &Term, want: &str) -> Error {
    let mut shown = t.to_string();
    if shown.len() > 80 {
        let mut cut = 77;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push_str("...");
    }
    Error(format!("expected {want}, found {shown}"))
}

/// The text of a binary (UTF-8), a charlist or an atom.
fn text(t: Term) -> Result<String, Error> {
    match t {
        Term::Binary(b) => String::from_utf8(b).map_err(|_| Error("binary is not UTF-8".into())),
        Term::Atom(a) => Ok(a.as_str().to_owned()),
        t @ Term::List(_) => t.as_charlist().ok_or_else(|| unexpected(&t, "a string")),
        t => Err(unexpected(&t, "a string")),
    }
}

fn is_none(t: &Term) -> bool {
    matches!(t.as_atom(), Some("undefined" | "nil"))
}

impl<'de> de::Deserializer<'de> for Deserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Term::Atom(a) => match a.as_str() {
                "true" => v.visit_bool(true),
                "false" => v.visit_bool(false),
                s => v.visit_str(s),
            },
            Term::Int(i) => v.visit_i64(i),
            Term::BigInt(b) => {
                if let Ok(i) = i128::try_from(&b) {
                    v.visit_i128(i)
                } else if let Ok(u) = u128::try_from(&b) {
                    v.visit_u128(u)
                } else {
                    Err(Error(format!("integer {b} does not fit in 128 bits")))
                }
            }
            Term::Float(f) => v.visit_f64(f),
            Term::Binary(b) => v.visit_byte_buf(b),
            Term::List(items) | Term::Tuple(items) => v.visit_seq(Seq(items.into_iter())),
            Term::Map(m) => v.visit_map(MapDe { entries: m.into_entries().into_iter(), value: None }),
            other => Err(unexpected(&other, "a term serde can describe (use Term for pids, refs, funs)")),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0.as_atom() {
            Some("true") => v.visit_bool(true),
            Some("false") => v.visit_bool(false),
            _ => Err(unexpected(&self.0, "true or false")),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Term::Int(_) | Term::BigInt(_) => self.deserialize_any(v),
            t => Err(unexpected(&t, "an integer")),
        }
    }
    fn deserialize_i128<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match &self.0 {
            Term::BigInt(b) => match u64::try_from(b) {
                Ok(u) => v.visit_u64(u),
                Err(_) => self.deserialize_i64(v),
            },
            _ => self.deserialize_i64(v),
        }
    }
    fn deserialize_u128<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_f64(v)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Term::Float(f) => v.visit_f64(f),
            Term::Int(i) => v.visit_f64(i as f64),
            t => Err(unexpected(&t, "a float")),
        }
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Term::Int(i) => match u32::try_from(i).ok().and_then(char::from_u32) {
                Some(c) => v.visit_char(c),
                None => Err(Error(format!("{i} is not a Unicode code point"))),
            },
            t => {
                let s = text(t)?;
                let mut cs = s.chars();
                match (cs.next(), cs.next()) {
                    (Some(c), None) => v.visit_char(c),
                    _ => Err(Error(format!("expected one character, found {s:?}"))),
                }
            }
        }
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_string(text(self.0)?)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_string(text(self.0)?)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Term::Binary(b) => v.visit_byte_buf(b),
            Term::List(items) => {
                let bytes: Option<Vec<u8>> =
                    items.iter().map(|t| if let Term::Int(b @ 0..=255) = t { Some(*b as u8) } else { None }).collect();
                match bytes {
                    Some(b) => v.visit_byte_buf(b),
                    None => Err(Error("expected a binary or a list of bytes".into())),
                }
            }
            t => Err(unexpected(&t, "a binary")),
        }
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        if is_none(&self.0) {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match &self.0 {
            Term::Tuple(t) if t.is_empty() => v.visit_unit(),
            t => Err(unexpected(t, "{}")),
        }
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, v: V) -> Result<V::Value, Error> {
        match self.0.as_atom() {
            Some(a) if a == atom_name(name) => v.visit_unit(),
            _ => Err(unexpected(&self.0, &format!("the atom {}", atom_name(name)))),
        }
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, v: V) -> Result<V::Value, Error> {
        if name == TERM_MAGIC {
            // Hand the Term over whole, as its encoding.
            let bytes = crate::etf::encode(&self.0).map_err(|e| Error(e.to_string()))?;
            return v.visit_byte_buf(bytes);
        }
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Term::List(items) | Term::Tuple(items) => v.visit_seq(Seq(items.into_iter())),
            t => Err(unexpected(&t, "a list")),
        }
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Term::List(items) | Term::Tuple(items) if items.len() == len => v.visit_seq(Seq(items.into_iter())),
            t => Err(unexpected(&t, &format!("a tuple of {len}"))),
        }
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, len: usize, v: V) -> Result<V::Value, Error> {
        self.deserialize_tuple(len, v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Term::Map(m) => v.visit_map(MapDe { entries: m.into_entries().into_iter(), value: None }),
            t => Err(unexpected(&t, "a map")),
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(v)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let (tag, rest) = match self.0 {
            Term::Atom(a) => (a, None),
            Term::Tuple(mut items) if !items.is_empty() => match items.remove(0) {
                Term::Atom(a) => (a, Some(items)),
                other => return Err(unexpected(&other, "an atom naming a variant")),
            },
            t => return Err(unexpected(&t, &format!("a variant of {name}"))),
        };
        let variant = variants
            .iter()
            .find(|v| variant_atom_name(name, v) == tag.as_str())
            .ok_or_else(|| Error(format!("{tag} is not a variant of {name}")))?;
        v.visit_enum(Enum { variant, rest })
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_string(text(self.0)?)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
}

struct Seq(std::vec::IntoIter<Term>);

impl<'de> de::SeqAccess<'de> for Seq {
    type Error = Error;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|t| seed.deserialize(Deserializer(t))).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDe {
    entries: std::vec::IntoIter<(Term, Term)>,
    value: Option<Term>,
}

impl<'de> de::MapAccess<'de> for MapDe {
    type Error = Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(Deserializer(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self.value.take().ok_or_else(|| Error("map value without a key".into()))?;
        seed.deserialize(Deserializer(v))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct Enum {
    variant: &'static str,
    rest: Option<Vec<Term>>,
}

impl<'de> de::EnumAccess<'de> for Enum {
    type Error = Error;
    type Variant = Variant;
    fn variant_seed<S: de::DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Variant), Error> {
        let name: de::value::StrDeserializer<'_, Error> = self.variant.into_deserializer();
        Ok((seed.deserialize(name)?, Variant { rest: self.rest }))
    }
}

struct Variant {
    rest: Option<Vec<Term>>,
}

impl<'de> de::VariantAccess<'de> for Variant {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        match self.rest {
            None => Ok(()),
            Some(_) => Err(Error("expected a bare atom for a unit variant".into())),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.rest {
            Some(mut items) if items.len() == 1 => seed.deserialize(Deserializer(items.remove(0))),
            _ => Err(Error("expected {variant, Value}".into())),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, Error> {
        match self.rest {
            Some(items) if items.len() == len => v.visit_seq(Seq(items.into_iter())),
            _ => Err(Error(format!("expected {{variant, ...}} with {len} values"))),
        }
    }
    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], v: V) -> Result<V::Value, Error> {
        match self.rest {
            Some(mut items) if items.len() == 1 => de::Deserializer::deserialize_map(Deserializer(items.remove(0)), v),
            _ => Err(Error("expected {variant, #{...}}".into())),
        }
    }
}
