//! Counting with almost no sharing: connections record into a few [`Shards`] of
//! [`Stats`], merged once after every connection has finished.
//!
//! Pattern: **a sharded std `Mutex` on the hot path**. One shared histogram would
//! be locked by every connection for every request, from every worker thread. One
//! histogram per connection needs no lock, but an HDR histogram that spans 1 µs to an
//! hour at three significant digits is about 190 KB: 10,000 connections would need
//! 2 GB. So connections share [`SHARDS`] of them, connection *i* using shard *i mod
//! SHARDS*. A std `Mutex` (not Tokio's) is right here: it is held for a few adds and
//! never across an `.await`, and with 64 shards two threads rarely want the same one,
//! so locking it costs about as much as an uncontended atomic operation.
//! The [`Live`] counters the progress bar reads are relaxed atomics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::error::ErrorKind;
use crate::timeline::Window;

/// The largest latency the histogram holds exactly: one hour, in microseconds.
/// Anything longer is recorded as one hour (nothing that slow is a latency any more).
pub(crate) const MAX_LATENCY_US: u64 = 3_600_000_000;

/// A fresh latency histogram: microseconds, three significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant, valid histogram bounds")
}

/// The most shards a run uses (fewer when there are fewer connections).
pub(crate) const SHARDS: usize = 64;

/// The stats of a run, in shards.
#[derive(Debug, Clone)]
pub(crate) struct Shards(Arc<[Mutex<Stats>]>);

impl Shards {
    pub(crate) fn new(connections: usize) -> Shards {
        Shards(
            (0..connections.clamp(1, SHARDS))
                .map(|_| Mutex::new(Stats::new()))
                .collect(),
        )
    }

    /// Connection `index`'s shard.
    pub(crate) fn get(&self, index: usize) -> &Mutex<Stats> {
        &self.0[index % self.0.len()]
    }

    /// Runs `f` on each shard in turn, locked (the timeline takes its windows).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&mut Stats)) {
        for shard in self.0.iter() {
            f(&mut shard.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// All shards merged into one.
    pub(crate) fn total(&self) -> Stats {
        let mut total = Stats::new();
        for shard in self.0.iter() {
            // A panic while holding a shard (a bug) leaves counts that are still
            // counts: use them rather than lose them.
            total.merge(&shard.lock().unwrap_or_else(PoisonError::into_inner));
        }
        total
    }
}

/// What happened to one request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// An answer: the HTTP status (0 for echo) and the bytes sent and received.
    Answer {
        status: u16,
        sent: u64,
        received: u64,
    },
    /// A failure, by kind.
    Failed(ErrorKind),
}

/// Counts and latencies of the measured requests of one connection (or, merged, of a run).
#[derive(Debug)]
pub(crate) struct Stats {
    pub(crate) latency: Histogram<u64>,
    pub(crate) started: u64,
    pub(crate) responses: u64,
    /// HTTP status counts; a short list, since a run rarely sees more than two or three.
    pub(crate) statuses: Vec<(u16, u64)>,
    pub(crate) errors: [u64; ErrorKind::ALL.len()],
    /// Requests cut by a second ctrl-c, with no outcome.
    pub(crate) cut: u64,
    pub(crate) sent: u64,
    pub(crate) received: u64,
    /// The same, for the timeline's current interval only (see `timeline.rs`).
    pub(crate) window: Window,
    /// With a scenario: per request of it, by index (see `scenario.rs`).
    pub(crate) by_name: Vec<Window>,
}

impl Stats {
    pub(crate) fn new() -> Stats {
        Stats {
            latency: histogram(),
            started: 0,
            responses: 0,
            statuses: Vec::new(),
            errors: [0; ErrorKind::ALL.len()],
            cut: 0,
            sent: 0,
            received: 0,
            window: Window::new(),
            by_name: Vec::new(),
        }
    }

    pub(crate) fn record(&mut self, outcome: &Outcome, latency: Duration, picked: Option<usize>) {
        self.started += 1;
        self.window.record(outcome, latency);
        if let Some(index) = picked {
            if self.by_name.len() <= index {
                // A few windows, made the first time each request is picked.
                self.by_name.resize_with(index + 1, Window::new);
            }
            self.by_name[index].record(outcome, latency);
        }
        match *outcome {
            Outcome::Answer {
                status,
                sent,
                received,
            } => {
                self.responses += 1;
                self.sent += sent;
                self.received += received;
                let micros = u64::try_from(latency.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                self.latency.saturating_record(micros);
                match self.statuses.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, n)) => *n += 1,
                    None => self.statuses.push((status, 1)),
                }
            }
            Outcome::Failed(kind) => self.errors[kind.index()] += 1,
        }
    }

    pub(crate) fn record_cut(&mut self) {
        self.started += 1;
        self.cut += 1;
    }

    pub(crate) fn errors(&self) -> u64 {
        self.errors.iter().sum()
    }

    pub(crate) fn merge(&mut self, other: &Stats) {
        self.latency
            .add(&other.latency)
            .expect("histograms with the same bounds always add");
        self.started += other.started;
        self.responses += other.responses;
        for &(status, n) in &other.statuses {
            match self.statuses.iter_mut().find(|(s, _)| *s == status) {
                Some((_, total)) => *total += n,
                None => self.statuses.push((status, n)),
            }
        }
        for (total, n) in self.errors.iter_mut().zip(other.errors) {
            *total += n;
        }
        if self.by_name.len() < other.by_name.len() {
            self.by_name.resize_with(other.by_name.len(), Window::new);
        }
        for (total, part) in self.by_name.iter_mut().zip(&other.by_name) {
            total.add(part);
        }
        self.cut += other.cut;
        self.sent += other.sent;
        self.received += other.received;
    }
}

/// Running totals for the progress bar, shared by every connection.
#[derive(Debug, Default)]
pub struct Live {
    done: AtomicU64,
    errors: AtomicU64,
}

impl Live {
    pub(crate) fn add(&self, outcome: &Outcome) {
        // Relaxed: these are statistics for a display, ordered with nothing else.
        self.done.fetch_add(1, Ordering::Relaxed);
        if matches!(outcome, Outcome::Failed(_)) {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Measured requests finished so far, and how many of them failed.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}
