//! A root process whose `tracing` output (reports included) is kept in
//! memory, for tests that assert on what was logged. Shared by the
//! DynamicSupervisor test binaries; `common` silences reports instead.

use ember_runtime::trap_exit;
use parking_lot::Mutex;
use std::io::Write;

/// Everything logged in this test binary.
static LOG: Mutex<String> = Mutex::new(String::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log lines that mention `what` (a supervisor name, unique per test).
pub fn logged(what: &str) -> Vec<String> {
    LOG.lock().lines().filter(|l| l.contains(what)).map(String::from).collect()
}

/// Runs `f` as the root process of a fresh runtime, trapping exits, with
/// the log captured.
pub fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let _ = tracing_subscriber::fmt().with_writer(|| Capture).with_ansi(false).try_init();
    ember_runtime::run(move || {
        trap_exit(true);
        f()
    })
    .expect("the test process failed")
}
