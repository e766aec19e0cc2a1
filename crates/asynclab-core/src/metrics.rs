//! The shared metrics registry: every server in the process registers its counters
//! here, and the HTTP server's `/metrics` encodes them all in Prometheus text format.
//! The handle also carries the live event feed ([`Metrics::events`]), so every server
//! that can count can also publish what happened.
//!
//! Counters and gauges from `prometheus-client` are atomics behind an `Arc`: cloning
//! one gives another handle on the same number, so a connection task can bump it
//! without any lock (and [`crate::sharded`]'s, for the hottest counts, do not
//! even make the worker threads share a cache line). The registry itself sits
//! behind a std `Mutex` because it is touched only at start-up (registration)
//! and once per scrape (encoding), never across an `.await`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Metric, Registry};

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
    /// An empty registry; every metric name gets the `asynclab_` prefix.
    pub fn new() -> Self {
        Self {
            registry: Arc::new(Mutex::new(Registry::with_prefix("asynclab"))),
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
            .register(name, help, metric);
    }

    /// Everything registered, in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .expect("metrics registry lock is never poisoned");
        encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
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
    pub active: Gauge,
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
            "echo_connections_active",
            "Echo connections open now",
            self.active.clone(),
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
        assert!(!metrics.encode().contains("echo"));
        let echo = metrics.echo();
        echo.accepted.inc();
        echo.accepted.inc();
        let text = metrics.encode();
        assert!(
            text.contains("asynclab_echo_connections_accepted_total 2"),
            "{text}"
        );
        assert_eq!(metrics.echo_if_running().map(|m| m.accepted.get()), Some(2));
    }
}
