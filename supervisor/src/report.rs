//! Supervisor reports (SEMANTICS.md §9.1–9.2), through `tracing` with target
//! `ember::supervisor`.
//!
//! | context | level | when |
//! |---|---|---|
//! | `start_error` | error | a child failed to start (init, restart, retry) |
//! | `child_terminated` | error | a child exit that leads to a restart, or a temporary child's abnormal exit |
//! | `shutdown` | error | restart intensity exceeded (`reached_max_restart_intensity`) |
//! | `shutdown_error` | error | a child being stopped ended with an unexpected reason |
//! | `progress` | info (init, restarts) / debug (on request) | a child started |

use crate::child_spec::ChildId;
use ember_runtime::{Pid, Reason};

/// The error-report contexts of OTP's supervisor.
///
/// ```
/// use ember_supervisor::report::Context;
/// let names: Vec<_> = [Context::StartError, Context::ChildTerminated, Context::Shutdown, Context::ShutdownError]
///     .into_iter()
///     .map(Context::as_str)
///     .collect();
/// assert_eq!(names, ["start_error", "child_terminated", "shutdown", "shutdown_error"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// A child failed to start.
    StartError,
    /// A child terminated and is being restarted (or was temporary).
    ChildTerminated,
    /// The supervisor gives up: restart intensity reached.
    Shutdown,
    /// A child did not stop as expected.
    ShutdownError,
}

impl Context {
    /// OTP's name for the context.
    ///
    /// ```
    /// assert_eq!(ember_supervisor::report::Context::ChildTerminated.as_str(), "child_terminated");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Context::StartError => "start_error",
            Context::ChildTerminated => "child_terminated",
            Context::Shutdown => "shutdown",
            Context::ShutdownError => "shutdown_error",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Context::StartError => "failed to start",
            Context::ChildTerminated => "terminated",
            Context::Shutdown => "caused shutdown",
            Context::ShutdownError => "shut down abnormally",
        }
    }
}

/// Emits a supervisor error report: `Child <id> of Supervisor <sup>
/// <verb>`, with the reason and pid.
///
/// ```
/// # #[derive(Clone, Default)]
/// # struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
/// # impl std::io::Write for Logs {
/// #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
/// #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// # }
/// use ember_runtime::Reason;
/// use ember_supervisor::{report, ChildId};
///
/// let logs = Logs::default();
/// let writer = logs.clone();
/// let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
/// tracing::subscriber::with_default(subscriber, || {
///     let id = ChildId::from("db");
///     report::error("app_sup", report::Context::ChildTerminated, Some(&id), None, &Reason::Killed);
/// });
/// let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
/// assert!(text.contains("ERROR"));
/// assert!(text.contains(r#"Child "db" of Supervisor app_sup terminated: killed"#));
/// ```
pub fn error(supervisor: &str, context: Context, id: Option<&ChildId>, pid: Option<Pid>, reason: &Reason) {
    // Nothing to format when nobody listens (a restart is on a hot path).
    if !tracing::enabled!(target: "ember::supervisor", tracing::Level::ERROR) {
        return;
    }
    let id_text = id.map_or_else(|| String::from("(dynamic)"), |i| format!("{i:?}"));
    let pid_text = pid.map(|p| p.to_string());
    tracing::error!(
        target: "ember::supervisor",
        supervisor,
        context = context.as_str(),
        child = %id_text,
        pid = pid_text.as_deref(),
        reason = ?reason,
        "Child {} of Supervisor {} {}: {:?}",
        id_text,
        supervisor,
        context.verb(),
        reason
    );
}

/// Emits a progress report: a child started. `requested` is true for
/// `start_child`/`restart_child` (debug level), false for starts during
/// init and automatic restarts (info level).
///
/// ```
/// # #[derive(Clone, Default)]
/// # struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
/// # impl std::io::Write for Logs {
/// #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
/// #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// # }
/// use ember_supervisor::{report, ChildId};
///
/// let logs = Logs::default();
/// let writer = logs.clone();
/// // Info level: automatic starts are logged, requested ones are not.
/// let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
/// tracing::subscriber::with_default(subscriber, || {
///     let pid = ember_runtime::Pid::UNDEFINED;
///     report::progress("app_sup", &ChildId::from("db"), pid, false);
///     report::progress("app_sup", &ChildId::from("cache"), pid, true);
/// });
/// let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
/// assert!(text.contains(r#"Child "db" of Supervisor app_sup started"#));
/// assert!(!text.contains("cache"));
/// ```
pub fn progress(supervisor: &str, id: &ChildId, pid: Pid, requested: bool) {
    if requested {
        tracing::debug!(target: "ember::supervisor", supervisor, child = ?id, pid = %pid, "Child {:?} of Supervisor {} started", id, supervisor);
    } else {
        tracing::info!(target: "ember::supervisor", supervisor, child = ?id, pid = %pid, "Child {:?} of Supervisor {} started", id, supervisor);
    }
}

/// Logs a message a supervisor did not expect (OTP: "Supervisor received
/// unexpected message"), at error level; the message is dropped.
///
/// ```
/// ember_supervisor::report::unexpected_message("sup", &"hello");
/// ```
pub fn unexpected_message(supervisor: &str, message: &dyn std::fmt::Debug) {
    tracing::error!(
        target: "ember::supervisor",
        supervisor,
        "Supervisor {} received unexpected message: {:?}",
        supervisor,
        message
    );
}
