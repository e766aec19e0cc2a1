//! `GET /timeout?work=2s&limit=500ms`: the work wrapped in `tokio::time::timeout`.
//!
//! Pattern: **timeouts are select! with a timer**. `timeout(limit, work)` polls the
//! work and a timer together; if the timer fires first, the work future is dropped
//! (cancelled at its current `.await`, see `guard.rs`) and the caller gets
//! `Err(Elapsed)`. No thread is interrupted and nothing is killed: the work simply
//! stops being polled. 200 with the result when it finishes in time, 504 (the
//! status for "an upstream took too long") with an explanation when not.

use std::time::Duration;

use http::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use crate::guard::Dropped;
use crate::reply::ms;

/// Simulated slow work (a call to a slow upstream, say).
async fn work(duration: Duration, dropped: Dropped) -> &'static str {
    let guard = dropped.guard("timeout work");
    tokio::time::sleep(duration).await;
    guard.finish();
    "the work finished"
}

pub(crate) async fn timeout(
    duration: Duration,
    limit: Duration,
) -> (StatusCode, serde_json::Value) {
    let dropped = Dropped::default();
    let started = Instant::now();
    let outcome = tokio::time::timeout(limit, work(duration, dropped.clone())).await;
    let elapsed = ms(started.elapsed());
    match outcome {
        Ok(result) => (
            StatusCode::OK,
            json!({
                "result": result,
                "work_ms": ms(duration),
                "limit_ms": ms(limit),
                "elapsed_ms": elapsed,
                "explanation": "the work finished before the limit, so timeout() returned Ok(result)",
            }),
        ),
        Err(_elapsed) => (
            StatusCode::GATEWAY_TIMEOUT,
            json!({
                "error": "timed out",
                "work_ms": ms(duration),
                "limit_ms": ms(limit),
                "elapsed_ms": elapsed,
                "work_dropped": dropped.happened(),
                "explanation": "the limit passed first: timeout() dropped the work future \
                                mid-.await (cancelled, nothing after its .await ran) and \
                                returned Err(Elapsed), answered here as 504 Gateway Timeout",
            }),
        ),
    }
}
