//! The errors of the registry API.

use ember_runtime::gen_server::StartError;
use ember_runtime::{Name, Pid, Reason};
use std::fmt;

/// Why a registry operation failed.
///
/// Elixir raises `ArgumentError` (or returns `{:error, ...}`) in these
/// cases; Ember returns the error as a value and never panics.
///
/// ```
/// use ember_registry::RegistryError;
/// let e = RegistryError::UnknownRegistry("workers".into());
/// assert!(e.to_string().starts_with("unknown registry: workers"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RegistryError {
    /// No registry is running under this name (in the caller's runtime).
    UnknownRegistry(Name),
    /// A registry runs under this name, but with other key or value types.
    WrongTypes {
        /// The registry's name.
        registry: Name,
        /// The `(K, V)` types asked for.
        expected: String,
        /// The `(K, V)` types the registry was started with.
        found: String,
    },
    /// A unique key is held by this live process (Elixir's
    /// `{:error, {:already_registered, pid}}`); the pid may be the caller.
    AlreadyRegistered(Pid),
    /// The operation is not supported by this kind of registry (for example
    /// `update_value` or `via` names on a duplicate registry).
    NotSupported(String),
    /// The start options are invalid (explanation inside).
    InvalidOptions(String),
    /// The select specification is invalid (explanation inside).
    InvalidSelect(String),
    /// The metadata under this key holds a value of another type.
    MetaType {
        /// The metadata key.
        key: String,
        /// The type asked for.
        expected: &'static str,
    },
    /// The operation must be called from an Ember process of the registry's
    /// runtime (it registers, locks or waits on behalf of the calling
    /// process).
    NotAProcess,
    /// A partition of the registry is not running (it is being restarted,
    /// or the registry is stopping).
    Unavailable(Name),
    /// A `dispatch_parallel` callback ended its process with this reason.
    DispatchFailed(Reason),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::UnknownRegistry(name) => write!(
                f,
                "unknown registry: {name}. Either the registry name is invalid or the registry is not running"
            ),
            RegistryError::WrongTypes { registry, expected, found } => {
                write!(f, "registry {registry} holds keys and values of types {found}, not {expected}")
            }
            RegistryError::AlreadyRegistered(pid) => write!(f, "already_registered: the key is held by {pid}"),
            RegistryError::NotSupported(what) => f.write_str(what),
            RegistryError::InvalidOptions(why) => write!(f, "invalid registry options: {why}"),
            RegistryError::InvalidSelect(why) => write!(f, "invalid match specification in Registry.select: {why}"),
            RegistryError::MetaType { key, expected } => {
                write!(f, "the registry metadata {key:?} does not hold a value of type {expected}")
            }
            RegistryError::NotAProcess => {
                f.write_str("this registry operation must be called from an Ember process of the registry's runtime")
            }
            RegistryError::Unavailable(name) => {
                write!(f, "registry {name} is unavailable: a partition is restarting or the registry is stopping")
            }
            RegistryError::DispatchFailed(reason) => write!(f, "a parallel dispatch callback failed: {reason:?}"),
        }
    }
}

impl std::error::Error for RegistryError {}

impl RegistryError {
    /// The registry error inside a failed
    /// [`Registry::start_link`](crate::Registry::start_link), if that is why
    /// it failed (invalid options, or not called from a process).
    ///
    /// ```
    /// use ember_registry::{Options, Registry, RegistryError};
    /// ember_runtime::run(|| {
    ///     let err = Registry::<u32, ()>::start_link(Options::unique("r").partitions(0)).unwrap_err();
    ///     assert!(matches!(RegistryError::from_start_error(&err), Some(RegistryError::InvalidOptions(_))));
    /// })
    /// .unwrap();
    /// ```
    pub fn from_start_error(error: &StartError) -> Option<&RegistryError> {
        match error {
            StartError::Failed(reason) => reason.downcast_ref::<RegistryError>(),
            _ => None,
        }
    }

    pub(crate) fn into_start_error(self) -> StartError {
        StartError::Failed(Reason::custom(self))
    }
}
