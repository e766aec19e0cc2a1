//! `GET /block?ms=200`: the classic mistake, on purpose: `std::thread::sleep` inside
//! an async handler. Off unless `http.demo.allow_blocking = true`.
//!
//! Pattern: **never block a runtime worker**. A tokio worker thread runs many tasks
//! by switching between them at their `.await` points. `std::thread::sleep` (or a
//! blocking read, a long loop, a std lock held for long) has no `.await`: the worker
//! is stuck inside this one task, and every other task queued on it (requests,
//! connections, timers) waits too. With several workers the others steal what
//! they can and new work goes to them, so the damage is a worker's worth of
//! capacity; with one worker (`TOKIO_WORKER_THREADS=1`) everything stops.
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
    let blocked_ms = ms(blocked);
    let effect = if workers == 1 {
        format!(
            "this runtime has a single worker thread, so every other request, connection \
             and timer in the process waited those {blocked_ms} ms"
        )
    } else {
        format!(
            "tasks already queued on this thread waited unless one of the other {} \
             worker(s) stole them, and the server ran one worker short; {workers} such \
             requests at once would stop everything (try TOKIO_WORKER_THREADS=1)",
            workers - 1
        )
    };
    json!({
        "blocked_ms": blocked_ms,
        "thread": thread,
        "runtime_workers": workers,
        "explanation": format!(
            "this handler called std::thread::sleep on async worker thread `{thread}`: for \
             {blocked_ms} ms the thread could run nothing else. {effect}. Wait with \
             tokio::time::sleep(..).await, and move CPU or blocking work to spawn_blocking \
             (see /compute)"
        ),
    })
}
