//! `GET /retry?fail=2&attempts=4&base=100ms`: a flaky operation called through
//! `tower::retry`, with exponential backoff, jitter, a maximum number of
//! attempts and a retry budget.
//!
//! Pattern: **retrying is a policy, not a loop.** The tutorials write
//! `for attempt in 0..n { match call().await { Ok(v) => break, Err(_) => sleep(..).await } }`.
//! tower splits that loop in two: the operation is a `Service`, and a
//! [`Policy`] looks at each result and says "stop" (`None`) or "try again
//! after this future" (`Some(sleep)`). `tower::retry::Retry` runs the loop.
//! The policy is where the lessons live:
//!
//! - **exponential backoff** (`ExponentialBackoff`): each wait doubles, up to
//!   a cap, so a struggling upstream gets room to recover;
//! - **jitter**: a random part added to each wait, so a thousand clients that
//!   failed together do not all come back at the same instant;
//! - **a maximum number of attempts**: a request ends, whatever happens;
//! - **a budget** (`TpsBudget`, shared by every `/retry` request): retries may
//!   add at most a percentage of the traffic that succeeds. When everything
//!   fails, retries stop instead of multiplying the load on what is already
//!   down: the *retry storm* that turns a blip into an outage.
//!
//! The answer lists every attempt with its start, duration, outcome and the
//! backoff chosen after it: 200 when an attempt succeeded, 502 (an upstream
//! failed) when the policy gave up.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};
use tokio::time::{Instant, Sleep};
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::retry::budget::{Budget, TpsBudget};
use tower::retry::{Policy, RetryLayer};
use tower::util::rng::{HasherRng, Rng};
use tower::{ServiceBuilder, ServiceExt, service_fn};

use crate::reply::ms;

/// What one `/retry` request asks for (already checked against the caps).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    /// The first `fail` attempts fail.
    pub fail: u32,
    /// After those, each attempt fails with this percent chance.
    pub chance: u32,
    /// At most this many attempts (the first one included).
    pub attempts: u32,
    /// The first backoff; each next one doubles, up to `max_backoff`.
    pub base: Duration,
    pub max_backoff: Duration,
    /// Up to this fraction of each backoff is added at random.
    pub jitter: f64,
    /// How long each attempt takes.
    pub work: Duration,
}

/// The operation failed (the error type of the service being retried).
#[derive(Debug, Clone)]
struct Failed(&'static str);

/// What happened, written by the operation and the policy as they run.
#[derive(Debug)]
struct Record {
    started: Instant,
    /// Short critical sections, never across an `.await`: a std `Mutex` is right.
    attempts: Mutex<Vec<Value>>,
    stopped: Mutex<&'static str>,
}

impl Record {
    fn note(&self, f: impl FnOnce(&mut Vec<Value>)) {
        f(&mut self
            .attempts
            .lock()
            .expect("no panic while noting an attempt"));
    }

    fn stop(&self, why: &'static str) {
        *self.stopped.lock().expect("no panic while noting the stop") = why;
    }
}

/// The retry policy: backoff, a count of attempts left, the shared budget.
#[derive(Debug, Clone)]
struct Retries {
    left: u32,
    backoff: ExponentialBackoff,
    budget: Arc<TpsBudget>,
    record: Arc<Record>,
}

impl Policy<(), (), Failed> for Retries {
    type Future = Sleep;

    fn retry(&mut self, _: &mut (), result: &mut Result<(), Failed>) -> Option<Sleep> {
        if result.is_ok() {
            // A success earns the budget a fraction of a retry.
            self.budget.deposit();
            self.record.stop("succeeded");
            return None;
        }
        self.left -= 1;
        if self.left == 0 {
            self.record.stop("max attempts reached");
            return None;
        }
        if !self.budget.withdraw() {
            self.record.stop("retry budget exhausted");
            return None;
        }
        let sleep = self.backoff.next_backoff();
        let wait = sleep.deadline() - Instant::now();
        self.record.note(|attempts| {
            if let Some(last) = attempts.last_mut() {
                last["backoff_ms"] = ms(wait).into();
            }
        });
        Some(sleep)
    }

    fn clone_request(&mut self, _: &()) -> Option<()> {
        Some(())
    }
}

/// The budget every `/retry` request shares: over a 10 s window, retries may add
/// `percent`% of the successful calls, plus `min_per_sec` each second.
pub(crate) fn budget(percent: f32, min_per_sec: u32) -> Arc<TpsBudget> {
    Arc::new(TpsBudget::new(
        Duration::from_secs(10),
        min_per_sec,
        percent / 100.0,
    ))
}

/// Runs the operation through the retry policy; the status and the JSON answer.
pub(crate) async fn retry(params: Params, budget: Arc<TpsBudget>) -> (StatusCode, Value) {
    let record = Arc::new(Record {
        started: Instant::now(),
        attempts: Mutex::new(Vec::new()),
        stopped: Mutex::new("succeeded"),
    });
    let backoff = ExponentialBackoffMaker::new(
        params.base,
        params.max_backoff,
        params.jitter,
        HasherRng::default(),
    )
    .expect("base <= max_backoff and 0 <= jitter <= 1 are checked from the query")
    .make_backoff();
    let policy = Retries {
        left: params.attempts,
        backoff,
        budget,
        record: record.clone(),
    };

    // The flaky operation, as a `Service`: `service_fn` turns a closure into one.
    let calls = Arc::new(AtomicU32::new(0));
    let op_record = record.clone();
    let operation = service_fn(move |()| {
        let (calls, record) = (calls.clone(), op_record.clone());
        async move {
            let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
            let start = record.started.elapsed();
            tokio::time::sleep(params.work).await;
            let outcome = if n <= params.fail {
                Err(Failed("failed (one of the first `fail` attempts)"))
            } else if HasherRng::default().next_f64() * 100.0 < f64::from(params.chance) {
                Err(Failed("failed (by chance)"))
            } else {
                Ok(())
            };
            record.note(|attempts| {
                attempts.push(json!({
                    "attempt": n,
                    "start_ms": ms(start),
                    "took_ms": ms(record.started.elapsed() - start),
                    "outcome": match &outcome { Ok(()) => "ok", Err(Failed(why)) => why },
                }));
            });
            outcome
        }
    });
    let result = ServiceBuilder::new()
        .layer(RetryLayer::new(policy))
        .service(operation)
        .oneshot(())
        .await;

    let attempts = std::mem::take(&mut *record.attempts.lock().expect("no panic while noting"));
    let stopped = *record.stopped.lock().expect("no panic while noting");
    let status = match result {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::BAD_GATEWAY,
    };
    (
        status,
        json!({
            "succeeded": result.is_ok(),
            "stopped": stopped,
            "attempts": attempts,
            "total_ms": ms(record.started.elapsed()),
            "policy": {
                "max_attempts": params.attempts,
                "base_ms": ms(params.base),
                "max_backoff_ms": ms(params.max_backoff),
                "jitter": params.jitter,
            },
            "explanation": "tower::retry::Retry called the operation; after each failure the \
                            policy chose: stop (max attempts, or the shared retry budget is \
                            spent) or wait an exponential backoff with jitter and try again",
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(fail: u32, attempts: u32) -> Params {
        Params {
            fail,
            chance: 0,
            attempts,
            base: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            jitter: 0.5,
            work: Duration::from_millis(10),
        }
    }

    fn backoffs(answer: &Value) -> Vec<f64> {
        answer["attempts"]
            .as_array()
            .expect("attempts")
            .iter()
            .filter_map(|a| a["backoff_ms"].as_f64())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_with_growing_jittered_backoffs() {
        let (status, answer) = retry(params(3, 5), budget(20.0, 100)).await;
        assert_eq!(status, StatusCode::OK, "{answer:#}");
        assert_eq!(answer["stopped"], "succeeded");
        let attempts = answer["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 4);
        assert_eq!(attempts[3]["outcome"], "ok");
        // Base 100 ms doubling (100, 200, 400), plus up to 50% jitter.
        let waits = backoffs(&answer);
        assert_eq!(waits.len(), 3);
        for (wait, base) in waits.iter().zip([100.0, 200.0, 400.0]) {
            assert!((base..=base * 1.5).contains(wait), "{waits:?}");
        }
        // Paused time: each attempt takes exactly its 10 ms of work.
        assert_eq!(attempts[0]["took_ms"], 10.0);
        let start = |i: usize| attempts[i]["start_ms"].as_f64().expect("start");
        // The next attempt starts after the work and the backoff (the timer
        // rounds up to its millisecond tick).
        let gap = start(1) - (10.0 + waits[0]);
        assert!((0.0..=1.0).contains(&gap), "{answer:#}");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_502() {
        let (status, answer) = retry(params(10, 3), budget(20.0, 100)).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(answer["stopped"], "max attempts reached");
        assert_eq!(answer["attempts"].as_array().expect("attempts").len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_budget_stops_retries_before_the_max() {
        // No reserve and nothing deposited: not one retry is allowed.
        let empty = budget(0.0, 0);
        let (status, answer) = retry(params(1, 5), empty).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(answer["stopped"], "retry budget exhausted");
        assert_eq!(answer["attempts"].as_array().expect("attempts").len(), 1);
    }
}
