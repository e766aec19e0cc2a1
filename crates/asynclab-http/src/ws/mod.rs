//! WebSocket (RFC 6455): `GET /ws/echo` and `GET /ws/events`, on a socket that
//! has left hyper: TCP, or TLS on the HTTPS port (`wss://`), the same to this
//! module since hyper hands the upgraded stream back type-erased; or one stream
//! of an HTTP/2 connection (RFC 8441's extended CONNECT, `handshake.rs`).
//!
//! The protocol itself (frames, masking, fragments, UTF-8, control frames, the
//! close handshake) is tungstenite's, through tokio-tungstenite; what is ours
//! is everything around it: when to let go of a socket, and how.
//!
//! | file | what it does |
//! |---|---|
//! | `handshake.rs` | checks the request, answers 101 and hands the session to the connection task |
//! | `session.rs` | one WebSocket's life: a `select!` over the client, the event feed and its lifetime, the idle clock and the shutdown |
//! | `close.rs` | how it ends: the close code for each fault, the close handshake, a lingering close |
//! | `metrics.rs` | open sockets, messages and bytes each way, closes by code |
//!
//! How a WebSocket is bounded:
//!
//! - **connections:** the socket is run by its connection's task, which still
//!   holds its slot under `http.max_connections`, so WebSockets count there;
//! - **memory:** a message larger than `http.ws.max_message` is refused from its
//!   frame header (close 1009); the server reads the next message only once its
//!   answer is written, so a client that sends without reading fills its own
//!   socket buffers, not the server's memory; and every message the server
//!   sends must be written within `http.write_timeout`, or the socket ends
//!   (over HTTP/2 the connection's own write clock cannot see one stalled
//!   stream, so the bound is per message, in `session.rs`);
//! - **time:** a socket silent for `http.ws.idle_timeout` is pinged, and closed
//!   (1001) if nothing comes within `http.ws.ping_timeout`; a close handshake the
//!   server starts waits at most `http.ws.close_timeout` for the client's answer;
//!   a `/ws/events` feed lasts `?for=` (as `/events`), then closes with 1000;
//! - **shutdown:** at the `stopping` phase every WebSocket is sent 1001 ("going
//!   away"); the drain waits for the close handshakes until the grace period
//!   ends, and the cut drops the rest (counted in the stop summary).

mod close;
mod handshake;
pub mod metrics;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asynclab_core::Shutdown;
use asynclab_demo::Ticket;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

pub use handshake::{Endpoint, Handover, handshake};
pub use metrics::{WebSocketsAtShutdown, WsMetrics};

use crate::state::AppState;

/// The WebSocket as this server runs it: tungstenite over the socket hyper
/// handed back.
type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Where the messages a session sends come from, besides the echo.
#[derive(Debug)]
pub enum Feed {
    /// `/ws/echo`: the client's own messages.
    None,
    /// `/ws/events`: the live event feed (a place among the subscribers),
    /// for `end_after` (`?for=`), then closed with 1000.
    Events { ticket: Ticket, end_after: Duration },
}

/// One accepted WebSocket handshake, waiting for its socket.
#[derive(Debug)]
pub struct Session {
    upgrade: OnUpgrade,
    feed: Feed,
    config: Arc<asynclab_core::config::HttpConfig>,
    metrics: Arc<WsMetrics>,
    shutdown: Shutdown,
}

impl Session {
    fn new(state: &AppState, upgrade: OnUpgrade, feed: Feed) -> Self {
        Self {
            upgrade,
            feed,
            config: state.config.clone(),
            metrics: state.ws.clone(),
            shutdown: state.shutdown.clone(),
        }
    }

    /// Runs the WebSocket to its end, in the connection's task. Call once
    /// hyper has finished with the connection (its future completed): the
    /// socket is handed over then.
    pub async fn run(self, peer: SocketAddr) {
        let Self {
            upgrade,
            feed,
            config,
            metrics,
            shutdown,
        } = self;
        let upgraded = match upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%peer, %error, "the connection closed before it switched to WebSocket");
                return;
            }
        };
        let ws = &config.ws;
        let max = ws.max_message.as_usize();
        let protocol = WebSocketConfig::default()
            .read_buffer_size(ws.read_buffer.as_usize())
            // Each message is flushed as it is sent (the echo waits for it):
            // nothing to gain from collecting writes.
            .write_buffer_size(0)
            // A single frame may not be larger than a message: then the frame
            // header alone tells that a message is too large.
            .max_frame_size(Some(max))
            .max_message_size(Some(max));
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(protocol))
                .await;
        let _open = Open::new(&metrics);
        let cx = session::Context {
            config: ws,
            write_timeout: config.write_timeout,
            metrics: &metrics,
            peer,
            stopping: shutdown.stopping.watch(),
            cut: shutdown.cut.watch(),
        };
        session::run(socket, feed, cx).await;
    }
}

/// Keeps the open-WebSockets gauge right on every way out of [`Session::run`].
struct Open<'a>(&'a WsMetrics);

impl<'a> Open<'a> {
    fn new(metrics: &'a WsMetrics) -> Self {
        metrics.opened.inc();
        metrics.open.inc();
        Self(metrics)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.open.dec();
    }
}
