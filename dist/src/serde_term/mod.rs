//! serde between Rust types and [`Term`]s: [`to_term`] and [`from_term`].
//!
//! # The mapping
//!
//! | Rust | Erlang term | decodes also from |
//! |---|---|---|
//! | `bool` | `true` / `false` | |
//! | integers (`i8`..`i128`, `u8`..`u128`) | integer (bignum when large) | |
//! | `f32`, `f64` | float | integer |
//! | `char` | integer (the code point) | |
//! | `String`, `&str` | binary, UTF-8 (`<<"text">>`, Elixir's strings) | charlist (`"text"`), atom |
//! | bytes (`serde_bytes`) | binary | list of bytes |
//! | `Vec<u8>` and other sequences | list | tuple |
//! | `Option<T>`: `None` / `Some(x)` | `undefined` / `x` | `nil` for `None` |
//! | `()` | `{}` | |
//! | tuples, tuple structs | tuple | list |
//! | `struct S { a, b }` | map with atom keys `#{a => .., b => ..}` | |
//! | unit struct `Ping` | atom `ping` | |
//! | newtype struct `Id(x)` | `x` | |
//! | `HashMap`, `BTreeMap` | map | |
//! | unit variant `E::Increment` | atom `increment` | |
//! | newtype variant `E::Add(x)` | `{add, x}` | |
//! | tuple variant `E::Put(k, v)` | `{put, k, v}` | |
//! | struct variant `E::Move { x, y }` | `{move, #{x => .., y => ..}}` | |
//! | [`Term`], [`Atom`], [`Pid`], [`Reference`], [`Port`], [`Fun`] | themselves | |
//!
//! Names of unit structs and variants turn from `CamelCase` into
//! `snake_case` atoms (`GetState` → `get_state`); a name without capitals is
//! used as it is, so `#[serde(rename = "$gen_call")]` names any lower-case
//! atom. So `Result<T, E>` maps to `{ok, T}` / `{error, E}`,
//! the Erlang convention (`Result::Err` is the one name that does not
//! follow the rule: it is `error`).
//!
//! A string becomes a *binary* because that is what Elixir and most modern
//! Erlang APIs use; an Erlang string (charlist) decodes into a `String` too.
//! For a charlist on the way out, hold a [`Term`] made by
//! [`Term::charlist`].
//!
//! ```
//! use ember_dist::{from_term, to_term, Term};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! enum Call {
//!     Increment,
//!     Add(i64),
//!     Put { key: String, value: Option<u32> },
//! }
//!
//! let t = to_term(&Call::Put { key: "k".into(), value: None }).unwrap();
//! assert_eq!(t.to_string(), "{put,#{key => <<\"k\">>,value => undefined}}");
//! assert_eq!(from_term::<Call>(Term::atom("increment")).unwrap(), Call::Increment);
//! assert_eq!(from_term::<Call>(Term::tuple(vec![Term::atom("add"), Term::Int(2)])).unwrap(), Call::Add(2));
//! assert!(from_term::<Call>(Term::atom("decrement")).is_err());
//! ```

mod de;
mod impls;
mod ser;

pub use de::from_term;
pub use ser::to_term;

use std::fmt;

/// Why a value did not map to or from a term.
///
/// ```
/// let err = ember_dist::from_term::<u8>(ember_dist::Term::atom("x")).unwrap_err();
/// assert!(err.to_string().contains("expected an integer"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

/// The newtype name under which a [`Term`](crate::Term) crosses serde as
/// its external-format bytes, so that our serializer and deserializer can
/// carry it whole.
pub(crate) const TERM_MAGIC: &str = "$ember_dist::Term";

/// The atom of variant `variant` of enum `name`: its snake_case name, except
/// that `Result::Err` is `error`, so a `Result` is Erlang's `{ok, V}` /
/// `{error, R}`.
pub(crate) fn variant_atom_name(name: &str, variant: &'static str) -> std::borrow::Cow<'static, str> {
    if name == "Result" && variant == "Err" {
        return "error".into();
    }
    atom_name(variant)
}

/// `CamelCase` → `snake_case`; a name with no capitals is returned as is.
pub(crate) fn atom_name(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.chars().any(|c| c.is_uppercase()) {
        return name.into();
    }
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::atom_name;

    #[test]
    fn names_become_snake_case_atoms() {
        assert_eq!(atom_name("Increment"), "increment");
        assert_eq!(atom_name("GetState"), "get_state");
        assert_eq!(atom_name("HTTPServer"), "http_server");
        assert_eq!(atom_name("V2Call"), "v2_call");
        assert_eq!(atom_name("already_snake"), "already_snake");
        assert_eq!(atom_name("$gen_call"), "$gen_call");
    }
}
