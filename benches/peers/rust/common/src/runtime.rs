//! How the tokio-based peers (tokio, ractor) run a workload.

use std::future::Future;

/// Runs `body` as a task of a fresh multi-thread runtime with the default
/// settings (`Runtime::new()`) and returns its output: the body is a task on
/// one of tokio's workers, as Ember's body is a process (`block_on` alone
/// would run it on the main thread, which is none of the workers). Tasks
/// still alive at the end (idle ones, a ring) are dropped with the runtime,
/// outside every clock.
pub fn on_runtime<T, F>(body: F) -> T
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let task = rt.spawn(body);
    let out = rt.block_on(task).expect("the workload task");
    rt.shutdown_background();
    out
}
