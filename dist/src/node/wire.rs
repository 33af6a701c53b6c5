//! How the typed values of `Server::call` cross nodes: a table, by type,
//! of the functions that turn a request into a term and a term into a
//! reply. A call's request and reply arrive here type-erased (the runtime
//! knows nothing of serde terms), so the serde code for each type is
//! registered once, where its type is known ([`register_call_types`]).
//! [`Term`] itself needs no registration.

use crate::serde_term::{from_term, to_term};
use crate::term::Term;
use ember_runtime::gen_server::GenServer;
use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::LazyLock;

type Encode = fn(&(dyn Any + Send)) -> Result<Term, String>;
type Decode = fn(Term) -> Result<Box<dyn Any + Send>, String>;

#[derive(Default)]
struct Table {
    encode: HashMap<TypeId, Encode>,
    decode: HashMap<TypeId, Decode>,
}

static TABLE: LazyLock<RwLock<Table>> = LazyLock::new(Default::default);

/// Lets `Server::<G>::call` reach a `G` on another node (an Ember
/// GenServer [exposed](super::Node::expose) there, or any `gen_server`
/// that speaks the same terms): `G::Call` is sent in its serde term form
/// ([`crate::to_term`]) and the reply read back as `G::Reply`
/// ([`crate::from_term`]). Handles whose `Call` and `Reply` are [`Term`]
/// ([`TermServer`](super::TermServer)) need no registration. Registering
/// twice is harmless.
///
/// ```
/// use ember_runtime::gen_server::{CallResult, GenServer, Init, ReplyTo};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// enum Call { Increment }
/// struct Counter(i64);
/// impl GenServer for Counter {
///     type Arg = (); type Call = Call; type Reply = i64; type Cast = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::Ok(Counter(0)) }
///     fn handle_call(&mut self, _: Call, _: ReplyTo<i64>) -> CallResult<Self> {
///         self.0 += 1;
///         CallResult::Reply(self.0)
///     }
/// }
///
/// ember_dist::node::register_call_types::<Counter>();
/// // Server::<Counter>::new(("counter", "other@localhost")).call(Call::Increment)
/// ```
pub fn register_call_types<G>()
where
    G: GenServer,
    G::Call: Serialize,
    G::Reply: DeserializeOwned,
{
    let mut table = TABLE.write();
    table.encode.insert(TypeId::of::<G::Call>(), encode_as::<G::Call>);
    table.decode.insert(TypeId::of::<G::Reply>(), decode_as::<G::Reply>);
}

/// Lets `Server::<G>::cast` reach a `G` on another node: `G::Cast` is sent
/// in its serde term form, as `{'$gen_cast', Request}`. A [`Term`] needs no
/// registration; an unregistered type is dropped with a warning.
///
/// ```
/// use ember_runtime::gen_server::{GenServer, Init};
/// struct Log;
/// impl GenServer for Log {
///     type Arg = (); type Call = (); type Reply = (); type Cast = String; type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::Ok(Log) }
/// }
/// ember_dist::node::register_cast_type::<Log>();
/// // Server::<Log>::new(("log", "other@localhost")).cast("hello".into())
/// ```
pub fn register_cast_type<G>()
where
    G: GenServer,
    G::Cast: Serialize,
{
    TABLE.write().encode.insert(TypeId::of::<G::Cast>(), encode_as::<G::Cast>);
}

fn encode_as<T: Serialize + 'static>(value: &(dyn Any + Send)) -> Result<Term, String> {
    let value = value.downcast_ref::<T>().ok_or("a value of another type")?;
    to_term(value).map_err(|e| e.to_string())
}

fn decode_as<T: DeserializeOwned + Send + 'static>(term: Term) -> Result<Box<dyn Any + Send>, String> {
    from_term::<T>(term).map(|v| Box::new(v) as Box<dyn Any + Send>).map_err(|e| e.to_string())
}

/// The term form of a call's or a cast's request.
pub(super) fn encode(value: &(dyn Any + Send)) -> Result<Term, String> {
    if let Some(term) = value.downcast_ref::<Term>() {
        return Ok(term.clone());
    }
    let encode = TABLE.read().encode.get(&(*value).type_id()).copied();
    match encode {
        Some(encode) => encode(value),
        None => Err("the request's type has no term form here: see ember_dist::node::register_call_types".into()),
    }
}

/// A reply term as a value of the type `reply` the caller waits for.
pub(super) fn decode(reply: TypeId, term: Term) -> Result<Box<dyn Any + Send>, String> {
    if reply == TypeId::of::<Term>() {
        return Ok(Box::new(term));
    }
    let decode = TABLE.read().decode.get(&reply).copied();
    match decode {
        Some(decode) => decode(term),
        None => Err("the reply's type has no term form here: see ember_dist::node::register_call_types".into()),
    }
}
