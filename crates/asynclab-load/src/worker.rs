//! One connection's loop, the same for HTTP, echo and WebSocket: wait for the pacer, send one
//! request, record what happened, repeat.
//!
//! Pattern: **`select!` between the work and a way out, with a timeout on the
//! work**. Each request is one future, raced in `select!` against the "cut now"
//! signal (a second ctrl-c) and the request's deadline. Losing the race drops the
//! request future, which is how Tokio cancels: whatever it was awaiting (a connect, a
//! read) simply stops, and its socket is closed when it is dropped. The connection is
//! then in an unknown state, so the client throws it away and connects afresh.
//!
//! The two ways out are made once per connection, not per request, because this loop
//! is the generator's hot path: the deadline is a timer re-armed lazily
//! (`lazy_deadline.rs`), and the cut (like the pacer's stop) is watched through a flag
//! in front of its token (`asynclab_core::stop`, the run's [`Control`](crate::Control)):
//! a plain load on each wake-up rather than the token's lock.
//!
//! What the protocol does (HTTP, echo) sits behind the [`Client`] trait; the loop
//! owns the pacing, the deadline and the counting, so both protocols count alike.
//!
//! A connection that cannot connect (nothing listens, no route) waits before trying
//! again, twice as long each time up to [`MAX_BACKOFF`], as clients retrying a
//! refused connection should: without it, a refusal takes microseconds and each
//! connection would count tens of thousands of them a second, measuring nothing but
//! the generator's own loop.

use std::sync::Arc;
use std::time::Duration;

use asynclab_core::stop::StopFlag;
use tokio::time::Instant;

use crate::error::ErrorKind;
use crate::lazy_deadline::Deadline;
use crate::pace::Pacer;
use crate::stats::{Live, Outcome, Shards};

/// The first wait after a failed connect.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait between two attempts to connect.
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// A protocol's side of one connection.
pub(crate) trait Client {
    /// Sends one request and waits for its complete answer, connecting first when
    /// there is no open connection.
    fn exchange(&mut self) -> impl Future<Output = Outcome> + Send;

    /// Forgets the current connection (after an error or a timeout), so the next
    /// request starts on a fresh one.
    fn reset(&mut self);

    /// Before the first request (and the first after a `--stage` ramp parked the
    /// connection): a protocol whose setup is measured apart (the WebSocket
    /// handshake) connects here. Nothing by default.
    fn open(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After the last request, and when a `--stage` ramp parks the connection:
    /// a protocol with a closing handshake (WebSocket) does it here. Nothing by
    /// default.
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// With a scenario: which of its requests the last exchange sent.
    fn picked(&self) -> Option<usize> {
        None
    }
}

/// What the loop needs besides its client.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// This connection's number, which picks its stats shard.
    pub(crate) index: usize,
    pub(crate) stats: Shards,
    pub(crate) timeout: Duration,
    /// Set by a second ctrl-c: abandon the request in flight.
    pub(crate) cut: StopFlag,
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
    let mut cut = cx.cut.watch();
    let mut deadline = Deadline::new(Instant::now() + cx.timeout);
    let mut backoff = FIRST_BACKOFF;
    // Whether `open` ran for the connection now wanted (see `Client::open`).
    let mut opened = false;
    loop {
        // A ramp of connections (`--stage` without `--rate`) that does not want
        // this one now: close it, as a user leaving would (a WebSocket with its
        // close handshake), and wait to be wanted.
        if let Some(wake) = pacer.parked_until() {
            if opened {
                tokio::select! {
                    biased;
                    () = &mut cut => {}
                    () = client.close() => {}
                }
            }
            client.reset();
            opened = false;
            if pacer.sleep_until(wake).await {
                continue;
            }
            break;
        }
        if !opened {
            opened = true;
            // Bounded like a request, and abandoned on a cut like one.
            tokio::select! {
                biased;
                () = &mut cut => break,
                _ = tokio::time::timeout(cx.timeout, client.open()) => {}
            }
        }
        let Some(slot) = pacer.next().await else {
            break;
        };
        deadline.set(slot.sent + cx.timeout);
        let outcome = tokio::select! {
            // `biased`: poll in order, so a cut wins over an answer that happens to
            // be ready in the same poll, an answer wins over a deadline passing in
            // it, and no randomness is paid per request.
            biased;
            () = &mut cut => {
                if slot.measured {
                    lock().record_cut();
                }
                break;
            }
            outcome = client.exchange() => outcome,
            () = deadline.passed() => Outcome::Failed(ErrorKind::Timeout),
        };
        if let Outcome::Failed(kind) = &outcome {
            tracing::trace!(error = kind.label(), "request failed");
            client.reset();
        }
        if slot.measured {
            let latency = slot.origin.elapsed();
            lock().record(&outcome, latency, client.picked());
            if let Some(live) = &cx.live {
                live.add(&outcome);
            }
        }
        match outcome {
            Outcome::Failed(kind) if kind.is_connect() => {
                pacer.pause(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            _ => backoff = FIRST_BACKOFF,
        }
    }
    if !cx.cut.is_stopped() {
        client.close().await;
    }
}
