//! The request pipeline: one `tower::ServiceBuilder` stack, built once.
//!
//! Pattern: **middleware as tower layers.** A request meets the layers from the
//! top of [`app`] down, and its answer passes them back up:
//!
//! | # | layer | from | what it does |
//! |---|---|---|---|
//! | 1 | `RequestIdLayer` | ours, `layers/request_id.rs` | keep the client's `x-request-id` or make one; put it on the answer |
//! | 2 | `ErrorFormatLayer` | ours, `layers/error_format.rs` | every error answer as one line of text, or JSON when `Accept` prefers it |
//! | 3 | `AccessLogLayer` | ours, `layers/access_log.rs` | a span per request, a log line per answer |
//! | 4 | `MetricsLayer` | ours, `layers/metrics.rs` | counters, latency, in-flight gauge, live feed |
//! | 5 | `CatchPanicLayer` | tower-http | a panicking handler is a 500 for that request only |
//! | 6 | `map_result` | tower | the errors of the layers below become answers (`error.rs`) |
//! | 7 | `CutLayer` | ours, `layers/cut.rs` | a request still unanswered when the shutdown cuts: 503, `Connection: close` |
//! | 8 | `LoadShedLayer` + `GlobalConcurrencyLimitLayer` | tower | over `http.max_in_flight` in flight: 503 at once, never queued |
//! | 9 | `RequestTimeoutLayer` | ours, `layers/timeout.rs` | 503 after `http.request_timeout`; a request body below `http.body_min_rate`: 408 |
//! | 10 | `HostLayer` | ours, `layers/host.rs` | a missing, repeated or malformed `Host`: 400 |
//! | 11 | `FaultLayer` | ours, `layers/faults.rs` | `[http.faults]`: injected errors, delays, aborted connections (off: one atomic load) |
//! | 12 | `Router` | ours, `routes.rs` | a `match` on method and path calls the handler |
//!
//! The error format sits just below the request ids, so every error answer,
//! whichever layer or crate made it, passes it (and gets an id). Logging and
//! metrics sit above the panic, shedding and timeout layers so that
//! their answers are logged and counted like any other. The fault layer sits
//! just above the router, so its injected answers and delays meet every layer
//! a real handler's do (counted, timed, held to the in-flight limit and the
//! request timeout), and so that with faults off it wraps only the router's
//! small future (a layer higher up would move the whole stack's future once
//! more per request). `map_result` lets its "abort" error through to hyper,
//! which closes the connection without an answer. To add a layer, add one
//! line where the request should meet it. Every layer is built here once, so
//! state they share (the in-flight semaphore, the counters) is shared by every
//! connection: a limit layer built per connection would limit nothing.
//!
//! [`app`] is also what tests call in-process, with `tower::ServiceExt::oneshot`.

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::{Service, ServiceBuilder};
use tower_http::body::UnsyncBoxBody;
use tower_http::catch_panic::CatchPanicLayer;

use crate::body::{Body, BoxError};
use crate::error;
use crate::layers::access_log::AccessLogLayer;
use crate::layers::body_rate::MinRate;
use crate::layers::cut::CutLayer;
use crate::layers::error_format::ErrorFormatLayer;
use crate::layers::faults::FaultLayer;
use crate::layers::host::HostLayer;
use crate::layers::metrics::MetricsLayer;
use crate::layers::request_id::RequestIdLayer;
use crate::layers::timeout::RequestTimeoutLayer;
use crate::routes::Router;
use crate::state::AppState;

/// The body of the answers below the error format: the panic layer boxes bodies.
pub type StackBody = UnsyncBoxBody<Bytes, BoxError>;

/// The body of every answer the stack gives: the stack's own, or an error
/// message the error format rewrote (`layers/error_format.rs`).
pub type ResponseBody = Either<StackBody, Full<Bytes>>;

/// The whole application as a tower `Service`: what a connection serves.
pub trait HttpService:
    Service<
        Request<Body>,
        Response = Response<ResponseBody>,
        Error = BoxError,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> HttpService for S where
    S: Service<
            Request<Body>,
            Response = Response<ResponseBody>,
            Error = BoxError,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Builds the application around `state`. The server builds it once; tests
/// call it and `oneshot` it.
pub fn app(state: AppState) -> impl HttpService {
    let config = &state.config;
    let rate = MinRate {
        bytes_per_sec: config.body_min_rate.bytes(),
        window: config.body_rate_window,
    };
    let (for_errors, for_panics) = (state.http.clone(), state.http.clone());
    ServiceBuilder::new()
        .layer(RequestIdLayer::new())
        .layer(ErrorFormatLayer)
        .layer(AccessLogLayer::new(state.access_log))
        .layer(MetricsLayer::new(state.clone()))
        .layer(CatchPanicLayer::custom(move |panic| {
            error::panicked(&for_panics, panic)
        }))
        .map_result(move |result| error::respond(&for_errors, result))
        .layer(CutLayer::new(state.shutdown.cut.clone()))
        .layer(LoadShedLayer::new())
        .layer(GlobalConcurrencyLimitLayer::with_semaphore(
            state.admission.clone(),
        ))
        .layer(RequestTimeoutLayer::new(config.request_timeout, rate))
        .layer(HostLayer)
        .layer(FaultLayer::new(state.faults.clone()))
        .service(Router::new(state.clone()))
}
