//! The process-global directory of running registries: `(runtime, name)` →
//! tables (Elixir finds a registry's tables through the ETS table named after
//! it).
//!
//! Entries are typed at runtime: a registry started as `Registry<K, V>` is
//! found only as `Registry<K, V>`; asking with other types is an error, not a
//! panic. Handles cache their tables, so the directory is read once per
//! handle (and again only after the registry has stopped or restarted).

use crate::error::RegistryError;
use crate::table::Tables;
use ember_runtime::Name;
use parking_lot::RwLock;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

struct Entry {
    tables: Arc<dyn Any + Send + Sync>,
    types: fn() -> String,
}

static DIRECTORY: LazyLock<RwLock<HashMap<(u32, Name), Entry>>> = LazyLock::new(Default::default);

/// The `(K, V)` type names, for error messages.
pub(crate) fn type_names<K, V>() -> String {
    format!("({}, {})", std::any::type_name::<K>(), std::any::type_name::<V>())
}

/// Publishes `tables` under their runtime and name (replacing any entry of
/// a registry that is gone).
pub(crate) fn publish<K, V>(tables: &Arc<Tables<K, V>>)
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let entry = Entry { tables: tables.clone() as Arc<dyn Any + Send + Sync>, types: type_names::<K, V> };
    DIRECTORY.write().insert((tables.node, tables.name.clone()), entry);
}

/// Removes the entry of `tables`, if it is still theirs.
pub(crate) fn withdraw<K, V>(tables: &Arc<Tables<K, V>>)
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let mut dir = DIRECTORY.write();
    let key = (tables.node, tables.name.clone());
    if let Some(entry) = dir.get(&key) {
        let ours = entry.tables.clone().downcast::<Tables<K, V>>().is_ok_and(|t| Arc::ptr_eq(&t, tables));
        if ours {
            dir.remove(&key);
        }
    }
}

/// The tables of the registry `name` of runtime `node`.
pub(crate) fn find<K, V>(node: u32, name: &Name) -> Result<Arc<Tables<K, V>>, RegistryError>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let dir = DIRECTORY.read();
    let entry = dir.get(&(node, name.clone())).ok_or_else(|| RegistryError::UnknownRegistry(name.clone()))?;
    entry.tables.clone().downcast::<Tables<K, V>>().map_err(|_| RegistryError::WrongTypes {
        registry: name.clone(),
        expected: type_names::<K, V>(),
        found: (entry.types)(),
    })
}
