//! [`Report`]: the results of a run, as data. The text summary, `--json` and
//! `--latency-plot` are three views of it.
//!
//! The serde field names below *are* the `--json` schema documented in
//! `docs/load.md`; `schema` is bumped if one of them ever changes meaning. A report
//! reads back from its JSON (`asynclab load merge`): the derived fields (latency
//! summary, buckets, percentiles, rates) are recomputed from the histogram and the
//! counts, which are what it really carries.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::settings::Settings;
use crate::stages::Stage;
use crate::stats::Stats;
use crate::thresholds::Checked;
use crate::timeline::{Named, Tick};
use crate::tls::TlsReport;
use crate::ws::WsReport;

/// The version of the `--json` document: 2 added the lossless histogram, the
/// start time and the stages, which merging needs.
pub const SCHEMA: u32 = 2;

/// How a run ended, besides its counts.
#[derive(Debug, Clone)]
pub(crate) struct Ending {
    /// From the end of the warmup to the last answer.
    pub(crate) elapsed: Duration,
    /// How long the schedule took to hold the measured requests (open model).
    pub(crate) scheduled: Duration,
    /// Requests due but never sent (open model).
    pub(crate) missed: u64,
    pub(crate) interrupted: bool,
    /// Wall-clock time at the end of the warmup.
    pub(crate) measured_from: SystemTime,
    pub(crate) timeline: Vec<Tick>,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    /// How many runs this report adds up: 1, or N after `asynclab load merge`.
    pub runs: u64,
    /// The target as given (`http://...`, `tcp://...` or `ws://...`).
    pub target: String,
    /// `http/1.1`, `h2`, `echo-line`, `echo-raw`, `websocket-text` or `websocket-binary`.
    pub protocol: String,
    pub connections: usize,
    /// `--rate`, when the run used the open model (with `--stage`: the mean rate
    /// the stages schedule).
    pub target_rate: Option<f64>,
    /// `--stage`, in order; empty without.
    pub stages: Vec<Stage>,
    /// When measuring began (the end of the warmup), in seconds since the Unix
    /// epoch: what places runs side by side when they are merged.
    pub started_at: f64,
    /// Seconds of warmup before measuring (not included in anything below).
    pub warmup_s: f64,
    /// Seconds measured: from the end of the warmup to the last answer or, with
    /// `--rate`, to the end of the schedule if that is later. Rates are per this.
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
    /// With `--scenario` or `--urls`: each request's counts and percentiles.
    #[serde(default)]
    pub by_name: Vec<Named>,
    /// Per interval: rate, errors by kind, p50/p90/p99 (see `timeline.rs`).
    #[serde(default)]
    pub timeline: Vec<Tick>,
    /// `ws://` runs: handshake times (not in `latency_us`) and closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WsReport>,
    /// `https://` and `wss://` runs: handshakes (not in `latency_us`), resumed, failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsReport>,
    /// `--fail-if` conditions, checked at the end; empty without.
    #[serde(default)]
    pub thresholds: Vec<Checked>,
    /// The latency histogram itself, lossless (see `hdr.rs`): what `merge` adds.
    #[serde(rename = "hdr_histogram", with = "crate::hdr")]
    pub(crate) hdr: Histogram<u64>,
}

/// Request counts. Always `started = responses + errors + cut`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Requests {
    pub started: u64,
    /// Answered: an HTTP response of any status, or a correct echo.
    pub responses: u64,
    /// Answered with success: HTTP status below 400, or a correct echo.
    pub ok: u64,
    pub errors: u64,
    /// In flight when a second ctrl-c cut the run short; no outcome. Otherwise 0.
    pub cut: u64,
    /// With `--rate`: due on the schedule before the end, but never sent, because
    /// every connection was still busy. Not part of `started`.
    pub missed: u64,
}

/// Payload bytes: request and response bodies for HTTP (headers not counted),
/// messages and echoes for TCP.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transfer {
    pub sent: u64,
    pub received: u64,
    pub received_per_s: f64,
}

/// Latency summary, microseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub from_us: u64,
    pub to_us: u64,
    pub count: u64,
}

/// The latency at or below which `percentile` % of answers fell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Percentile {
    pub percentile: f64,
    pub latency_us: u64,
}

/// Bars in the text histogram.
const BUCKETS: usize = 10;

impl Report {
    pub(crate) fn new(settings: &Settings, stats: Stats, end: Ending) -> Report {
        let Ending { timeline, .. } = end;
        // With `--rate`, n requests take the schedule some time to fall due (n / rate
        // at a constant rate), however fast they are answered: the window ends at
        // the last answer or at the end of the schedule, whichever is later. Ending
        // it at the last answer made a run look faster than its own schedule (4
        // requests at 4/s, the last one sent at 0.75 s, answered at once: 5.3 req/s).
        let seconds = end.elapsed.max(end.scheduled).as_secs_f64();
        let ok: u64 = stats
            .statuses
            .iter()
            .filter(|(status, _)| *status < 400)
            .map(|(_, n)| n)
            .sum();
        let stages = settings.stages.as_ref();
        let mut report = Report {
            schema: SCHEMA,
            runs: 1,
            target: settings.target.url(),
            protocol: settings.target.protocol().to_string(),
            connections: settings.connections,
            target_rate: match (settings.rate, stages) {
                (Some(_), Some(stages)) => {
                    let total = stages.total().as_secs_f64();
                    Some(stages.expected(total) / total)
                }
                (rate, _) => rate,
            },
            stages: stages.map(|s| s.stages.clone()).unwrap_or_default(),
            started_at: end
                .measured_from
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            warmup_s: settings.warmup.as_secs_f64(),
            duration_s: seconds,
            interrupted: end.interrupted,
            requests: Requests {
                started: stats.started,
                responses: stats.responses,
                ok,
                errors: stats.errors(),
                cut: stats.cut,
                missed: end.missed,
            },
            rate: 0.0,
            bytes: Transfer {
                sent: stats.sent,
                received: stats.received,
                received_per_s: 0.0,
            },
            latency_us: None,
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
            histogram: Vec::new(),
            percentiles: Vec::new(),
            by_name: settings
                .scenario
                .as_ref()
                .map_or_else(Vec::new, |scenario| {
                    let empty = crate::timeline::Window::new();
                    scenario
                        .requests
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let window = stats.by_name.get(i).unwrap_or(&empty);
                            Named::new(r.name.clone(), r.weight, window)
                        })
                        .collect()
                }),
            timeline,
            thresholds: Vec::new(),
            websocket: None,
            tls: None,
            hdr: stats.latency,
        };
        report.derive(settings.rate.is_some());
        report
    }

    /// Computes what follows from the counts, the window and the histogram: the
    /// rates, the latency summary, the buckets and the percentiles.
    pub(crate) fn derive(&mut self, from_schedule: bool) {
        let per_second = |n: u64| {
            if self.duration_s > 0.0 {
                n as f64 / self.duration_s
            } else {
                0.0
            }
        };
        self.rate = per_second(self.requests.responses + self.requests.errors);
        self.bytes.received_per_s = per_second(self.bytes.received);
        self.latency_us = latency(&self.hdr, from_schedule);
        self.histogram = buckets(&self.hdr);
        self.percentiles = percentiles(&self.hdr);
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
        if self.requests.responses + self.requests.errors == 0 {
            return Err(format!(
                "no request finished: all {} were cut by a second ctrl-c",
                self.requests.cut
            ));
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

/// Latencies whose max is less than this many times their min are "clustered":
/// their bars are split evenly, not on a log scale.
const CLUSTERED: u64 = 4;

/// Ten bars between min and max: on a log scale, as a linear one puts everything
/// in the first bar as soon as one request is slow; evenly when the latencies
/// cluster (all within [`CLUSTERED`] times the fastest), as log steps between close
/// values are too thin to read.
///
/// Every edge is the top of one of the histogram's own buckets: a bar never splits
/// a bucket, so no bar is narrower than the histogram can tell apart (at three
/// significant digits a bucket near 1 s is about a millisecond wide), and no bar is
/// empty for that reason alone. Clustered latencies may make fewer than ten bars.
fn buckets(hdr: &Histogram<u64>) -> Vec<Bucket> {
    if hdr.is_empty() {
        return Vec::new();
    }
    let lo = hdr.lowest_equivalent(hdr.min()).max(1);
    let hi = hdr.highest_equivalent(hdr.max());
    let clustered = hi < lo.saturating_mul(CLUSTERED);
    let ratio = (hi as f64 / lo as f64).powf(1.0 / BUCKETS as f64);
    let mut bars: Vec<Bucket> = Vec::with_capacity(BUCKETS);
    let mut from = lo - 1;
    for i in 1..=BUCKETS {
        let edge = if i == BUCKETS {
            hi
        } else if clustered {
            lo + (hi - lo) * i as u64 / BUCKETS as u64
        } else {
            (lo as f64 * ratio.powi(i as i32)).round() as u64
        };
        let to = hdr.highest_equivalent(edge).min(hi);
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
        let value = v.value_iterated_to().clamp(lo, hi);
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

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
