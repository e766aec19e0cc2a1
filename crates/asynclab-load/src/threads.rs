//! N threads, each running its own single-threaded Tokio runtime: the shape of
//! wrk's event loops, built from Tokio parts. `asynclab load --threads N` runs its
//! connections on them, so a comparison with `wrk -t N` gives both tools the same
//! number of threads.
//!
//! Pattern: **thread-per-core runtimes instead of work stealing**. Tokio's
//! multi-threaded runtime shares one I/O driver and lets idle workers steal tasks,
//! which costs cross-thread wake-ups (a futex call, a task moving between caches)
//! many times per request. Connections that never need each other gain nothing
//! from moving: each thread here polls its own epoll and runs only its own tasks,
//! and the threads meet only through the state the tasks share. A task is placed
//! on a thread by spawning it on that runtime's [`Handle`]; whoever spawned it can
//! still await it (a `JoinHandle` or a `TaskTracker` works across runtimes).
//!
//! One caveat: a task spawned from another thread waits in the runtime's queue
//! for remote work, which a busy runtime takes one task from only every 31 polls
//! of its own tasks (`global_queue_interval`). To place many tasks, send one task
//! over and let it spawn the rest from inside, as `Launch` in `run.rs` does.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::runtime::{Builder, Handle};
use tokio_util::sync::CancellationToken;

/// One thread per CPU core this process may use (it follows a container's CPU
/// quota and affinity); 1 if that cannot be known. The default of `--threads`.
pub fn usable_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Running runtime threads; [`Runtimes::stop`] ends them.
#[derive(Debug)]
pub struct Runtimes {
    handles: Vec<Handle>,
    done: CancellationToken,
    threads: Vec<JoinHandle<()>>,
}

impl Runtimes {
    /// Starts `n` threads (at least one) named `{name}-0`, `{name}-1`, ..., each
    /// with its own runtime (timers and I/O enabled).
    pub fn start(n: usize, name: &str) -> std::io::Result<Runtimes> {
        let done = CancellationToken::new();
        let (tx, rx) = mpsc::channel();
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let (tx, done) = (tx.clone(), done.clone());
            let thread = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    let runtime = match Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime,
                        Err(e) => {
                            let _ = tx.send((i, Err(e)));
                            return;
                        }
                    };
                    let _ = tx.send((i, Ok(runtime.handle().clone())));
                    // The receiver reads until every sender is gone.
                    drop(tx);
                    // Run this thread's tasks until told to stop, then drop whatever
                    // is left on it without waiting for its blocking-pool threads
                    // (a file read finishing) to return.
                    runtime.block_on(done.cancelled());
                    runtime.shutdown_background();
                })?;
            threads.push(thread);
        }
        drop(tx);
        // The threads answer in whatever order they start; `handles()[i]` is `{name}-{i}`.
        let mut answers: Vec<_> = rx.iter().collect();
        answers.sort_by_key(|(i, _)| *i);
        let handles = match answers.into_iter().map(|(_, handle)| handle).collect() {
            Ok(handles) => handles,
            Err(e) => {
                // Let the threads that did start end.
                done.cancel();
                return Err(e);
            }
        };
        Ok(Runtimes {
            handles,
            done,
            threads,
        })
    }

    /// The runtimes to spawn on.
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }

    /// Stops every runtime and waits for its thread. Blocks: from async code, call
    /// it inside `spawn_blocking`, or just drop the `Runtimes`.
    pub fn stop(mut self) {
        self.done.cancel();
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
    }
}

/// Dropping stops the runtimes without waiting: each thread drops its remaining
/// tasks and ends on its own (a task blocking its thread delays only that).
impl Drop for Runtimes {
    fn drop(&mut self) {
        self.done.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_runtime_runs_its_tasks_on_its_own_named_thread() {
        let runtimes = Runtimes::start(2, "unit").expect("threads start");
        let names: Vec<String> = runtimes
            .handles()
            .iter()
            .map(|handle| {
                let (tx, rx) = mpsc::channel();
                handle.spawn(async move {
                    let _ = tx.send(std::thread::current().name().map(str::to_owned));
                });
                rx.recv().expect("the task ran").expect("named thread")
            })
            .collect();
        assert_eq!(names, ["unit-0", "unit-1"]);
        runtimes.stop();
    }

    /// A task on the first runtime that waits forever holding a sender: the
    /// returned receiver reports `Disconnected` once the task has been dropped.
    fn waiting_task(runtimes: &Runtimes) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel::<()>();
        runtimes.handles()[0].spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        rx
    }

    #[test]
    fn dropping_ends_the_threads_too() {
        let runtimes = Runtimes::start(1, "unit").expect("threads start");
        let rx = waiting_task(&runtimes);
        drop(runtimes);
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(10)),
            Err(mpsc::RecvTimeoutError::Disconnected),
            "the waiting task was dropped with its runtime"
        );
    }

    #[test]
    fn stop_drops_tasks_still_waiting() {
        let runtimes = Runtimes::start(1, "unit").expect("threads start");
        let rx = waiting_task(&runtimes);
        runtimes.stop();
        // The sender went with the dropped task: the channel is closed, not empty.
        assert!(rx.recv().is_err());
    }
}
