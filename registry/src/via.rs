//! `via` names: a registry key as a process name (Elixir's `{:via, Registry,
//! {registry, key}}` and `{:via, Registry, {registry, key, value}}`).
//!
//! A [`ViaName`] implements the runtime's [`Via`] trait, so it goes wherever
//! a name does: `StartOptions::name` for a GenServer or an Agent (and so for
//! children of a Supervisor or DynamicSupervisor), and `Server::new` /
//! `Agent::new` to call the process by that name.
//!
//! * registering (done by the starting process itself) registers the
//!   calling process under the key, with the value (`V::default()` for
//!   [`via`]); a key held by a live process makes the start return
//!   `AlreadyStarted(pid)`;
//! * resolving returns the holder if it is alive;
//! * unregistering (on a failed start) is [`Registry::unregister`];
//! * duplicate registries refuse: registering returns
//!   [`ViaError::Refused`] (the start fails with `InvalidName`) and
//!   resolving finds nothing.

use crate::Registry;
use ember_runtime::{try_self_pid, Pid, Via, ViaError};
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

/// The error text of a via name on a duplicate registry (Elixir's).
pub const VIA_DUPLICATE: &str = ":via is not supported for duplicate registries";

/// A key of a registry, used as a process name. Made by [`via`],
/// [`via_with_value`], [`Registry::via`] or [`Registry::via_with_value`].
///
/// It is a [`Via`] name when the key type implements `Debug` (names are
/// printed in reports), as `String`s and numbers do.
pub struct ViaName<K, V> {
    registry: Registry<K, V>,
    key: K,
    value: V,
}

impl<K, V> ViaName<K, V> {
    /// The registry.
    pub fn registry(&self) -> &Registry<K, V> {
        &self.registry
    }

    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The value registered with the key.
    pub fn value(&self) -> &V {
        &self.value
    }
}

impl<K: fmt::Debug, V> fmt::Debug for ViaName<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{:via, Registry, {{{}, {:?}}}}}", self.registry.name(), self.key)
    }
}

/// The via name of `key` in `registry`, registered with `V::default()`
/// (Elixir's `{:via, Registry, {registry, key}}`).
///
/// ```
/// use ember_registry::{via, Options, Registry};
/// use ember_runtime::agent::Agent;
/// use ember_runtime::gen_server::StartOptions;
///
/// ember_runtime::run(|| {
///     let reg = Registry::<String, ()>::start_link(Options::unique("agents")).unwrap();
///     let name = via(&reg, "counter".to_string());
///     Agent::start_link_opts(|| 0, StartOptions::new().name(name.clone())).unwrap();
///     let agent = Agent::<i32>::new(name);
///     agent.update(|n| *n += 1).unwrap();
///     assert_eq!(agent.get(|n| *n).unwrap(), 1);
/// })
/// .unwrap();
/// ```
pub fn via<K, V: Default>(registry: &Registry<K, V>, key: K) -> Arc<ViaName<K, V>> {
    via_with_value(registry, key, V::default())
}

/// The via name of `key` in `registry`, registered with `value` (Elixir's
/// `{:via, Registry, {registry, key, value}}`). Resolving ignores the
/// value: [`via`] finds a process registered through `via_with_value`.
///
/// ```
/// use ember_registry::{via_with_value, Options, Registry};
/// use ember_runtime::agent::Agent;
/// use ember_runtime::gen_server::StartOptions;
///
/// ember_runtime::run(|| {
///     let reg = Registry::<&'static str, u32>::start_link(Options::unique("tagged")).unwrap();
///     let a = Agent::start_link_opts(|| (), StartOptions::new().name(via_with_value(&reg, "a", 7))).unwrap();
///     assert_eq!(reg.lookup(&"a").unwrap(), vec![(a.pid().unwrap(), 7)]);
/// })
/// .unwrap();
/// ```
pub fn via_with_value<K, V>(registry: &Registry<K, V>, key: K, value: V) -> Arc<ViaName<K, V>> {
    Arc::new(ViaName { registry: registry.clone(), key, value })
}

impl<K, V> Via for ViaName<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn register_name(&self, pid: Pid) -> Result<(), ViaError> {
        if try_self_pid() != Some(pid) {
            return Err(ViaError::Refused("a Registry via name can only register the calling process".into()));
        }
        let tables = self.registry.tables().map_err(|e| ViaError::Refused(e.to_string()))?;
        if !tables.keys.is_unique() {
            return Err(ViaError::Refused(VIA_DUPLICATE.into()));
        }
        match tables.register(pid, self.key.clone(), self.value.clone()) {
            Ok(_) => Ok(()),
            Err(crate::RegistryError::AlreadyRegistered(holder)) => Err(ViaError::Taken(holder)),
            Err(e) => Err(ViaError::Refused(e.to_string())),
        }
    }

    fn unregister_name(&self) {
        let _ = self.registry.unregister(&self.key);
    }

    fn whereis_name(&self) -> Option<Pid> {
        self.registry.tables().ok()?.whereis(&self.key)
    }
}
