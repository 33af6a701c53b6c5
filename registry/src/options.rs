//! Start options (SEMANTICS.md §7.1).

use crate::error::RegistryError;
use ember_runtime::Name;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// The most partitions a registry may have.
pub const MAX_PARTITIONS: usize = 1024;

/// What keys a registry holds (Elixir's `:keys` option).
///
/// ```
/// use ember_registry::{Keys, PartitionBy};
/// assert_eq!(Keys::duplicate(), Keys::Duplicate(PartitionBy::Pid));
/// assert!(Keys::Unique.is_unique());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Keys {
    /// A key points to at most one process (`:unique`). Usable for `via`
    /// names.
    Unique,
    /// A key may point to many processes, and a process may register a key
    /// many times (`{:duplicate, :pid}` or `{:duplicate, :key}`).
    Duplicate(PartitionBy),
}

impl Keys {
    /// Duplicate keys partitioned by pid (Elixir's `:duplicate`).
    pub fn duplicate() -> Keys {
        Keys::Duplicate(PartitionBy::Pid)
    }

    /// Whether keys are unique.
    pub fn is_unique(self) -> bool {
        self == Keys::Unique
    }
}

impl fmt::Display for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keys::Unique => f.write_str("unique"),
            Keys::Duplicate(PartitionBy::Pid) => f.write_str("duplicate"),
            Keys::Duplicate(PartitionBy::Key) => f.write_str("duplicate (partitioned by key)"),
        }
    }
}

/// How the entries of a duplicate registry are spread over its partitions.
///
/// By pid (the default), the entries of one process live in one partition:
/// registering is cheap for processes that register many keys, and looking
/// a key up reads every partition. By key, all entries of one key live in
/// one partition: looking a key up reads one partition, which suits many
/// processes registering few keys (a pubsub topic, for example).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartitionBy {
    /// Partition by the registering process (`{:duplicate, :pid}`).
    Pid,
    /// Partition by the key (`{:duplicate, :key}`).
    Key,
}

/// A metadata value: any `Send + Sync` value, read back by type.
pub(crate) type MetaValue = Arc<dyn Any + Send + Sync>;

/// How to start a registry: its name, kind of keys, partitions, listeners
/// and initial metadata (Elixir's `Registry.start_link/1` options).
///
/// ```
/// use ember_registry::{Keys, Options};
/// let opts = Options::unique("workers").partitions(4).listener("audit").meta("started_by", "main");
/// assert_eq!(opts.get_name().as_str(), "workers");
/// assert_eq!(opts.get_keys(), Keys::Unique);
/// assert_eq!(opts.get_partitions(), 4);
/// ```
#[derive(Clone)]
pub struct Options {
    pub(crate) name: Name,
    pub(crate) keys: Keys,
    pub(crate) partitions: usize,
    pub(crate) listeners: Vec<Name>,
    pub(crate) meta: Vec<(String, MetaValue)>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("name", &self.name)
            .field("keys", &self.keys)
            .field("partitions", &self.partitions)
            .field("listeners", &self.listeners)
            .field("meta", &self.meta.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl Options {
    /// A registry named `name` (required: the registry is registered under
    /// it) with `keys`, one partition, no listeners and no metadata.
    ///
    /// ```
    /// use ember_registry::{Keys, Options, PartitionBy};
    /// let opts = Options::new("topics", Keys::Duplicate(PartitionBy::Key));
    /// assert_eq!(opts.get_partitions(), 1);
    /// ```
    pub fn new(name: impl Into<Name>, keys: Keys) -> Options {
        Options { name: name.into(), keys, partitions: 1, listeners: Vec::new(), meta: Vec::new() }
    }

    /// A registry with unique keys.
    ///
    /// ```
    /// assert!(ember_registry::Options::unique("r").get_keys().is_unique());
    /// ```
    pub fn unique(name: impl Into<Name>) -> Options {
        Options::new(name, Keys::Unique)
    }

    /// A registry with duplicate keys, partitioned by pid.
    ///
    /// ```
    /// assert!(!ember_registry::Options::duplicate("r").get_keys().is_unique());
    /// ```
    pub fn duplicate(name: impl Into<Name>) -> Options {
        Options::new(name, Keys::duplicate())
    }

    /// Sets the kind of keys.
    ///
    /// ```
    /// use ember_registry::{Keys, Options};
    /// assert_eq!(Options::unique("r").keys(Keys::duplicate()).get_keys(), Keys::duplicate());
    /// ```
    pub fn keys(mut self, keys: Keys) -> Options {
        self.keys = keys;
        self
    }

    /// Sets the number of partitions (default 1; at least 1, at most
    /// [`MAX_PARTITIONS`]). More partitions let more processes register and
    /// clean up at the same time.
    ///
    /// ```
    /// assert_eq!(ember_registry::Options::unique("r").partitions(8).get_partitions(), 8);
    /// ```
    pub fn partitions(mut self, partitions: usize) -> Options {
        self.partitions = partitions;
        self
    }

    /// Adds a listener: the registered name of a process that receives a
    /// [`RegistryEvent`](crate::RegistryEvent) for every register and
    /// unregister (not for the automatic cleanup of dead processes).
    ///
    /// ```
    /// let _ = ember_registry::Options::unique("r").listener("audit");
    /// ```
    pub fn listener(mut self, name: impl Into<Name>) -> Options {
        self.listeners.push(name.into());
        self
    }

    /// Adds several listeners.
    ///
    /// ```
    /// let _ = ember_registry::Options::unique("r").listeners(["a", "b"]);
    /// ```
    pub fn listeners<N: Into<Name>>(mut self, names: impl IntoIterator<Item = N>) -> Options {
        self.listeners.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds initial metadata, read with [`Registry::meta`](crate::Registry::meta).
    ///
    /// ```
    /// let _ = ember_registry::Options::unique("r").meta("custom_key", 42u32);
    /// ```
    pub fn meta<T: Any + Send + Sync>(mut self, key: impl Into<String>, value: T) -> Options {
        self.meta.push((key.into(), Arc::new(value)));
        self
    }

    /// The name.
    pub fn get_name(&self) -> &Name {
        &self.name
    }

    /// The kind of keys.
    pub fn get_keys(&self) -> Keys {
        self.keys
    }

    /// The number of partitions.
    pub fn get_partitions(&self) -> usize {
        self.partitions
    }

    /// The listeners.
    pub fn get_listeners(&self) -> &[Name] {
        &self.listeners
    }

    /// Checks the options (what Elixir's `start_link` raises
    /// `ArgumentError` for).
    ///
    /// ```
    /// use ember_registry::{Options, RegistryError};
    /// assert!(Options::unique("r").validate().is_ok());
    /// assert!(matches!(Options::unique("").validate(), Err(RegistryError::InvalidOptions(_))));
    /// assert!(matches!(Options::unique("r").partitions(0).validate(), Err(RegistryError::InvalidOptions(_))));
    /// assert!(matches!(Options::unique("r").listener("").validate(), Err(RegistryError::InvalidOptions(_))));
    /// ```
    pub fn validate(&self) -> Result<(), RegistryError> {
        if self.name.as_str().is_empty() {
            return Err(RegistryError::InvalidOptions("expected :name option to be a non-empty name".into()));
        }
        if self.partitions == 0 || self.partitions > MAX_PARTITIONS {
            return Err(RegistryError::InvalidOptions(format!(
                "expected :partitions to be a positive integer no greater than {MAX_PARTITIONS}, got: {}",
                self.partitions
            )));
        }
        if let Some(bad) = self.listeners.iter().find(|l| l.as_str().is_empty()) {
            return Err(RegistryError::InvalidOptions(format!(
                "expected :listeners to be a list of named processes, got: {bad:?}"
            )));
        }
        if let Some((bad, _)) = self.meta.iter().find(|(k, _)| k.is_empty()) {
            return Err(RegistryError::InvalidOptions(format!("expected :meta keys to be non-empty, got: {bad:?}")));
        }
        Ok(())
    }
}
