//! The per-request pipeline: request id, access span, limits, timeout, panics,
//! routing, and turning errors into responses. Built once, shared by every
//! connection, callable in-process with `tower::ServiceExt::oneshot`.
//!
//! Pattern: **middleware as plain async code.** One function, [`handle`], reads
//! top to bottom in the order things happen to a request:
//!
//! 1. take the client's `x-request-id`, or make one up (it goes back on the
//!    response);
//! 2. look the route up (the template names the span and the metrics);
//! 3. open the access span (method, route, request id, peer);
//! 4. refuse what cannot be served: no `Host` (400), unknown path (404), wrong
//!    method (405), too many requests in flight (503 at once, never queued);
//! 5. run the handler under `http.request_timeout` (503; for a request with a
//!    body, from the body's end, see `arrival.rs`) and `catch_unwind` (a panic
//!    is a 500 for this request only);
//! 6. map any error to its response (in `error.rs`, one place), count it, log it.
//!
//! A `tower::Layer` per step would do the same with more types and less to read,
//! and cost more: tower-http's request-id layers, which did step 1 here, store
//! the id in the request's headers and in its extensions (a map allocated per
//! request) and look it up several times. Doing step 1 here and passing the
//! client's address by value rather than as an extension took `/fast` from 19
//! allocations and about 16,000 instructions per request to 10 and 12,000;
//! answering at once without a future (below) and keeping the common bodies
//! unboxed (`body.rs`) took it to 4 and 10,000 (callgrind; bare hyper: 4 and
//! 7,700).
//!
//! Pattern: **answer at once when nothing waits.** Everything that does not
//! wait (route lookup, request id, span, the refusals) happens in [`handle`]
//! itself. A request refused there, or served by a handler with nothing to wait
//! for (`Handler::Now`: `/fast`, the probes), is answered there too, and what
//! `handle` returns is the finished response in a [`Handling`]: no future is
//! made, boxed or polled for it. Only a handler that waits gets a boxed `async` block,
//! which keeps just what the wait needs: it is allocated for every such request
//! and lives as long as the request, so 10,000 waiting `/slow` requests notice
//! its size.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use asynclab_core::Event;
use asynclab_core::sharded::{self, SHARDS};
use futures_util::FutureExt;
use http::header::{HOST, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use tokio::time::Instant;
use tower::Service;
use tracing::Instrument;

use crate::arrival::Arrival;
use crate::body::Body;
use crate::error::HttpError;
use crate::routes::{self, Found, Handler, HandlerFuture};
use crate::state::{AppState, RequestLabels, method_label};

/// The request id header, read from the request and set on the response.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application as one tower `Service`: the shared state (one `Arc`)
/// and, when it came through a connection, the client's address.
#[derive(Debug, Clone)]
pub struct App {
    state: AppState,
    peer: Option<SocketAddr>,
}

/// Builds the application around `state`. Tests call this and `oneshot` it.
pub fn router(state: AppState) -> App {
    App { state, peer: None }
}

impl App {
    /// The same application, for the requests of one connection from `peer`.
    /// A connection keeps it beside its other per-connection state (see
    /// `conn.rs`), and requests borrow it: only a handler that waits takes a
    /// copy of its own.
    pub fn for_peer(&self, peer: SocketAddr) -> App {
        App {
            state: self.state.clone(),
            peer: Some(peer),
        }
    }
}

impl Service<Request<Body>> for App {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Handling;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Always ready: overload is handled per request by shedding (503), not by
        // back-pressure, which in tower means queueing without bound.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        handle(self, req)
    }
}

/// Request ids: a per-process prefix and a number (`5f3a9c1e-42`). Unique
/// within a process and across restarts, and far cheaper than a random UUID.
///
/// The numbers come from a sharded counter (see `asynclab_core::sharded`):
/// number = the shard's count × `SHARDS` + shard, so no two shards hand out
/// the same number, and no two worker threads take turns at one counter for
/// every request. Numbers rise per thread, not across the process.
#[derive(Debug)]
pub struct RequestIds {
    prefix: u32,
    counts: sharded::Counter,
}

impl RequestIds {
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Self {
            prefix: nanos ^ std::process::id().rotate_left(16),
            counts: Default::default(),
        }
    }

    fn next(&self) -> HeaderValue {
        let (shard, count) = self.counts.inc_in_shard();
        self.format(count.wrapping_mul(SHARDS as u64).wrapping_add(shard as u64))
    }

    /// Written into a buffer on the stack: `format!` would allocate a `String`
    /// only to have the header value copy it.
    fn format(&self, n: u64) -> HeaderValue {
        // 8 hex digits, a dash, and at most 20 decimal digits (`u64::MAX`).
        let mut id = [0u8; 29];
        for (i, digit) in id[..8].iter_mut().enumerate() {
            *digit = b"0123456789abcdef"[(self.prefix >> (28 - 4 * i)) as usize & 0xf];
        }
        id[8] = b'-';
        let digits = n.checked_ilog10().unwrap_or(0) as usize + 1;
        let mut rest = n;
        for digit in id[9..9 + digits].iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        HeaderValue::from_bytes(&id[..9 + digits])
            .expect("hex digits, a dash and decimal digits are a valid header value")
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

/// One request, start to finish. Never fails: every error becomes a response.
///
/// The steps that do not wait run here, before anything is returned. A request
/// refused at once, or served by a [`Handler::Now`], is answered here too, and the
/// returned [`Handling`] only hands the response over: no future is made for it.
/// Otherwise it holds the boxed future that waits for the handler and finishes
/// the request (see the module doc).
pub fn handle(app: &App, req: Request<Body>) -> Handling {
    let state = &app.state;
    let started = Instant::now();
    // A cheap clone (the header's bytes are reference-counted), not a `String`.
    let request_id = match req.headers().get(X_REQUEST_ID) {
        Some(theirs) => theirs.clone(),
        None => state.request_ids.next(),
    };
    let found = routes::find(req.method(), req.uri().path());
    let method = method_label(req.method());

    // One span per request, so anything a handler logs carries these fields. At
    // debug unless `log.access` is on: a disabled span costs one branch, which is
    // what keeps `/fast` fast.
    // (Field values are worked out only when the span is enabled.)
    let route = found.template();
    let span = match state.access_log {
        true => tracing::info_span!("request", method, route,
            request_id = request_id.to_str().unwrap_or(""), peer = ?app.peer),
        false => tracing::debug_span!("request", method, route,
            request_id = request_id.to_str().unwrap_or(""), peer = ?app.peer),
    };
    let done = Finish {
        request_id,
        started,
        method,
        route,
        index: found.index(),
        span,
    };

    match admit(found, &req) {
        Err(refused) => Handling::answered(done.finish(state, Err(refused))),
        Ok(Handler::Now(handler)) => {
            let result = done.span.in_scope(|| run_now(state, handler, req));
            Handling::answered(done.finish(state, result))
        }
        Ok(Handler::Later(handler)) => {
            // A body still to come reports its progress to the request's timer.
            let (req, arrival) = watch_body(req, started);
            // Creating the future runs none of the handler; `run` decides whether
            // it runs. Made here, so the request stays out of the future below.
            let handler = handler(state, req);
            // The future outlives this call, so it owns a copy of the app: one
            // increment of the shared state's reference count, paid only by
            // requests that wait.
            let app = app.clone();
            Handling::Waiting(Box::pin(async move {
                let state = &app.state;
                let result = run(state, handler, done.started, arrival.as_deref())
                    .instrument(done.span.clone())
                    .await;
                done.finish(state, result)
            }))
        }
    }
}

/// What [`handle`] returns: the response already made, or the future making it.
///
/// A named future type rather than a boxed `async` block, so that a request
/// answered at once needs no future of its own. hyper polls it straight away.
pub enum Handling {
    /// Answered; taken by the first poll. The response is boxed because hyper
    /// keeps room for this future in every connection, idle or not: inline, a
    /// response (152 bytes) would make that room ten times larger, and idle
    /// keep-alive connections are what a server holds most of.
    Answered(Option<Box<Response<Body>>>),
    /// Waiting for its handler.
    Waiting(Pin<Box<dyn Future<Output = Response<Body>> + Send>>),
}

impl std::fmt::Debug for Handling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handling::Answered(_) => "Handling::Answered",
            Handling::Waiting(_) => "Handling::Waiting",
        })
    }
}

impl Handling {
    fn answered(res: Response<Body>) -> Self {
        Handling::Answered(Some(Box::new(res)))
    }
}

impl Future for Handling {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both variants are `Unpin` (the waiting one is boxed).
        match self.get_mut() {
            Handling::Answered(res) => {
                let res = res
                    .take()
                    .expect("a `Handling` is not polled after it is done");
                Poll::Ready(Ok(*res))
            }
            Handling::Waiting(future) => future.as_mut().poll(cx).map(Ok),
        }
    }
}

/// What step 6 needs to know about a request, taken before its handler runs.
struct Finish {
    request_id: HeaderValue,
    started: Instant,
    method: &'static str,
    route: &'static str,
    /// Index into the per-route counters.
    index: usize,
    span: tracing::Span,
}

impl Finish {
    /// Step 6: the response for `result` (errors mapped in `error.rs`), with the
    /// request id on it, counted, published and logged.
    fn finish(self, state: &AppState, result: Result<Response<Body>, HttpError>) -> Response<Body> {
        let Finish {
            request_id,
            started,
            method,
            route,
            index,
            span,
        } = self;
        let mut res = result.unwrap_or_else(HttpError::into_response);
        let status = res.status();
        // The client's id or ours, unless the handler set one. Moved, not cloned:
        // a clone of a header value made from a slice allocates (`Bytes` turns
        // its `Vec` into a shared buffer on the first clone).
        let request_id = &*res.headers_mut().entry(X_REQUEST_ID).or_insert(request_id);

        let latency = started.elapsed();
        let m = &state.http;
        let counters = &m.by_route[index];
        counters.total.inc();
        counters.latency.observe(latency.as_secs_f64());
        if status == StatusCode::OK && method == counters.method {
            counters.ok.inc();
        } else {
            m.requests
                .get_or_create(&RequestLabels {
                    route,
                    method,
                    status: status.as_u16(),
                })
                .inc();
        }

        // The access log line: fields, not a formatted string. Failures at info so
        // they show by default, successes at debug so they cost nothing by default.
        // Microseconds are plenty, and keep float noise (0.016243999999999998)
        // out of the log line and the feed.
        let latency_ms = (latency.as_secs_f64() * 1e6).round() / 1e3;
        // The live feed behind `GET /events`: the event is built only when someone
        // is subscribed, so this costs one atomic load otherwise.
        state.metrics.events().publish_with(|| Event::Request {
            method: method.to_string(),
            route: route.to_string(),
            status: status.as_u16(),
            latency_ms,
        });
        let _entered = span.enter();
        // `tracing`'s macros need the level at compile time, hence one line per level.
        macro_rules! access {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    method,
                    route,
                    status = status.as_u16(),
                    latency_ms,
                    request_id = request_id.to_str().unwrap_or(""),
                    "request"
                )
            };
        }
        if status.is_client_error() || status.is_server_error() || state.access_log {
            access!(tracing::Level::INFO);
        } else {
            access!(tracing::Level::DEBUG);
        }
        res
    }
}

type NowHandler = fn(&AppState, Request<Body>) -> Result<Response<Body>, HttpError>;

/// Step 4: refuse what cannot be served; otherwise say which handler serves it.
fn admit(found: Found, req: &Request<Body>) -> Result<Handler, HttpError> {
    // HTTP/1.1 requires one Host (RFC 9112 §3.2: none, or more than one, is a
    // 400); HTTP/2 carries `:authority` instead, which hyper puts in the URI. Two
    // Hosts are refused in any version: which one names the site is ambiguous.
    let mut hosts = req.headers().get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if req.version() == Version::HTTP_11 && req.uri().authority().is_none() => {
            return Err(HttpError::BadRequest(
                "HTTP/1.1 request without a Host header".into(),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(HttpError::BadRequest("more than one Host header".into()));
        }
        // ... and so is a Host that is not a host and port (§3.2 again).
        (Some(host), None) if !valid_host(host.as_bytes()) => {
            return Err(HttpError::BadRequest("invalid Host header".into()));
        }
        _ => {}
    }
    match found {
        Found::Route { route, .. } => Ok(route.handler),
        Found::WrongMethod { template } => Err(HttpError::MethodNotAllowed {
            allow: routes::allow(template),
        }),
        Found::NotFound => Err(HttpError::NotFound),
    }
}

/// Whether a Host value can be a host and port (RFC 3986 `host [ ":" port ]`):
/// only the characters those may contain, so no spaces, slashes or `user@`.
/// One table lookup per byte of a dozen, on every request, with no copy
/// (parsing it as an `http::uri::Authority` would copy it first); Go's server
/// checks the same way.
fn valid_host(host: &[u8]) -> bool {
    host.iter().all(|&b| HOST_BYTES[usize::from(b)])
}

/// The bytes a Host value may hold: letters, digits, `-._~`, the sub-delims
/// `!$&'()*+,;=`, `:` before a port, `[]` around an IPv6 address, `%` escapes.
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let others = b"-._~!$&'()*+,;=:[]%";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

/// Step 4, load shedding: over `http.max_in_flight`, say so at once. A queue
/// would only add latency to every request and memory to the server. The
/// returned guard gives the place back when dropped, so the count is right on
/// every way out (cancellation too).
fn enter(state: &AppState) -> Result<InFlight<'_>, HttpError> {
    let in_flight = InFlight(state);
    if state.http.enter() >= state.config.max_in_flight {
        state.http.shed.inc();
        return Err(HttpError::Busy {
            reason: "too many requests in flight (http.max_in_flight)",
            retry_after: std::time::Duration::from_secs(1),
        });
    }
    Ok(in_flight)
}

/// Steps 4 and 5 for a handler that answers at once: shedding, then the call
/// under `catch_unwind`. No timeout: nothing here waits.
fn run_now(
    state: &AppState,
    handler: NowHandler,
    req: Request<Body>,
) -> Result<Response<Body>, HttpError> {
    let _in_flight = enter(state)?;
    // `AssertUnwindSafe` is fine: the request is dropped with the panic, and
    // shared state is atomics.
    std::panic::catch_unwind(AssertUnwindSafe(|| handler(state, req)))
        .unwrap_or_else(|panic| Err(panicked(state, panic)))
}

/// Steps 4 and 5 for a handler that waits: shedding, then its future under the
/// request deadline and `catch_unwind`. A shed handler is dropped unpolled, so
/// none of it runs.
async fn run(
    state: &AppState,
    handler: HandlerFuture,
    started: Instant,
    arrival: Option<&Arrival>,
) -> Result<Response<Body>, HttpError> {
    let _in_flight = enter(state)?;
    // `catch_unwind` turns a panic inside the handler's poll into an `Err` here;
    // the connection and the server carry on. `AssertUnwindSafe` is fine: the
    // handler's state is dropped with it, and shared state is atomics.
    let guarded = AssertUnwindSafe(handler).catch_unwind();
    tokio::pin!(guarded);
    // One poll first: some handlers answer at once (a refused `/echo`, a file
    // in the cache), and need no timer. Making one is not free: a `Sleep` holds
    // a reference to the runtime, a count every worker thread updates.
    let request_timeout = state.config.request_timeout;
    let first = poll_fn(|cx| Poll::Ready(guarded.as_mut().poll(cx))).await;
    let outcome = match (first, arrival) {
        (Poll::Ready(outcome), _) => Ok(outcome),
        // No body to wait for: the handler has `request_timeout` from the start.
        (Poll::Pending, None) => tokio::time::timeout_at(started + request_timeout, guarded)
            .await
            .map_err(|_| HttpError::Timeout(request_timeout)),
        // A body: it must keep arriving, then the handler has `request_timeout`.
        (Poll::Pending, Some(arrival)) => tokio::select! {
            biased;
            outcome = &mut guarded => Ok(outcome),
            error = arrival.expired(request_timeout, state.config.idle_timeout) => Err(error),
        },
    };
    match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(panicked(state, panic)),
        // A timer dropped the handler future: whatever it awaited is cancelled.
        Err(error) => Err(error),
    }
}

/// A request with a body still to come gets an [`Arrival`] that its body
/// reports to, so `run` can time the body's arrival and the answer apart.
fn watch_body(req: Request<Body>, started: Instant) -> (Request<Body>, Option<Arc<Arrival>>) {
    let (parts, body) = req.into_parts();
    let (body, arrival) = body.watched(started);
    (Request::from_parts(parts, body), arrival)
}

/// Step 5: a handler panicked. Counted and logged; the request gets a 500.
fn panicked(state: &AppState, panic: Box<dyn std::any::Any + Send>) -> HttpError {
    state.http.panics.inc();
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = message, "handler panicked; answered 500");
    HttpError::Panic
}

/// Leaves the in-flight count when dropped (on every way out, cancellation too).
struct InFlight<'a>(&'a AppState);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.http.in_flight.dec();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use asynclab_core::{Config, Metrics};
    use http::StatusCode;

    use super::*;

    fn state(tweak: impl FnOnce(&mut Config)) -> AppState {
        let mut config = Config::builtin();
        tweak(&mut config);
        AppState::new(config.http, false, Metrics::new(), None)
    }

    fn get() -> Request<Body> {
        Request::get("/")
            .body(crate::body::empty())
            .expect("request")
    }

    /// What `handle` does between the checks and the access log.
    async fn run_handler(
        state: &AppState,
        handler: fn(&AppState, Request<Body>) -> HandlerFuture,
        req: Request<Body>,
    ) -> Result<Response<Body>, HttpError> {
        run(state, handler(state, req), Instant::now(), None).await
    }

    fn panics(_: &AppState, _: Request<Body>) -> HandlerFuture {
        Box::pin(async { panic!("boom") })
    }

    fn sleeps(_: &AppState, _: Request<Body>) -> HandlerFuture {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Err(HttpError::NotFound)
        })
    }

    #[test]
    fn request_ids_are_the_prefix_in_hex_and_a_number() {
        let ids = RequestIds {
            prefix: 0x05f3_a9c1,
            counts: Default::default(),
        };
        assert_eq!(ids.format(9), "05f3a9c1-9");
        assert_eq!(ids.format(10), "05f3a9c1-10");
        assert_eq!(ids.format(u64::MAX), "05f3a9c1-18446744073709551615");
        let n = |id: HeaderValue| -> u64 {
            let id = id.to_str().expect("ascii");
            id[9..].parse().expect("a decimal number after the dash")
        };
        let (a, b) = (n(ids.next()), n(ids.next()));
        assert_eq!(b, a + SHARDS as u64, "one thread counts in its own shard");
    }

    #[test]
    fn request_ids_from_many_threads_are_unique() {
        let ids = RequestIds::new();
        let seen: Vec<HeaderValue> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..2 * SHARDS)
                .map(|_| s.spawn(|| (0..500).map(|_| ids.next()).collect::<Vec<_>>()))
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().expect("thread ran"))
                .collect()
        });
        let unique: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 2 * SHARDS * 500);
    }

    fn panics_now(_: &AppState, _: Request<Body>) -> Result<Response<Body>, HttpError> {
        panic!("boom, at once")
    }

    /// A panic is a 500 for that request, counted, with its in-flight place given back.
    fn assert_panic_answered(state: &AppState, err: HttpError, panics_so_far: u64) {
        assert_eq!(
            err.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(state.http.panics.get(), panics_so_far);
        assert_eq!(
            state.http.in_flight_now(),
            0,
            "the in-flight count is given back"
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_and_counted_whether_it_waits_or_not() {
        let state = state(|_| {});
        let err = run_handler(&state, panics, get())
            .await
            .expect_err("panicked");
        assert_panic_answered(&state, err, 1);
        let err = run_now(&state, panics_now, get()).expect_err("panicked");
        assert_panic_answered(&state, err, 2);
    }

    #[test]
    fn the_future_hyper_keeps_per_connection_stays_small() {
        // hyper holds room for one `Handling` in every connection, idle or not.
        assert!(std::mem::size_of::<Handling>() <= 24);
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_past_the_request_timeout_gets_503() {
        let state = state(|c| c.http.request_timeout = Duration::from_secs(2));
        let err = run_handler(&state, sleeps, get())
            .await
            .expect_err("timed out");
        let res = err.into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "1");
    }

    #[tokio::test(start_paused = true)]
    async fn requests_beyond_max_in_flight_are_shed_at_once() {
        let state = state(|c| c.http.max_in_flight = 1);
        let busy = tokio::spawn({
            let state = state.clone();
            async move { run_handler(&state, sleeps, get()).await.map(|_| ()) }
        });
        while state.http.in_flight_now() == 0 {
            tokio::task::yield_now().await;
        }
        let err = run_handler(&state, panics, get()).await.expect_err("shed");
        assert!(matches!(err, HttpError::Busy { .. }), "{err}");
        assert_eq!(state.http.shed.get(), 1);
        // The same for a handler that answers at once.
        let err = run_now(&state, panics_now, get()).expect_err("shed");
        assert!(matches!(err, HttpError::Busy { .. }), "{err}");
        assert_eq!(state.http.shed.get(), 2);
        assert_eq!(
            state.http.panics.get(),
            0,
            "a shed request never runs its handler"
        );
        busy.abort();
    }
}
