//! Exit reasons between Ember's [`Reason`] and Erlang terms.
//!
//! | Ember | Erlang |
//! |---|---|
//! | `Normal`, `Kill`, `Killed`, `Shutdown`, `NoProc` | `normal`, `kill`, `killed`, `shutdown`, `noproc` |
//! | `ShutdownWith(t)` | `{shutdown, T}` |
//! | `noconnection()` | `noconnection` |
//! | `StackOverflow` | `stack_overflow` |
//! | `Panic { message, .. }` | `{panic, <<"message">>}` |
//! | `Custom(t)` holding a `Term` | that term |
//! | any other `Custom(t)` | its `Debug` text, as a binary |
//!
//! From Erlang, any other term becomes `Reason::custom(term)`, so
//! `reason.downcast_ref::<Term>()` gives it back.

use crate::term::Term;
use ember_runtime::node::{noconnection, NoConnection};
use ember_runtime::Reason;

/// The term Erlang sees for an Ember exit reason.
///
/// ```
/// use ember_dist::node::reason_to_term;
/// assert_eq!(reason_to_term(&ember_runtime::Reason::Normal), ember_dist::Term::atom("normal"));
/// ```
pub fn reason_to_term(reason: &Reason) -> Term {
    match reason {
        Reason::Normal => Term::atom("normal"),
        Reason::Kill => Term::atom("kill"),
        Reason::Killed => Term::atom("killed"),
        Reason::Shutdown => Term::atom("shutdown"),
        Reason::NoProc => Term::atom("noproc"),
        Reason::StackOverflow => Term::atom("stack_overflow"),
        Reason::ShutdownWith(t) => Term::tuple(vec![Term::atom("shutdown"), value_to_term(t)]),
        Reason::Panic { message, .. } => Term::tuple(vec![Term::atom("panic"), Term::binary(message.as_bytes())]),
        Reason::Custom(t) => value_to_term(t),
    }
}

fn value_to_term(value: &ember_runtime::Term) -> Term {
    if let Some(t) = value.downcast_ref::<Term>() {
        t.clone()
    } else if value.downcast_ref::<NoConnection>().is_some() {
        Term::atom("noconnection")
    } else {
        Term::binary(format!("{value:?}").as_bytes())
    }
}

/// The Ember reason for an exit reason from Erlang.
///
/// ```
/// use ember_dist::node::term_to_reason;
/// use ember_dist::Term;
/// assert!(term_to_reason(Term::atom("noconnection")).is_noconnection());
/// let r = term_to_reason(Term::atom("boom"));
/// assert_eq!(r.downcast_ref::<Term>(), Some(&Term::atom("boom")));
/// ```
pub fn term_to_reason(term: Term) -> Reason {
    if let Some(atom) = term.as_atom() {
        match atom {
            "normal" => return Reason::Normal,
            "kill" => return Reason::Kill,
            "killed" => return Reason::Killed,
            "shutdown" => return Reason::Shutdown,
            "noproc" => return Reason::NoProc,
            "noconnection" => return noconnection(),
            _ => {}
        }
    }
    if let Some([tag, value]) = term.as_tuple() {
        if tag.as_atom() == Some("shutdown") {
            return Reason::shutdown_with(value.clone());
        }
    }
    Reason::custom(term)
}
