//! The one Tokio runtime every server in the process runs on: the standard
//! multi-threaded, work-stealing runtime.
//!
//! Its worker count is `runtime.workers`, or, left at 0, Tokio's own choice:
//! `TOKIO_WORKER_THREADS` when set, otherwise one per CPU core the process may
//! use. Threads are named for what they do, so `/info` and `/compute` show
//! which kind of thread answered: `asynclab-worker-N` for the workers that run
//! every task, `asynclab-blocking-N` for the pool that `spawn_blocking` (and
//! file I/O) uses.
//!
//! Tokio names both kinds with the same function. It starts its workers when
//! the runtime is built, before any blocking work can be asked for, so the
//! first `workers` threads it names are the workers (`tests/tests/runtime.rs`
//! checks both names). A name is given once, when the thread starts: Tokio may
//! later run blocking work on a thread that began as a worker (one that handed
//! its core over), and that thread keeps its first name.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use asynclab_core::config::{RuntimeConfig, TOKIO_WORKER_THREADS};
use tokio::runtime::{Builder, Runtime};

/// Builds the runtime for `config`.
pub fn build(config: &RuntimeConfig) -> std::io::Result<Runtime> {
    let workers = worker_count(config)?;
    let named = Arc::new(AtomicUsize::new(0));
    Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name_fn(move || match named.fetch_add(1, Ordering::Relaxed) {
            n if n < workers => format!("asynclab-worker-{n}"),
            n => format!("asynclab-blocking-{}", n - workers),
        })
        .enable_all()
        .build()
}

/// The worker count: `runtime.workers`, else `TOKIO_WORKER_THREADS`, else one
/// per usable core. Worked out here (Tokio would panic on a bad variable).
fn worker_count(config: &RuntimeConfig) -> std::io::Result<usize> {
    if let Some(workers) = config.workers() {
        return Ok(workers);
    }
    match std::env::var(TOKIO_WORKER_THREADS) {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "invalid value for environment variable {TOKIO_WORKER_THREADS}: {value:?}: \
                     expected a whole number above 0 (or set runtime.workers)"
                ),
            )),
        },
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}
