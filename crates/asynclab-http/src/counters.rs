//! The HTTP server's counters: what `/metrics` exports and `/stats` sums up.
//!
//! Every label has a bounded set of values, so no client can make the server
//! keep more time series than the route table allows: `route` is a route
//! template (`/files/{path}`) or `unmatched`, never the raw path; `method` one
//! of the nine standard methods or `OTHER`; `status` a status code the server
//! sends; `class` a status class (`2xx`). `docs/metrics.md` lists them all.
//!
//! A series appears when it first moves: none is created at start-up that
//! might never move (a `route="unmatched",status="200"` would be a lie kept
//! forever). The series every request of a route touches in the common case
//! (its own method, 200) are looked up once, on first use, and kept per route,
//! so `/fast` counts without a hash lookup or a lock.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use asynclab_core::Metrics;
use asynclab_core::sharded::{ShardedCounter, ShardedHistogram};
use http::{Method, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::routes::{ROUTES, UNMATCHED};

/// Labels of the request counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub method: &'static str,
    pub status: u16,
}

/// Labels of the latency histogram: the status *class*, so a route has at
/// most five series per method, whatever codes it answers with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct LatencyLabels {
    pub route: &'static str,
    pub method: &'static str,
    pub class: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

/// Latency buckets in seconds: 1 ms (`/fast`) up to a minute (`http.request_timeout`).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// A latency histogram: sharded (see `asynclab_core::sharded`), as every
/// request of every worker thread lands in one.
pub type Histogram = ShardedHistogram<{ LATENCY_BUCKETS.len() }>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The HTTP server's counters, exported by `/metrics` and summarised by `/stats`.
#[derive(Debug)]
pub struct HttpMetrics {
    pub requests: Family<RequestLabels, ShardedCounter>,
    pub latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    /// Requests being handled now; also the in-flight limit and the drain count.
    pub in_flight: Gauge,
    /// The most requests ever in flight at once (for `/stats`).
    pub in_flight_max: AtomicUsize,
    /// Requests refused with 503 because `http.max_in_flight` were running.
    pub shed: ShardedCounter,
    pub panics: ShardedCounter,
    /// `/slow` handlers dropped before their wait ended (client gone, timeout, cut).
    pub slow_cancelled: ShardedCounter,
    /// HTTP connections open now, HTTPS ones included.
    pub connections_open: Gauge,
    /// HTTPS connections open now (past their TLS handshake).
    pub tls_connections_open: Gauge,
    pub connections_accepted: ShardedCounter,
    /// Per entry of the route table (last slot: no route matched).
    pub by_route: Box<[RouteCounters]>,
}

/// One route's counters, kept beside the route table.
#[derive(Debug)]
pub struct RouteCounters {
    /// Requests answered (for `/stats`).
    pub total: ShardedCounter,
    /// The route's own method label ("" for the slot of requests no route
    /// served, which never matches one).
    pub method: &'static str,
    /// The route's `method` + `200` series of the request counter and `2xx`
    /// series of the latency histogram, once the first such answer made them.
    ok: OnceLock<(ShardedCounter, Histogram)>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        let route = |method| RouteCounters {
            total: ShardedCounter::default(),
            method,
            ok: OnceLock::new(),
        };
        let mut by_route: Vec<RouteCounters> = ROUTES
            .iter()
            .map(|r| route(method_label(&r.method)))
            .collect();
        by_route.push(route(""));
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            in_flight: Gauge::default(),
            in_flight_max: AtomicUsize::new(0),
            shed: ShardedCounter::default(),
            panics: ShardedCounter::default(),
            slow_cancelled: ShardedCounter::default(),
            connections_open: Gauge::default(),
            tls_connections_open: Gauge::default(),
            connections_accepted: ShardedCounter::default(),
            by_route: by_route.into_boxed_slice(),
        }
    }
}

impl HttpMetrics {
    pub fn register(&self, m: &Metrics) {
        m.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            self.requests.clone(),
        );
        m.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (until the response head), by route template, method and status class",
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
            "HTTP connections open now, HTTPS ones included",
            self.connections_open.clone(),
        );
        m.register(
            "http_tls_connections_open",
            "HTTPS connections open now (past their TLS handshake)",
            self.tls_connections_open.clone(),
        );
        m.register(
            "http_connections_accepted",
            "HTTP connections accepted",
            self.connections_accepted.clone(),
        );
    }

    /// Counts one answer of the route at `index` (`ROUTES.len()`: none).
    pub fn answered(
        &self,
        index: usize,
        route: &'static str,
        method: &'static str,
        status: StatusCode,
        seconds: f64,
    ) {
        let counters = &self.by_route[index];
        counters.total.inc();
        // The common case without a lookup: the route's own method and 200.
        if status == StatusCode::OK && method == counters.method {
            let (ok, latency) = counters.ok.get_or_init(|| {
                let labels = RequestLabels {
                    route,
                    method,
                    status: 200,
                };
                let latency = LatencyLabels {
                    route,
                    method,
                    class: "2xx",
                };
                (
                    self.requests.get_or_create(&labels).clone(),
                    self.latency.get_or_create(&latency).clone(),
                )
            });
            ok.inc();
            latency.observe(seconds);
            return;
        }
        let status = status.as_u16();
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        let class = status_class(status);
        self.latency
            .get_or_create(&LatencyLabels {
                route,
                method,
                class,
            })
            .observe(seconds);
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

    /// Every answer so far by status class (in [`CLASSES`] order), and how
    /// many fell in each latency bucket, all routes together (`+Inf` last).
    ///
    /// Added up from the latency histogram's series. A `Family` cannot be
    /// walked, so this looks up every route, method and class the labels
    /// allow (`get`, which makes no series): a few thousand lookups, fine for
    /// the dashboard's once a second, and nothing added to the request path.
    pub fn classes_and_buckets(&self) -> ([u64; 5], Vec<u64>) {
        let mut classes = [0; 5];
        let mut buckets = vec![0; LATENCY_BUCKETS.len() + 1];
        let mut templates: Vec<&'static str> = Vec::new();
        for template in ROUTES.iter().map(|r| r.template).chain([UNMATCHED]) {
            if !templates.contains(&template) {
                templates.push(template);
            }
        }
        for route in templates {
            for method in METHOD_LABELS {
                for (class, total) in CLASSES.into_iter().zip(&mut classes) {
                    let labels = LatencyLabels {
                        route,
                        method,
                        class,
                    };
                    let Some(series) = self.latency.get(&labels) else {
                        continue;
                    };
                    let (_, count, counts) = series.snapshot();
                    *total += count;
                    for (sum, (_, n)) in buckets.iter_mut().zip(counts) {
                        *sum += n;
                    }
                }
            }
        }
        (classes, buckets)
    }
}

/// The values of the `class` label.
pub const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// `2xx` for 200..=299, and so on: a label with five values.
fn status_class(status: u16) -> &'static str {
    CLASSES[usize::from(status / 100).clamp(1, 5) - 1]
}

/// Metric label for a method: the standard ones by name, anything else `OTHER`
/// (so a client inventing methods cannot create unbounded time series).
pub fn method_label(method: &Method) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|(m, _)| m == method)
        .map_or("OTHER", |(_, name)| name)
}

/// Every value of the `method` label.
const METHOD_LABELS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "OTHER",
];

const KNOWN_METHODS: [(Method, &str); 9] = [
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
