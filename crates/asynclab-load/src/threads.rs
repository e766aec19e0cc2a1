//! `--threads N` as N threads, each running its own single-threaded Tokio runtime,
//! with the connections dealt out among them: the shape of wrk (one event loop per
//! thread, each owning its connections), built from Tokio parts.
//!
//! Pattern: **thread-per-core runtimes instead of work stealing**. Tokio's
//! multi-threaded runtime shares one I/O driver and lets idle workers steal tasks,
//! which costs cross-thread wake-ups (a futex call, a task moving between caches)
//! many times per request. The connections of a load generator never need each other,
//! so nothing is gained by moving them: each thread here polls its own epoll and
//! runs only its own connections, and the threads meet only at the end, when the
//! stats are merged. `JoinSet::spawn_on` places each connection on a thread's runtime
//! by its [`Handle`]; the caller awaits them all from its own runtime.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::runtime::{Builder, Handle};
use tokio_util::sync::CancellationToken;

/// Running runtime threads; [`Threads::stop`] ends them.
#[derive(Debug)]
pub struct Threads {
    handles: Vec<Handle>,
    done: CancellationToken,
    threads: Vec<JoinHandle<()>>,
}

impl Threads {
    /// Starts `n` threads (at least one), each with its own runtime.
    pub fn start(n: usize) -> std::io::Result<Threads> {
        let done = CancellationToken::new();
        let (tx, rx) = mpsc::channel();
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let (tx, done) = (tx.clone(), done.clone());
            let thread = std::thread::Builder::new()
                .name(format!("load-{i}"))
                .spawn(move || {
                    let runtime = match Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(runtime.handle().clone()));
                    // The receiver reads until every sender is gone.
                    drop(tx);
                    // Drive this thread's connections until told to stop; dropping the
                    // runtime then drops whatever is left on it.
                    runtime.block_on(done.cancelled());
                })?;
            threads.push(thread);
        }
        drop(tx);
        let handles = match rx.iter().collect::<Result<Vec<_>, _>>() {
            Ok(handles) => handles,
            Err(e) => {
                // Let the threads that did start end.
                done.cancel();
                return Err(e);
            }
        };
        Ok(Threads {
            handles,
            done,
            threads,
        })
    }

    /// The runtimes to spawn connections on.
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }

    /// Stops every runtime and waits for its thread.
    pub fn stop(self) {
        self.done.cancel();
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}
