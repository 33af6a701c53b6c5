//! Module-based DynamicSupervisors (Elixir's `use DynamicSupervisor`): the
//! [`DynamicSupervisorModule`] trait, what its `init` returns
//! ([`DynamicInit`]), and the module behind the options-based start.

use super::options::DynamicSupervisorFlags;
use super::DynamicSupervisor;
use crate::child_spec::ChildSpec;
use ember_runtime::gen_server::StartOptions;
use std::marker::PhantomData;
/// What [`DynamicSupervisorModule::init`] returns (Elixir: `{:ok, flags}` or
/// `:ignore`).
///
/// ```
/// use ember_runtime::gen_server::{StartError, StartOptions};
/// use ember_supervisor::dynamic_supervisor::{
///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
/// };
///
/// /// Runs only where the feature is on.
/// struct Uploads;
/// impl DynamicSupervisorModule for Uploads {
///     type Arg = bool;
///     type Extra = ();
///     fn init(enabled: bool) -> DynamicInit<()> {
///         if enabled {
///             DynamicInit::Ok(DynamicSupervisorFlags::new())
///         } else {
///             DynamicInit::Ignore
///         }
///     }
/// }
///
/// ember_runtime::run(|| {
///     assert!(DynamicSupervisor::start_link_module::<Uploads>(true, StartOptions::new()).is_ok());
///     let off = DynamicSupervisor::start_link_module::<Uploads>(false, StartOptions::new());
///     assert_eq!(off, Err(StartError::Ignore));
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub enum DynamicInit<A> {
    /// Run with these flags.
    Ok(DynamicSupervisorFlags<A>),
    /// Do not start: the start function returns [`StartError::Ignore`](ember_runtime::gen_server::StartError::Ignore) and
    /// the process exits `Normal`.
    Ignore,
}

/// A module-based DynamicSupervisor (Elixir's `use DynamicSupervisor` with an
/// `init/1` callback): `init` runs in the new supervisor process and returns
/// its flags.
///
/// ```
/// use ember_supervisor::dynamic_supervisor::{
///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
/// };
/// use ember_runtime::gen_server::StartOptions;
///
/// struct Jobs;
/// impl DynamicSupervisorModule for Jobs {
///     type Arg = usize;
///     type Extra = ();
///     fn init(limit: usize) -> DynamicInit<()> {
///         DynamicInit::Ok(DynamicSupervisorFlags::new().max_children(limit))
///     }
/// }
///
/// ember_runtime::run(|| {
///     DynamicSupervisor::start_link_module::<Jobs>(1, StartOptions::new().name("jobs")).unwrap();
///     let spec = ember_supervisor::ChildSpec::agent(|| 0u32);
///     assert!(DynamicSupervisor::start_child("jobs", spec.clone()).is_ok());
///     assert_eq!(
///         DynamicSupervisor::start_child("jobs", spec).unwrap_err(),
///         ember_supervisor::dynamic_supervisor::StartChildError::MaxChildren
///     );
/// })
/// .unwrap();
/// ```
pub trait DynamicSupervisorModule: 'static {
    /// The argument `init` receives.
    type Arg: Send + 'static;
    /// The type of the extra arguments every child's start function receives.
    type Extra: Clone + Send + 'static;

    /// Builds the flags, in the supervisor's process.
    ///
    /// ```
    /// use ember_runtime::{agent::Agent, gen_server::StartOptions};
    /// use ember_supervisor::dynamic_supervisor::{
    ///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
    /// };
    /// use ember_supervisor::ChildSpec;
    ///
    /// /// Hands every connection the pool's database URL.
    /// struct Pool;
    /// impl DynamicSupervisorModule for Pool {
    ///     type Arg = &'static str;
    ///     type Extra = String;
    ///     fn init(url: &'static str) -> DynamicInit<String> {
    ///         DynamicInit::Ok(DynamicSupervisorFlags::new().max_children(10).extra_arguments(url.to_string()))
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let pool = DynamicSupervisor::start_link_module::<Pool>("db://primary", StartOptions::new()).unwrap();
    ///     let conn = ChildSpec::with_args("conn", |url: String| Agent::start_link(move || url));
    ///     let pid = DynamicSupervisor::start_child(pool, conn).unwrap().pid().unwrap();
    ///     assert_eq!(Agent::<String>::new(pid).get(|url| url.clone()).unwrap(), "db://primary");
    /// })
    /// .unwrap();
    /// ```
    fn init(arg: Self::Arg) -> DynamicInit<Self::Extra>;

    /// The spec to run this supervisor under another one (Elixir's
    /// `child_spec/1` from `use DynamicSupervisor`): id = the type's name, a
    /// permanent child of type supervisor (shutdown infinity), started with
    /// `start_link_module::<Self>(arg)`. Override it to name the supervisor
    /// or change the spec.
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::dynamic_supervisor::{
    ///     DynamicInit, DynamicSupervisor, DynamicSupervisorFlags, DynamicSupervisorModule,
    /// };
    /// use ember_supervisor::{ChildSpec, ChildType, Supervisor, SupervisorOptions};
    ///
    /// struct Jobs;
    /// impl DynamicSupervisorModule for Jobs {
    ///     type Arg = usize;
    ///     type Extra = ();
    ///     fn init(limit: usize) -> DynamicInit<()> {
    ///         DynamicInit::Ok(DynamicSupervisorFlags::new().max_children(limit))
    ///     }
    /// }
    ///
    /// ember_runtime::run(|| {
    ///     let spec = Jobs::child_spec(10);
    ///     assert!(spec.id().as_str().ends_with("Jobs"));
    ///     assert_eq!(spec.get_type(), ChildType::Supervisor);
    ///     let root = Supervisor::start_link(vec![spec], SupervisorOptions::one_for_one()).unwrap();
    ///     let jobs = root.which_children().unwrap()[0].pid.pid().unwrap();
    ///     DynamicSupervisor::start_child(jobs, ChildSpec::agent(|| 0)).unwrap();
    ///     assert_eq!(DynamicSupervisor::count_children(jobs).unwrap().active, 1);
    /// })
    /// .unwrap();
    /// ```
    fn child_spec(arg: Self::Arg) -> ChildSpec
    where
        Self: Sized,
        Self::Arg: Clone + Sync,
    {
        ChildSpec::new(std::any::type_name::<Self>(), move || {
            DynamicSupervisor::start_link_module::<Self>(arg.clone(), StartOptions::new())
        })
        .supervisor()
    }
}

/// The module behind [`DynamicSupervisor::start_link`]: returns the flags it
/// is given (Elixir's `Supervisor.Default`).
pub(super) struct FlagsModule<A>(PhantomData<fn() -> A>);

impl<A: Clone + Send + 'static> DynamicSupervisorModule for FlagsModule<A> {
    type Arg = DynamicSupervisorFlags<A>;
    type Extra = A;
    fn init(flags: DynamicSupervisorFlags<A>) -> DynamicInit<A> {
        DynamicInit::Ok(flags)
    }
}
