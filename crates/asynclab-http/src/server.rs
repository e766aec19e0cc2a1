//! The accept loop and the graceful drain.
//!
//! Pattern: **the hyper 1.x serve loop**, as in hyper-util's `server_graceful`
//! example and axum's `serve`: one service stack and one connection builder made
//! once in [`Server::new`]; a loop that takes a connection slot (a semaphore
//! permit), accepts, and spawns a task per connection on a `TaskTracker`; and on
//! shutdown, the listener dropped, every connection asked to finish, and the
//! drain raced against `shutdown.grace`.
//!
//! Pattern: **an acceptor dealing connections to per-core runtimes** (with
//! `http.runtime = "per-core"`, the default; `shared` spawns every connection on
//! the caller's multi-threaded runtime). The loop accepts on the caller's
//! runtime and hands each connection, in turn, to one of `http.workers` threads
//! that each run a single-threaded runtime ([`Runtimes`]): the socket leaves this
//! runtime's epoll (`into_std`) and goes down a channel to that worker's
//! [`intake`] task, which registers it with the worker's epoll (`from_std`) and
//! spawns the connection task there, where it stays. Nothing else changes: the
//! `TaskTracker`, the semaphore, the tokens and the shared state all work across
//! runtimes.
//!
//! Why a channel and a task rather than spawning each connection on the worker's
//! `Handle`: a task spawned from another thread goes into the runtime's queue for
//! remote work, and a busy single-threaded runtime takes one task from it only
//! every 31 polls (tokio's `global_queue_interval`). A burst of 2,000 new
//! connections arriving while 1,000 others kept both workers busy waited up to
//! 0.7 s for a first answer that way. The intake task is woken the same way, once,
//! and then takes in every connection waiting in its channel.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asynclab_core::config::{HttpRuntime, Loaded};
use asynclab_core::shutdown::drain;
use asynclab_core::stop::StopFlag;
use asynclab_core::{DrainReport, Metrics, Shutdown};
use asynclab_files::Files;
use asynclab_load::Runtimes;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::task::TaskTracker;

use crate::app::{App, router};
use crate::conn::{self, Builders, ConnContext, Timeouts};
use crate::error::Error;
use crate::state::AppState;

/// How long to pause after an accept error such as "too many open files", so a
/// full file table does not turn the loop into a busy spin. Short: the condition
/// clears as soon as any connection closes.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// hyper's built-in header count limit; asking for any other value makes hyper
/// allocate the header array on the heap for every request (about 5% slower).
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// The HTTP server, ready to run on a bound listener.
#[derive(Debug)]
pub struct Server {
    state: AppState,
    app: App,
    builders: Arc<Builders>,
    timeouts: Timeouts,
    max_connections: usize,
    grace: Duration,
    /// The per-core threads, or `None` to serve on the caller's runtime.
    workers: Option<Runtimes>,
}

impl Server {
    /// Builds the whole stack (state, metrics, routes, middleware, protocol
    /// settings) before anything is bound, so a bad setting fails at start.
    pub fn new(loaded: &Loaded, metrics: Metrics) -> Result<Self, Error> {
        let mut config = loaded.config.http.clone();
        // Resolved once: `/info` reports the number, not "0".
        config.workers = config.worker_count();
        let max_header_bytes = config.max_header_bytes.as_usize();
        let h2_header_list = u32::try_from(max_header_bytes).map_err(|_| Error::Setting {
            key: "http.max_header_bytes",
            reason: "must be below 4GiB".into(),
        })?;

        // HTTP/1.1 (keep-alive and pipelining are on by default) and h2c with prior
        // knowledge, told apart by their first bytes (see `conn::Builders`).
        // hyper's HTTP/1 builder and `auto`'s have different types but the same
        // methods: one list of settings for both.
        macro_rules! http1_settings {
            ($h1:expr) => {{
                let h1 = $h1;
                h1.timer(TokioTimer::new())
                    // Our own clock in `conn.rs` does this for both protocols (see there).
                    .header_read_timeout(None)
                    // The request head must fit in the read buffer: larger gets 431.
                    .max_buf_size(max_header_bytes);
                if config.max_headers != HYPER_DEFAULT_MAX_HEADERS {
                    h1.max_headers(config.max_headers);
                }
            }};
        }
        let mut h1 = http1::Builder::new();
        http1_settings!(&mut h1);
        // `max_buf_size` alone is loose: a read may fill the buffer past it, and
        // a head that is complete by then is accepted (up to about twice the
        // limit). `max_header_size` checks the parsed head itself, so the limit
        // is exact. hyper-util's `auto` builder has no such setting: a connection
        // whose first packet is too short to tell HTTP/1 from h2c (see
        // `conn::sniff`) keeps the buffer's looser bound.
        h1.max_header_size(max_header_bytes);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        http1_settings!(&mut builder.http1());
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(h2_header_list);

        let timeouts = Timeouts {
            header_read: config.header_read_timeout,
            idle: config.idle_timeout,
            write: config.write_timeout,
        };
        let max_connections = config.max_connections;
        let workers = match config.runtime {
            HttpRuntime::PerCore => {
                Some(Runtimes::start(config.workers, "http").map_err(Error::Workers)?)
            }
            HttpRuntime::Shared => None,
        };
        let state = AppState::new(config, loaded.config.log.access, metrics, files(loaded)?);
        Ok(Self {
            app: router(state.clone()),
            state,
            builders: Arc::new(Builders::new(h1, builder)),
            timeouts,
            max_connections,
            grace: loaded.config.shutdown.grace,
            workers,
        })
    }

    /// The shared state (tests read counters from it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves `listener` until `shutdown` says stop, then drains. Returns how many
    /// in-flight requests finished and how many were cut at the deadline.
    pub async fn run(self, listener: TcpListener, shutdown: Shutdown) -> DrainReport {
        self.state.attach_shutdown(&shutdown);
        let stopping = shutdown.stopping_token();
        let tracker = TaskTracker::new();
        let ctx = Arc::new(ConnContext {
            builders: self.builders,
            app: self.app,
            timeouts: self.timeouts,
            metrics: self.state.http.clone(),
            // The connections' own signals, both set by the drain below: finish
            // (once the listener is closed), then stop now (after the grace period).
            stopping: StopFlag::new(),
            cut: StopFlag::new(),
        });
        // One slot per open connection. The permit is taken *before* accepting, so
        // at the limit we stop accepting and new clients wait in the kernel's
        // backlog instead of being accepted and left without service.
        let slots = Arc::new(Semaphore::new(self.max_connections));
        // Per-core: one intake task on each worker, fed through a channel of its
        // own. Tracked like the connections, so the drain also waits for what is
        // still in a channel when the listener closes.
        let intakes: Vec<mpsc::UnboundedSender<Accepted>> = match &self.workers {
            Some(workers) => workers
                .handles()
                .iter()
                .map(|handle| {
                    let (arrivals, queue) = mpsc::unbounded_channel();
                    handle.spawn(tracker.track_future(intake(queue, ctx.clone(), tracker.clone())));
                    arrivals
                })
                .collect(),
            None => Vec::new(),
        };
        let mut turn = 0;

        loop {
            let permit = tokio::select! {
                // `biased`: once stopping, never take another connection.
                biased;
                () = stopping.cancelled() => break,
                permit = slots.clone().acquire_owned() => {
                    permit.expect("the connection semaphore is never closed")
                }
            };
            let (stream, peer) = tokio::select! {
                biased;
                () = stopping.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Usually EMFILE or a connection reset before we got to it:
                        // log, pause briefly, keep serving. Never end the loop.
                        tracing::warn!(%error, "accept failed; retrying");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                        continue;
                    }
                },
            };
            self.state.http.connections_accepted.inc();
            if intakes.is_empty() {
                tracker.spawn(conn::serve(stream, peer, ctx.clone(), permit));
                continue;
            }
            // Round robin: worker `turn` gets this connection.
            let arrivals = &intakes[turn];
            turn = (turn + 1) % intakes.len();
            match stream.into_std() {
                // Fails only once the intake has ended, which it does only after
                // this loop has dropped the sender.
                Ok(stream) => {
                    let _ = arrivals.send((stream, peer, permit));
                }
                // The socket could not leave this epoll (descriptor gone): this
                // connection is lost, the server goes on.
                Err(error) => {
                    tracing::warn!(%error, %peer, "connection dropped: cannot hand it to a worker")
                }
            }
        }

        // Shutdown step 3: closing the listener refuses new connections, and the
        // drain tells every connection task to ask hyper to finish. The intakes
        // end once they have started what is already in their channels.
        drop(intakes);
        drop(listener);
        let http = self.state.http.clone();
        let report = drain(&tracker, self.grace, &ctx.stopping, &ctx.cut, move || {
            http.in_flight_now()
        })
        .await;
        tracing::debug!(
            drained = report.drained,
            cut = report.cut,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "http drain finished"
        );
        report
    }
}

/// An accepted connection on its way to a worker: the socket (out of the
/// acceptor's epoll), the peer, and its slot under `http.max_connections`. The
/// channels are unbounded, but each message holds a slot, so together they never
/// hold more than `max_connections`.
type Accepted = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// Runs on one worker for the server's lifetime: each accepted socket it receives
/// joins this runtime's epoll (two `epoll_ctl` calls per connection with the
/// acceptor's `into_std`) and becomes a connection task here. Spawned from this
/// thread, the task goes into the runtime's own queue, not the remote one. Ends
/// when the accept loop drops the sender and the channel is empty.
async fn intake(
    mut queue: mpsc::UnboundedReceiver<Accepted>,
    ctx: Arc<ConnContext>,
    tracker: TaskTracker,
) {
    while let Some((stream, peer, permit)) = queue.recv().await {
        // On this thread, `from_std` registers with this runtime's I/O driver.
        match TcpStream::from_std(stream) {
            Ok(stream) => {
                tracker.spawn(conn::serve(stream, peer, ctx.clone(), permit));
            }
            Err(error) => {
                tracing::warn!(%error, %peer, "connection dropped: cannot hand it to a worker")
            }
        }
    }
}

/// The file server for `/files/`. A `files.root` someone configured must exist
/// (a typo should stop the server, not turn into 404s); the built-in default
/// (`public/`) may be missing, so `asynclab` still runs from any folder.
fn files(loaded: &Loaded) -> Result<Option<Files>, Error> {
    let base = asynclab_core::config::base_dir(loaded);
    match Files::new(&loaded.config.files, &base) {
        Ok(files) => {
            tracing::debug!(root = %files.root().display(), "serving files under /files/");
            Ok(Some(files))
        }
        Err(e) if loaded.is_default("files.root") => {
            tracing::warn!(error = %e, "file serving is off: /files/ answers 404");
            Ok(None)
        }
        Err(e) => Err(Error::Files {
            origin: loaded.origin("files.root"),
            source: e,
        }),
    }
}
