//! Terms printed in Erlang syntax, as `io:format("~w", [T])` would.
//!
//! The one departure: a pid, port or reference prints its node's *name*
//! (`<a@h.83.0>`), where the BEAM prints a number local to the printing
//! node (`<9842.83.0>`); without a node table there is no such number.

use super::{Atom, BitString, Closure, Fun, Pid, Port, Reference, Term};
use std::fmt::{self, Display, Formatter, Write};

impl Display for Term {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Term::Atom(a) => a.fmt(f),
            Term::Int(i) => i.fmt(f),
            Term::BigInt(b) => b.fmt(f),
            Term::Float(x) => write!(f, "{x:?}"),
            Term::Binary(b) => fmt_binary(b, f),
            Term::BitString(b) => b.fmt(f),
            Term::List(items) => {
                f.write_char('[')?;
                comma_separated(items, f)?;
                f.write_char(']')
            }
            Term::ImproperList(items, tail) => {
                f.write_char('[')?;
                comma_separated(items, f)?;
                write!(f, "|{tail}]")
            }
            Term::Tuple(items) => {
                f.write_char('{')?;
                comma_separated(items, f)?;
                f.write_char('}')
            }
            Term::Map(m) => {
                f.write_str("#{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{k} => {v}")?;
                }
                f.write_char('}')
            }
            Term::Pid(p) => p.fmt(f),
            Term::Ref(r) => r.fmt(f),
            Term::Port(p) => p.fmt(f),
            Term::Fun(x) => x.fmt(f),
        }
    }
}

fn comma_separated(items: &[Term], f: &mut Formatter<'_>) -> fmt::Result {
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        t.fmt(f)?;
    }
    Ok(())
}

fn fmt_binary(b: &[u8], f: &mut Formatter<'_>) -> fmt::Result {
    let printable = !b.is_empty() && b.iter().all(|&c| (0x20..0x7f).contains(&c));
    if printable {
        f.write_str("<<\"")?;
        for &c in b {
            if c == b'"' || c == b'\\' {
                f.write_char('\\')?;
            }
            f.write_char(char::from(c))?;
        }
        return f.write_str("\">>");
    }
    f.write_str("<<")?;
    for (i, byte) in b.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        byte.fmt(f)?;
    }
    f.write_str(">>")
}

impl Display for BitString {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (whole, last) = self.bytes().split_at(self.bytes().len() - 1);
        f.write_str("<<")?;
        for byte in whole {
            write!(f, "{byte},")?;
        }
        let bits = self.last_bits();
        write!(f, "{}:{}>>", last[0] >> (8 - bits), bits)
    }
}

impl Display for Atom {
    /// Quoted when Erlang would need quotes to read it back.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.as_str();
        let mut chars = s.chars();
        let plain = matches!(chars.next(), Some('a'..='z'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
            && !RESERVED.contains(&s);
        if plain {
            return f.write_str(s);
        }
        f.write_char('\'')?;
        for c in s.chars() {
            match c {
                '\'' => f.write_str("\\'")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('\'')
    }
}

/// Erlang's reserved words, which print quoted as atoms.
const RESERVED: &[&str] = &[
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case", "catch", "cond", "div",
    "end", "fun", "if", "let", "maybe", "not", "of", "or", "orelse", "receive", "rem", "try", "when", "xor",
];

impl Display for Pid {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}.{}>", self.node, self.id, self.serial)
    }
}

impl Display for Reference {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "#Ref<{}", self.node)?;
        for word in self.id.iter().rev() {
            write!(f, ".{word}")?;
        }
        f.write_char('>')
    }
}

impl Display for Port {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "#Port<{}.{}>", self.node, self.id)
    }
}

impl Display for Fun {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Fun::Export { module, function, arity } => write!(f, "fun {module}:{function}/{arity}"),
            Fun::Closure(c) => {
                let Closure { module, index, arity, .. } = &**c;
                write!(f, "#Fun<{module}.{index}.{arity}>")
            }
        }
    }
}
