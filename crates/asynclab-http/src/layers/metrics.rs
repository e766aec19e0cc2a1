//! `MetricsLayer`: what `/metrics`, `/stats` and the live feed know about requests.
//!
//! For every answer: the request counter by route template, method and status,
//! the route's latency histogram (until the response head), the route's total
//! for `/stats`, and a `request` event on the live feed behind `GET /events`.
//! While a request is being answered it holds a place in the in-flight gauge,
//! which is also what the shutdown's drain counts.
//!
//! It sits near the top of the stack, outside the panic, shedding and timeout
//! layers, so that their answers (500, 503) are counted like any other.
//!
//! Why our own layer: no tower or tower-http layer keeps Prometheus metrics,
//! and these are labelled by the route template, which only we know.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use asynclab_core::Event;
use http::{Request, Response, StatusCode};
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::counters::method_label;
use crate::routes::{self, ROUTES};
use crate::state::AppState;

/// Counts and times every request (see the module doc).
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    state: AppState,
}

impl MetricsLayer {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Metrics<S> {
        Metrics {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service made by [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct Metrics<S> {
    inner: S,
    state: AppState,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Metrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (index, route) = routes::lookup(req.method(), req.uri().path());
        let counted = Counted {
            index,
            route,
            method: method_label(req.method()),
            started: Instant::now(),
            in_flight: InFlight::enter(&self.state),
        };
        ResponseFuture {
            inner: self.inner.call(req),
            counted: Some(counted),
        }
    }
}

/// A request being counted: what its answer is filed under.
#[derive(Debug)]
struct Counted {
    /// Into the per-route counters (`ROUTES.len()`: no route served it).
    index: usize,
    route: &'static str,
    method: &'static str,
    started: Instant,
    in_flight: InFlight,
}

impl Counted {
    fn finish(self, status: StatusCode) {
        let state = &self.in_flight.0;
        let latency = self.started.elapsed();
        state.http.answered(
            self.index,
            self.route,
            self.method,
            status,
            latency.as_secs_f64(),
        );
        // The event is built only when someone is subscribed to the live feed.
        state.metrics.events().publish_with(|| Event::Request {
            method: self.method.to_string(),
            route: self.route.to_string(),
            status: status.as_u16(),
            latency_ms: (latency.as_secs_f64() * 1e6).round() / 1e3,
        });
        debug_assert!(self.index <= ROUTES.len());
        drop(self.in_flight);
    }
}

pin_project_lite::pin_project! {
    /// The inner future; counts its answer.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        counted: Option<Counted>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let (Ok(res), Some(counted)) = (&result, this.counted.take()) {
            counted.finish(res.status());
        }
        Poll::Ready(result)
    }
}

/// One request in the in-flight gauge, until dropped (answered, or cancelled
/// because the client went away). It holds the state, so that a counted
/// request takes one reference to it, not two: each is a shared count that
/// every worker thread writes (`docs/performance.md`).
#[derive(Debug)]
pub struct InFlight(AppState);

impl InFlight {
    pub fn enter(state: &AppState) -> Self {
        state.http.enter();
        Self(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.http.in_flight.dec();
    }
}
