//! `RequestTimeoutLayer`: how long the server may take to answer, and how fast
//! a request body must arrive.
//!
//! `http.request_timeout` is the time this server has to answer a request that
//! has arrived: its 503 says the server was too slow. An upload is not slow
//! server work, though: a client on a slow link may need minutes to send
//! 100 MiB. So the clock counts from the request's last progress (its arrival,
//! then each frame of its body), and the body itself must keep a minimum rate
//! (`body_rate.rs`: 408 below it). Together: a body that keeps arriving is
//! waited for, a body that trickles or stops is refused, and once it has
//! arrived the handler has `request_timeout` to answer.
//!
//! Why our own layer: tower's `TimeoutLayer` and tower-http's count from the
//! call, so every upload longer than the timeout would fail, and tower-http's
//! `RequestBodyTimeoutLayer` times the gap between frames, which a body sent a
//! byte at a time never exceeds.
//!
//! The timer is made only if the handler does not answer at once: most
//! requests never need one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::{Request, Response};
use http_body::Body as _;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use super::body_rate::{MinRate, MinRateBody, Progress};
use crate::body::{self, Body};
use crate::error::HttpError;

/// Times requests out with 503, and holds their bodies to a minimum rate.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeoutLayer {
    timeout: Duration,
    rate: MinRate,
}

impl RequestTimeoutLayer {
    pub fn new(timeout: Duration, rate: MinRate) -> Self {
        Self { timeout, rate }
    }
}

impl<S> Layer<S> for RequestTimeoutLayer {
    type Service = RequestTimeout<S>;

    fn layer(&self, inner: S) -> RequestTimeout<S> {
        RequestTimeout {
            inner,
            layer: *self,
        }
    }
}

/// The service made by [`RequestTimeoutLayer`].
#[derive(Debug, Clone)]
pub struct RequestTimeout<S> {
    inner: S,
    layer: RequestTimeoutLayer,
}

impl<S> Service<Request<Body>> for RequestTimeout<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // A body still to come is wrapped to keep the rate and note its progress.
        let (req, progress) = match req.body().is_end_stream() {
            true => (req, None),
            false => {
                let progress = Arc::new(Progress::new(Instant::now()));
                let rate = self.layer.rate;
                let req = req.map(|b| body::boxed(MinRateBody::new(b, rate, progress.clone())));
                (req, Some(progress))
            }
        };
        ResponseFuture {
            inner: self.inner.call(req),
            arrived: None,
            progress,
            timeout: self.layer.timeout,
            timer: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// The handler's answer, or a 503 once `request_timeout` has passed since
    /// the request's last progress.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // When the request was first found waiting: the clock is read only for
        // a request not answered at once (the next lines of `poll`).
        arrived: Option<Instant>,
        progress: Option<Arc<Progress>>,
        timeout: Duration,
        timer: Option<Pin<Box<Sleep>>>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result);
        }
        let arrived = *this.arrived.get_or_insert_with(Instant::now);
        let timeout = *this.timeout;
        let deadline = || this.progress.as_ref().map_or(arrived, |p| p.last()) + timeout;
        loop {
            let at = deadline();
            let timer = this
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
            if timer.deadline() != at {
                timer.as_mut().reset(at);
            }
            ready!(timer.as_mut().poll(cx));
            // The body may have moved on while the timer slept: look again.
            if deadline() <= Instant::now() {
                // Dropping the handler's future cancels whatever it awaited.
                return Poll::Ready(Ok(HttpError::Timeout(timeout).into_response()));
            }
        }
    }
}
