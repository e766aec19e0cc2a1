//! The asynclab TCP echo server: the accept loop, the connection limit and the
//! graceful drain. Try it with `nc 127.0.0.1 7000` while `asynclab echo` runs.
//!
//! Patterns, and where to find them:
//!
//! | pattern | file |
//! |---|---|
//! | accept loop that never dies, connection limit as a semaphore permit moved into the task, drain with `TaskTracker`, connections told to finish with a `StopFlag` | this file |
//! | `select!` between the socket, an idle timer and the shutdown; no buffer while idle; bounded writes and farewell | `connection.rs` |
//! | a tokio-util `Decoder`/`Encoder` for lines, driven by hand | `line.rs` |
//! | backpressure: read, write back, only then read again | `raw.rs` |
//! | `thread_local!` buffers: no allocation per message, none held while idle | `scratch.rs` |
//! | per-connection errors that stay in their task | `error.rs` |
//! | one server over TCP or TLS: a trait over the two streams, the handshake in the connection's task | `transport.rs` |
//!
//! The entry point, as for every asynclab server, is [`Server::run`]: it takes an
//! already bound listener (so callers and tests can use port 0 and learn the
//! real address); the [`Shutdown`] it watches is handed to [`Server::new`] (so
//! tests can stop it without signals).

mod connection;
mod error;
mod line;
mod raw;
mod scratch;
mod transport;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use asynclab_core::config::{EchoConfig, EchoMode};
use asynclab_core::metrics::EchoMetrics;
use asynclab_core::shutdown::drain;
use asynclab_core::{DrainReport, Event, Events, Metrics, Shutdown};
use asynclab_tls::TlsAcceptor;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use connection::{Connection, Shared};
use transport::Transport;

pub use error::Error;
pub use line::LineCodec;

/// The echo server, configured but not yet running.
pub struct Server {
    config: EchoConfig,
    metrics: EchoMetrics,
    events: Events,
    shutdown: Shutdown,
    /// `echo.tls`: every connection's handshake, then the same echo.
    tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // tokio-rustls's acceptor has no `Debug`: say whether there is one.
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with these settings, stopped by `shutdown`'s phases. Registers
    /// the echo counters in `metrics`.
    pub fn new(config: EchoConfig, metrics: Metrics, shutdown: Shutdown) -> Self {
        Self {
            config,
            metrics: metrics.echo(),
            events: metrics.events().clone(),
            shutdown,
            tls: None,
        }
    }

    /// Speaks TLS, with `acceptor`'s certificate, to every client (see
    /// `transport.rs`); without, plain TCP.
    pub fn with_tls(mut self, acceptor: TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    /// Accepts and serves connections until the shutdown's `stopping` phase, then
    /// drains: every connection finishes its line and says goodbye, and what is
    /// still open at the `cut` phase is cut. The report counts connections.
    pub async fn run(self, listener: TcpListener) -> DrainReport {
        let shutdown = self.shutdown;
        let tls = self.tls;
        let stopping = shutdown.stopping.clone();
        let shared = Arc::new(Shared {
            // The phases each connection watches: finish, then stop now.
            stopping: shutdown.stopping.clone(),
            cut: shutdown.cut.clone(),
            metrics: self.metrics,
            events: self.events,
            config: self.config,
        });
        // One semaphore for the whole server, built once: each permit is one open
        // connection. (Built per connection, it would limit nothing.)
        let slots = Arc::new(Semaphore::new(
            shared.config.max_connections.min(Semaphore::MAX_PERMITS),
        ));
        // Tracks the connection tasks so the drain can wait for them.
        let tracker = TaskTracker::new();

        loop {
            let accepted = tokio::select! {
                // Checked first, so a server under a flood of connections still
                // stops accepting the moment it is asked to.
                biased;
                () = stopping.stopped() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => admit(stream, peer, tls.as_ref(), &slots, &shared, &tracker),
                // The client gave up while waiting in the backlog: its problem,
                // not the listener's. Accept the next one at once.
                Err(e) if is_client_error(&e) => tracing::debug!(error = %e, "accept: client gone"),
                // Anything else (most often out of file descriptors, EMFILE) would
                // fail again immediately: pause, then try again. Never give up.
                Err(e) => {
                    let pause = shared.config.accept_retry;
                    tracing::error!(
                        error = %e,
                        retry_in_ms = pause.as_millis() as u64,
                        "echo accept failed; retrying"
                    );
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = stopping.stopped() => break,
                    }
                }
            }
        }

        // Stop accepting at once: closing the listening socket makes the kernel
        // refuse new clients instead of queueing them in a backlog nobody reads.
        // Then the drain tells every connection to finish its line and say goodbye.
        drop(listener);
        tracing::debug!(
            connections = tracker.len(),
            "echo listener closed; draining connections"
        );
        let count = tracker.clone();
        drain(&shutdown, &tracker, move || count.len()).await
    }
}

/// A connection's place under `echo.max_connections`. It lives inside the
/// connection's task, so the permit goes back to the semaphore, and the active
/// gauge goes down, whenever and however the task ends (even by a panic).
#[derive(Debug)]
struct Slot {
    _permit: OwnedSemaphorePermit,
    shared: Arc<Shared>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.metrics.open.dec();
    }
}

/// Gives a new connection its own task, or turns it away if the server is full.
fn admit(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<&TlsAcceptor>,
    slots: &Arc<Semaphore>,
    shared: &Arc<Shared>,
    tracker: &TaskTracker,
) {
    // `try_acquire` never waits: beyond the limit the client is told so at once
    // instead of queueing without bound.
    let Ok(permit) = Arc::clone(slots).try_acquire_owned() else {
        shared.metrics.rejected.inc();
        // A fresh socket's send buffer is empty, so this short write succeeds
        // without waiting. `try_write` never waits anyway: the accept loop must
        // not be held up by a client we have no room for. A TLS client is told
        // nothing: it could read nothing but a handshake, and one costs more
        // than a full server should spend on a client it turns away.
        if tls.is_none()
            && let Ok(sent) = stream.try_write(error::BUSY)
        {
            shared.metrics.bytes_out.inc_by(sent as u64);
        }
        tracing::debug!(%peer, "echo connection refused: server busy");
        return; // Dropping `stream` closes it.
    };
    shared.metrics.accepted.inc();
    shared.metrics.open.inc();
    // Built only when someone watches `/events`.
    shared.events.publish_with(|| Event::EchoOpen {
        peer: peer.to_string(),
    });
    let slot = Slot {
        _permit: permit,
        shared: Arc::clone(shared),
    };
    // The span is at debug level: at the default `info` it costs nothing per
    // connection; with `--log-level debug` every line about this connection
    // carries its `peer`.
    let span = tracing::debug_span!("echo_connection", %peer);
    let tls = tls.cloned();
    tracker.spawn(
        async move {
            match tls {
                None => serve(stream, Arc::clone(&slot.shared)).await,
                // Boxed: a TLS session is large, and an unboxed branch would
                // make every task this size, plain TCP ones included (the
                // future of an `async` block is as big as its largest state).
                Some(acceptor) => {
                    Box::pin(serve_tls(stream, acceptor, Arc::clone(&slot.shared))).await
                }
            }
            slot.shared.events.publish_with(|| Event::EchoClose {
                peer: peer.to_string(),
            });
            drop(slot);
        }
        .instrument(span),
    );
}

/// The TLS handshake, then [`serve`]; a failed handshake ends here.
async fn serve_tls(stream: TcpStream, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    if let Some(stream) = transport::handshake(stream, &acceptor, &shared).await {
        serve(stream, shared).await;
    }
}

/// Serves one connection to its end and logs how it ended. Errors stop here.
async fn serve<S: Transport>(stream: S, shared: Arc<Shared>) {
    let mode = shared.config.mode;
    let mut conn = Connection::new(stream, shared);
    let ended = match mode {
        EchoMode::Line => line::serve(&mut conn).await,
        EchoMode::Raw => raw::serve(&mut conn).await,
    };
    match ended {
        Ok(end) => tracing::debug!(?end, "echo connection closed"),
        Err(e) => {
            if let Some(message) = e.client_message() {
                conn.goodbye(&message).await;
            }
            tracing::debug!(error = %e, "echo connection ended early");
        }
    }
}

/// Accept errors that concern one client, not the listener.
fn is_client_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}
