//! `GET /slow`: waiting on a timer without blocking anything, and
//! **cancellation by drop**.
//!
//! `sleep(..).await` parks the handler's future and frees the worker thread for
//! other requests: 10,000 slow requests cost 10,000 small futures, not 10,000
//! threads. When the client disconnects (or the request times out, or the
//! shutdown cuts it), the future is dropped mid-`await`: nothing after the
//! await runs, and the guard left armed on the stack records it.

use std::time::Duration;

use asynclab_core::query::Query;
use http::{Request, Response, StatusCode};
use tokio::time::Instant;

use crate::body::{Body, text};
use crate::error::HttpError;
use crate::state::AppState;

type Result<T = Response<Body>> = std::result::Result<T, HttpError>;

/// `GET /slow?delay=250ms`: waits on a timer, then answers.
///
/// `sleep(..).await` parks this future and frees the worker thread for other
/// requests: 10,000 slow requests cost 10,000 small futures, not 10,000 threads.
/// When the client disconnects, hyper drops this future mid-`await`; nothing runs
/// after the await, and the [`CancelGuard`] left armed on the stack records it.
///
/// The request (its headers, its body) is dropped before the wait rather than
/// held through it: a waiting request keeps only what the wait needs.
pub async fn slow(state: AppState, req: Request<Body>) -> Result {
    let cfg = &state.config.slow;
    let delay = Query::parse(req.uri().query(), &["delay"])?.duration(
        "delay",
        cfg.delay,
        cfg.max_delay,
        "http.slow.max_delay",
    )?;
    drop(req);
    let guard = CancelGuard::new(&state, delay);
    tokio::time::sleep(delay).await;
    guard.disarm();
    Ok(text(StatusCode::OK, "Slow response\n"))
}

/// Counts and logs a `/slow` handler dropped before its wait ended. Drop runs
/// whether the future finished or was cancelled, so the guard is "armed" until the
/// handler reaches the line after the await.
struct CancelGuard {
    state: Option<AppState>,
    started: Instant,
    delay: Duration,
}

impl CancelGuard {
    fn new(state: &AppState, delay: Duration) -> Self {
        Self {
            state: Some(state.clone()),
            started: Instant::now(),
            delay,
        }
    }

    fn disarm(mut self) {
        self.state = None;
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            state.http.slow_cancelled.inc();
            tracing::debug!(
                waited_ms = self.started.elapsed().as_millis() as u64,
                delay_ms = self.delay.as_millis() as u64,
                "/slow cancelled: the handler future was dropped mid-wait"
            );
        }
    }
}
