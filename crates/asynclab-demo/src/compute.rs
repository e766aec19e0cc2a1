//! `GET /compute?n=1000000`: CPU-bound work moved off the async workers with
//! `spawn_blocking`, with a semaphore bounding how many such jobs run at once.
//!
//! Pattern: **spawn_blocking for CPU work**. An async worker thread must get back
//! to its other tasks quickly; a computation that runs for 100 ms between two
//! `.await`s (there are none in a loop like [`count_primes`]) keeps the worker from
//! every other request it is serving. `spawn_blocking` runs the closure on tokio's
//! separate *blocking pool* and gives back a future for its result, so this handler
//! waits like any I/O wait and the worker serves others meanwhile.
//!
//! The blocking pool grows on demand up to `Builder::max_blocking_threads` (512 by
//! default; idle threads exit after `thread_keep_alive`, 10 s), which is far more
//! threads than cores: 512 concurrent prime counts would all be runnable at once
//! and fight over the CPUs. So the handler first takes a permit from a
//! `tokio::sync::Semaphore` with `http.demo.compute_jobs` permits. Waiting for the
//! permit is an async wait (it costs a parked task, not a thread), and the permit is
//! moved *into* the blocking closure, so it is released when the computation ends,
//! even if the client has gone away: a blocking job cannot be cancelled, it runs to
//! the end, and the semaphore keeps counting it until it does.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::reply::ms;

/// Counts the primes below `n` by trial division: deliberately plain CPU work,
/// deterministic and with no `.await` anywhere (a sieve would be faster; the point
/// is to burn a predictable amount of CPU: about 0.15 s for n = 1,000,000).
pub fn count_primes(n: u64) -> u64 {
    (2..n).filter(|&k| is_prime(k)).count() as u64
}

fn is_prime(k: u64) -> bool {
    let mut d = 2;
    while d * d <= k {
        if k.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

pub(crate) async fn compute(jobs: Arc<Semaphore>, n: u64) -> serde_json::Value {
    let queued = Instant::now();
    let permit = jobs
        .acquire_owned()
        .await
        .expect("the compute semaphore is never closed");
    let queue_wait = queued.elapsed();
    let started = Instant::now();
    let (primes, thread) = tokio::task::spawn_blocking(move || {
        // Held until the computation is done, whatever happened to the request.
        let _permit = permit;
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        (count_primes(n), thread)
    })
    .await
    .expect("count_primes does not panic, and the runtime outlives this request");
    json!({
        "n": n,
        "primes_below_n": primes,
        "compute_ms": ms(started.elapsed()),
        "queue_wait_ms": ms(queue_wait),
        "thread": thread,
        "explanation": "the count ran on tokio's blocking thread pool (spawn_blocking), so \
                        this request's worker thread went on serving other tasks meanwhile; \
                        a semaphore (http.demo.compute_jobs) bounds how many counts run at once",
    })
}
