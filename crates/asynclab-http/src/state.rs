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
use std::sync::atomic::{AtomicUsize, Ordering};

use asynclab_core::config::HttpConfig;
use asynclab_core::sharded::{ShardedCounter as Counter, ShardedHistogram};
use asynclab_core::{Metrics, Shutdown};
use asynclab_demo::Demo;
use asynclab_files::Files;
use http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Semaphore;

use crate::routes::{ROUTES, UNMATCHED};
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
    /// Requests admitted at once (`http.max_in_flight`): the in-flight limit
    /// of the stack takes a permit per request.
    pub admission: Arc<Semaphore>,
    /// The process's shutdown: `/readyz` turns 503 once it is requested.
    pub shutdown: Shutdown,
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
        let demo = Demo::new(
            &config.demo,
            config.slow.max_delay,
            metrics.events().clone(),
            shutdown.clone(),
        );
        let echo_buffers = Arc::new(Semaphore::new(config.echo_buffers));
        let admission = Arc::new(Semaphore::new(
            config.max_in_flight.min(Semaphore::MAX_PERMITS),
        ));
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
            admission,
            shutdown,
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

/// Labels of the request counter: `route` is the template (`/files/{path}`), never
/// the raw path, so a scan of random URLs cannot create unbounded time series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub method: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

/// Latency buckets in seconds: 1 ms (`/fast`) up to a minute (`http.request_timeout`).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// A route's latency histogram: sharded (see `asynclab_core::sharded`), as every
/// request of every worker thread lands in one.
pub type Histogram = ShardedHistogram<{ LATENCY_BUCKETS.len() }>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The HTTP server's counters, exported by `/metrics` and summarised by `/stats`.
#[derive(Debug)]
pub struct HttpMetrics {
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Requests being handled now; also the in-flight limit and the drain count.
    pub in_flight: Gauge,
    /// The most requests ever in flight at once (for `/stats`).
    pub in_flight_max: AtomicUsize,
    /// Requests refused with 503 because `http.max_in_flight` were running.
    pub shed: Counter,
    pub panics: Counter,
    /// `/slow` handlers dropped before their wait ended (client gone, timeout, cut).
    pub slow_cancelled: Counter,
    pub connections_open: Gauge,
    pub connections_accepted: Counter,
    /// Per entry of the route table (last slot: no route matched).
    pub by_route: Box<[RouteCounters]>,
}

/// One route's counters, looked up once at start rather than per request: a
/// `Family` lookup hashes the labels under a lock, and `/fast` notices that.
#[derive(Debug)]
pub struct RouteCounters {
    /// Requests answered (for `/stats`).
    pub total: Counter,
    /// This route's series in the latency histogram family.
    pub latency: Histogram,
    /// The route's own method label, and its `200` series in the request counter
    /// family: the common case, counted without a lookup. (None for the slot of
    /// requests no route served: they never get a 200.)
    pub method: &'static str,
    pub ok: Option<Counter>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<_, _, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let mut by_route: Vec<RouteCounters> = ROUTES
            .iter()
            .map(|r| {
                let (route, method) = (r.template, method_label(&r.method));
                RouteCounters {
                    total: Counter::default(),
                    latency: latency.get_or_create(&RouteLabels { route }).clone(),
                    method,
                    ok: Some(
                        requests
                            .get_or_create(&RequestLabels {
                                route,
                                method,
                                status: 200,
                            })
                            .clone(),
                    ),
                }
            })
            .collect();
        by_route.push(RouteCounters {
            total: Counter::default(),
            latency: latency
                .get_or_create(&RouteLabels { route: UNMATCHED })
                .clone(),
            method: "",
            ok: None,
        });
        let by_route = by_route.into_boxed_slice();
        Self {
            requests,
            latency,
            in_flight: Gauge::default(),
            in_flight_max: AtomicUsize::new(0),
            shed: Counter::default(),
            panics: Counter::default(),
            slow_cancelled: Counter::default(),
            connections_open: Gauge::default(),
            connections_accepted: Counter::default(),
            by_route,
        }
    }
}

impl HttpMetrics {
    fn register(&self, m: &Metrics) {
        m.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            self.requests.clone(),
        );
        m.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (until the response head), by route template",
            self.latency.clone(),
        );
        m.register(
            "http_requests_in_flight",
            "HTTP requests being handled now",
            self.in_flight.clone(),
        );
        m.register(
            "http_requests_shed",
            "HTTP requests refused with 503 because http.max_in_flight were running",
            self.shed.clone(),
        );
        m.register(
            "http_handler_panics",
            "HTTP handlers that panicked (each answered 500)",
            self.panics.clone(),
        );
        m.register(
            "http_slow_cancelled",
            "GET /slow handlers dropped before their wait ended (client went away, timeout, shutdown cut)",
            self.slow_cancelled.clone(),
        );
        m.register(
            "http_connections_open",
            "HTTP connections open now",
            self.connections_open.clone(),
        );
        m.register(
            "http_connections_accepted",
            "HTTP connections accepted",
            self.connections_accepted.clone(),
        );
    }

    /// Counts one more request in flight and remembers the highest count seen.
    /// Returns how many were in flight before this one.
    pub fn enter(&self) -> usize {
        let before = usize::try_from(self.in_flight.inc()).unwrap_or(0);
        // Read first: a `fetch_max` would write the shared cache line every time.
        if self.in_flight_max.load(Ordering::Relaxed) <= before {
            self.in_flight_max.fetch_max(before + 1, Ordering::Relaxed);
        }
        before
    }

    /// Requests in flight now.
    pub fn in_flight_now(&self) -> usize {
        usize::try_from(self.in_flight.get()).unwrap_or(0)
    }
}

/// `/limited`: the semaphore and the bookkeeping around it.
#[derive(Debug)]
pub struct LimitedState {
    /// One shared semaphore: a permit is the right to be inside the work section.
    pub semaphore: Semaphore,
    pub permits: usize,
    /// Requests waiting for a permit now (bounded by `http.limited.max_waiters`).
    pub waiting: AtomicUsize,
    /// The most requests ever inside the work section at once: the proof that the
    /// semaphore works is that this never exceeds `permits`.
    pub in_use_max: AtomicUsize,
    pub in_use_gauge: Gauge,
    pub waiters_gauge: Gauge,
    pub rejected: Family<ReasonLabels, Counter>,
}

impl LimitedState {
    fn new(permits: usize) -> Self {
        Self {
            semaphore: Semaphore::new(permits),
            permits,
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

    /// Permits held now.
    pub fn in_use(&self) -> usize {
        self.permits
            .saturating_sub(self.semaphore.available_permits())
    }

    /// Total rejections, both reasons.
    pub fn rejected_total(&self) -> u64 {
        ["queue_full", "queue_timeout"]
            .into_iter()
            .map(|reason| self.rejected.get_or_create(&ReasonLabels { reason }).get())
            .sum()
    }
}

/// Metric label for a method: the standard ones by name, anything else `OTHER`
/// (so a client inventing methods cannot create unbounded time series).
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(m, _)| m == method)
        .map_or("OTHER", |(_, name)| name)
}
