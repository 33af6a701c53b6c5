//! [`gen_server!`](crate::gen_server!): a `GenServer` impl whose unused
//! associated types may be left out.
//!
//! Stable Rust has no defaults for associated types, so every impl of
//! [`GenServer`](super::GenServer) names all five, most of them `()`. The
//! macro takes an ordinary impl block, finds which `type` items it names
//! (looking only at the block's top level: function bodies are single token
//! trees it steps over) and adds `type X = ();` for the others. Everything
//! else passes through untouched, so the impl reads, and errs, as if written
//! by hand.

/// Implements [`GenServer`](crate::gen_server::GenServer) with every
/// associated type left out set to `()`.
///
/// Write an ordinary `impl GenServer for Type { .. }` block inside it and
/// name only the types the server uses: a server that takes no casts leaves
/// out `type Cast`, one that never continues leaves out `type Continue`, and
/// `Arg`, `Call` and `Reply` default to `()` as well. A generic server
/// (`impl<T> GenServer for Pool<T>`) writes its impl by hand.
///
/// ```
/// use ember_runtime::gen_server::{start_link, Action, CallResult, GenServer, Init, ReplyTo, StartOptions};
///
/// struct Stack(Vec<String>);
///
/// enum Push {
///     Push(String),
/// }
///
/// ember_runtime::gen_server! {
///     impl GenServer for Stack {
///         type Arg = Vec<String>;
///         type Reply = Option<String>;
///         type Cast = Push;
///         // `Call` is `()` (pop) and `Continue` is `()` (unused).
///
///         fn init(items: Vec<String>) -> Init<Self> {
///             Init::Ok(Stack(items))
///         }
///
///         fn handle_call(&mut self, _pop: (), _from: ReplyTo<Option<String>>) -> CallResult<Self> {
///             CallResult::Reply(self.0.pop())
///         }
///
///         fn handle_cast(&mut self, Push::Push(item): Push) -> Action<()> {
///             self.0.push(item);
///             Action::NoReply
///         }
///     }
/// }
///
/// ember_runtime::run(|| {
///     let stack = start_link::<Stack>(vec!["hello".into()], StartOptions::new()).unwrap();
///     stack.cast(Push::Push("world".into()));
///     assert_eq!(stack.call(()).unwrap().as_deref(), Some("world"));
///     assert_eq!(stack.call(()).unwrap().as_deref(), Some("hello"));
/// })
/// .unwrap();
/// ```
#[macro_export]
macro_rules! gen_server {
    (
        $(#[$attr:meta])*
        impl GenServer for $server:ty { $($body:tt)* }
    ) => {
        $crate::gen_server!(@scan [$(#[$attr])* $server] [$($body)*] [] $($body)*);
    };

    // Scan the block's top level for `type Name`, remembering each name.
    (@scan $head:tt $body:tt [$($named:ident)*] type $name:ident $($rest:tt)*) => {
        $crate::gen_server!(@scan $head $body [$($named)* $name] $($rest)*);
    };
    // Step over a whole function at once (the recursion limit is counted in
    // steps), then over any other single token tree.
    (@scan $head:tt $body:tt $named:tt $(#[$_m:meta])* fn $_f:ident $_args:tt $(-> $_ret:ty)? $_b:block $($rest:tt)*) => {
        $crate::gen_server!(@scan $head $body $named $($rest)*);
    };
    (@scan $head:tt $body:tt $named:tt $_skip:tt $($rest:tt)*) => {
        $crate::gen_server!(@scan $head $body $named $($rest)*);
    };
    (@scan [$(#[$attr:meta])* $server:ty] [$($body:tt)*] [$($named:ident)*]) => {
        $(#[$attr])*
        impl $crate::gen_server::GenServer for $server {
            $($body)*
            $crate::gen_server!(@default Arg [$($named)*]);
            $crate::gen_server!(@default Call [$($named)*]);
            $crate::gen_server!(@default Reply [$($named)*]);
            $crate::gen_server!(@default Cast [$($named)*]);
            $crate::gen_server!(@default Continue [$($named)*]);
        }
    };

    // `type $name = ();` unless the block names it. One rule set per name:
    // a macro cannot compare two captured identifiers.
    (@default Arg [Arg $($_rest:ident)*]) => {};
    (@default Call [Call $($_rest:ident)*]) => {};
    (@default Reply [Reply $($_rest:ident)*]) => {};
    (@default Cast [Cast $($_rest:ident)*]) => {};
    (@default Continue [Continue $($_rest:ident)*]) => {};
    (@default $name:ident []) => {
        type $name = ();
    };
    (@default $name:ident [$_other:ident $($rest:ident)*]) => {
        $crate::gen_server!(@default $name [$($rest)*]);
    };
}
