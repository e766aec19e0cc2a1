//! `[http.demo]`: the live async-pattern endpoints (`/fanout`, `/race`, `/timeout`,
//! `/compute`, `/block`, `/counter`, `/events`). See the `asynclab-demo` crate.
//!
//! Each cap here bounds what a demo request may ask for in its query string;
//! a value over one gets a 400 naming the key.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units;
use super::{Check, at_least, invalid, nonzero, shorter};

/// The `[http.demo]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// Turns on `GET /block`, which blocks a runtime worker thread on purpose.
    pub allow_blocking: bool,
    /// The longest wait `/fanout?delay=`, `/race?a=&b=` and `/timeout?work=&limit=`
    /// may ask for.
    #[serde(with = "units::duration")]
    pub max_delay: Duration,
    /// The longest `GET /block?ms=` may block a worker.
    #[serde(with = "units::duration")]
    pub max_block: Duration,
    /// The largest `n` for `GET /compute?n=` (primes below `n` are counted).
    pub max_compute: u64,
    /// `/compute` jobs on the blocking pool at once; more wait (asynchronously) for a slot.
    pub compute_jobs: usize,
    /// The largest `n` for `GET /fanout?n=` (waits, or spawned tasks, per request).
    pub max_fanout: usize,
    /// `GET /events` streams open at once; more get 503.
    pub max_subscribers: usize,
    /// How long a `GET /events` stream (or a `GET /ws/events` WebSocket) lasts
    /// without `?for=`: a stream nobody asked to keep open does not run forever.
    #[serde(with = "units::duration")]
    pub events_for: Duration,
    /// The longest `GET /events?for=` (and `/ws/events?for=`) may ask for.
    #[serde(with = "units::duration")]
    pub max_events_for: Duration,
    /// An idle `/events` stream sends a comment this often, so proxies keep it open;
    /// it must stay below `http.idle_timeout`, which closes a silent connection.
    #[serde(with = "units::duration")]
    pub heartbeat: Duration,
    /// The most attempts `GET /retry?attempts=` may ask for.
    pub max_attempts: u32,
    /// `GET /retry`'s budget: retries may add this percent of the calls that
    /// succeed (over a 10 s window), shared by every request.
    pub retry_budget_percent: f32,
    /// ... plus this many retries per second whatever the successes.
    pub retry_budget_min_per_sec: u32,
}

impl DemoConfig {
    /// `idle_timeout` is `http.idle_timeout`: a stream silent that long is closed.
    pub(super) fn check(&self, idle_timeout: Duration) -> Check {
        nonzero("http.demo.max_delay", self.max_delay)?;
        nonzero("http.demo.max_block", self.max_block)?;
        at_least("http.demo.max_compute", self.max_compute, 2)?;
        at_least("http.demo.compute_jobs", self.compute_jobs, 1)?;
        at_least("http.demo.max_fanout", self.max_fanout, 1)?;
        at_least("http.demo.max_subscribers", self.max_subscribers, 1)?;
        nonzero("http.demo.events_for", self.events_for)?;
        shorter(
            ("http.demo.events_for", self.events_for),
            ("http.demo.max_events_for", self.max_events_for),
            true,
            "",
        )?;
        nonzero("http.demo.heartbeat", self.heartbeat)?;
        at_least("http.demo.max_attempts", self.max_attempts, 1)?;
        if !(0.0..=1000.0).contains(&self.retry_budget_percent) {
            return Err(invalid(
                "http.demo.retry_budget_percent",
                self.retry_budget_percent,
                "must be from 0 to 1000",
            ));
        }
        // tower's budget counts in i32.
        if self.retry_budget_min_per_sec > 1_000_000 {
            return Err(invalid(
                "http.demo.retry_budget_min_per_sec",
                self.retry_budget_min_per_sec,
                "must be at most 1000000",
            ));
        }
        shorter(
            ("http.demo.heartbeat", self.heartbeat),
            ("http.idle_timeout", idle_timeout),
            false,
            " (a silent stream is closed as idle)",
        )
    }
}
