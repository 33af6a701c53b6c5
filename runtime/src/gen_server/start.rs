//! Starting a server (SEMANTICS.md §3.1 and §8).
//!
//! 1. If the name is taken, return `AlreadyStarted(pid)` without spawning.
//! 2. Spawn the server linked (for `start_link`) and monitored by the
//!    starter, atomically.
//! 3. In the new process: register the name (a lost race answers
//!    `AlreadyStarted`), run `init`, and acknowledge. On failure, the name is
//!    released *before* the acknowledgement, so the starter can retry at once.
//! 4. The starter waits for the acknowledgement, the server's `Down`, or the
//!    init timeout (then it kills the server). When the start failed, it also
//!    waits for the server's exit and removes the server's `Exit` message from
//!    its own mailbox, so a trapping starter finds no stray message. (A
//!    non-trapping starter linked to a server that exits abnormally dies by
//!    the link, as in OTP.)

use super::serve::{enter_loop, Loop};
use super::{GenServer, Init, Server};
use crate::mailbox::receive::{marker, receive_after, Marker};
use crate::mailbox::remove_first;
use crate::name::{Dest, Name, Via, ViaError};
use crate::pid::{Pid, Ref};
use crate::process::current::current;
use crate::process::spawn::{spawn_entry, SpawnError, SpawnOptions};
use crate::process::{Entry, Finish};
use crate::reason::Reason;
use crate::signal::{demonitor_flush, Down, Exit};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The name a process is started under: a local name or a [`Via`] name.
///
/// ```
/// use ember_runtime::gen_server::ProcessName;
/// let n: ProcessName = "stack".into();
/// assert_eq!(n.to_string(), "stack");
/// ```
#[derive(Clone, Debug)]
pub enum ProcessName {
    /// A locally registered name ([`crate::register`]).
    Local(Name),
    /// A name in a [`Via`] scheme (the Registry, for example).
    Via(Arc<dyn Via>),
}

impl ProcessName {
    /// The process registered under the name now, if any.
    pub fn whereis(&self) -> Option<Pid> {
        self.dest().whereis()
    }

    /// The name as an address.
    pub fn dest(&self) -> Dest {
        match self {
            ProcessName::Local(n) => Dest::Name(n.clone()),
            ProcessName::Via(v) => Dest::Via(v.clone()),
        }
    }

    /// Registers the calling process under this name.
    pub(crate) fn register_self(&self, me: Pid) -> Result<(), StartError> {
        match self {
            ProcessName::Local(n) => match crate::name::register(n.clone(), me) {
                Ok(()) => Ok(()),
                Err(crate::RegisterError::NameTaken(p)) => Err(StartError::AlreadyStarted(p)),
                Err(e) => Err(StartError::InvalidName(e.to_string())),
            },
            ProcessName::Via(v) => match v.register_name(me) {
                Ok(()) => Ok(()),
                Err(ViaError::Taken(p)) => Err(StartError::AlreadyStarted(p)),
                Err(ViaError::Refused(why)) => Err(StartError::InvalidName(why)),
            },
        }
    }

    /// Releases the name held by the calling process.
    pub(crate) fn unregister_self(&self, me: Pid) {
        match self {
            ProcessName::Local(n) => {
                if crate::name::whereis(n.clone()) == Some(me) {
                    let _ = crate::name::unregister(n.clone());
                }
            }
            ProcessName::Via(v) => v.unregister_name(),
        }
    }
}

impl fmt::Display for ProcessName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessName::Local(n) => write!(f, "{n}"),
            ProcessName::Via(v) => write!(f, "{v:?}"),
        }
    }
}

impl From<&str> for ProcessName {
    fn from(s: &str) -> Self {
        ProcessName::Local(s.into())
    }
}

impl From<String> for ProcessName {
    fn from(s: String) -> Self {
        ProcessName::Local(s.into())
    }
}

impl From<Name> for ProcessName {
    fn from(n: Name) -> Self {
        ProcessName::Local(n)
    }
}

impl<V: Via> From<Arc<V>> for ProcessName {
    fn from(v: Arc<V>) -> Self {
        ProcessName::Via(v)
    }
}

impl From<Arc<dyn Via>> for ProcessName {
    fn from(v: Arc<dyn Via>) -> Self {
        ProcessName::Via(v)
    }
}

impl From<ProcessName> for Dest {
    fn from(n: ProcessName) -> Self {
        n.dest()
    }
}

/// Options for [`start`] and [`start_link`].
///
/// ```
/// use ember_runtime::gen_server::StartOptions;
/// use std::time::Duration;
/// let _ = StartOptions::new().name("counter").timeout(Duration::from_secs(1)).hibernate_after(Duration::from_millis(50));
/// ```
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    pub(crate) name: Option<ProcessName>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) hibernate_after: Option<Duration>,
    pub(crate) spawn: SpawnOptions,
}

impl StartOptions {
    /// No name, no init timeout, no automatic hibernation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register the server under this name (a local name or a via name).
    pub fn name(mut self, name: impl Into<ProcessName>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How long `init` may take (default: for ever). On timeout the server
    /// is killed and the start returns [`StartError::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Hibernate automatically after this long without a message.
    pub fn hibernate_after(mut self, idle: Duration) -> Self {
        self.hibernate_after = Some(idle);
        self
    }

    /// Spawn options (stack size); link and monitor are set by the start
    /// function itself.
    pub fn spawn_options(mut self, options: SpawnOptions) -> Self {
        self.spawn = options;
        self
    }

    /// The name, if any.
    pub fn get_name(&self) -> Option<&ProcessName> {
        self.name.as_ref()
    }
}

/// Why a server did not start.
#[derive(Clone, Debug, PartialEq)]
pub enum StartError {
    /// The name is held by this process (OTP `{already_started, Pid}`).
    AlreadyStarted(Pid),
    /// `init` returned [`Init::Ignore`].
    Ignore,
    /// `init` stopped, failed or panicked, with this reason.
    Failed(Reason),
    /// `init` did not finish within the start timeout.
    Timeout,
    /// The name cannot be registered (explanation inside).
    InvalidName(String),
    /// The process could not be spawned.
    Spawn(SpawnError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::AlreadyStarted(p) => write!(f, "already_started: {p}"),
            StartError::Ignore => f.write_str("ignore"),
            StartError::Failed(r) => write!(f, "init failed: {r:?}"),
            StartError::Timeout => f.write_str("timeout: init did not return in time"),
            StartError::InvalidName(why) => write!(f, "invalid name: {why}"),
            StartError::Spawn(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl StartError {
    /// The failure as a [`Reason`], for supervisors: `Failed(r)` is `r`,
    /// `AlreadyStarted(pid)` is a custom reason holding [`AlreadyStarted`],
    /// the others a custom reason holding their text.
    ///
    /// ```
    /// use ember_runtime::gen_server::{AlreadyStarted, StartError};
    /// let pid = ember_runtime::Pid::UNDEFINED;
    /// let r = StartError::AlreadyStarted(pid).reason();
    /// assert_eq!(r.downcast_ref::<AlreadyStarted>(), Some(&AlreadyStarted(pid)));
    /// ```
    pub fn reason(&self) -> Reason {
        match self {
            StartError::Failed(r) => r.clone(),
            StartError::AlreadyStarted(pid) => Reason::custom(AlreadyStarted(*pid)),
            other => Reason::custom(other.to_string()),
        }
    }
}

/// The reason term of a start that found its name taken (OTP
/// `{already_started, Pid}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyStarted(pub Pid);

/// What a start function hands back: something that names the started
/// process. Supervisors accept any start function returning
/// `Result<impl StartedProcess, StartError>`.
///
/// ```
/// use ember_runtime::gen_server::StartedProcess;
/// let pid = ember_runtime::Pid::UNDEFINED;
/// assert_eq!(pid.started_pid(), pid);
/// ```
pub trait StartedProcess {
    /// The pid of the started process.
    fn started_pid(&self) -> Pid;
}

impl StartedProcess for Pid {
    fn started_pid(&self) -> Pid {
        *self
    }
}

impl<S: GenServer> StartedProcess for Server<S> {
    fn started_pid(&self) -> Pid {
        self.pid().unwrap_or(Pid::UNDEFINED)
    }
}

/// The new server's answer to its starter.
struct InitAck {
    tag: Ref,
    result: Result<(), StartError>,
}

/// Starts a server linked to the caller. See the [module docs](super).
///
/// ```
/// use ember_runtime::gen_server::{start_link, GenServer, Init, StartError, StartOptions};
/// struct Picky;
/// impl GenServer for Picky {
///     type Arg = bool; type Call = (); type Reply = (); type Cast = (); type Continue = ();
///     fn init(ok: bool) -> Init<Self> { if ok { Init::Ok(Picky) } else { Init::Ignore } }
/// }
/// ember_runtime::run(|| {
///     assert!(start_link::<Picky>(true, StartOptions::new().name("picky")).is_ok());
///     let holder = ember_runtime::whereis("picky").unwrap();
///     assert_eq!(start_link::<Picky>(true, StartOptions::new().name("picky")).unwrap_err(), StartError::AlreadyStarted(holder));
///     assert_eq!(start_link::<Picky>(false, StartOptions::new()).unwrap_err(), StartError::Ignore);
/// })
/// .unwrap();
/// ```
pub fn start_link<S: GenServer>(arg: S::Arg, options: StartOptions) -> Result<Server<S>, StartError> {
    start_server::<S>(arg, options, true)
}

/// Starts a server not linked to the caller.
///
/// ```
/// use ember_runtime::gen_server::{start, GenServer, Init, StartOptions};
/// struct Nop;
/// impl GenServer for Nop {
///     type Arg = (); type Call = (); type Reply = (); type Cast = (); type Continue = ();
///     fn init(_: ()) -> Init<Self> { Init::Ok(Nop) }
/// }
/// ember_runtime::run(|| {
///     let s = start::<Nop>((), StartOptions::new()).unwrap();
///     assert!(ember_runtime::process_info(ember_runtime::self_pid()).unwrap().links.is_empty());
///     s.stop(ember_runtime::Reason::Normal, None).unwrap();
/// })
/// .unwrap();
/// ```
pub fn start<S: GenServer>(arg: S::Arg, options: StartOptions) -> Result<Server<S>, StartError> {
    start_server::<S>(arg, options, false)
}

fn start_server<S: GenServer>(arg: S::Arg, options: StartOptions, link: bool) -> Result<Server<S>, StartError> {
    let cur = current();
    if let Some(name) = &options.name {
        if let Some(pid) = name.whereis() {
            return Err(StartError::AlreadyStarted(pid));
        }
    }
    let starter = cur.pid();
    let tag = Ref::new();
    let name = options.name.clone();
    let hibernate_after = options.hibernate_after;
    let entry = Entry::new(move || init_server::<S>(arg, starter, tag, name, hibernate_after));
    let mut spawn = options.spawn.clone();
    spawn.link = link;
    spawn.monitor = true;
    // Introspection shows the module until the server labels itself.
    spawn.label = Some(std::any::type_name::<S>);
    // The acknowledgement and the `Down` are newer than this.
    let mark = marker(&cur);
    let (pid, monitor) = spawn_entry(cur.sched(), Some(&cur), entry, &spawn, None).map_err(StartError::Spawn)?;
    let monitor = monitor.expect("monitor requested");

    enum Heard {
        Ack,
        Down,
    }
    let heard = receive_after(
        mark,
        |m| {
            if let Some(ack) = m.downcast_ref::<InitAck>() {
                (ack.tag == tag).then_some(Heard::Ack)
            } else if let Some(d) = m.downcast_ref::<Down>() {
                (d.monitor == monitor).then_some(Heard::Down)
            } else {
                None
            }
        },
        options.timeout,
    );
    let failure = match heard {
        Some((Heard::Ack, msg)) => match msg.downcast::<InitAck>().expect("matched").result {
            Ok(()) => {
                demonitor_flush(monitor);
                return Ok(Server::new(pid));
            }
            Err(e) => {
                wait_down(mark, monitor);
                e
            }
        },
        Some((Heard::Down, msg)) => StartError::Failed(msg.downcast::<Down>().expect("matched").reason),
        None => {
            pid.exit(Reason::Kill);
            wait_down(mark, monitor);
            StartError::Timeout
        }
    };
    // No stray Exit from the failed server in a trapping starter's mailbox.
    crate::signal::unlink(pid);
    remove_first(&current(), |m| m.downcast_ref::<Exit>().is_some_and(|e| e.from == pid));
    Err(failure)
}

fn wait_down(mark: Marker, monitor: Ref) {
    receive_after(mark, |m| m.downcast_ref::<Down>().is_some_and(|d| d.monitor == monitor).then_some(()), None);
}

/// The new process: register, init, acknowledge, serve.
fn init_server<S: GenServer>(
    arg: S::Arg,
    starter: Pid,
    tag: Ref,
    name: Option<ProcessName>,
    hibernate_after: Option<Duration>,
) -> Finish {
    let me = current().pid();
    let ack = |result: Result<(), StartError>| crate::mailbox::send(starter, InitAck { tag, result });
    if let Some(n) = &name {
        if let Err(e) = n.register_self(me) {
            ack(Err(e));
            return Finish::Exit(Reason::Normal);
        }
    }
    let fail = |error: StartError, exit: Reason| {
        if let Some(n) = &name {
            n.unregister_self(me);
        }
        ack(Err(error));
        Finish::Exit(exit)
    };
    let init = match crate::process::api::catch_exit(|| S::init(arg)) {
        Ok(init) => init,
        Err(reason) => return fail(StartError::Failed(reason.clone()), reason),
    };
    let (state, next) = match init {
        Init::Ok(s) => (s, None),
        Init::OkThen(s, next) => (s, Some(next)),
        Init::Ignore => return fail(StartError::Ignore, Reason::Normal),
        Init::Error(reason) => return fail(StartError::Failed(reason), Reason::Normal),
        Init::Stop(reason) => return fail(StartError::Failed(reason.clone()), reason),
    };
    ack(Ok(()));
    enter_loop(Loop::new(state, starter, name, hibernate_after), next)
}
