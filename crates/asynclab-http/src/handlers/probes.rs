//! The routes with nothing to wait for: the index, health, readiness and the
//! introspection endpoints a container platform and a curious user need. Plain
//! functions, called in place: the router answers before hyper even asks.

use std::sync::atomic::Ordering;

use asynclab_core::metrics::Format;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use serde_json::json;

use crate::accept;
use crate::body::{self, Body, text};
use crate::conn::{ClientAddr, TlsInfo};
use crate::control::Forced;
use crate::layers::faults::KINDS;
use crate::routes::{ROUTES, UNMATCHED};
use crate::state::AppState;

fn ok(body: &'static str) -> Response<Body> {
    text(StatusCode::OK, body)
}

/// `GET /`: a greeting and the route table, one line per route.
pub fn index() -> Response<Body> {
    let mut out = String::from("Hello from async Rust!\n\n");
    for route in ROUTES {
        out.push_str(&format!(
            "  {:<5} {:<15} {}\n",
            route.method.as_str(),
            route.template,
            route.about
        ));
    }
    text(StatusCode::OK, out)
}

/// `GET /about`.
pub fn about() -> Response<Body> {
    ok(concat!(
        "asynclab ",
        env!("CARGO_PKG_VERSION"),
        "\nAsync network servers in Rust (TCP echo, routed HTTP, a load generator) to run, curl, load-test and learn from.\n"
    ))
}

/// `GET /fast`: the baseline, nothing to wait for.
pub fn fast() -> Response<Body> {
    ok("Fast response\n")
}

/// `GET /stats`: what is going on now, as JSON.
pub fn stats(state: &AppState) -> Response<Body> {
    let m = &state.http;
    let mut by_route = serde_json::Map::new();
    // Keyed `GET /fast`: one path may have routes for several methods.
    for (i, counters) in m.by_route.iter().enumerate() {
        let key = match ROUTES.get(i) {
            Some(route) => format!("{} {}", counters.method, route.template),
            None => UNMATCHED.to_string(),
        };
        by_route.insert(key, counters.total.get().into());
    }
    let lim = &state.limited;
    let echo = state.metrics.echo_if_running().map(|e| {
        json!({
            "connections_open": e.open.get(),
            "connections_accepted": e.accepted.get(),
            "connections_rejected": e.rejected.get(),
        })
    });
    body::json(&json!({
        "requests_in_flight": m.in_flight_now(),
        "requests_in_flight_max": m.in_flight_max.load(Ordering::Relaxed),
        "requests_by_route": by_route,
        "requests_shed": m.shed.get(),
        "slow_cancelled": m.slow_cancelled.get(),
        "connections_open": m.connections_open.get(),
        "tls_connections_open": m.tls_connections_open.get(),
        "limited": {
            "permits": lim.permits.load(Ordering::Relaxed),
            "in_use": lim.in_use(),
            "in_use_max": lim.in_use_max.load(Ordering::Relaxed),
            "waiters": lim.waiting.load(Ordering::Relaxed),
            "rejected": lim.rejected_total(),
        },
        "echo": echo,
        "faults": faults(state),
        "uptime_secs": uptime_secs(state),
    }))
}

/// The fault settings in force and the faults injected so far.
pub(crate) fn faults(state: &AppState) -> serde_json::Value {
    let faults = &state.faults;
    let mut injected = serde_json::Map::new();
    for kind in KINDS {
        injected.insert(kind.into(), faults.count(kind).into());
    }
    json!({ "settings": *faults.current(), "injected": injected })
}

/// Seconds since start, to the millisecond (no float noise in the JSON).
pub(crate) fn uptime_secs(state: &AppState) -> f64 {
    state.metrics.uptime().as_millis() as f64 / 1e3
}

/// `GET /info`: what tells one replica from another, and which thread answered.
pub fn info(state: &AppState) -> Response<Body> {
    let runtime = tokio::runtime::Handle::current();
    body::json(&json!({
        "name": "asynclab",
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": hostname(),
        "pid": std::process::id(),
        "uptime_secs": uptime_secs(state),
        // Tokio's multi-threaded runtime, shared by every server in the process.
        "workers": runtime.metrics().num_workers(),
        // Which worker thread answered: any of them may, as idle workers steal
        // tasks from busy ones.
        "thread": std::thread::current().name(),
    }))
}

/// `GET /whoami`: what the server knows about this client and its connection
/// (as traefik/whoami shows): its address, the HTTP version, and on the HTTPS
/// port whether TLS was used and, under mutual TLS, the client certificate's subject.
pub fn whoami<B>(req: &Request<B>) -> Response<Body> {
    let peer = req
        .extensions()
        .get::<ClientAddr>()
        .map(|c| c.0.to_string());
    let tls = req.extensions().get::<TlsInfo>();
    body::json(&json!({
        "client": peer,
        "version": format!("{:?}", req.version()),
        "tls": tls.is_some(),
        "client_cert": tls.and_then(|t| t.client_subject.as_deref()),
    }))
}

/// The kernel's host name (the pod name in Kubernetes), without a libc call.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// `GET /healthz`: liveness. Answers as long as the runtime can run a task,
/// unless the control API says `liveness=fail` (then Kubernetes restarts it).
pub fn healthz(state: &AppState) -> Response<Body> {
    match state.control.liveness() {
        Forced::Down => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "failing (liveness=fail, set by the control API)\n",
        ),
        _ => ok("ok\n"),
    }
}

/// `GET /readyz`: readiness. 503 from the first signal on, so a load balancer
/// stops routing here while in-flight requests still finish; the control API
/// can force it either way.
pub fn readyz(state: &AppState) -> Response<Body> {
    match (state.not_ready(), state.control.readiness()) {
        (false, _) => ok("ready\n"),
        (true, Forced::Down) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready (readiness=not-ready, set by the control API)\n",
        ),
        (true, _) => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
    }
}

/// `GET /metrics`: every metric in the process (`docs/metrics.md`), in
/// Prometheus text format 0.0.4, or in OpenMetrics for a scraper whose `Accept`
/// prefers `application/openmetrics-text` (Prometheus itself does). 0.0.4 is
/// the default, as in Prometheus's own client libraries: every scraper reads
/// it, and a client with no `Accept` (or `*/*`, as curl sends) gets it.
pub fn metrics(state: &AppState, headers: &HeaderMap) -> Response<Body> {
    let format = match accept::prefers(headers, "application/openmetrics-text", "text/plain") {
        true => Format::OpenMetrics,
        false => Format::Prometheus,
    };
    let mut res = text(StatusCode::OK, state.metrics.encode(format));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    res
}
