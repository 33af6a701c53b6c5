//! Select specifications (see [`Spec`]).

use crate::error::RegistryError;
use ember_runtime::Pid;
use std::fmt;

type KeyFilter<'a, K> = Box<dyn Fn(&K) -> bool + 'a>;
type PidFilter<'a> = Box<dyn Fn(Pid) -> bool + 'a>;
type ValueFilter<'a, V> = Box<dyn Fn(&V) -> bool + 'a>;
type Guard<'a, K, V> = Box<dyn Fn(&K, Pid, &V) -> bool + 'a>;
type Body<'a, K, V, T> = Box<dyn Fn(&K, Pid, &V) -> T + 'a>;

/// One clause of a [`Spec`]: filters on the key, the pid and the value, a
/// guard over all three, and a body (the projection). A clause without a
/// body is valid for [`Registry::count_select`](crate::Registry::count_select)
/// only.
pub struct Clause<'a, K, V, T> {
    key: Option<KeyFilter<'a, K>>,
    pid: Option<PidFilter<'a>>,
    value: Option<ValueFilter<'a, V>>,
    guard: Option<Guard<'a, K, V>>,
    body: Option<Body<'a, K, V, T>>,
}

impl<K, V, T> Default for Clause<'_, K, V, T> {
    fn default() -> Self {
        Clause { key: None, pid: None, value: None, guard: None, body: None }
    }
}

impl<K, V, T> fmt::Debug for Clause<'_, K, V, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clause")
            .field("key", &self.key.is_some())
            .field("pid", &self.pid.is_some())
            .field("value", &self.value.is_some())
            .field("guard", &self.guard.is_some())
            .field("body", &self.body.is_some())
            .finish()
    }
}

impl<'a, K, V, T> Clause<'a, K, V, T> {
    /// A clause accepting every entry, with no body yet.
    ///
    /// ```
    /// let c: ember_registry::Clause<u8, u8, ()> = ember_registry::Clause::new();
    /// assert!(!c.has_body());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts only entries whose key satisfies `f`.
    ///
    /// ```
    /// let _ = ember_registry::Clause::<u8, u8, u8>::new().key(|k| *k < 10);
    /// ```
    pub fn key(mut self, f: impl Fn(&K) -> bool + 'a) -> Self {
        self.key = Some(Box::new(f));
        self
    }

    /// Accepts only entries whose key equals `key`.
    ///
    /// ```
    /// let _ = ember_registry::Clause::<String, u8, u8>::new().key_eq("a".to_string());
    /// ```
    pub fn key_eq(self, key: K) -> Self
    where
        K: PartialEq + 'a,
    {
        self.key(move |k| *k == key)
    }

    /// Accepts only entries whose pid satisfies `f`.
    ///
    /// ```
    /// let _ = ember_registry::Clause::<u8, u8, u8>::new().pid(|p| p.is_alive());
    /// ```
    pub fn pid(mut self, f: impl Fn(Pid) -> bool + 'a) -> Self {
        self.pid = Some(Box::new(f));
        self
    }

    /// Accepts only entries registered by `pid`.
    ///
    /// ```
    /// let _ = ember_registry::Clause::<u8, u8, u8>::new().pid_eq(ember_runtime::Pid::UNDEFINED);
    /// ```
    pub fn pid_eq(self, pid: Pid) -> Self {
        self.pid(move |p| p == pid)
    }

    /// Accepts only entries whose value satisfies `f`.
    ///
    /// ```
    /// let _ = ember_registry::Clause::<u8, u32, u8>::new().value(|v| *v > 1);
    /// ```
    pub fn value(mut self, f: impl Fn(&V) -> bool + 'a) -> Self {
        self.value = Some(Box::new(f));
        self
    }

    /// Accepts only entries for which `f(key, pid, value)` holds (the
    /// guards of a match specification).
    ///
    /// ```
    /// let _ = ember_registry::Clause::<u32, u32, u8>::new().guard(|k, _pid, v| k == v);
    /// ```
    pub fn guard(mut self, f: impl Fn(&K, Pid, &V) -> bool + 'a) -> Self {
        self.guard = Some(Box::new(f));
        self
    }

    /// What a selected entry becomes (the body of a match specification).
    ///
    /// ```
    /// let c = ember_registry::Clause::<u8, u8, u8>::new().body(|k, _pid, v| k + v);
    /// assert!(c.has_body());
    /// ```
    pub fn body(mut self, f: impl Fn(&K, Pid, &V) -> T + 'a) -> Self {
        self.body = Some(Box::new(f));
        self
    }

    /// Whether the clause has a body.
    pub fn has_body(&self) -> bool {
        self.body.is_some()
    }

    fn accepts(&self, key: &K, pid: Pid, value: &V) -> bool {
        self.key.as_ref().is_none_or(|f| f(key))
            && self.pid.as_ref().is_none_or(|f| f(pid))
            && self.value.as_ref().is_none_or(|f| f(value))
            && self.guard.as_ref().is_none_or(|f| f(key, pid, value))
    }
}

/// A select specification: Elixir's match specifications over `{key, pid,
/// value}`, as typed predicates and a projection.
///
/// A `Spec` is a list of [`Clause`]s. An entry is selected by the first
/// clause whose filters all accept it (key, pid, value, and a guard over the
/// three); the clause's body projects it into the result. Elixir's
///
/// ```elixir
/// Registry.select(reg, [{{:"$1", :"$2", :"$3"}, [{:>, :"$3", 1}], [{{:"$1", :"$2"}}]}])
/// ```
///
/// reads
///
/// ```
/// use ember_registry::{Clause, Spec};
/// let spec: Spec<String, u32, (String, ember_runtime::Pid)> =
///     Spec::new().clause(Clause::new().value(|v: &u32| *v > 1).body(|k: &String, pid, _v: &u32| (k.clone(), pid)));
/// assert_eq!(spec.len(), 1);
/// ```
///
/// Filters and bodies run while a partition is read-locked: they must be
/// pure — not call the registry, nor receive.
pub struct Spec<'a, K, V, T> {
    clauses: Vec<Clause<'a, K, V, T>>,
}

impl<K, V, T> Default for Spec<'_, K, V, T> {
    fn default() -> Self {
        Spec { clauses: Vec::new() }
    }
}

impl<K, V, T> fmt::Debug for Spec<'_, K, V, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.clauses).finish()
    }
}

impl<'a, K, V, T> Spec<'a, K, V, T> {
    /// A specification with no clause (it selects nothing).
    ///
    /// ```
    /// let s: ember_registry::Spec<u8, u8, u8> = ember_registry::Spec::new();
    /// assert!(s.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a clause, tried after the ones already there.
    ///
    /// ```
    /// use ember_registry::{Clause, Spec};
    /// let s: Spec<u8, u8, u8> = Spec::new().clause(Clause::new().body(|k, _, _| *k));
    /// assert_eq!(s.len(), 1);
    /// ```
    pub fn clause(mut self, clause: Clause<'a, K, V, T>) -> Self {
        self.clauses.push(clause);
        self
    }

    /// A specification of one clause selecting every entry through `body`.
    ///
    /// ```
    /// let s = ember_registry::Spec::<u8, u8, u8>::all(|k, _pid, _v| *k);
    /// assert_eq!(s.len(), 1);
    /// ```
    pub fn all(body: impl Fn(&K, Pid, &V) -> T + 'a) -> Self {
        Spec::new().clause(Clause::new().body(body))
    }

    /// The number of clauses.
    pub fn len(&self) -> usize {
        self.clauses.len()
    }

    /// Whether there is no clause.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Checks the specification; `select` needs a body in every clause.
    pub(crate) fn validate(&self, need_body: bool) -> Result<(), RegistryError> {
        if need_body {
            if let Some(i) = self.clauses.iter().position(|c| c.body.is_none()) {
                return Err(RegistryError::InvalidSelect(format!(
                    "clause {i} has no body: give it one with Clause::body (only count_select accepts clauses without a body)"
                )));
            }
        }
        Ok(())
    }

    /// The first clause accepting the entry.
    pub(crate) fn first(&self, key: &K, pid: Pid, value: &V) -> Option<&Clause<'a, K, V, T>> {
        self.clauses.iter().find(|c| c.accepts(key, pid, value))
    }

    /// Projects an entry through the first clause accepting it.
    pub(crate) fn project(&self, key: &K, pid: Pid, value: &V) -> Option<T> {
        self.first(key, pid, value).and_then(|c| c.body.as_ref()).map(|body| body(key, pid, value))
    }
}
