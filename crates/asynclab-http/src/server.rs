//! The accept loop and the graceful drain.
//!
//! Pattern: **the hyper 1.x serve loop**, as in hyper-util's `server_graceful`
//! example and axum's `serve`: one service stack and one set of connection
//! builders made once in [`Server::new`]; a loop that takes a connection slot (a
//! semaphore permit), accepts, and spawns a task per connection on a
//! `TaskTracker`; and on shutdown, the listener dropped and the connections
//! drained until the shutdown's cut (`asynclab_core::shutdown`).
//!
//! Every connection task runs on Tokio's multi-threaded runtime, the one the
//! whole process shares: idle workers steal tasks from busy ones.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asynclab_core::config::Loaded;
use asynclab_core::shutdown::drain;
use asynclab_core::{DrainReport, Metrics, Shutdown};
use asynclab_files::Files;
use asynclab_tls::{ServerTls, TlsAcceptor};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::conn::{self, Builders, ConnContext, Timeouts};
use crate::error::Error;
use crate::stack::{HttpService, app};
use crate::state::AppState;

/// How long to pause after an accept error such as "too many open files", so a
/// full file table does not turn the loop into a busy spin. Short: the condition
/// clears as soon as any connection closes.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// hyper's built-in header count limit; asking for any other value makes hyper
/// allocate the header array on the heap for every request.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// The HTTP server, ready to run on a bound listener.
#[derive(Debug)]
pub struct Server {
    state: AppState,
    builders: Builders,
    timeouts: Timeouts,
    max_connections: usize,
}

impl Server {
    /// Builds the whole stack (state, metrics, routes, middleware, protocol
    /// settings) before anything is bound, so a bad setting fails at start.
    /// The server stops when `shutdown` says so (see [`Server::run`]).
    pub fn new(loaded: &Loaded, metrics: Metrics, shutdown: Shutdown) -> Result<Self, Error> {
        let config = loaded.config.http.clone();
        let max_header_bytes = config.max_header_bytes.as_usize();
        let h2_header_list = u32::try_from(max_header_bytes)
            .expect("http.max_header_bytes is checked to be below 4GiB by the configuration");

        // HTTP/1.1 (keep-alive and pipelining are on by default) and h2c with prior
        // knowledge, told apart by their first bytes (see `conn/detect.rs`).
        // hyper's HTTP/1 builder and `auto`'s have different types but the same
        // methods: one list of settings for both.
        macro_rules! http1_settings {
            ($h1:expr) => {{
                let h1 = $h1;
                h1.timer(TokioTimer::new())
                    // Our own clocks in `conn/clock.rs` do this for both protocols.
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
        // a head that is complete by then is accepted. `max_header_size` checks
        // the parsed head itself, so the limit is exact. hyper-util's `auto`
        // builder has no such setting: a connection whose first packet is too
        // short to tell HTTP/1 from h2c keeps the buffer's looser bound.
        h1.max_header_size(max_header_bytes);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        http1_settings!(&mut builder.http1());
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(h2_header_list)
            // Announce SETTINGS_ENABLE_CONNECT_PROTOCOL: a client may open a
            // WebSocket over HTTP/2 with an extended CONNECT (RFC 8441).
            .enable_connect_protocol();

        let timeouts = Timeouts {
            header_read: config.header_read_timeout,
            idle: config.idle_timeout,
            write: config.write_timeout,
        };
        let max_connections = config.max_connections;
        let state = AppState::new(
            config,
            loaded.config.log.access,
            metrics,
            files(loaded)?,
            shutdown,
        );
        state.control.configure(&loaded.config);
        Ok(Self {
            state,
            builders: Builders::new(h1, builder),
            timeouts,
            max_connections,
        })
    }

    /// The shared state (tests read counters from it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves `listener` until the shutdown's `stopping` phase, then drains until
    /// every request is done and every WebSocket closed, or the `cut` phase
    /// comes. Returns how many in-flight requests finished and how many were
    /// cut (the WebSockets' count: [`AppState::websockets_at_shutdown`]).
    pub async fn run(self, listener: TcpListener) -> DrainReport {
        self.run_with_tls(listener, None).await
    }

    /// [`Server::run`], plus an HTTPS listener serving the same application:
    /// the same stack, clocks, connection slots, metrics and drain.
    pub async fn run_with_tls(self, listener: TcpListener, https: Option<Https>) -> DrainReport {
        let shutdown = self.state.shutdown.clone();
        let ctx = Arc::new(ConnContext {
            builders: self.builders,
            app: app(self.state.clone()),
            timeouts: self.timeouts,
            metrics: self.state.http.clone(),
            shutdown: shutdown.clone(),
            tracker: TaskTracker::new(),
        });
        let tls = https
            .as_ref()
            .map(|https| (&https.listener, https.tls.acceptor().clone()));
        accept_loop(&listener, tls, &ctx, self.max_connections).await;

        // Closing the listeners refuses new connections; the connection tasks
        // saw the `stopping` phase too and are finishing (a WebSocket's task
        // with its close handshake: the drain waits for those too).
        drop(listener);
        drop(https);
        let http = self.state.http.clone();
        let report = drain(&shutdown, &ctx.tracker, move || http.in_flight_now()).await;
        let ws = self.state.websockets_at_shutdown();
        tracing::debug!(
            websockets_closed = ws.closed,
            websockets_cut = ws.cut,
            drained = report.drained,
            cut = report.cut,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "http drain finished"
        );
        report
    }
}

/// The HTTPS listener and the TLS every connection on it is accepted with.
#[derive(Debug)]
pub struct Https {
    pub listener: TcpListener,
    pub tls: ServerTls,
}

/// Accepts connections until the shutdown's `stopping` phase, each into a task
/// of its own on the context's tracker: from `listener`, and from the HTTPS
/// listener in `tls`, whose tasks start with the TLS handshake.
///
/// One loop for both listeners, so that one set of slots counts every
/// connection: a loop per listener would each hold a permit while waiting.
async fn accept_loop<S: HttpService>(
    listener: &TcpListener,
    tls: Option<(&TcpListener, TlsAcceptor)>,
    ctx: &Arc<ConnContext<S>>,
    max_connections: usize,
) {
    // One slot per open connection. The permit is taken *before* accepting, so
    // at the limit we stop accepting and new clients wait in the kernel's
    // backlog instead of being accepted and left without service.
    let slots = Arc::new(Semaphore::new(max_connections.min(Semaphore::MAX_PERMITS)));
    let stopping = &ctx.shutdown.stopping;
    loop {
        let permit = tokio::select! {
            // `biased`: once stopping, never take another connection.
            biased;
            () = stopping.stopped() => return,
            permit = slots.clone().acquire_owned() => {
                permit.expect("the connection semaphore is never closed")
            }
        };
        let (accepted, acceptor) = tokio::select! {
            biased;
            () = stopping.stopped() => return,
            accepted = listener.accept() => (accepted, None),
            // Only with an HTTPS listener (`select!` skips a branch whose
            // condition is false, without evaluating it).
            accepted = accept_tls(&tls), if tls.is_some() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually EMFILE or a connection reset before we got to it:
                // log, pause briefly, keep serving. Never end the loop.
                tracing::warn!(%error, "accept failed; retrying");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        ctx.metrics.connections_accepted.inc();
        ctx.tracker
            .spawn(conn::serve(stream, peer, ctx.clone(), permit, acceptor));
    }
}

/// The next connection on the HTTPS listener, with the acceptor for its handshake.
async fn accept_tls(
    tls: &Option<(&TcpListener, TlsAcceptor)>,
) -> (
    std::io::Result<(TcpStream, SocketAddr)>,
    Option<TlsAcceptor>,
) {
    let (listener, acceptor) = tls.as_ref().expect("polled only with an HTTPS listener");
    (listener.accept().await, Some(acceptor.clone()))
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
