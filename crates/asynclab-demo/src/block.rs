//! `GET /block?ms=200`: the classic mistake, on purpose: `std::thread::sleep` inside
//! an async handler. Off unless `http.demo.allow_blocking = true`.
//!
//! Pattern: **never block a runtime worker**. A tokio worker thread runs many tasks
//! by switching between them at their `.await` points. `std::thread::sleep` (or a
//! blocking read, a long loop, a std lock held for long) has no `.await`: the worker
//! is stuck inside this one task, and every other task queued on it (requests,
//! connections, timers) waits too. With several workers, idle ones steal queued
//! tasks and soften the blow; with one (`TOKIO_WORKER_THREADS=1`) everything stops.
//! The fix is `tokio::time::sleep(..).await` for waiting and `spawn_blocking` for
//! CPU or blocking calls (see `/compute`).

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::reply::ms;

pub(crate) async fn block(duration: Duration) -> serde_json::Value {
    let thread = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string();
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    tracing::warn!(
        block_ms = ms(duration),
        thread,
        "GET /block: blocking a runtime worker thread on purpose"
    );
    let started = Instant::now();
    // The mistake: a blocking sleep where `tokio::time::sleep(duration).await` belongs.
    std::thread::sleep(duration);
    let blocked = started.elapsed();
    json!({
        "blocked_ms": ms(blocked),
        "thread": thread,
        "runtime_workers": workers,
        "explanation": format!(
            "this handler called std::thread::sleep for {} ms on async worker thread `{thread}`: \
             for that long the thread ran nothing else, so every other request, connection and \
             timer waiting on it stalled (on a runtime with {workers} worker(s), idle workers can \
             steal some of that queue; with one worker everything stopped). Use \
             tokio::time::sleep(..).await to wait and spawn_blocking for CPU work (see /compute)",
            ms(blocked)
        ),
    })
}
