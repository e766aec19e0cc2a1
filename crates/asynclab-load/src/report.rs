//! [`Report`]: the results of a run, as data. The text summary, `--json` and
//! `--latency-plot` are three views of it.
//!
//! The serde field names below *are* the `--json` schema documented in
//! `docs/load.md`; `schema` is bumped if one of them ever changes meaning.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::error::ErrorKind;
use crate::settings::Settings;
use crate::stats::Stats;
use crate::ws::WsReport;

/// The version of the `--json` document.
pub const SCHEMA: u32 = 1;

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    /// The target as given (`http://...` or `tcp://...`).
    pub target: String,
    /// `http/1.1`, `h2`, `echo-line` or `echo-raw`.
    pub protocol: String,
    pub connections: usize,
    /// `--rate`, when the run used the open model.
    pub target_rate: Option<f64>,
    /// Seconds of warmup before measuring (not included in anything below).
    pub warmup_s: f64,
    /// Seconds from the end of the warmup to the last answer.
    pub duration_s: f64,
    /// True when ctrl-c stopped the run early.
    pub interrupted: bool,
    pub requests: Requests,
    /// Finished requests (answers + errors) per second over `duration_s`.
    pub rate: f64,
    pub bytes: Transfer,
    /// Latency of the answered requests, in microseconds; `null` when none was.
    pub latency_us: Option<Latency>,
    /// Answers by HTTP status code (`"200": 1234`); empty for echo.
    pub status: BTreeMap<String, u64>,
    /// Failed requests by kind; every kind is present.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Latency distribution: log-spaced buckets from min to max.
    pub histogram: Vec<Bucket>,
    /// Latency by percentile, for plotting (HdrHistogram's percentile distribution).
    pub percentiles: Vec<Percentile>,
    /// `ws://` runs: handshake times (not in `latency_us`) and closes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WsReport>,
    /// The merged histogram itself, for `--latency-plot`.
    #[serde(skip)]
    pub(crate) hdr: Histogram<u64>,
}

/// Request counts. Always `started = responses + errors + cut`.
#[derive(Debug, Clone, Serialize)]
pub struct Requests {
    pub started: u64,
    /// Answered: an HTTP response of any status, or a correct echo.
    pub responses: u64,
    /// Answered with success: HTTP status below 400, or a correct echo.
    pub ok: u64,
    pub errors: u64,
    /// In flight when a second ctrl-c cut the run short; no outcome. Otherwise 0.
    pub cut: u64,
}

/// Payload bytes: request and response bodies for HTTP (headers not counted),
/// messages and echoes for TCP.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    pub sent: u64,
    pub received: u64,
    pub received_per_s: f64,
}

/// Latency summary, microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub min: u64,
    pub mean: f64,
    pub stdev: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
    /// True in `--rate` mode: measured from when each request was due.
    pub from_schedule: bool,
}

/// One histogram bar: answers with latency in `(from_us, to_us]`.
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    pub from_us: u64,
    pub to_us: u64,
    pub count: u64,
}

/// The latency at or below which `percentile` % of answers fell.
#[derive(Debug, Clone, Serialize)]
pub struct Percentile {
    pub percentile: f64,
    pub latency_us: u64,
}

/// Bars in the text histogram.
const BUCKETS: usize = 10;

impl Report {
    pub(crate) fn new(
        settings: &Settings,
        stats: Stats,
        elapsed: Duration,
        interrupted: bool,
    ) -> Report {
        let seconds = elapsed.as_secs_f64();
        let per_second = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let ok: u64 = stats
            .statuses
            .iter()
            .filter(|(status, _)| *status < 400)
            .map(|(_, n)| n)
            .sum();
        let errors = stats.errors();
        let hdr = stats.latency;
        Report {
            schema: SCHEMA,
            target: settings.target.url(),
            protocol: settings.target.protocol().to_string(),
            connections: settings.connections,
            target_rate: settings.rate,
            warmup_s: settings.warmup.as_secs_f64(),
            duration_s: seconds,
            interrupted,
            requests: Requests {
                started: stats.started,
                responses: stats.responses,
                ok,
                errors,
                cut: stats.cut,
            },
            rate: per_second(stats.responses + errors),
            bytes: Transfer {
                sent: stats.sent,
                received: stats.received,
                received_per_s: per_second(stats.received),
            },
            latency_us: latency(&hdr, settings.rate.is_some()),
            status: stats
                .statuses
                .iter()
                .filter(|(status, _)| *status != 0)
                .map(|(status, n)| (status.to_string(), *n))
                .collect(),
            errors: ErrorKind::ALL
                .iter()
                .map(|&kind| (kind, stats.errors[kind.index()]))
                .collect(),
            histogram: buckets(&hdr),
            percentiles: percentiles(&hdr),
            websocket: None,
            hdr,
        }
    }

    /// `Err(reason)` when the run did not show the target working: nothing
    /// succeeded. The reason is one line, naming the most common error.
    pub fn verdict(&self) -> Result<(), String> {
        if self.requests.ok > 0 {
            return Ok(());
        }
        if self.requests.started == 0 {
            return Err("no request was sent".into());
        }
        let worst = self.errors.iter().max_by_key(|(_, n)| **n);
        let unreachable = self.requests.responses == 0
            && self.errors.iter().all(|(kind, n)| {
                *n == 0 || matches!(kind, ErrorKind::ConnectRefused | ErrorKind::ConnectFailed)
            });
        match worst {
            Some((kind, n)) if unreachable => Err(format!(
                "{} could not be reached: {} ({n} of {} requests)",
                self.target,
                kind.label(),
                self.requests.started
            )),
            Some((kind, n)) if *n > 0 && self.requests.responses == 0 => Err(format!(
                "no request succeeded: {n} of {} failed with {}",
                self.requests.started,
                kind.label()
            )),
            _ => Err(format!(
                "no request succeeded: {} answers, none with a status below 400",
                self.requests.responses
            )),
        }
    }
}

fn latency(hdr: &Histogram<u64>, from_schedule: bool) -> Option<Latency> {
    (!hdr.is_empty()).then(|| Latency {
        min: hdr.min(),
        mean: hdr.mean(),
        stdev: hdr.stdev(),
        p50: hdr.value_at_quantile(0.50),
        p90: hdr.value_at_quantile(0.90),
        p99: hdr.value_at_quantile(0.99),
        p99_9: hdr.value_at_quantile(0.999),
        max: hdr.max(),
        from_schedule,
    })
}

/// Ten bars between min and max on a log scale: a linear scale puts everything in
/// the first bar as soon as one request is slow.
fn buckets(hdr: &Histogram<u64>) -> Vec<Bucket> {
    if hdr.is_empty() {
        return Vec::new();
    }
    let (min, max) = (hdr.min().max(1), hdr.max().max(1));
    let ratio = (max as f64 / min as f64).powf(1.0 / BUCKETS as f64);
    let mut bars: Vec<Bucket> = Vec::with_capacity(BUCKETS);
    let mut from = min - 1;
    for i in 1..=BUCKETS {
        let to = if i == BUCKETS {
            max
        } else {
            (min as f64 * ratio.powi(i as i32)).round() as u64
        };
        if to > from {
            bars.push(Bucket {
                from_us: from,
                to_us: to,
                count: 0,
            });
            from = to;
        }
    }
    // Each recorded value goes in exactly one bar, so the bars add up to the total.
    for v in hdr.iter_recorded() {
        let value = v.value_iterated_to().clamp(min, max);
        if let Some(bar) = bars.iter_mut().find(|b| value <= b.to_us) {
            bar.count += v.count_at_value();
        }
    }
    bars
}

/// The percentile distribution HdrHistogram prints: ever finer steps towards 100%.
fn percentiles(hdr: &Histogram<u64>) -> Vec<Percentile> {
    if hdr.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<Percentile> = hdr
        .iter_quantiles(5)
        .map(|v| Percentile {
            percentile: v.quantile_iterated_to() * 100.0,
            latency_us: hdr.highest_equivalent(v.value_iterated_to()),
        })
        .collect();
    points.dedup_by(|b, a| a.percentile == b.percentile);
    points
}
