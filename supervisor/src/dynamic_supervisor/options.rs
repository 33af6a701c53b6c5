//! The flags of a DynamicSupervisor ([`DynamicSupervisorFlags`]: restart
//! intensity, child limit, extra arguments) and the options of
//! [`DynamicSupervisor::start_link`](super::DynamicSupervisor::start_link)
//! ([`DynamicSupervisorOptions`]: the flags plus the GenServer start
//! options).

use crate::restart::{DEFAULT_MAX_RESTARTS, DEFAULT_MAX_SECONDS};
use ember_runtime::gen_server::{ProcessName, StartOptions};
/// The supervisor flags (Elixir's `sup_flags`, built by `DynamicSupervisor.init/1`):
/// restart intensity, the child limit, and the extra arguments every child's
/// start function receives.
///
/// `A` is the type of the extra arguments (`()` when there are none). Each
/// start gets a clone.
///
/// ```
/// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
/// let flags = DynamicSupervisorFlags::new().max_restarts(10).max_seconds(1).max_children(1000).extra_arguments("db");
/// assert_eq!(flags.get_max_children(), Some(1000));
/// assert_eq!(*flags.get_extra_arguments(), "db");
/// ```
#[derive(Clone, Debug)]
pub struct DynamicSupervisorFlags<A = ()> {
    pub(super) max_restarts: u32,
    pub(super) max_seconds: u64,
    pub(super) max_children: Option<usize>,
    pub(super) extra_arguments: A,
}

impl DynamicSupervisorFlags<()> {
    /// The defaults: 3 restarts in 5 seconds, no child limit, no extra
    /// arguments.
    ///
    /// ```
    /// let flags = ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags::new();
    /// assert_eq!((flags.get_max_restarts(), flags.get_max_seconds(), flags.get_max_children()), (3, 5, None));
    /// ```
    pub fn new() -> Self {
        DynamicSupervisorFlags {
            max_restarts: DEFAULT_MAX_RESTARTS,
            max_seconds: DEFAULT_MAX_SECONDS,
            max_children: None,
            extra_arguments: (),
        }
    }
}

impl Default for DynamicSupervisorFlags<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> DynamicSupervisorFlags<A> {
    /// At most this many restarts… (default 3; 0: the first restart stops
    /// the supervisor).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().max_restarts(100).get_max_restarts(), 100);
    /// ```
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.max_restarts = n;
        self
    }

    /// …within this many seconds (default 5; must be positive, else the
    /// supervisor does not start).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().max_seconds(60).get_max_seconds(), 60);
    /// ```
    pub fn max_seconds(mut self, seconds: u64) -> Self {
        self.max_seconds = seconds;
        self
    }

    /// At most this many children at a time, restarting ones included
    /// (default: no limit). Past it, `start_child` returns
    /// [`StartChildError::MaxChildren`](super::StartChildError::MaxChildren).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().max_children(10_000).get_max_children(), Some(10_000));
    /// ```
    pub fn max_children(mut self, n: usize) -> Self {
        self.max_children = Some(n);
        self
    }

    /// The extra arguments: a clone reaches every child's start function
    /// (Elixir prepends its `extra_arguments` to the child's arguments).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// let flags: DynamicSupervisorFlags<(String, u16)> =
    ///     DynamicSupervisorFlags::new().max_children(5).extra_arguments(("db.local".to_string(), 5432));
    /// assert_eq!(flags.get_extra_arguments().1, 5432);
    /// assert_eq!(flags.get_max_children(), Some(5)); // the other flags are kept
    /// ```
    pub fn extra_arguments<B>(self, extra: B) -> DynamicSupervisorFlags<B> {
        DynamicSupervisorFlags {
            max_restarts: self.max_restarts,
            max_seconds: self.max_seconds,
            max_children: self.max_children,
            extra_arguments: extra,
        }
    }

    /// The restart limit.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().get_max_restarts(), 3);
    /// ```
    pub fn get_max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The restart window, in seconds.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().get_max_seconds(), 5);
    /// ```
    pub fn get_max_seconds(&self) -> u64 {
        self.max_seconds
    }

    /// The child limit (`None`: unlimited).
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().get_max_children(), None);
    /// ```
    pub fn get_max_children(&self) -> Option<usize> {
        self.max_children
    }

    /// The extra arguments.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorFlags;
    /// assert_eq!(DynamicSupervisorFlags::new().get_extra_arguments(), &());
    /// assert_eq!(DynamicSupervisorFlags::new().extra_arguments(7u8).get_extra_arguments(), &7);
    /// ```
    pub fn get_extra_arguments(&self) -> &A {
        &self.extra_arguments
    }
}

/// Options for [`DynamicSupervisor::start_link`](super::DynamicSupervisor::start_link) (Elixir's `start_link(opts)`
/// keyword list): the [flags](DynamicSupervisorFlags) and the GenServer start
/// options (name, init timeout, spawn options).
///
/// ```
/// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
/// let options = DynamicSupervisorOptions::new().name("jobs").max_children(10).extra_arguments(42u32);
/// assert_eq!(options.flags().get_max_children(), Some(10));
/// ```
#[derive(Clone, Debug)]
pub struct DynamicSupervisorOptions<A = ()> {
    pub(super) flags: DynamicSupervisorFlags<A>,
    pub(super) start: StartOptions,
}

impl DynamicSupervisorOptions<()> {
    /// No name, default flags.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// let options = DynamicSupervisorOptions::new();
    /// assert!(options.get_start_options().get_name().is_none());
    /// assert_eq!(options.flags().get_max_children(), None);
    /// ```
    pub fn new() -> Self {
        DynamicSupervisorOptions { flags: DynamicSupervisorFlags::new(), start: StartOptions::new() }
    }
}

impl Default for DynamicSupervisorOptions<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> DynamicSupervisorOptions<A> {
    /// Registers the supervisor under a local or via name.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().name("jobs")).unwrap();
    ///     assert_eq!(ember_runtime::whereis("jobs"), Some(sup));
    /// })
    /// .unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<ProcessName>) -> Self {
        self.start = self.start.name(name);
        self
    }

    /// GenServer start options (name, init timeout, spawn options); replaces
    /// the name set before.
    ///
    /// ```
    /// use ember_runtime::gen_server::StartOptions;
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// let options = DynamicSupervisorOptions::new().name("old").start_options(StartOptions::new().name("new"));
    /// assert_eq!(options.get_start_options().get_name().unwrap().to_string(), "new");
    /// ```
    pub fn start_options(mut self, start: StartOptions) -> Self {
        self.start = start;
        self
    }

    /// See [`DynamicSupervisorFlags::max_restarts`].
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// assert_eq!(DynamicSupervisorOptions::new().max_restarts(0).flags().get_max_restarts(), 0);
    /// ```
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.flags = self.flags.max_restarts(n);
        self
    }

    /// See [`DynamicSupervisorFlags::max_seconds`].
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// assert_eq!(DynamicSupervisorOptions::new().max_seconds(30).flags().get_max_seconds(), 30);
    /// ```
    pub fn max_seconds(mut self, seconds: u64) -> Self {
        self.flags = self.flags.max_seconds(seconds);
        self
    }

    /// See [`DynamicSupervisorFlags::max_children`].
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions, StartChildError};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let sup = DynamicSupervisor::start_link(DynamicSupervisorOptions::new().max_children(1)).unwrap();
    ///     DynamicSupervisor::start_child(sup, ChildSpec::agent(|| 0)).unwrap();
    ///     assert_eq!(DynamicSupervisor::start_child(sup, ChildSpec::agent(|| 0)), Err(StartChildError::MaxChildren));
    /// })
    /// .unwrap();
    /// ```
    pub fn max_children(mut self, n: usize) -> Self {
        self.flags = self.flags.max_children(n);
        self
    }

    /// See [`DynamicSupervisorFlags::extra_arguments`].
    ///
    /// ```
    /// use ember_runtime::agent::Agent;
    /// use ember_supervisor::dynamic_supervisor::{DynamicSupervisor, DynamicSupervisorOptions};
    /// use ember_supervisor::ChildSpec;
    /// ember_runtime::run(|| {
    ///     let options = DynamicSupervisorOptions::new().extra_arguments("eu-west".to_string());
    ///     let sup = DynamicSupervisor::start_link(options).unwrap();
    ///     // Every child's start function receives a clone of the region.
    ///     let spec = ChildSpec::with_args("conn", |region: String| Agent::start_link(move || region));
    ///     let pid = DynamicSupervisor::start_child(sup, spec).unwrap().pid().unwrap();
    ///     assert_eq!(Agent::<String>::new(pid).get(|r| r.clone()).unwrap(), "eu-west");
    /// })
    /// .unwrap();
    /// ```
    pub fn extra_arguments<B>(self, extra: B) -> DynamicSupervisorOptions<B> {
        DynamicSupervisorOptions { flags: self.flags.extra_arguments(extra), start: self.start }
    }

    /// The flags.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// let options = DynamicSupervisorOptions::new().name("jobs").max_children(100);
    /// assert_eq!(options.flags().get_max_children(), Some(100));
    /// ```
    pub fn flags(&self) -> &DynamicSupervisorFlags<A> {
        &self.flags
    }

    /// The start options.
    ///
    /// ```
    /// use ember_supervisor::dynamic_supervisor::DynamicSupervisorOptions;
    /// let options = DynamicSupervisorOptions::new().name("jobs");
    /// assert_eq!(options.get_start_options().get_name().unwrap().to_string(), "jobs");
    /// ```
    pub fn get_start_options(&self) -> &StartOptions {
        &self.start
    }
}
