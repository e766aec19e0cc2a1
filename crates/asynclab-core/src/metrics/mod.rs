//! The shared metrics registry: every server in the process registers its counters
//! here, and the HTTP server's `/metrics` encodes them all, in Prometheus text
//! format 0.0.4 or OpenMetrics ([`Format`], `format.rs`). Beside the counters:
//! `asynclab_build_info`, and what is read at scrape time (`collect.rs`: the
//! process and the Tokio runtime). `docs/metrics.md` lists every metric.
//! The handle also carries the live event feed ([`Metrics::events`]), so every server
//! that can count can also publish what happened.
//!
//! Counters and gauges from `prometheus-client` are atomics behind an `Arc`: cloning
//! one gives another handle on the same number, so a connection task can bump it
//! without any lock (and [`crate::sharded`]'s, for the hottest counts, do not
//! even make the worker threads share a cache line). The registry itself sits
//! behind a std `Mutex` because it is touched only at start-up (registration)
//! and once per scrape (encoding), never across an `.await`.

mod collect;
mod format;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Metric, Registry};

pub use format::{Format, to_prometheus};

use crate::events::Events;
use crate::sharded;

/// A handle on the process's metrics. Clone it freely.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    events: Events,
    echo: Arc<OnceLock<EchoMetrics>>,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with the build info, the process's and the runtime's metrics;
    /// every metric registered with [`Metrics::register`] gets the `asynclab_`
    /// prefix. (Not `Registry::with_prefix`: the process metrics have the names
    /// every client library gives them, without a prefix.)
    pub fn new() -> Self {
        let mut registry = Registry::default();
        registry.register(
            "asynclab_build",
            "The running build: 1, labelled with the version",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register_collector(Box::new(collect::ProcessCollector));
        registry.register_collector(Box::new(collect::RuntimeCollector));
        Self {
            registry: Arc::new(Mutex::new(registry)),
            events: Events::default(),
            echo: Arc::new(OnceLock::new()),
            started: Instant::now(),
        }
    }

    /// Registers a metric under `asynclab_<name>`.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.registry
            .lock()
            .expect("metrics registry lock is never held across a panic")
            .register(format!("asynclab_{name}"), help, metric);
    }

    /// Everything registered, in `format`. The lock is held while the text is
    /// written (no `.await` in between), never while it is sent.
    pub fn encode(&self, format: Format) -> String {
        let mut out = String::new();
        {
            let registry = self
                .registry
                .lock()
                .expect("metrics registry lock is never poisoned");
            encode(&mut out, &registry).expect("writing to a String cannot fail");
        }
        match format {
            Format::OpenMetrics => out,
            Format::Prometheus => to_prometheus(&out),
        }
    }

    /// The live event feed every server publishes to (see [`crate::events`]).
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Time since this registry was created (the process start, in practice).
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The echo server's counters, registered on first use (when the echo server
    /// starts), so `/metrics` shows them only when it runs in this process.
    pub fn echo(&self) -> EchoMetrics {
        self.echo
            .get_or_init(|| {
                let m = EchoMetrics::default();
                m.register(self);
                m
            })
            .clone()
    }

    /// The echo server's counters, if it runs in this process.
    pub fn echo_if_running(&self) -> Option<EchoMetrics> {
        self.echo.get().cloned()
    }
}

/// The echo server's counters. Lives here, not in the echo crate, so the HTTP
/// server can report them without depending on the echo server. The three that
/// every round trip updates are sharded per thread ([`sharded::ShardedCounter`]).
#[derive(Debug, Clone, Default)]
pub struct EchoMetrics {
    pub accepted: Counter,
    pub rejected: Counter,
    pub open: Gauge,
    pub bytes_in: sharded::ShardedCounter,
    pub bytes_out: sharded::ShardedCounter,
    pub lines: sharded::ShardedCounter,
}

impl EchoMetrics {
    fn register(&self, metrics: &Metrics) {
        metrics.register(
            "echo_connections_accepted",
            "Echo connections accepted",
            self.accepted.clone(),
        );
        metrics.register(
            "echo_connections_rejected",
            "Echo connections refused because the server was at echo.max_connections",
            self.rejected.clone(),
        );
        metrics.register(
            "echo_connections_open",
            "Echo connections open now",
            self.open.clone(),
        );
        metrics.register(
            "echo_bytes_received",
            "Bytes read from echo clients",
            self.bytes_in.clone(),
        );
        metrics.register(
            "echo_bytes_sent",
            "Bytes written to echo clients",
            self.bytes_out.clone(),
        );
        metrics.register(
            "echo_lines",
            "Lines echoed in line mode",
            self.lines.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_counters_appear_once_registered() {
        let metrics = Metrics::new();
        assert!(metrics.echo_if_running().is_none());
        assert!(!metrics.encode(Format::OpenMetrics).contains("echo"));
        let echo = metrics.echo();
        echo.accepted.inc();
        echo.accepted.inc();
        let text = metrics.encode(Format::OpenMetrics);
        assert!(
            text.contains("asynclab_echo_connections_accepted_total 2"),
            "{text}"
        );
        assert_eq!(metrics.echo_if_running().map(|m| m.accepted.get()), Some(2));
    }
}
