//! Erlang's exact term order, as `Eq`, `Ord` and `Hash` for [`Term`].
//!
//! The rank of each type comes first (number < atom < reference < fun < port
//! < pid < tuple < map < nil < list < bit string), then a comparison within
//! the type. `Hash` feeds the same normal forms that equality compares, so an
//! `Int` and a `BigInt` of the same value hash alike.

use super::Term;
use num_bigint::BigInt;
use num_traits::FromPrimitive;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// Compares two terms in Erlang's exact term order (see the
/// [module docs](crate::term)).
///
/// ```
/// use ember_dist::{term::compare, Term};
/// use std::cmp::Ordering;
/// assert_eq!(compare(&Term::Int(1), &Term::atom("a")), Ordering::Less);
/// assert_eq!(compare(&Term::Int(1), &Term::Float(1.0)), Ordering::Less);
/// assert_eq!(compare(&Term::Float(0.5), &Term::Int(1)), Ordering::Less);
/// ```
pub fn compare(a: &Term, b: &Term) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Term::Int(_) | Term::BigInt(_) | Term::Float(_), _) => compare_numbers(a, b),
        (Term::Atom(x), Term::Atom(y)) => x.cmp(y),
        (Term::Ref(x), Term::Ref(y)) => x.cmp(y),
        (Term::Fun(x), Term::Fun(y)) => x.cmp(y),
        (Term::Port(x), Term::Port(y)) => x.cmp(y),
        (Term::Pid(x), Term::Pid(y)) => x.cmp(y),
        (Term::Tuple(x), Term::Tuple(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
        (Term::Map(x), Term::Map(y)) => x.len().cmp(&y.len()).then_with(|| compare_maps(x, y)),
        (Term::List(_) | Term::ImproperList(..), _) => compare_lists(a, b),
        _ => compare_bits(a, b),
    }
}

fn rank(t: &Term) -> u8 {
    match t {
        Term::Int(_) | Term::BigInt(_) | Term::Float(_) => 0,
        Term::Atom(_) => 1,
        Term::Ref(_) => 2,
        Term::Fun(_) => 3,
        Term::Port(_) => 4,
        Term::Pid(_) => 5,
        Term::Tuple(_) => 6,
        Term::Map(_) => 7,
        Term::List(l) if l.is_empty() => 8,
        Term::List(_) | Term::ImproperList(..) => 9,
        Term::Binary(_) | Term::BitString(_) => 10,
    }
}

fn compare_maps(x: &super::Map, y: &super::Map) -> Ordering {
    // Erlang compares all keys first, then the values in key order.
    let keys = x.iter().map(|(k, _)| k).cmp(y.iter().map(|(k, _)| k));
    keys.then_with(|| x.iter().map(|(_, v)| v).cmp(y.iter().map(|(_, v)| v)))
}

fn compare_lists(a: &Term, b: &Term) -> Ordering {
    fn parts(t: &Term) -> (&[Term], Option<&Term>) {
        match t {
            Term::List(l) => (l, None),
            Term::ImproperList(h, tail) => (h, Some(tail)),
            _ => (&[], None),
        }
    }
    let ((ha, ta), (hb, tb)) = (parts(a), parts(b));
    for (x, y) in ha.iter().zip(hb) {
        match compare(x, y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    // One head is a prefix of the other: compare what follows the shorter
    // head (its tail, or nil) with the rest of the longer list.
    let n = ha.len().min(hb.len());
    let rest = |h: &[Term], t: Option<&Term>| -> Term {
        match (&h[n..], t) {
            ([], None) => Term::nil(),
            ([], Some(t)) => t.clone(),
            (more, None) => Term::List(more.to_vec()),
            (more, Some(t)) => Term::ImproperList(more.to_vec(), Box::new(t.clone())),
        }
    };
    if ha.len() == hb.len() && ta.is_none() && tb.is_none() {
        return Ordering::Equal;
    }
    compare(&rest(ha, ta), &rest(hb, tb))
}

fn bits(t: &Term) -> (&[u8], u64) {
    match t {
        Term::Binary(b) => (b, b.len() as u64 * 8),
        Term::BitString(b) => (b.bytes(), b.bit_len()),
        _ => (&[], 0),
    }
}

fn compare_bits(a: &Term, b: &Term) -> Ordering {
    // Unused low bits of a partial last byte are zero, so comparing the bytes
    // and then the bit lengths is comparing bit by bit.
    let ((xa, la), (xb, lb)) = (bits(a), bits(b));
    xa.cmp(xb).then(la.cmp(&lb))
}

fn compare_numbers(a: &Term, b: &Term) -> Ordering {
    match (a, b) {
        (Term::Int(x), Term::Int(y)) => x.cmp(y),
        (Term::Float(x), Term::Float(y)) => x.total_cmp(y),
        (Term::Float(f), other) => compare_int_float(other, *f).reverse(),
        (other, Term::Float(f)) => compare_int_float(other, *f),
        _ => big(a).cmp(&big(b)),
    }
}

fn big(t: &Term) -> BigInt {
    match t {
        Term::Int(i) => BigInt::from(*i),
        Term::BigInt(b) => b.clone(),
        _ => BigInt::from(0),
    }
}

/// An integer against a float, exactly; on equal value the integer is first.
fn compare_int_float(int: &Term, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    if f.is_infinite() {
        return if f > 0.0 { Ordering::Less } else { Ordering::Greater };
    }
    let floor = f.floor();
    let whole = BigInt::from_f64(floor).unwrap_or_default();
    match big(int).cmp(&whole) {
        // int == floor(f): the int is smaller when f has a fraction, and
        // first on a tie.
        Ordering::Equal => Ordering::Less,
        other => other,
    }
}

impl PartialEq for Term {
    fn eq(&self, other: &Term) -> bool {
        compare(self, other) == Ordering::Equal
    }
}

impl Eq for Term {}

impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Term) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Term {
    fn cmp(&self, other: &Term) -> Ordering {
        compare(self, other)
    }
}

impl Hash for Term {
    fn hash<H: Hasher>(&self, state: &mut H) {
        rank(self).hash(state);
        match self {
            Term::Int(i) => i.hash(state),
            Term::BigInt(b) => match i64::try_from(b) {
                Ok(i) => i.hash(state),
                Err(_) => b.hash(state),
            },
            Term::Float(f) => f.to_bits().hash(state),
            Term::Atom(a) => a.hash(state),
            Term::Ref(r) => r.hash(state),
            Term::Fun(f) => f.hash(state),
            Term::Port(p) => p.hash(state),
            Term::Pid(p) => p.hash(state),
            Term::Tuple(t) => t.hash(state),
            Term::Map(m) => m.hash(state),
            Term::List(_) | Term::ImproperList(..) => {
                // Hash the flattened form so equal lists hash alike however
                // they are split between head and tail.
                let mut t = self;
                loop {
                    match t {
                        Term::List(l) => {
                            l.iter().for_each(|x| x.hash(state));
                            break;
                        }
                        Term::ImproperList(h, tail) => {
                            h.iter().for_each(|x| x.hash(state));
                            t = tail;
                        }
                        other => {
                            0xffu8.hash(state);
                            other.hash(state);
                            break;
                        }
                    }
                }
            }
            Term::Binary(_) | Term::BitString(_) => {
                let (b, l) = bits(self);
                b.hash(state);
                l.hash(state);
            }
        }
    }
}
