//! `GET /limited`: a **shared semaphore with bounded waiting**. At most
//! `http.limited.permits` requests do their work at once; the others queue for a
//! permit, within bounds (`max_waiters`, `queue_timeout`), and the rest get 503.

use std::sync::atomic::Ordering;

use asynclab_core::query::Query;
use http::header::HeaderValue;
use http::{Request, Response, StatusCode};
use tokio::time::Instant;

use crate::body::{Body, text};
use crate::counters::ReasonLabels;
use crate::error::HttpError;
use crate::state::AppState;

type Result<T = Response<Body>> = std::result::Result<T, HttpError>;

/// `GET /limited?work=1s`: at most `http.limited.permits` requests do their work
/// at once; the others queue for a permit, within bounds.
///
/// A `tokio::sync::Semaphore` is fair (first come, first served) and its
/// `acquire` is cancel-safe: a waiter that gives up (timeout, client gone) simply
/// leaves the queue. The permit is an RAII guard, so it goes back on every path
/// out of this function, panics and cancellation included.
pub async fn limited(state: AppState, req: Request<Body>) -> Result {
    let cfg = &state.config.limited;
    let work = Query::parse(req.uri().query(), &["work"])?.duration(
        "work",
        cfg.work,
        cfg.max_work,
        "http.limited.max_work",
    )?;
    let lim = &state.limited;
    let queued = Instant::now();
    let busy = |reason: &'static str| {
        lim.rejected.get_or_create(&ReasonLabels { reason }).inc();
        HttpError::Busy {
            reason: match reason {
                "queue_full" => "GET /limited has http.limited.max_waiters requests waiting",
                _ => "GET /limited: no permit within http.limited.queue_timeout",
            },
            // By then about one round of work has freed a permit.
            retry_after: cfg.work,
        }
    };

    // Fast path: a free permit, no queueing at all.
    let permit = match lim.semaphore.try_acquire() {
        Ok(permit) => permit,
        Err(_) => {
            // Join the queue only if it is not full: the count is taken first and
            // given back on every way out (the guard), so it never drifts.
            let Some(_waiting) = Waiter::join(&state, cfg.max_waiters) else {
                return Err(busy("queue_full"));
            };
            match tokio::time::timeout(cfg.queue_timeout, lim.semaphore.acquire()).await {
                Ok(permit) => permit.expect("the /limited semaphore is never closed"),
                Err(_) => return Err(busy("queue_timeout")),
            }
        }
    };
    let waited = queued.elapsed();

    // Inside the work section: never more than `permits` requests here at once.
    lim.in_use_gauge.inc();
    lim.in_use_max.fetch_max(lim.in_use(), Ordering::Relaxed);
    let _inside = scopeguard(|| {
        lim.in_use_gauge.dec();
    });
    tokio::time::sleep(work).await;
    drop(permit);

    let mut res = text(StatusCode::OK, "Response from limited handler\n");
    res.headers_mut().insert(
        "x-queue-wait-ms",
        HeaderValue::from(waited.as_millis() as u64),
    );
    Ok(res)
}

/// A place in the `/limited` queue, given back when dropped.
struct Waiter<'a>(&'a AppState);

impl<'a> Waiter<'a> {
    fn join(state: &'a AppState, max: usize) -> Option<Self> {
        let lim = &state.limited;
        if lim.waiting.fetch_add(1, Ordering::AcqRel) >= max {
            lim.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        lim.waiters_gauge.inc();
        Some(Self(state))
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.limited.waiting.fetch_sub(1, Ordering::AcqRel);
        self.0.limited.waiters_gauge.dec();
    }
}

/// Runs `f` when dropped: the smallest RAII guard.
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}
