//! The server's shared state: settings, counters and the `/limited` semaphore.
//!
//! Pattern: **state is a small `Clone` struct of `Arc`s, built once.** Every
//! connection gets a clone, and so does every handler that waits (its future
//! must own what it uses): a reference-count increment, never a copy of the
//! data. Counters are atomics, so handlers on any worker thread update them
//! without a lock; the ones every request touches are
//! sharded per thread (`asynclab_core::sharded`), so the workers do not take
//! turns at their cache lines either.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use asynclab_core::config::HttpConfig;
use asynclab_core::sharded::ShardedCounter;
use asynclab_core::{Metrics, Shutdown};
use asynclab_demo::Demo;
use asynclab_files::Files;
use asynclab_httpbin::Httpbin;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Semaphore;

use crate::control::Control;
use crate::counters::{HttpMetrics, ReasonLabels};
use crate::dashboard::Dashboard;
use crate::layers::faults::Faults;
use crate::ws::WsMetrics;

/// Everything a handler may need. It is a single `Arc`, so a clone costs one
/// atomic increment, not one per field. Fields are reached through `Deref`.
#[derive(Debug, Clone)]
pub struct AppState(Arc<StateInner>);

impl std::ops::Deref for AppState {
    type Target = StateInner;

    fn deref(&self) -> &StateInner {
        &self.0
    }
}

/// What [`AppState`] points to, built once.
///
/// Aligned to 128 bytes so that the `Arc`'s reference counts, which sit just
/// before it, have their cache lines to themselves: a clone of the state then
/// does not evict the fields every request reads from the other cores' caches.
#[derive(Debug)]
#[repr(align(128))]
pub struct StateInner {
    pub config: Arc<HttpConfig>,
    /// `log.access`: log every request at info instead of only failures.
    pub access_log: bool,
    /// The process-wide registry (also holds the echo server's counters).
    pub metrics: Metrics,
    pub http: Arc<HttpMetrics>,
    /// The WebSocket counters (`ws/metrics.rs`).
    pub ws: Arc<WsMetrics>,
    pub limited: Arc<LimitedState>,
    /// Permits to buffer a chunked `POST /echo` body (`http.echo_buffers`): the
    /// semaphore bounds the memory those bodies can take all together.
    pub echo_buffers: Arc<Semaphore>,
    /// The async-pattern demo routes (`/fanout`, `/events`, ...; `asynclab-demo`).
    pub demo: Demo,
    /// Static files under `/files/` (`asynclab-files`); `None` when the default
    /// `files.root` does not exist and nobody configured one.
    pub files: Option<Files>,
    /// The httpbin-compatible routes (`/get`, `/status/{codes}`, ...; `asynclab-httpbin`).
    pub httpbin: Httpbin,
    /// Requests admitted at once (`http.max_in_flight`): the in-flight limit
    /// of the stack takes a permit per request.
    pub admission: Arc<Semaphore>,
    /// The process's shutdown: `/readyz` turns 503 once it is requested.
    pub shutdown: Shutdown,
    /// The faults injected on purpose (`[http.faults]`, `layers/faults.rs`).
    pub faults: Arc<Faults>,
    /// What the control API changes (`control.rs`).
    pub control: Control,
    /// The live dashboard's sampler and viewers (`dashboard/`).
    pub dashboard: Dashboard,
}

impl AppState {
    /// Builds the state and registers the HTTP metrics in `metrics`. Call once
    /// per registry (registering twice would list every metric twice).
    pub fn new(
        config: HttpConfig,
        access_log: bool,
        metrics: Metrics,
        files: Option<Files>,
        shutdown: Shutdown,
    ) -> Self {
        let http = Arc::new(HttpMetrics::default());
        http.register(&metrics);
        let ws = Arc::new(WsMetrics::default());
        ws.register(&metrics);
        let limited = Arc::new(LimitedState::new(config.limited.permits));
        limited.register(&metrics);
        // `/events` streams end as soon as the shutdown is requested, so they
        // never hold up the drain.
        let demo = Demo::new(&config.demo, metrics.events().clone(), shutdown.clone());
        let httpbin = Httpbin::new(&config.httpbin, config.max_body.bytes());
        let echo_buffers = Arc::new(Semaphore::new(config.echo_buffers));
        let faults = Arc::new(Faults::new(
            config.faults.clone(),
            config.slow.max_delay,
            &metrics,
        ));
        let admission = Arc::new(Semaphore::new(
            config.max_in_flight.min(Semaphore::MAX_PERMITS),
        ));
        let dashboard = Dashboard::new(&config.dashboard);
        Self(Arc::new(StateInner {
            config: Arc::new(config),
            access_log,
            metrics,
            http,
            ws,
            limited,
            echo_buffers,
            demo,
            files,
            httpbin,
            admission,
            shutdown,
            faults,
            control: Control::default(),
            dashboard,
        }))
    }

    /// What the shutdown did to the WebSockets it found open (the stop summary).
    pub fn websockets_at_shutdown(&self) -> crate::WebSocketsAtShutdown {
        self.ws.at_shutdown()
    }

    /// True from the moment a graceful shutdown is requested.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.is_requested()
    }
}

/// `/limited`: the semaphore and the bookkeeping around it.
#[derive(Debug)]
pub struct LimitedState {
    /// One shared semaphore: a permit is the right to be inside the work section.
    pub semaphore: Semaphore,
    /// The permits wanted now: `http.limited.permits`, or what the control API
    /// set (see `handlers/limited.rs`, `resize`).
    pub permits: AtomicUsize,
    /// Requests waiting for a permit now (bounded by `http.limited.max_waiters`).
    pub waiting: AtomicUsize,
    /// The most requests ever inside the work section at once: the proof that the
    /// semaphore works is that this never exceeds `permits`.
    pub in_use_max: AtomicUsize,
    pub in_use_gauge: Gauge,
    pub waiters_gauge: Gauge,
    pub rejected: Family<ReasonLabels, ShardedCounter>,
}

impl LimitedState {
    pub(crate) fn new(permits: usize) -> Self {
        Self {
            semaphore: Semaphore::new(permits),
            permits: AtomicUsize::new(permits),
            waiting: AtomicUsize::new(0),
            in_use_max: AtomicUsize::new(0),
            in_use_gauge: Gauge::default(),
            waiters_gauge: Gauge::default(),
            rejected: Family::default(),
        }
    }

    fn register(&self, m: &Metrics) {
        m.register(
            "http_limited_permits_in_use",
            "GET /limited requests inside the work section now (at most http.limited.permits)",
            self.in_use_gauge.clone(),
        );
        m.register(
            "http_limited_waiters",
            "GET /limited requests waiting for a permit now",
            self.waiters_gauge.clone(),
        );
        m.register(
            "http_limited_rejected",
            "GET /limited requests refused with 503 (reason: queue_full or queue_timeout)",
            self.rejected.clone(),
        );
    }

    /// Requests inside the work section now. (Not `permits - available`: while
    /// a shrink waits for busy permits, that difference is not what is in use.)
    pub fn in_use(&self) -> usize {
        usize::try_from(self.in_use_gauge.get()).unwrap_or(0)
    }

    /// Total rejections, both reasons. (`get`, not `get_or_create`: reading
    /// must not make a series that nothing has counted yet.)
    pub fn rejected_total(&self) -> u64 {
        ["queue_full", "queue_timeout"]
            .into_iter()
            .map(|reason| self.rejected(reason))
            .sum()
    }

    /// Rejections for one reason (`queue_full`, `queue_timeout`).
    pub fn rejected(&self, reason: &'static str) -> u64 {
        self.rejected
            .get(&ReasonLabels { reason })
            .map_or(0, |c| c.get())
    }
}
