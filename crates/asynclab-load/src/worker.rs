//! One connection's loop, the same for HTTP and echo: wait for the pacer, send one
//! request, record what happened, repeat.
//!
//! Pattern: **`select!` between the work and a way out, with a timeout on the
//! work**. Each request is one future, raced in `select!` against the "cut now"
//! token (a second ctrl-c) and bounded by `timeout_at`. Losing the race drops the
//! request future, which is how Tokio cancels: whatever it was awaiting (a connect, a
//! read) simply stops, and its socket is closed when it is dropped. The connection is
//! then in an unknown state, so the client throws it away and connects afresh.
//!
//! What the protocol does (HTTP, echo) sits behind the [`Client`] trait; the loop
//! owns the pacing, the deadline and the counting, so both protocols count alike.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::ErrorKind;
use crate::pace::Pacer;
use crate::stats::{Live, Outcome, Shards};

/// A protocol's side of one connection.
pub(crate) trait Client {
    /// Sends one request and waits for its complete answer, connecting first when
    /// there is no open connection.
    fn exchange(&mut self) -> impl Future<Output = Outcome> + Send;

    /// Forgets the current connection (after an error or a timeout), so the next
    /// request starts on a fresh one.
    fn reset(&mut self);

    /// Before the first request: a protocol whose setup is measured apart
    /// (the WebSocket handshake) connects here. Nothing by default.
    fn open(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After the last request: a protocol with a closing handshake (WebSocket)
    /// does it here. Nothing by default.
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// What the loop needs besides its client.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// This connection's number, which picks its stats shard.
    pub(crate) index: usize,
    pub(crate) stats: Shards,
    pub(crate) timeout: Duration,
    /// Cancelled by a second ctrl-c: abandon the request in flight.
    pub(crate) cut: CancellationToken,
    pub(crate) live: Option<Arc<Live>>,
}

/// Runs one connection until the pacer says the run is over.
pub(crate) async fn drive<C: Client>(mut client: C, mut pacer: Pacer, cx: Context) {
    let stats = cx.stats.get(cx.index);
    // Never held across an `.await`: each use below locks, records and unlocks.
    let lock = || {
        stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    client.open().await;
    while let Some(slot) = pacer.next().await {
        let deadline = Instant::now() + cx.timeout;
        let outcome = tokio::select! {
            // `biased`: poll in order, so a cut wins over an answer that happens to
            // be ready in the same poll, and no randomness is paid per request.
            biased;
            () = cx.cut.cancelled() => {
                if slot.measured {
                    lock().record_cut();
                }
                break;
            }
            result = tokio::time::timeout_at(deadline, client.exchange()) => {
                result.unwrap_or(Outcome::Failed(ErrorKind::Timeout))
            }
        };
        if let Outcome::Failed(kind) = &outcome {
            tracing::trace!(error = kind.label(), "request failed");
            client.reset();
        }
        if slot.measured {
            let latency = slot.origin.elapsed();
            lock().record(&outcome, latency);
            if let Some(live) = &cx.live {
                live.add(&outcome);
            }
        }
    }
    if !cx.cut.is_cancelled() {
        client.close().await;
    }
}
