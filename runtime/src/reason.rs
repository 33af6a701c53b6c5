//! Exit reasons.
//!
//! Every process ends with a [`Reason`]. The variants mirror the reasons that
//! OTP code gives meaning to (`normal`, `kill`, `killed`, `shutdown`,
//! `{shutdown, Term}`, `noproc`) plus two Rust-specific ones: a panic (with its
//! message and location) and any user-defined value.
//!
//! Classification (SEMANTICS.md §1.1):
//!
//! | Reason | kills a linked, non-trapping process | crash report | transient child restarted |
//! |---|---|---|---|
//! | `Normal` | no | no | no |
//! | `Shutdown`, `ShutdownWith(_)` | yes | no | no |
//! | anything else | yes | yes | yes |

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A user-defined value carried by a [`Reason`] (`Reason::Custom`,
/// `Reason::ShutdownWith`): any `Send + Sync + Debug + 'static` value.
///
/// Two terms are equal when they hold the same type and print the same
/// `Debug` text (values need not implement `PartialEq`).
///
/// ```
/// use ember_runtime::Term;
/// let t = Term::new("bad input");
/// assert_eq!(t.downcast_ref::<&str>(), Some(&"bad input"));
/// assert_eq!(t, Term::new("bad input"));
/// ```
#[derive(Clone)]
pub struct Term(Arc<dyn TermValue>);

trait TermValue: Any + Send + Sync {
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + Send + Sync + fmt::Debug> TermValue for T {
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Term {
    /// Wraps a value.
    ///
    /// ```
    /// let t = ember_runtime::Term::new(42u32);
    /// assert_eq!(format!("{t:?}"), "42");
    /// ```
    pub fn new<T: Any + Send + Sync + fmt::Debug>(value: T) -> Term {
        Term(Arc::new(value))
    }

    /// The value, if it is a `T`.
    ///
    /// ```
    /// let t = ember_runtime::Term::new(String::from("x"));
    /// assert!(t.downcast_ref::<String>().is_some());
    /// assert!(t.downcast_ref::<u8>().is_none());
    /// ```
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug(f)
    }
}

impl PartialEq for Term {
    fn eq(&self, other: &Term) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.as_any().type_id() == other.0.as_any().type_id() && format!("{self:?}") == format!("{other:?}"))
    }
}

/// Where a panic happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanicLocation {
    /// Source file.
    pub file: Arc<str>,
    /// Line, 1-based.
    pub line: u32,
    /// Column, 1-based.
    pub column: u32,
}

impl fmt::Display for PanicLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a process exited (or the reason carried by an exit signal).
///
/// ```
/// use ember_runtime::Reason;
/// assert!(Reason::Normal.is_normal());
/// assert!(Reason::shutdown_with("maintenance").is_clean());
/// assert!(!Reason::Killed.is_clean());
/// assert_eq!(Reason::custom("boom"), Reason::custom("boom"));
/// ```
#[derive(Clone, PartialEq)]
pub enum Reason {
    /// The process returned from its function (Erlang `normal`).
    Normal,
    /// The untrappable kill signal (`exit(pid, Reason::Kill)`). A process
    /// killed by it exits with [`Reason::Killed`]. Only a process that calls
    /// `exit(Reason::Kill)` itself exits with `Kill`.
    Kill,
    /// The process was killed by an untrappable [`Reason::Kill`] signal.
    Killed,
    /// Orderly shutdown (Erlang `shutdown`), a clean reason.
    Shutdown,
    /// Orderly shutdown with a payload (Erlang `{shutdown, Term}`), a clean reason.
    ShutdownWith(Term),
    /// The target process did not exist (Erlang `noproc`).
    NoProc,
    /// The process ran out of stack: it recursed too deep, or had too large a
    /// frame, for its stack size (raise it with
    /// [`SpawnOptions::stack_size`](crate::SpawnOptions::stack_size) or
    /// [`Builder::stack_size`](crate::Builder::stack_size)). Caught at a
    /// runtime call, the process unwinds as for any exit; caught at the
    /// guard page, its frames are abandoned: their destructors do not run
    /// and locks they hold stay held (see the architecture notes,
    /// "Containment").
    StackOverflow,
    /// The process panicked.
    Panic {
        /// The panic message.
        message: Arc<str>,
        /// Where the panic happened, when known.
        location: Option<PanicLocation>,
    },
    /// Any other, user-defined reason.
    Custom(Term),
}

impl Reason {
    /// A user-defined reason.
    ///
    /// ```
    /// let r = ember_runtime::Reason::custom("bad input");
    /// assert!(!r.is_clean());
    /// ```
    pub fn custom<T: Any + Send + Sync + fmt::Debug>(value: T) -> Reason {
        Reason::Custom(Term::new(value))
    }

    /// `{shutdown, value}`: a clean reason with a payload.
    ///
    /// ```
    /// assert!(ember_runtime::Reason::shutdown_with(7).is_clean());
    /// ```
    pub fn shutdown_with<T: Any + Send + Sync + fmt::Debug>(value: T) -> Reason {
        Reason::ShutdownWith(Term::new(value))
    }

    /// True only for [`Reason::Normal`].
    ///
    /// ```
    /// assert!(!ember_runtime::Reason::Shutdown.is_normal());
    /// ```
    pub fn is_normal(&self) -> bool {
        matches!(self, Reason::Normal)
    }

    /// True for `Normal`, `Shutdown` and `ShutdownWith(_)`: the reasons for
    /// which no crash report is logged and transient children are not
    /// restarted.
    ///
    /// Clean is not harmless: an exit signal with `Shutdown` or
    /// `ShutdownWith(_)` still kills a linked process that does not trap
    /// exits. Only `Normal` is ignored by such a process.
    ///
    /// ```
    /// assert!(ember_runtime::Reason::Shutdown.is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        matches!(self, Reason::Normal | Reason::Shutdown | Reason::ShutdownWith(_))
    }

    /// The user-defined value of a `Custom` or `ShutdownWith` reason, if it is a `T`.
    ///
    /// ```
    /// let r = ember_runtime::Reason::custom(404u16);
    /// assert_eq!(r.downcast_ref::<u16>(), Some(&404));
    /// ```
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        match self {
            Reason::Custom(t) | Reason::ShutdownWith(t) => t.downcast_ref(),
            _ => None,
        }
    }

    /// The reason for a panic payload caught by `catch_unwind`.
    ///
    /// The message is recovered from the payloads Rust and Ember raise: a
    /// `&str` or `String` (`panic!`), a [`Reason`] or a [`Term`]
    /// (`std::panic::panic_any` with an Ember value). Any other payload has
    /// no readable message; the reason then says so, and the location (when
    /// the runtime's panic hook saw it) tells where it was raised.
    pub(crate) fn from_panic(payload: &(dyn Any + Send), location: Option<PanicLocation>) -> Reason {
        let message: Arc<str> = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Arc::from(*s)
        } else if let Some(s) = payload.downcast_ref::<String>() {
            Arc::from(s.as_str())
        } else if let Some(r) = payload.downcast_ref::<Reason>() {
            Arc::from(format!("{r:?}"))
        } else if let Some(t) = payload.downcast_ref::<Term>() {
            Arc::from(format!("{t:?}"))
        } else {
            Arc::from(NON_STRING_PAYLOAD)
        };
        Reason::Panic { message, location }
    }
}

/// The message of a panic whose payload is neither a string nor an Ember
/// value (`std::panic::panic_any(42)`): Rust keeps no type name for it.
pub(crate) const NON_STRING_PAYLOAD: &str = "a panic with a non-string payload (no message can be recovered)";

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Normal => f.write_str("normal"),
            Reason::Kill => f.write_str("kill"),
            Reason::Killed => f.write_str("killed"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::ShutdownWith(t) => write!(f, "{{shutdown, {t:?}}}"),
            Reason::NoProc => f.write_str("noproc"),
            Reason::StackOverflow => f.write_str("stack_overflow"),
            Reason::Panic { message, location: Some(l) } => write!(f, "panic {message:?} at {l}"),
            Reason::Panic { message, location: None } => write!(f, "panic {message:?}"),
            Reason::Custom(t) => fmt::Debug::fmt(t, f),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        for (r, normal, clean) in [
            (Reason::Normal, true, true),
            (Reason::Shutdown, false, true),
            (Reason::shutdown_with(1), false, true),
            (Reason::Kill, false, false),
            (Reason::Killed, false, false),
            (Reason::NoProc, false, false),
            (Reason::StackOverflow, false, false),
            (Reason::custom("x"), false, false),
            (Reason::Panic { message: "m".into(), location: None }, false, false),
        ] {
            assert_eq!(r.is_normal(), normal, "{r:?}");
            assert_eq!(r.is_clean(), clean, "{r:?}");
        }
    }

    #[test]
    fn equality_and_display() {
        assert_ne!(Reason::custom(1u8), Reason::custom(1u16));
        assert_eq!(Reason::shutdown_with("a"), Reason::shutdown_with("a"));
        assert_eq!(format!("{:?}", Reason::shutdown_with("a")), "{shutdown, \"a\"}");
        let p = Reason::from_panic(&"boom", None);
        assert_eq!(p, Reason::Panic { message: "boom".into(), location: None });
        let s: Box<dyn Any + Send> = Box::new(String::from("dyn"));
        assert!(matches!(Reason::from_panic(&*s, None), Reason::Panic { message, .. } if &*message == "dyn"));
        let r: Box<dyn Any + Send> = Box::new(Reason::custom("oops"));
        assert!(matches!(Reason::from_panic(&*r, None), Reason::Panic { message, .. } if &*message == "\"oops\""));
        let n: Box<dyn Any + Send> = Box::new(42u32);
        assert!(
            matches!(Reason::from_panic(&*n, None), Reason::Panic { message, .. } if &*message == NON_STRING_PAYLOAD)
        );
    }
}
