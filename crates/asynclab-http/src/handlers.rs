//! The route handlers: functions from state and request to a response.
//!
//! Those that wait are `async fn`s, and each shows one async idea: `/slow` waits
//! on a timer without blocking a thread and shows **cancellation by drop**,
//! `/limited` bounds concurrency with a **shared semaphore** and bounded waiting,
//! `/echo` **streams** a body through without buffering it. The rest, the health, readiness and introspection
//! endpoints a container platform needs, have nothing to wait for: they are plain
//! `fn`s, called in place (see `Handler` in `routes.rs`).

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use asynclab_core::config::HttpRuntime;
use asynclab_core::query::Query;
use futures_util::{StreamExt, stream};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, EXPECT, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, BodyStream, Limited, StreamBody};
use serde_json::json;
use tokio::time::Instant;

use crate::body::{self, Body, text};
use crate::error::HttpError;
use crate::routes::{ROUTES, UNMATCHED};
use crate::state::{AppState, HttpMetrics, ReasonLabels};

type Result<T = Response<Body>> = std::result::Result<T, HttpError>;

fn ok(body: &'static str) -> Response<Body> {
    text(StatusCode::OK, body)
}

/// `GET /`: a greeting and the route table, one line per route.
pub fn index(_: &AppState, _: Request<Body>) -> Result {
    let mut out = String::from("Hello from async Rust!\n\n");
    for route in ROUTES {
        out.push_str(&format!(
            "  {:<5} {:<15} {}\n",
            route.method.as_str(),
            route.template,
            route.about
        ));
    }
    Ok(text(StatusCode::OK, out))
}

/// `GET /about`.
pub fn about(_: &AppState, _: Request<Body>) -> Result {
    Ok(text(
        StatusCode::OK,
        concat!(
            "asynclab ",
            env!("CARGO_PKG_VERSION"),
            "\nAsync network servers in Rust (TCP echo, routed HTTP, a load generator) to run, curl, load-test and learn from.\n"
        ),
    ))
}

/// `GET /fast`: the baseline, nothing to wait for.
pub fn fast(_: &AppState, _: Request<Body>) -> Result {
    Ok(ok("Fast response\n"))
}

/// `GET /slow?delay=250ms`: waits on a timer, then answers.
///
/// `sleep(..).await` parks this future and frees the worker thread for other
/// requests: 10,000 slow requests cost 10,000 small futures, not 10,000 threads.
/// When the client disconnects, hyper drops this future mid-`await`; nothing runs
/// after the await, and the [`CancelGuard`] left armed on the stack records it.
///
/// "Small" is a choice: the query is read here, before the future is made, so the
/// request (its headers, its body) is dropped before the wait rather than held
/// through it, and the future keeps only the delay, the guard and the timer.
/// (An `async fn` would also keep its arguments twice.)
pub fn slow(state: AppState, req: Request<Body>) -> impl Future<Output = Result> + Send {
    let cfg = &state.config.slow;
    let delay = Query::parse(req.uri().query(), &["delay"])
        .and_then(|q| q.duration("delay", cfg.delay, cfg.max_delay, "http.slow.max_delay"));
    drop(req);
    async move {
        let delay = delay?;
        let guard = CancelGuard::new(&state, delay);
        tokio::time::sleep(delay).await;
        guard.disarm();
        Ok(ok("Slow response\n"))
    }
}

/// Counts and logs a `/slow` handler dropped before its wait ended. Drop runs
/// whether the future finished or was cancelled, so the guard is "armed" until the
/// handler reaches the line after the await.
struct CancelGuard {
    state: Option<AppState>,
    started: Instant,
    delay: Duration,
}

impl CancelGuard {
    fn new(state: &AppState, delay: Duration) -> Self {
        Self {
            state: Some(state.clone()),
            started: Instant::now(),
            delay,
        }
    }

    fn disarm(mut self) {
        self.state = None;
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            state.http.slow_cancelled.inc();
            tracing::debug!(
                waited_ms = self.started.elapsed().as_millis() as u64,
                delay_ms = self.delay.as_millis() as u64,
                "/slow cancelled: the handler future was dropped mid-wait"
            );
        }
    }
}

/// `GET /limited?work=1s`: at most `http.limited.permits` requests do their work
/// at once; the others queue for a permit, within bounds.
///
/// A `tokio::sync::Semaphore` is fair (first come, first served) and its
/// `acquire` is cancel-safe: a waiter that gives up (timeout, client gone) simply
/// leaves the queue. The permit is an RAII guard, so it goes back on every path
/// out of this function, panics and cancellation included.
pub async fn limited(state: AppState, req: Request<Body>) -> Result {
    let cfg = &state.config.limited;
    let work = Query::parse(req.uri().query(), &["work"])?.duration(
        "work",
        cfg.work,
        state.config.slow.max_delay,
        "http.slow.max_delay",
    )?;
    let lim = &state.limited;
    let queued = Instant::now();
    let busy = |reason: &'static str| {
        lim.rejected.get_or_create(&ReasonLabels { reason }).inc();
        HttpError::Busy {
            reason: match reason {
                "queue_full" => "GET /limited has http.limited.max_waiters requests waiting",
                _ => "GET /limited: no permit within http.limited.queue_timeout",
            },
            // By then about one round of work has freed a permit.
            retry_after: cfg.work,
        }
    };

    // Fast path: a free permit, no queueing at all.
    let permit = match lim.semaphore.try_acquire() {
        Ok(permit) => permit,
        Err(_) => {
            // Join the queue only if it is not full: the count is taken first and
            // given back on every way out (the guard), so it never drifts.
            let Some(_waiting) = Waiter::join(&state, cfg.max_waiters) else {
                return Err(busy("queue_full"));
            };
            match tokio::time::timeout(cfg.queue_timeout, lim.semaphore.acquire()).await {
                Ok(permit) => permit.expect("the /limited semaphore is never closed"),
                Err(_) => return Err(busy("queue_timeout")),
            }
        }
    };
    let waited = queued.elapsed();

    // Inside the work section: never more than `permits` requests here at once.
    lim.in_use_gauge.inc();
    lim.in_use_max.fetch_max(lim.in_use(), Ordering::Relaxed);
    let _inside = scopeguard(|| {
        lim.in_use_gauge.dec();
    });
    tokio::time::sleep(work).await;
    drop(permit);

    let mut res = ok("Response from limited handler\n");
    res.headers_mut().insert(
        "x-queue-wait-ms",
        HeaderValue::from(waited.as_millis() as u64),
    );
    Ok(res)
}

/// A place in the `/limited` queue, given back when dropped.
struct Waiter<'a>(&'a AppState);

impl<'a> Waiter<'a> {
    fn join(state: &'a AppState, max: usize) -> Option<Self> {
        let lim = &state.limited;
        if lim.waiting.fetch_add(1, Ordering::AcqRel) >= max {
            lim.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        lim.waiters_gauge.inc();
        Some(Self(state))
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.limited.waiting.fetch_sub(1, Ordering::AcqRel);
        self.0.limited.waiters_gauge.dec();
    }
}

/// Runs `f` when dropped: the smallest RAII guard.
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

/// `POST /echo`: the request body sent straight back, with its `Content-Type`.
///
/// With a `Content-Length` (what curl and most clients send) the limit is checked
/// before anything is read (413), and the body is *streamed*: each chunk read from
/// the client is written back before the next is read, so memory stays at a chunk
/// or two whatever the size.
///
/// Without one (`Transfer-Encoding: chunked`) the size is only known at the end.
/// To still answer 413 rather than cut a 200 halfway, such a body is collected
/// first, through `Limited` (which fails as soon as it passes `http.max_body`).
/// Collecting costs memory, so it takes a permit from a semaphore
/// (`http.echo_buffers`) with `try_acquire`: when all are taken the request gets
/// 503 at once instead of queueing, and the memory all such bodies can hold is
/// bounded by `echo_buffers × max_body`.
pub async fn echo(state: AppState, req: Request<Body>) -> Result {
    let limit = state.config.max_body.bytes();
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(HttpError::PayloadTooLarge { limit });
    }
    let (parts, incoming) = req.into_parts();
    let mut res = match declared {
        // hyper enforces the declared length, so streaming can never pass it;
        // `Limited` is a second guard that costs nothing.
        Some(length) => {
            let mut incoming = Limited::new(incoming, state.config.max_body.as_usize());
            if expects_continue(&parts.headers) {
                // The client sends the body only once told to go on (curl asks
                // for bodies over 1 MiB, and otherwise waits a second). hyper
                // says `100 Continue` when the body is first read, but only while
                // no response has started: so read the first chunk *before*
                // answering, and stream that chunk and then the rest (with the
                // length said up front: a stream of chunks has no size of its own).
                let first = incoming.frame().await.transpose().map_err(unreadable)?;
                let rest = BodyStream::new(incoming);
                let mut res = Response::new(body::boxed(StreamBody::new(
                    stream::iter(first.map(Ok)).chain(rest),
                )));
                res.headers_mut().insert(CONTENT_LENGTH, length.into());
                res
            } else {
                Response::new(body::boxed(incoming))
            }
        }
        None => {
            // Moved into this request's future: released when it ends, however.
            let _permit = state
                .echo_buffers
                .clone()
                .try_acquire_owned()
                .map_err(|_| HttpError::Busy {
                    reason: "every buffer for chunked /echo bodies is in use (http.echo_buffers)",
                    retry_after: Duration::from_secs(1),
                })?;
            Response::new(body::full(collect_up_to(incoming, limit).await?))
        }
    };
    if let Some(ct) = parts.headers.get(CONTENT_TYPE) {
        res.headers_mut().insert(CONTENT_TYPE, ct.clone());
    }
    Ok(res)
}

/// `Expect: 100-continue` (the only expectation HTTP defines).
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

fn unreadable(error: impl std::fmt::Display) -> HttpError {
    HttpError::BadRequest(format!("reading the request body failed: {error}"))
}

/// Reads a whole body, failing with 413 as soon as it passes `limit` bytes (so a
/// client cannot make us hold more than that).
async fn collect_up_to(mut incoming: Body, limit: u64) -> std::result::Result<Vec<u8>, HttpError> {
    let mut buf = Vec::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(unreadable)?;
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > limit {
                return Err(HttpError::PayloadTooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// `GET /stats`: what is going on now, as JSON.
pub fn stats(state: &AppState, _: Request<Body>) -> Result {
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
            "connections_open": e.active.get(),
            "connections_accepted": e.accepted.get(),
            "connections_rejected": e.rejected.get(),
        })
    });
    Ok(body::json(&json!({
        "requests_in_flight": m.in_flight_now(),
        "requests_in_flight_max": m.in_flight_max.load(Ordering::Relaxed),
        "requests_by_route": by_route,
        "requests_shed": m.shed.get(),
        "slow_cancelled": m.slow_cancelled.get(),
        "connections_open": m.connections_open.get(),
        "limited": {
            "permits": lim.permits,
            "in_use": lim.in_use(),
            "in_use_max": lim.in_use_max.load(Ordering::Relaxed),
            "waiters": lim.waiting.load(Ordering::Relaxed),
            "rejected": lim.rejected_total(),
        },
        "echo": echo,
        "uptime_secs": uptime_secs(state),
    })))
}

/// Seconds since start, to the millisecond (no float noise in the JSON).
fn uptime_secs(state: &AppState) -> f64 {
    state.metrics.uptime().as_millis() as f64 / 1e3
}

/// `GET /info`: what tells one replica from another, and which thread answered.
pub fn info(state: &AppState, _: Request<Body>) -> Result {
    Ok(body::json(&json!({
        "name": "asynclab",
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": hostname(),
        "pid": std::process::id(),
        "uptime_secs": uptime_secs(state),
        "runtime": state.config.runtime,
        "workers": match state.config.runtime {
            HttpRuntime::PerCore => state.config.workers,
            HttpRuntime::Shared => tokio::runtime::Handle::current().metrics().num_workers(),
        },
        // Which thread answered: with `per-core`, the worker this connection was
        // dealt to (`http-0`, `http-1`, ...), the same for every request on it.
        "thread": std::thread::current().name(),
    })))
}

/// The kernel's host name (the pod name in Kubernetes), without a libc call.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// `GET /healthz`: liveness. Answers as long as the runtime can run a task.
pub fn healthz(_: &AppState, _: Request<Body>) -> Result {
    Ok(ok("ok\n"))
}

/// `GET /readyz`: readiness. 503 from the first signal on, so a load balancer
/// stops routing here while in-flight requests still finish.
pub fn readyz(state: &AppState, _: Request<Body>) -> Result {
    Ok(match state.shutting_down() {
        true => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
        false => ok("ready\n"),
    })
}

/// `GET /metrics`: every counter in the process, Prometheus/OpenMetrics text.
pub fn metrics(state: &AppState, _: Request<Body>) -> Result {
    let mut res = text(StatusCode::OK, state.metrics.encode());
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(res)
}

/// `/fanout`, `/race`, `/timeout`, `/compute`, `/block`, `/counter`, `/events`:
/// the async-pattern demos, answered by the `asynclab-demo` crate (see
/// `docs/patterns.md`).
///
/// An `/events` answer is an endless stream: this handler returns at once and the
/// work goes on in the body. So the body holds a place in the in-flight count for
/// as long as it is open, and the drain sees it (the demo ends each stream with a
/// `shutdown` event as soon as a shutdown is requested, so it never holds it up).
pub async fn demo(state: AppState, req: Request<Body>) -> Result {
    let res = state.demo.handle(req).await.ok_or(HttpError::NotFound)?;
    let streaming = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|t| t == "text/event-stream");
    Ok(res.map(|stream| match streaming {
        true => {
            let held = StreamInFlight::enter(&state.http);
            // The closure owns the guard, so it lives exactly as long as the body.
            body::boxed(stream.map_frame(move |frame| {
                let _ = &held;
                frame
            }))
        }
        false => body::boxed(stream),
    }))
}

/// One streaming response in the in-flight count, until the body is dropped.
struct StreamInFlight(std::sync::Arc<HttpMetrics>);

impl StreamInFlight {
    fn enter(http: &std::sync::Arc<HttpMetrics>) -> Self {
        http.enter();
        Self(http.clone())
    }
}

impl Drop for StreamInFlight {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

/// `/files/{path}`: static files, answered by the `asynclab-files` crate (see
/// `docs/files.md`). It gets the path still percent-encoded, exactly as sent, so
/// it can refuse every encoding of `..` itself.
pub async fn files(state: AppState, req: Request<Body>) -> Result {
    let Some(files) = &state.files else {
        return Ok(text(
            StatusCode::NOT_FOUND,
            "File not found (file serving is off: files.root does not exist)\n",
        ));
    };
    let path = req
        .uri()
        .path()
        .strip_prefix("/files/")
        .unwrap_or_default()
        .to_owned();
    Ok(files.serve(req, &path).await.map(body::boxed))
}
