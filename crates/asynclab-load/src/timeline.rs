//! The timeline: per interval (1 s by default), the rate, the errors by kind and
//! p50/p90/p99, in the JSON report and, as the run goes, on stderr.
//!
//! Pattern: **a sampler task that swaps windows out of the shards**. Connections
//! record each answer into their shard's current [`Window`] as well as into the run's
//! totals (same lock, same moment). Once per interval the sampler locks each shard in
//! turn, adds its window into one and resets it, and keeps only what the interval
//! needs: a few counts and a small histogram, compressed. Memory grows by a few
//! hundred bytes per interval, never per request, so a long run stays small.
//!
//! A request belongs to the interval in which it finished. The windows are
//! histograms at two significant digits (1% resolution): enough for a chart, and
//! small enough that 64 shards of them cost little.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::ErrorKind;
use crate::stats::Shards;

/// One interval's counts and latencies, as recorded by one shard or added up.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) latency: Histogram<u64>,
    pub(crate) ok: u64,
    pub(crate) errors: [u64; ErrorKind::ALL.len()],
}

impl Window {
    pub(crate) fn new() -> Window {
        Window {
            latency: Histogram::new_with_bounds(1, crate::stats::MAX_LATENCY_US, 2)
                .expect("constant, valid histogram bounds"),
            ok: 0,
            errors: [0; ErrorKind::ALL.len()],
        }
    }

    /// Counts one request's outcome.
    pub(crate) fn record(&mut self, outcome: &crate::stats::Outcome, latency: Duration) {
        match *outcome {
            crate::stats::Outcome::Answer { status, .. } => {
                let micros = u64::try_from(latency.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                self.latency.saturating_record(micros);
                self.ok += u64::from(status < 400);
            }
            crate::stats::Outcome::Failed(kind) => self.errors[kind.index()] += 1,
        }
    }

    /// Adds `other` into this window.
    pub(crate) fn add(&mut self, other: &Window) {
        self.latency
            .add(&other.latency)
            .expect("histograms with the same bounds always add");
        self.ok += other.ok;
        for (total, n) in self.errors.iter_mut().zip(other.errors) {
            *total += n;
        }
    }

    /// The window a tick was made from (its histogram is stored losslessly).
    fn of(tick: &Tick) -> Result<Window, String> {
        let mut window = Window::new();
        window.latency = crate::hdr::decode(&tick.hdr)?;
        window.ok = tick.ok;
        for (kind, n) in &tick.errors {
            window.errors[kind.index()] = *n;
        }
        Ok(window)
    }

    /// Adds `other` into this window and empties `other` (keeping its memory).
    fn take_from(&mut self, other: &mut Window) {
        self.latency
            .add(&other.latency)
            .expect("histograms with the same bounds always add");
        other.latency.reset();
        self.ok += std::mem::take(&mut other.ok);
        for (total, n) in self.errors.iter_mut().zip(other.errors.iter_mut()) {
            *total += std::mem::take(n);
        }
    }
}

/// One interval of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Seconds from the start of measuring to the end of this interval.
    pub t_s: f64,
    /// How long the interval was (the last one may be shorter).
    pub interval_s: f64,
    /// Requests that finished in the interval: answers plus errors.
    pub requests: u64,
    /// Answers with a status below 400 (echo: every answer).
    pub ok: u64,
    /// Finished requests per second over the interval.
    pub rate: f64,
    /// Failed requests by kind; only the kinds that occurred.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Latency percentiles of the interval's answers (µs); `null` without answers.
    pub p50_us: Option<u64>,
    pub p90_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// The interval's latency histogram, lossless at its two significant digits,
    /// in the same encoding as the report's (so merged timelines stay exact).
    pub hdr: String,
}

/// One request of a scenario, over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    pub name: String,
    pub weight: u32,
    /// Finished: answers plus errors.
    pub requests: u64,
    pub ok: u64,
    /// Failed requests by kind; only the kinds that occurred.
    pub errors: BTreeMap<ErrorKind, u64>,
    pub p50_us: Option<u64>,
    pub p90_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// Its latency histogram (two significant digits), as in the timeline.
    pub hdr: String,
}

impl Named {
    pub(crate) fn new(name: String, weight: u32, window: &Window) -> Named {
        let tick = Tick::new(window, 0.0, 0.0);
        Named {
            name,
            weight,
            requests: tick.requests,
            ok: tick.ok,
            errors: tick.errors,
            p50_us: tick.p50_us,
            p90_us: tick.p90_us,
            p99_us: tick.p99_us,
            hdr: tick.hdr,
        }
    }

    /// Several runs' breakdowns added up, when they name the same requests.
    pub(crate) fn merge(runs: &[&[Named]]) -> Result<Vec<Named>, String> {
        let Some((first, rest)) = runs.split_first() else {
            return Ok(Vec::new());
        };
        let names = |n: &[Named]| n.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        if rest.iter().any(|r| names(r) != names(first)) {
            return Ok(Vec::new());
        }
        let mut merged = Vec::new();
        for (i, named) in first.iter().enumerate() {
            let mut window = Window::new();
            for run in runs {
                let part = &run[i];
                let ticked = Tick {
                    t_s: 0.0,
                    interval_s: 0.0,
                    requests: part.requests,
                    ok: part.ok,
                    rate: 0.0,
                    errors: part.errors.clone(),
                    p50_us: None,
                    p90_us: None,
                    p99_us: None,
                    hdr: part.hdr.clone(),
                };
                window.take_from(&mut Window::of(&ticked)?);
            }
            merged.push(Named::new(named.name.clone(), named.weight, &window));
        }
        Ok(merged)
    }
}

impl Tick {
    fn new(window: &Window, t_s: f64, interval_s: f64) -> Tick {
        let errors: BTreeMap<ErrorKind, u64> = ErrorKind::ALL
            .iter()
            .map(|&kind| (kind, window.errors[kind.index()]))
            .filter(|(_, n)| *n > 0)
            .collect();
        let requests = window.latency.len() + errors.values().sum::<u64>();
        let at = |q| (!window.latency.is_empty()).then(|| window.latency.value_at_quantile(q));
        Tick {
            t_s,
            interval_s,
            requests,
            ok: window.ok,
            rate: if interval_s > 0.0 {
                requests as f64 / interval_s
            } else {
                0.0
            },
            errors,
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            hdr: crate::hdr::encode(&window.latency),
        }
    }

    /// One line, as printed when stderr is not a terminal.
    pub fn line(&self) -> String {
        let show = |v: Option<u64>| v.map_or("-".into(), |us| crate::show_us(us as f64));
        let errors: u64 = self.errors.values().sum();
        format!(
            "{:>7.1}s {:>9.1} req/s  p50 {:>8}  p90 {:>8}  p99 {:>8}  errors {errors}",
            self.t_s,
            self.rate,
            show(self.p50_us),
            show(self.p90_us),
            show(self.p99_us)
        )
    }
}

/// The ticks so far, shared with whoever shows them while the run goes.
pub type Ticks = Arc<Mutex<Vec<Tick>>>;

/// Samples the shards every `interval` from `measure_from` until `done`, then
/// once more for the partial interval at the end.
pub(crate) async fn sample(
    shards: Shards,
    measure_from: Instant,
    interval: Duration,
    ticks: Ticks,
    done: CancellationToken,
) {
    let mut clock = tokio::time::interval_at(measure_from + interval, interval);
    // A late tick (a busy thread) is taken when it can be, and the next one comes
    // a full interval after it: no burst of catch-up ticks.
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = measure_from;
    loop {
        // The time it is, not the tick's scheduled time: a late tick (a busy
        // machine) covers more than one interval, and its rate must say so.
        let now = tokio::select! {
            _ = clock.tick() => Instant::now(),
            () = done.cancelled() => break,
        };
        push(&shards, measure_from, last, now, &ticks);
        last = now;
    }
    // What finished after the last full interval (the last answers, a few
    // milliseconds usually). Shown alone it would be a rate over a sliver of time:
    // when under half an interval it joins the interval before.
    let now = Instant::now();
    let mut window = Window::new();
    let mut from = last;
    if now.saturating_duration_since(last) < interval / 2 {
        let mut ticks = ticks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(previous) = ticks.pop() {
            match Window::of(&previous) {
                Ok(mut before) => {
                    window.take_from(&mut before);
                    from = last - Duration::from_secs_f64(previous.interval_s);
                }
                Err(_) => ticks.push(previous),
            }
        }
    }
    if now > last {
        push_with(window, &shards, measure_from, from, now, &ticks);
    }
}

/// Takes every shard's window and appends the interval `from..to` to `ticks`.
fn push(shards: &Shards, start: Instant, from: Instant, to: Instant, ticks: &Ticks) {
    push_with(Window::new(), shards, start, from, to, ticks);
}

/// [`push`], adding the shards' windows to `window`.
fn push_with(
    mut window: Window,
    shards: &Shards,
    start: Instant,
    from: Instant,
    to: Instant,
    ticks: &Ticks,
) {
    shards.for_each(|stats| window.take_from(&mut stats.window));
    let tick = Tick::new(
        &window,
        to.saturating_duration_since(start).as_secs_f64(),
        to.saturating_duration_since(from).as_secs_f64(),
    );
    // Nothing finished before measuring began (all of it was warmup): no tick.
    if to > start {
        ticks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(tick);
    }
}

/// The timelines of several runs as one: each interval goes to the merged interval
/// nearest its own start on the wall clock (`started_at` says where each run
/// began), and intervals that land together are added, histograms included. Runs
/// whose intervals were not aligned are placed to within one interval.
pub(crate) fn merge(runs: &[(f64, &[Tick])]) -> Result<Vec<Tick>, String> {
    let Some(start) = runs.iter().map(|(at, _)| *at).reduce(f64::min) else {
        return Ok(Vec::new());
    };
    let Some(interval) = runs
        .iter()
        .find_map(|(_, ticks)| ticks.first().map(|t| t.interval_s))
        .filter(|i| *i > 0.0)
    else {
        return Ok(Vec::new());
    };
    let mut windows: BTreeMap<u64, Window> = BTreeMap::new();
    for (at, ticks) in runs {
        for tick in *ticks {
            let begins = at + tick.t_s - tick.interval_s - start;
            let slot = (begins / interval).round().max(0.0) as u64;
            let window = windows.entry(slot).or_insert_with(Window::new);
            window.take_from(&mut Window::of(tick)?);
        }
    }
    Ok(windows
        .iter()
        .map(|(slot, window)| Tick::new(window, (slot + 1) as f64 * interval, interval))
        .collect())
}
