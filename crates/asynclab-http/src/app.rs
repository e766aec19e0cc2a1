//! The per-request pipeline: request id, access span, limits, timeout, panics,
//! routing, and turning errors into responses. Built once, shared by every
//! connection, callable in-process with `tower::ServiceExt::oneshot`.
//!
//! Pattern: **middleware as plain async code.** tower-http does what it does
//! well (reading or generating `x-request-id` and copying it onto the response);
//! the rest is one `async fn`, [`handle`], that reads top to bottom in the order
//! things happen to a request:
//!
//! 1. look the route up (the template names the span and the metrics);
//! 2. open the access span (method, route, request id, peer);
//! 3. refuse what cannot be served: no `Host` (400), unknown path (404), wrong
//!    method (405), too many requests in flight (503 at once, never queued);
//! 4. run the handler under `http.request_timeout` (503) and `catch_unwind`
//!    (a panic is a 500 for this request only);
//! 5. map any error to its response (in `error.rs`, one place), count it, log it.
//!
//! A `tower::Layer` per step would do the same with more types and less to read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use asynclab_core::Event;
use futures_util::FutureExt;
use http::header::HOST;
use http::{Request, Response, StatusCode, Version};
use tokio::time::Instant;
use tower::Service;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestId, PropagateRequestIdLayer, RequestId, SetRequestId,
    SetRequestIdLayer,
};
use tracing::Instrument;

use crate::body::Body;
use crate::error::HttpError;
use crate::routes::{self, Found, Handler, HandlerFuture};
use crate::state::{AppState, RequestLabels, method_label};

/// The whole application as one tower `Service`: clone it per connection (it is a
/// few `Arc`s), call it per request.
pub type App = SetRequestId<PropagateRequestId<Pipeline>, NextRequestId>;

/// Builds the application around `state`. Tests call this and `oneshot` it.
pub fn router(state: AppState) -> App {
    tower::ServiceBuilder::new()
        // Outermost: every request has an id before anything logs.
        .layer(SetRequestIdLayer::x_request_id(NextRequestId::new()))
        .layer(PropagateRequestIdLayer::x_request_id())
        .service(Pipeline { state })
}

/// The client's address, put in the request's extensions by the connection task.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Request ids: a per-process prefix and a counter (`5f3a9c1e-42`). Unique
/// within a process and across restarts, and far cheaper than a random UUID.
#[derive(Debug, Clone)]
pub struct NextRequestId {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl NextRequestId {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Self {
            prefix: nanos ^ std::process::id().rotate_left(16),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08x}-{n}", self.prefix);
        Some(RequestId::new(
            id.parse()
                .expect("hex digits and a dash are a valid header value"),
        ))
    }
}

/// The innermost service: hands each request to [`handle`].
#[derive(Debug, Clone)]
pub struct Pipeline {
    state: AppState,
}

impl Service<Request<Body>> for Pipeline {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Always ready: overload is handled per request by shedding (503), not by
        // back-pressure, which in tower means queueing without bound.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        Box::pin(handle(self.state.clone(), req))
    }
}

/// One request, start to finish. Never fails: every error becomes a response.
pub async fn handle(state: AppState, req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let found = routes::find(req.method(), req.uri().path());
    let route = found.template();
    let method = method_label(req.method());
    // A cheap clone (the header's bytes are reference-counted), not a `String`.
    let request_id_header = req.headers().get("x-request-id").cloned();
    let request_id = request_id_header
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let peer = req.extensions().get::<Peer>().map(|p| p.0);

    // One span per request, so anything a handler logs carries these fields. At
    // debug unless `log.access` is on: a disabled span costs one branch, which is
    // what keeps `/fast` fast.
    let span = match state.access_log {
        true => tracing::info_span!("request", method, route, request_id, peer = ?peer),
        false => tracing::debug_span!("request", method, route, request_id, peer = ?peer),
    };

    let index = found.index();
    let result = match admit(&state, found, req) {
        Ok((handler, in_flight)) => {
            let deadline = started + state.config.request_timeout;
            let result = guard(&state, handler, deadline)
                .instrument(span.clone())
                .await;
            drop(in_flight);
            result
        }
        Err(refused) => Err(refused),
    };
    let res = result.unwrap_or_else(HttpError::into_response);

    let status = res.status();
    let latency = started.elapsed();
    let m = &state.http;
    let counters = &m.by_route[index];
    counters.total.fetch_add(1, Ordering::Relaxed);
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
    let latency_ms = latency.as_secs_f64() * 1000.0;
    // The live feed behind `GET /events`: the event is built only when someone
    // is subscribed, so this costs one atomic load otherwise.
    state.metrics.events().publish_with(|| Event::Request {
        method: method.to_string(),
        route: route.to_string(),
        status: status.as_u16(),
        // Microseconds are plenty, and keep float noise out of the JSON.
        latency_ms: (latency_ms * 1000.0).round() / 1000.0,
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
                request_id,
                "request"
            )
        };
    }
    if status.is_client_error() || status.is_server_error() || state.access_log {
        access!(tracing::Level::INFO);
    } else {
        access!(tracing::Level::DEBUG);
    }
    Ok(res)
}

/// Step 3: refuse what cannot be served; otherwise create the handler's future
/// (nothing runs until it is polled) with a place in the in-flight count.
///
/// A plain `fn`, not `async`: nothing here waits, and keeping the request out of
/// `handle`'s future keeps that future small; it is allocated for every request
/// and lives as long as the request, so 10,000 waiting `/slow` requests notice.
fn admit(
    state: &AppState,
    found: Found,
    req: Request<Body>,
) -> Result<(HandlerFuture, InFlight<'_>), HttpError> {
    // HTTP/1.1 requires Host (RFC 9112 §3.2); HTTP/2 carries `:authority` instead,
    // which hyper puts in the URI.
    if req.version() == Version::HTTP_11
        && !req.headers().contains_key(HOST)
        && req.uri().authority().is_none()
    {
        return Err(HttpError::BadRequest(
            "HTTP/1.1 request without a Host header".into(),
        ));
    }
    let handler: Handler = match found {
        Found::Route { route, .. } => route.handler,
        // The file server knows which methods it allows (PUT only when uploads
        // are on), so every method under `/files/` goes to it.
        Found::WrongMethod { template } if template == routes::FILES => {
            |s, r| Box::pin(crate::handlers::files(s, r))
        }
        Found::WrongMethod { template } => {
            return Err(HttpError::MethodNotAllowed {
                allow: routes::allow(template),
            });
        }
        Found::NotFound => return Err(HttpError::NotFound),
    };
    start(state, handler, req)
}

/// Load shedding: over `http.max_in_flight`, say so at once. A queue would only
/// add latency to every request and memory to the server.
fn start(
    state: &AppState,
    handler: Handler,
    req: Request<Body>,
) -> Result<(HandlerFuture, InFlight<'_>), HttpError> {
    let m = &state.http;
    let in_flight = InFlight(state);
    if m.enter() >= state.config.max_in_flight {
        m.shed.inc();
        return Err(HttpError::Busy {
            reason: "too many requests in flight (http.max_in_flight)",
            retry_after: std::time::Duration::from_secs(1),
        });
    }
    Ok((handler(state.clone(), req), in_flight))
}

/// Step 4: the handler under the request deadline and `catch_unwind`.
async fn guard(
    state: &AppState,
    handler: HandlerFuture,
    deadline: Instant,
) -> Result<Response<Body>, HttpError> {
    // `catch_unwind` turns a panic inside the handler's poll into an `Err` here;
    // the connection and the server carry on. `AssertUnwindSafe` is fine: the
    // handler's state is dropped with it, and shared state is atomics.
    let guarded = AssertUnwindSafe(handler).catch_unwind();
    match tokio::time::timeout_at(deadline, guarded).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => {
            state.http.panics.inc();
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = message, "handler panicked; answered 500");
            Err(HttpError::Panic)
        }
        // The timeout dropped the handler future: whatever it awaited is cancelled.
        Err(_) => Err(HttpError::Timeout(state.config.request_timeout)),
    }
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
        handler: Handler,
        req: Request<Body>,
    ) -> Result<Response<Body>, HttpError> {
        let (future, _in_flight) = start(state, handler, req)?;
        guard(state, future, Instant::now() + state.config.request_timeout).await
    }

    fn panics(_: AppState, _: Request<Body>) -> HandlerFuture {
        Box::pin(async { panic!("boom") })
    }

    fn sleeps(_: AppState, _: Request<Body>) -> HandlerFuture {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Err(HttpError::NotFound)
        })
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_and_counted() {
        let state = state(|_| {});
        let err = run_handler(&state, panics, get())
            .await
            .expect_err("panicked");
        assert_eq!(
            err.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(state.http.panics.get(), 1);
        assert_eq!(
            state.http.in_flight_now(),
            0,
            "the in-flight count is given back"
        );
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
        assert_eq!(
            state.http.panics.get(),
            0,
            "a shed request never runs its handler"
        );
        busy.abort();
    }
}
