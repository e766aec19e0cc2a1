//! One dashboard frame: the counters `/metrics` and `/stats` read, turned into
//! what a person watching wants (requests per second, the latency of the last
//! second), as one JSON document.
//!
//! Pattern: **rates from two readings of monotonic counters**, as Prometheus's
//! `rate()` does. The counters only ever grow; [`Totals`] is one reading of
//! them, and the next reading minus this one, over the time between, is a
//! rate. Percentiles work the same way on the latency histogram's buckets: the
//! observations that landed in each bucket since the last reading, and the
//! bucket where the 99th of every hundred falls (interpolated inside it, as
//! Prometheus's `histogram_quantile` does). Nothing on the request path changes:
//! the dashboard only reads what is counted anyway.
//!
//! The frame shows nothing the unauthenticated `/stats`, `/info` and `/metrics`
//! do not already show.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::control::Forced;
use crate::counters::{CLASSES, LATENCY_BUCKETS};
use crate::handlers::probes;
use crate::layers::faults::KINDS;
use crate::routes::{ROUTES, UNMATCHED};
use crate::state::AppState;

/// The most routes a frame lists (the busiest): the frame stays small however
/// many routes are busy.
const TOP_ROUTES: usize = 8;

/// The reasons `/limited` refuses with 503, as its counter labels them.
const LIMITED_REASONS: [&str; 2] = ["queue_full", "queue_timeout"];

/// One reading of the counters that only grow.
#[derive(Debug, Clone)]
pub(super) struct Totals {
    at: Instant,
    /// Answers per slot of the route table (last: no route).
    by_route: Vec<u64>,
    by_class: [u64; 5],
    /// Answers per latency bucket, all routes together (`+Inf` last).
    buckets: Vec<u64>,
    faults: [u64; 3],
    limited: [u64; 2],
}

impl Totals {
    pub(super) fn read(state: &AppState) -> Self {
        let (by_class, buckets) = state.http.classes_and_buckets();
        Self {
            at: Instant::now(),
            by_route: state.http.by_route.iter().map(|c| c.total.get()).collect(),
            by_class,
            buckets,
            faults: KINDS.map(|kind| state.faults.count(kind)),
            limited: LIMITED_REASONS.map(|reason| state.limited.rejected(reason)),
        }
    }
}

/// The frame for `now`, with rates over the time since `before` (all zero
/// when there is no earlier reading: the first frame a viewer gets).
pub(super) fn frame(
    state: &AppState,
    now: &Totals,
    before: Option<&Totals>,
    viewers: usize,
) -> Value {
    let seconds = before.map_or(0.0, |b| now.at.duration_since(b.at).as_secs_f64());
    let rate = |now: u64, before: Option<u64>| match (before, seconds > 0.0) {
        (Some(before), true) => round2(now.saturating_sub(before) as f64 / seconds),
        _ => 0.0,
    };
    let earlier = |pick: fn(&Totals) -> &[u64], i: usize| before.map(|b| pick(b)[i]);

    let mut routes: Vec<(String, f64)> = now
        .by_route
        .iter()
        .enumerate()
        .map(|(i, &n)| (route_name(state, i), rate(n, earlier(|t| &t.by_route, i))))
        .filter(|(_, per_sec)| *per_sec > 0.0)
        .collect();
    routes.sort_by(|a, b| b.1.total_cmp(&a.1));
    routes.truncate(TOP_ROUTES);
    let by_route: Vec<Value> = routes
        .into_iter()
        .map(|(route, per_sec)| json!({ "route": route, "per_sec": per_sec }))
        .collect();
    let mut by_class = serde_json::Map::new();
    let mut total = 0.0;
    for (i, class) in CLASSES.iter().enumerate() {
        let per_sec = rate(now.by_class[i], earlier(|t| &t.by_class, i));
        total += per_sec;
        by_class.insert((*class).into(), per_sec.into());
    }

    // The observations of the last interval only, per bucket.
    let recent: Vec<u64> = match before {
        Some(b) => now
            .buckets
            .iter()
            .zip(&b.buckets)
            .map(|(n, b)| n - b.min(n))
            .collect(),
        None => vec![0; now.buckets.len()],
    };
    let ms = |q| quantile(q, &recent).map(|s| round2(s * 1e3));

    let lim = &state.limited;
    let mut injected = serde_json::Map::new();
    for (i, kind) in KINDS.iter().enumerate() {
        injected.insert((*kind).into(), now.faults[i].into());
    }
    json!({
        "identity": {
            "name": "asynclab",
            "version": env!("CARGO_PKG_VERSION"),
            "hostname": probes::hostname(),
            "uptime_secs": probes::uptime_secs(state),
        },
        "interval_secs": round2(seconds),
        "requests": {
            "per_sec": round2(total),
            "by_class": by_class,
            "by_route": by_route,
        },
        "latency_ms": { "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99) },
        "in_flight": state.http.in_flight_now(),
        "connections": {
            "http": state.http.connections_open.get(),
            "tls": state.http.tls_connections_open.get(),
            "websocket": state.ws.open_now(),
            "echo": state.metrics.echo_if_running().map(|e| e.open.get()),
            "dashboards": viewers,
        },
        "limited": {
            "permits": lim.permits.load(Ordering::Relaxed),
            "in_use": lim.in_use(),
            "waiters": lim.waiting.load(Ordering::Relaxed),
            "queue_full": now.limited[0],
            "queue_timeouts": now.limited[1],
            "rejected_per_sec": rate(now.limited[0] + now.limited[1],
                before.map(|b| b.limited[0] + b.limited[1])),
        },
        "faults": probes::faults(state),
        "errors_injected_per_sec": rate(now.faults[0], earlier(|t| &t.faults, 0)),
        "health": {
            "ready": !state.not_ready(),
            "readiness": state.control.readiness().readiness(),
            "live": state.control.liveness() != Forced::Down,
            "shutting_down": state.shutting_down(),
        },
        // Whether `/control` exists: it answers 401 rather than 404 then, so
        // this is no secret either.
        "control": state.control.token().is_some(),
    })
}

/// `GET /fast`, as `/stats` keys its routes.
fn route_name(state: &AppState, i: usize) -> String {
    match ROUTES.get(i) {
        Some(route) => format!("{} {}", state.http.by_route[i].method, route.template),
        None => UNMATCHED.to_string(),
    }
}

/// The `q` quantile (0.99: p99), in seconds, of the observations counted per
/// latency bucket in `counts` (`+Inf` last), or `None` without observations.
/// Linear inside the bucket it falls in; in the `+Inf` bucket, the largest
/// finite bound (all the histogram can say is "more than that").
fn quantile(q: f64, counts: &[u64]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0;
    for (i, &n) in counts.iter().enumerate() {
        if n > 0 && (below + n) as f64 >= rank {
            let Some(&upper) = LATENCY_BUCKETS.get(i) else {
                break;
            };
            let lower = if i == 0 { 0.0 } else { LATENCY_BUCKETS[i - 1] };
            let inside = (rank - below as f64) / n as f64;
            return Some(lower + (upper - lower) * inside.clamp(0.0, 1.0));
        }
        below += n;
    }
    LATENCY_BUCKETS.last().copied()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(at: &[(usize, u64)]) -> Vec<u64> {
        let mut counts = vec![0; LATENCY_BUCKETS.len() + 1];
        for &(i, n) in at {
            counts[i] = n;
        }
        counts
    }

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        assert_eq!(quantile(0.5, &counts(&[])), None, "no observations");
        // 100 answers in the first bucket (0 to 1 ms): p50 half way up it.
        let p50 = quantile(0.5, &counts(&[(0, 100)])).expect("observations");
        assert!((p50 - 0.0005).abs() < 1e-9, "{p50}");
        // 98 fast ones and 2 between 0.5 s and 1 s: p99 lands in the slow bucket.
        let tail = counts(&[(0, 98), (9, 2)]);
        let p99 = quantile(0.99, &tail).expect("observations");
        assert!((0.5..=1.0).contains(&p99), "{p99}");
        assert!(quantile(0.9, &tail).expect("observations") <= 0.001);
    }

    #[test]
    fn a_quantile_beyond_the_last_bound_is_that_bound() {
        let slowest = counts(&[(LATENCY_BUCKETS.len(), 5)]);
        assert_eq!(quantile(0.99, &slowest), LATENCY_BUCKETS.last().copied());
    }
}
