//! One connection, from accept to close.
//!
//! hyper serves the protocol; this module decides how long a connection may sit
//! there and how it ends. [`serve`] is the connection's task: it looks at the
//! first bytes (`detect.rs`; on the HTTPS port, the TLS handshake in `tls.rs`
//! and ALPN decide), hands the stream (`io.rs`, generic: TCP or TLS over TCP)
//! and the stack bound to this connection (`service.rs`) to hyper, and then
//! `select!`s over three things until the connection ends:
//!
//! - hyper's connection future (it completes when the client closes, or after a
//!   graceful shutdown);
//! - the server's shutdown (`stopping`: finish what is in progress, close the
//!   rest at once; `cut`: close now);
//! - the connection's timer (`clock.rs`: header and idle timeouts).
//!
//! A request answered `101 Switching Protocols` (a WebSocket handshake) ends
//! hyper's part: its connection future completes and the task goes on to run
//! the WebSocket (`ws/`) on the same socket, with the same connection slot.
//! Over HTTP/2 a WebSocket is one stream among others (RFC 8441): it runs in a
//! task of its own and keeps the connection busy until it closes
//! (`service.rs`).
//!
//! | file | what it does |
//! |---|---|
//! | `detect.rs` | HTTP/1 or h2c, by a `peek` at the first bytes; the hyper builders |
//! | `tls.rs` | on the HTTPS port: plain HTTP refused, the TLS handshake, ALPN's choice |
//! | `clock.rs` | the header and idle clocks, from timestamps the socket and service note |
//! | `io.rs` | the socket wrapper: read notes, write timeout |
//! | `joined_writes.rs` | a small response sent with one `send` |
//! | `service.rs` | the tower stack bound to one connection |

mod clock;
mod detect;
mod io;
mod joined_writes;
mod service;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asynclab_core::Shutdown;
use asynclab_core::stop::Watch;
use asynclab_tls::TlsAcceptor;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

pub use clock::Timeouts;
pub use detect::Builders;
pub use service::{ClientAddr, TlsInfo};

use crate::HttpService;
use crate::counters::HttpMetrics;
use clock::{Activity, Check};
use detect::Stream;

/// How long a connection closed gracefully gets to finish closing before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Everything a connection task needs besides its socket, built once and shared
/// by every connection through an `Arc`.
#[derive(Debug)]
pub struct ConnContext<S> {
    pub builders: Builders,
    pub app: S,
    pub timeouts: Timeouts,
    pub metrics: Arc<HttpMetrics>,
    pub shutdown: Shutdown,
    /// Every connection task, so the drain can wait for them.
    pub tracker: TaskTracker,
}

/// Serves one connection to completion. Runs in its own task; errors stay here.
///
/// `permit` is this connection's slot under `http.max_connections`: moved in,
/// it is released when the task ends, however it ends. With `tls`, the
/// connection came to the HTTPS port: the handshake runs first (`tls.rs`).
pub async fn serve<S: HttpService>(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<ConnContext<S>>,
    permit: OwnedSemaphorePermit,
    tls: Option<TlsAcceptor>,
) {
    let _permit = permit;
    let _open = OpenConnection::new(&ctx.metrics.connections_open);
    // Responses are written whole; don't let Nagle hold back the last segment.
    let _ = stream.set_nodelay(true);
    // Born now: the header timeout counts from accept, sniffing and the TLS
    // handshake included.
    let activity = Arc::new(Activity::new());
    // A waiter made once and polled by `&mut` in every round of the loop: until
    // the phase comes, polling it is a load of a flag (`asynclab_core::stop`).
    let mut stopping = ctx.shutdown.stopping.watch();
    let header_read = ctx.timeouts.header_read;

    let Some(acceptor) = tls else {
        let sniffed = tokio::select! {
            sniffed = tokio::time::timeout(header_read, detect::sniff(&stream)) => sniffed,
            // Nothing received yet, so nothing to finish: just close.
            () = &mut stopping => return,
        };
        let protocol = match sniffed {
            Ok(Ok(Some(protocol))) => protocol,
            Ok(Ok(None)) => return,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "connection failed before its first byte");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "no byte within http.header_read_timeout; closing");
                return;
            }
        };
        let conn = Connection::new(&ctx, peer, activity, None);
        return conn.run(stream, protocol, stopping).await;
    };

    let accepted = tokio::select! {
        accepted = tokio::time::timeout(header_read, tls::accept(stream, &acceptor)) => accepted,
        // A handshake has no request to finish: close at once.
        () = &mut stopping => return,
    };
    match accepted {
        Ok(Ok(tls::Outcome::Tls(accepted))) => {
            let tls::Accepted {
                stream,
                protocol,
                info,
            } = *accepted;
            let _tls = OpenConnection::new(&ctx.metrics.tls_connections_open);
            let conn = Connection::new(&ctx, peer, activity, Some(info));
            conn.run(stream, protocol, stopping).await;
        }
        Ok(Ok(tls::Outcome::Closed)) => {}
        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake not done within http.header_read_timeout; closing")
        }
    }
}

/// A connection past its first bytes (and its handshake), whatever its stream.
struct Connection<'c, S> {
    ctx: &'c ConnContext<S>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    tls: Option<TlsInfo>,
}

impl<'c, S: HttpService> Connection<'c, S> {
    fn new(
        ctx: &'c ConnContext<S>,
        peer: SocketAddr,
        activity: Arc<Activity>,
        tls: Option<TlsInfo>,
    ) -> Self {
        Self {
            ctx,
            peer,
            activity,
            tls,
        }
    }

    /// hyper serves `stream` until the client closes, a clock runs out or the
    /// shutdown ends the connection.
    async fn run<I: Stream>(self, stream: I, protocol: detect::Protocol, mut stopping: Watch) {
        let Self {
            ctx,
            peer,
            activity,
            tls,
        } = self;
        let shutdown = &ctx.shutdown;
        let io = io::TimedIo::new(stream, ctx.timeouts.write, activity.clone());
        let service = service::ConnService::new(
            ctx.app.clone(),
            activity.clone(),
            peer,
            tls,
            ctx.tracker.clone(),
        );
        // `Unpin` (see `Conn`), so `select!` can poll it by `&mut` without pinning.
        let mut conn = ctx.builders.serve(protocol, io, service);
        let timer = tokio::time::sleep(ctx.timeouts.header_read.min(ctx.timeouts.idle));
        tokio::pin!(timer);
        let mut cut = shutdown.cut.watch();
        let mut closing = false;
        let mut cutting = false;

        loop {
            tokio::select! {
                // `biased`: the connection first, as it is nearly always what woke the task.
                biased;
                result = &mut conn => {
                    if let Err(error) = result {
                        // A client that resets, sends garbage or times out a write is
                        // routine for a server: debug, with the peer, and only here.
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                    break;
                }
                // Phase 3: the grace period is over. A request still waiting is
                // answered 503 by the stack (`layers/cut.rs`): give hyper a moment
                // to send it, then drop `conn`, which closes the socket and cancels
                // whatever still runs.
                () = &mut cut, if !cutting => {
                    tracing::debug!(%peer, "connection cut at the end of the grace period");
                    if !activity.is_busy() {
                        break;
                    }
                    cutting = true;
                    timer.as_mut().reset(Instant::now() + CLOSE_GRACE);
                }
                // Phase 2: a request in progress is finished (HTTP/1 with
                // `Connection: close`, HTTP/2 with GOAWAY). A connection with no
                // request in progress (idle, or with a head not yet complete) has
                // nothing to finish: it is closed now.
                () = &mut stopping, if !closing => {
                    if !activity.is_busy() {
                        break;
                    }
                    closing = true;
                    conn.graceful_shutdown();
                }
                () = &mut timer => {
                    if cutting {
                        break;
                    }
                    match activity.check(&ctx.timeouts) {
                        Check::Wait(deadline) => timer.as_mut().reset(deadline),
                        Check::HeadTimeout => {
                            tracing::debug!(%peer, "request head not received within http.header_read_timeout; closing");
                            break;
                        }
                        Check::Idle if !closing => {
                            tracing::debug!(%peer, "idle for http.idle_timeout; closing");
                            closing = true;
                            conn.graceful_shutdown();
                            timer.as_mut().reset(Instant::now() + CLOSE_GRACE);
                        }
                        // Still open a moment after a graceful close: stop waiting.
                        Check::Idle => break,
                    }
                }
            }
        }

        // A request answered 101 (a WebSocket handshake): hyper has let go of
        // the stream (TCP, or TLS over it: `wss://`), and this task runs the
        // WebSocket with it. The task goes on, so the connection keeps its slot
        // (`serve`'s `_permit`) and its place in the open count, and the drain
        // waits for it; the HTTP clocks above are done with.
        drop(conn);
        if let Some(session) = activity.take_upgrade() {
            session.run(peer).await;
        }
    }
}

/// Keeps an open-connections gauge (all, or HTTPS) right on every way out of [`serve`].
struct OpenConnection<'a>(&'a Gauge);

impl<'a> OpenConnection<'a> {
    fn new(gauge: &'a Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
