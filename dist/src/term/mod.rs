//! Erlang terms as Rust values.
//!
//! A [`Term`] is one Erlang value: what `erlang:term_to_binary/1` encodes and
//! what a distributed `!` carries. The type mirrors the BEAM's data types one
//! for one, so a term received from an Erlang node and sent back is the same
//! term (funs included: they are opaque here, but kept whole).
//!
//! # Equality and order
//!
//! `Eq`, `Ord` and `Hash` follow Erlang's *exact* comparison (`=:=`), so terms
//! can be map keys and set members:
//!
//! * types order as in Erlang: number < atom < reference < fun < port < pid <
//!   tuple < map < nil < list < bit string;
//! * integers compare by value, whatever their representation
//!   (`Term::Int(5) == Term::BigInt(5.into())`); an integer and a float are
//!   never equal (`1 =/= 1.0`) but order by value, the integer first on a tie;
//! * tuples order by size first, maps by size, then keys, then values;
//! * pids, ports, references and funs have a total order that is stable and
//!   consistent with equality, but not necessarily the BEAM's.
//!
//! A [`Map`] keeps its entries sorted by key under this order, so two maps with
//! the same entries are equal however they were built.

mod display;
mod order;

use num_bigint::BigInt;
use std::sync::Arc;

pub use order::compare;

/// An Erlang term.
///
/// ```
/// use ember_dist::Term;
///
/// let t = Term::tuple(vec![Term::atom("ok"), Term::Int(42), Term::binary(b"hi")]);
/// assert_eq!(t.to_string(), "{ok,42,<<\"hi\">>}");
/// ```
#[derive(Clone, Debug)]
pub enum Term {
    /// An atom, such as `ok` or `'ember@localhost'`.
    Atom(Atom),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// An integer of any size. Compares equal to [`Term::Int`] of the same
    /// value; the decoder produces it only for values outside `i64`.
    BigInt(BigInt),
    /// A float. The external format has no NaN or infinity: encoding one is an
    /// error, and the decoder never produces one.
    Float(f64),
    /// A binary: a whole number of bytes (`<<"text">>`).
    Binary(Vec<u8>),
    /// A bit string whose length is not a multiple of 8 (`<<1:3>>`).
    BitString(BitString),
    /// A proper list; the empty vector is nil, `[]`. Erlang strings
    /// (`"abc"`) are lists of integers: see [`Term::charlist`].
    List(Vec<Term>),
    /// An improper list `[H1, H2 | Tail]`: a non-empty head and a tail that is
    /// not a list. Build it with [`Term::improper_list`], which keeps that form.
    ImproperList(Vec<Term>, Box<Term>),
    /// A tuple, `{A, B}`.
    Tuple(Vec<Term>),
    /// A map, `#{K => V}`.
    Map(Map),
    /// A process identifier.
    Pid(Pid),
    /// A reference (also an alias, as `gen_server:call` uses in OTP 24+).
    Ref(Reference),
    /// A port identifier.
    Port(Port),
    /// A fun: opaque, kept whole so it can be sent back.
    Fun(Fun),
}

impl Term {
    /// The atom `name`.
    ///
    /// ```
    /// assert_eq!(ember_dist::Term::atom("ok").to_string(), "ok");
    /// ```
    pub fn atom(name: &str) -> Term {
        Term::Atom(Atom::new(name))
    }

    /// A binary holding `bytes`.
    ///
    /// ```
    /// assert_eq!(ember_dist::Term::binary(b"a").to_string(), "<<\"a\">>");
    /// ```
    pub fn binary(bytes: &[u8]) -> Term {
        Term::Binary(bytes.to_vec())
    }

    /// A tuple of `elements`.
    ///
    /// ```
    /// use ember_dist::Term;
    /// assert_eq!(Term::tuple(vec![]).to_string(), "{}");
    /// ```
    pub fn tuple(elements: Vec<Term>) -> Term {
        Term::Tuple(elements)
    }

    /// A proper list of `elements`.
    ///
    /// ```
    /// use ember_dist::Term;
    /// assert_eq!(Term::list(vec![Term::Int(1)]).to_string(), "[1]");
    /// ```
    pub fn list(elements: Vec<Term>) -> Term {
        Term::List(elements)
    }

    /// Nil, the empty list `[]`.
    ///
    /// ```
    /// assert_eq!(ember_dist::Term::nil(), ember_dist::Term::List(vec![]));
    /// ```
    pub fn nil() -> Term {
        Term::List(Vec::new())
    }

    /// `[head... | tail]` in its one normal form: a list tail is spliced in
    /// (so the result may be proper), an empty head gives the tail itself.
    ///
    /// ```
    /// use ember_dist::Term;
    /// let t = Term::improper_list(vec![Term::Int(1)], Term::atom("t"));
    /// assert_eq!(t.to_string(), "[1|t]");
    /// let proper = Term::improper_list(vec![Term::Int(1)], Term::list(vec![Term::Int(2)]));
    /// assert_eq!(proper, Term::list(vec![Term::Int(1), Term::Int(2)]));
    /// ```
    pub fn improper_list(mut head: Vec<Term>, tail: Term) -> Term {
        match tail {
            Term::List(rest) => {
                head.extend(rest);
                Term::List(head)
            }
            Term::ImproperList(rest, tail) => {
                head.extend(rest);
                Term::ImproperList(head, tail)
            }
            tail if head.is_empty() => tail,
            tail => Term::ImproperList(head, Box::new(tail)),
        }
    }

    /// An Erlang string (a list of code points), as `"text"` is in Erlang.
    ///
    /// ```
    /// use ember_dist::Term;
    /// assert_eq!(Term::charlist("hi"), Term::list(vec![Term::Int(104), Term::Int(105)]));
    /// ```
    pub fn charlist(text: &str) -> Term {
        Term::List(text.chars().map(|c| Term::Int(i64::from(u32::from(c)))).collect())
    }

    /// The text of a charlist (a proper list of Unicode code points), if this
    /// is one. Nil is the empty string.
    ///
    /// ```
    /// use ember_dist::Term;
    /// assert_eq!(Term::charlist("héllo").as_charlist().as_deref(), Some("héllo"));
    /// assert_eq!(Term::Int(1).as_charlist(), None);
    /// ```
    pub fn as_charlist(&self) -> Option<String> {
        let Term::List(items) = self else { return None };
        items
            .iter()
            .map(|t| match t {
                Term::Int(c) => u32::try_from(*c).ok().and_then(char::from_u32),
                _ => None,
            })
            .collect()
    }

    /// The atom's name, if this is an atom.
    ///
    /// ```
    /// assert_eq!(ember_dist::Term::atom("ok").as_atom(), Some("ok"));
    /// ```
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Term::Atom(a) => Some(a.as_str()),
            _ => None,
        }
    }

    /// The integer's value, if this is an integer that fits in `i64`.
    ///
    /// ```
    /// use ember_dist::Term;
    /// assert_eq!(Term::Int(7).as_i64(), Some(7));
    /// assert_eq!(Term::BigInt(7.into()).as_i64(), Some(7));
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            Term::BigInt(b) => i64::try_from(b).ok(),
            _ => None,
        }
    }

    /// The elements, if this is a tuple.
    ///
    /// ```
    /// use ember_dist::Term;
    /// assert_eq!(Term::tuple(vec![Term::Int(1)]).as_tuple().map(|t| t.len()), Some(1));
    /// ```
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(t) => Some(t),
            _ => None,
        }
    }

    /// An integer term of any size, in its normal form ([`Term::Int`] when the
    /// value fits in `i64`).
    ///
    /// ```
    /// use ember_dist::Term;
    /// assert!(matches!(Term::integer(5.into()), Term::Int(5)));
    /// assert!(matches!(Term::integer(num_bigint::BigInt::from(u64::MAX)), Term::BigInt(_)));
    /// ```
    pub fn integer(value: BigInt) -> Term {
        match i64::try_from(&value) {
            Ok(i) => Term::Int(i),
            Err(_) => Term::BigInt(value),
        }
    }
}

impl From<Atom> for Term {
    fn from(a: Atom) -> Term {
        Term::Atom(a)
    }
}

impl From<i64> for Term {
    fn from(i: i64) -> Term {
        Term::Int(i)
    }
}

impl From<f64> for Term {
    fn from(f: f64) -> Term {
        Term::Float(f)
    }
}

impl From<Pid> for Term {
    fn from(p: Pid) -> Term {
        Term::Pid(p)
    }
}

impl From<Reference> for Term {
    fn from(r: Reference) -> Term {
        Term::Ref(r)
    }
}

impl From<Map> for Term {
    fn from(m: Map) -> Term {
        Term::Map(m)
    }
}

/// An atom's name. Cheap to clone (shared text).
///
/// The external format limits an atom to 255 characters; a longer one is an
/// error when it is encoded, never when it is built.
///
/// ```
/// let a = ember_dist::Atom::new("ember@localhost");
/// assert_eq!(a.as_str(), "ember@localhost");
/// assert_eq!(a.to_string(), "ember@localhost"); // @ needs no quotes
/// assert_eq!(ember_dist::Atom::new("Hi there").to_string(), "'Hi there'");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Atom(Arc<str>);

impl Atom {
    /// The longest atom the external format carries, in characters.
    pub const MAX_CHARS: usize = 255;

    /// The atom named `name`.
    ///
    /// ```
    /// assert_eq!(ember_dist::Atom::new("ok").as_str(), "ok");
    /// ```
    pub fn new(name: &str) -> Atom {
        Atom(Arc::from(name))
    }

    /// The atom's name.
    ///
    /// ```
    /// assert_eq!(ember_dist::Atom::new("x").as_str(), "x");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Atom {
        Atom::new(s)
    }
}

impl std::fmt::Debug for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// A bit string whose length is not a whole number of bytes.
///
/// The bits are stored most significant first, as on the wire: the last byte
/// holds `last_bits` significant bits in its high end, and its low bits are
/// kept zero so equal bit strings are equal values.
///
/// ```
/// use ember_dist::BitString;
/// let b = BitString::new(vec![0b1010_1111], 3).unwrap(); // <<5:3>>
/// assert_eq!(b.bytes(), &[0b1010_0000]);
/// assert_eq!(b.bit_len(), 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BitString {
    bytes: Vec<u8>,
    last_bits: u8,
}

impl BitString {
    /// A bit string of `bytes` whose last byte holds `last_bits` (1 to 7)
    /// significant bits. `None` if `bytes` is empty or `last_bits` is out of
    /// range (a whole number of bytes is a [`Term::Binary`]).
    ///
    /// ```
    /// assert!(ember_dist::BitString::new(vec![], 1).is_none());
    /// assert!(ember_dist::BitString::new(vec![1], 8).is_none());
    /// ```
    pub fn new(mut bytes: Vec<u8>, last_bits: u8) -> Option<BitString> {
        if bytes.is_empty() || !(1..=7).contains(&last_bits) {
            return None;
        }
        let last = bytes.len() - 1;
        bytes[last] &= 0xffu8 << (8 - last_bits);
        Some(BitString { bytes, last_bits })
    }

    /// The bytes; the last one is partial.
    ///
    /// ```
    /// assert_eq!(ember_dist::BitString::new(vec![0xff], 1).unwrap().bytes(), &[0x80]);
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many bits of the last byte are significant (1 to 7).
    ///
    /// ```
    /// assert_eq!(ember_dist::BitString::new(vec![0], 7).unwrap().last_bits(), 7);
    /// ```
    pub fn last_bits(&self) -> u8 {
        self.last_bits
    }

    /// The length in bits.
    ///
    /// ```
    /// assert_eq!(ember_dist::BitString::new(vec![0, 0], 2).unwrap().bit_len(), 10);
    /// ```
    pub fn bit_len(&self) -> u64 {
        (self.bytes.len() as u64 - 1) * 8 + u64::from(self.last_bits)
    }
}

/// An Erlang map: entries sorted by key (see the module docs for the order),
/// keys unique.
///
/// ```
/// use ember_dist::{Map, Term};
/// let mut m = Map::new();
/// m.insert(Term::atom("b"), Term::Int(2));
/// m.insert(Term::atom("a"), Term::Int(1));
/// assert_eq!(m.get(&Term::atom("a")), Some(&Term::Int(1)));
/// assert_eq!(Term::Map(m).to_string(), "#{a => 1,b => 2}");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Map {
    entries: Vec<(Term, Term)>,
}

impl Map {
    /// The empty map.
    ///
    /// ```
    /// assert!(ember_dist::Map::new().is_empty());
    /// ```
    pub fn new() -> Map {
        Map { entries: Vec::new() }
    }

    /// Puts `value` under `key`; returns the value it replaces.
    ///
    /// ```
    /// use ember_dist::{Map, Term};
    /// let mut m = Map::new();
    /// assert_eq!(m.insert(Term::Int(1), Term::Int(2)), None);
    /// assert_eq!(m.insert(Term::Int(1), Term::Int(3)), Some(Term::Int(2)));
    /// ```
    pub fn insert(&mut self, key: Term, value: Term) -> Option<Term> {
        match self.entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// The value under `key`.
    ///
    /// ```
    /// assert_eq!(ember_dist::Map::new().get(&ember_dist::Term::Int(1)), None);
    /// ```
    pub fn get(&self, key: &Term) -> Option<&Term> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|i| &self.entries[i].1)
    }

    /// The number of entries.
    ///
    /// ```
    /// assert_eq!(ember_dist::Map::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    ///
    /// ```
    /// assert!(ember_dist::Map::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, sorted by key.
    ///
    /// ```
    /// assert_eq!(ember_dist::Map::new().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &(Term, Term)> {
        self.entries.iter()
    }

    /// A map of `entries`, or `None` if two keys are equal (the external
    /// format refuses duplicate keys, as `binary_to_term/1` does).
    ///
    /// ```
    /// use ember_dist::{Map, Term};
    /// assert!(Map::from_entries(vec![(Term::Int(1), Term::nil()), (Term::Int(1), Term::nil())]).is_none());
    /// ```
    pub fn from_entries(mut entries: Vec<(Term, Term)>) -> Option<Map> {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return None;
        }
        Some(Map { entries })
    }

    /// The entries, sorted by key, by value.
    ///
    /// ```
    /// assert!(ember_dist::Map::new().into_entries().is_empty());
    /// ```
    pub fn into_entries(self) -> Vec<(Term, Term)> {
        self.entries
    }
}

impl FromIterator<(Term, Term)> for Map {
    /// Later entries replace earlier ones with an equal key.
    fn from_iter<I: IntoIterator<Item = (Term, Term)>>(iter: I) -> Map {
        let mut m = Map::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// A process identifier as the external format carries it: the node that
/// owns the process, and that node's numbers for it.
///
/// ```
/// use ember_dist::{Atom, Pid};
/// let p = Pid { node: Atom::new("a@h"), id: 83, serial: 0, creation: 1 };
/// assert_eq!(p.to_string(), "<a@h.83.0>");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid {
    /// The owning node's name.
    pub node: Atom,
    /// The process number on that node.
    pub id: u32,
    /// The serial (reuse count) of that number.
    pub serial: u32,
    /// The owning node's incarnation (from its EPMD registration).
    pub creation: u32,
}

/// A reference as the external format carries it. Up to 5 id words (OTP 26
/// accepts 5; ordinary references have 3, pid references 4 or 5).
///
/// ```
/// use ember_dist::{Atom, Reference};
/// let r = Reference { node: Atom::new("a@h"), creation: 1, id: vec![1, 2, 3] };
/// assert_eq!(r.to_string(), "#Ref<a@h.3.2.1>");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// The node that made the reference.
    pub node: Atom,
    /// That node's incarnation.
    pub creation: u32,
    /// The id words, least significant first (as on the wire).
    pub id: Vec<u32>,
}

/// A port identifier as the external format carries it.
///
/// ```
/// use ember_dist::{Atom, Port};
/// assert_eq!(Port { node: Atom::new("a@h"), id: 5, creation: 1 }.to_string(), "#Port<a@h.5>");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    /// The owning node's name.
    pub node: Atom,
    /// The port number.
    pub id: u64,
    /// The owning node's incarnation.
    pub creation: u32,
}

/// A fun. Ember cannot call one; it keeps every field so the fun can go back
/// to a BEAM node unchanged.
///
/// ```
/// use ember_dist::{Atom, Fun};
/// let f = Fun::Export { module: Atom::new("lists"), function: Atom::new("reverse"), arity: 1 };
/// assert_eq!(f.to_string(), "fun lists:reverse/1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fun {
    /// `fun Module:Function/Arity` (EXPORT_EXT).
    Export {
        /// The module.
        module: Atom,
        /// The function.
        function: Atom,
        /// The arity.
        arity: u8,
    },
    /// A closure (NEW_FUN_EXT), with its environment.
    Closure(Box<Closure>),
}

/// The fields of a closure (NEW_FUN_EXT), kept to send it back unchanged.
///
/// ```
/// # use ember_dist::{Atom, Closure, Pid, Term};
/// let c = Closure {
///     arity: 0, uniq: [0; 16], index: 0, module: Atom::new("m"),
///     old_index: Term::Int(0), old_uniq: Term::Int(0),
///     pid: Pid { node: Atom::new("a@h"), id: 1, serial: 0, creation: 1 },
///     free_vars: vec![],
/// };
/// assert_eq!(c.module.as_str(), "m");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Closure {
    /// The number of arguments.
    pub arity: u8,
    /// MD5 of the module's significant parts.
    pub uniq: [u8; 16],
    /// The fun's index in the module's fun table.
    pub index: u32,
    /// The module that defines the fun.
    pub module: Atom,
    /// The old index (an integer term).
    pub old_index: Term,
    /// The old uniq (an integer term).
    pub old_uniq: Term,
    /// The process that created the fun.
    pub pid: Pid,
    /// The captured variables.
    pub free_vars: Vec<Term>,
}
