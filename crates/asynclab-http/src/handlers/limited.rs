//! `GET /limited`: a **shared semaphore with bounded waiting**. At most
//! `http.limited.permits` requests do their work at once; the others queue for a
//! permit, within bounds (`max_waiters`, `queue_timeout`), and the rest get 503.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use asynclab_core::query::Query;
use http::header::HeaderValue;
use http::{Request, Response, StatusCode};
use tokio::time::Instant;

use crate::body::{Body, text};
use crate::counters::ReasonLabels;
use crate::error::HttpError;
use crate::state::{AppState, LimitedState};

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

/// Changes the number of permits while requests hold and wait for them (the
/// control API's `limited.permits`).
///
/// Growing is one call: `add_permits` hands the new permits to the waiters
/// first in line. Shrinking is the lesson: `forget_permits` can only forget
/// permits nobody holds, so it takes what is free now, and a task takes the
/// rest as the requests holding them finish (`acquire_many`, then `forget`).
/// That task queues like any waiter, and the semaphore is fair, so no new
/// request overtakes it: the limit comes down as fast as the work allows, and
/// no request already inside is cut short. A later resize needs no special
/// case: a grow while a shrink still waits pays the shrink first, and the
/// totals come out right.
pub fn resize(lim: &Arc<LimitedState>, permits: usize) {
    let before = lim.permits.swap(permits, Ordering::AcqRel);
    if permits >= before {
        lim.semaphore.add_permits(permits - before);
        return;
    }
    let excess = before - permits;
    let owed = excess - lim.semaphore.forget_permits(excess);
    if owed == 0 {
        return;
    }
    let lim = lim.clone();
    tokio::spawn(async move {
        let owed = u32::try_from(owed).expect("permits are capped far below u32::MAX");
        if let Ok(permits) = lim.semaphore.acquire_many(owed).await {
            permits.forget();
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Lets spawned tasks run (paused time: no real waiting).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn shrinking_waits_for_busy_permits_and_growing_is_at_once() {
        let lim = Arc::new(LimitedState::new(3));
        let mut held: Vec<_> = (0..3)
            .map(|_| lim.semaphore.try_acquire().expect("a free permit"))
            .collect();
        resize(&lim, 1);
        settle().await;
        // Two busy permits are owed: the first to come back goes to the shrink,
        // not to a newcomer.
        held.pop();
        settle().await;
        assert!(
            lim.semaphore.try_acquire().is_err(),
            "the shrink is served first"
        );
        held.pop();
        settle().await;
        assert_eq!(lim.semaphore.available_permits(), 0, "two forgotten");
        held.pop();
        settle().await;
        assert_eq!(lim.semaphore.available_permits(), 1, "one left");
        resize(&lim, 4);
        assert_eq!(lim.semaphore.available_permits(), 4);
        assert_eq!(lim.permits.load(Ordering::Relaxed), 4);
    }
}
