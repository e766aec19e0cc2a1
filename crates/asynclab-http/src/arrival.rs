//! How long a request body may take to arrive, and when the answer's clock starts.
//!
//! `http.request_timeout` is the time this server has to answer a request that
//! has arrived: its 503 says the server was too slow. An upload is not slow
//! server work, though; a client on a slow link may need minutes to send 100 MiB.
//! So for a request with a body, two clocks, one after the other:
//!
//! - while the body arrives, it must keep moving: nothing for
//!   `http.idle_timeout` and the request gets **408** (the client stopped
//!   sending), however long the whole upload takes (as nginx's
//!   `client_body_timeout`);
//! - once it has arrived whole, the handler has `http.request_timeout` (503).
//!
//! Pattern: **a body that reports on itself.** The handler owns the body and
//! reads it at its own pace; [`Arrival`] is what the body wrapper (`Watched`
//! in `body.rs`) writes as frames come in, and what the request's timer reads
//! each time it wakes, re-arming itself for the deadline that now applies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::HttpError;

/// Not yet: the body has not ended.
const OPEN: u64 = u64::MAX;

/// Progress of one request body, in milliseconds after the request began.
#[derive(Debug)]
pub struct Arrival {
    began: Instant,
    /// When a frame last arrived (or the request began).
    last_ms: AtomicU64,
    /// When the body ended, or [`OPEN`].
    done_ms: AtomicU64,
}

impl Arrival {
    pub fn new(began: Instant) -> Self {
        Self {
            began,
            last_ms: AtomicU64::new(0),
            done_ms: AtomicU64::new(OPEN),
        }
    }

    fn now_ms(&self) -> u64 {
        self.began.elapsed().as_millis() as u64
    }

    /// A frame of the body arrived.
    pub fn progressed(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The body has ended (or the handler dropped it unread: either way, nothing
    /// more is waited for).
    pub fn ended(&self) {
        let _ = self.done_ms.compare_exchange(
            OPEN,
            self.now_ms(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The deadline that applies now, and the error if it passes.
    fn deadline(&self, request_timeout: Duration, idle: Duration) -> (Instant, HttpError) {
        let at = |ms: u64| self.began + Duration::from_millis(ms);
        match self.done_ms.load(Ordering::Relaxed) {
            OPEN => (
                at(self.last_ms.load(Ordering::Relaxed)) + idle,
                HttpError::BodyStalled(idle),
            ),
            done => (
                at(done) + request_timeout,
                HttpError::Timeout(request_timeout),
            ),
        }
    }

    /// Resolves with the error to answer once the deadline that applies has
    /// passed: it sleeps until the deadline it sees, then looks again, since a
    /// frame or the body's end may have moved it meanwhile.
    pub async fn expired(&self, request_timeout: Duration, idle: Duration) -> HttpError {
        loop {
            let (deadline, error) = self.deadline(request_timeout, idle);
            if deadline <= Instant::now() {
                return error;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RT: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(3);

    /// Paused time: the body keeps moving for a minute (six request timeouts),
    /// then ends; the handler's clock starts only then.
    #[tokio::test(start_paused = true)]
    async fn a_moving_body_is_waited_for_and_the_answer_timed_from_its_end() {
        let arrival = std::sync::Arc::new(Arrival::new(Instant::now()));
        let feeder = arrival.clone();
        let began = Instant::now();
        tokio::spawn(async move {
            for _ in 0..30 {
                tokio::time::sleep(Duration::from_secs(2)).await;
                feeder.progressed();
            }
            feeder.ended();
        });
        let error = arrival.expired(RT, IDLE).await;
        assert!(matches!(error, HttpError::Timeout(_)), "{error}");
        assert_eq!(began.elapsed(), Duration::from_secs(60) + RT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_gets_408_after_the_idle_timeout() {
        let arrival = std::sync::Arc::new(Arrival::new(Instant::now()));
        let feeder = arrival.clone();
        let began = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            feeder.progressed();
        });
        let error = arrival.expired(RT, IDLE).await;
        assert!(matches!(error, HttpError::BodyStalled(_)), "{error}");
        assert_eq!(began.elapsed(), Duration::from_secs(2) + IDLE);
    }
}
