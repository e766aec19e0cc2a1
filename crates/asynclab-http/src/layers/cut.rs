//! `CutLayer`: a request still unanswered when the shutdown's grace period
//! ends gets a 503, not a connection closed without a word.
//!
//! At the shutdown's `cut` phase the server stops waiting for what is still
//! running. Dropping the connection would leave its client with an empty
//! reply (curl: error 52) and no idea whether to retry; a 503 with
//! `Retry-After` and `Connection: close` says what happened and that another
//! try (on another replica) may succeed. A response already on its way (a
//! streamed body) cannot be taken back: its connection is closed.
//!
//! Why our own layer: it answers from a signal of this server's shutdown,
//! which no tower layer knows. The watch on the phase is made only if the
//! handler does not answer at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use asynclab_core::stop::{StopFlag, Watch};
use http::{Request, Response};
use tower::{Layer, Service};

use crate::body::Body;
use crate::error::HttpError;

/// Answers 503 for requests still waiting when `cut` is set.
#[derive(Debug, Clone)]
pub struct CutLayer {
    cut: StopFlag,
}

impl CutLayer {
    pub fn new(cut: StopFlag) -> Self {
        Self { cut }
    }
}

impl<S> Layer<S> for CutLayer {
    type Service = Cut<S>;

    fn layer(&self, inner: S) -> Cut<S> {
        Cut {
            inner,
            cut: self.cut.clone(),
        }
    }
}

/// The service made by [`CutLayer`].
#[derive(Debug, Clone)]
pub struct Cut<S> {
    inner: S,
    cut: StopFlag,
}

impl<S, ReqBody> Service<Request<ReqBody>> for Cut<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        ResponseFuture {
            inner: self.inner.call(req),
            cut: self.cut.clone(),
            watch: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// The handler's answer, or a 503 once the shutdown cuts.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        cut: StopFlag,
        watch: Option<Watch>,
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
        let watch = this.watch.get_or_insert_with(|| this.cut.watch());
        ready!(Pin::new(watch).poll(cx));
        // Dropping the handler's future cancels whatever it awaited.
        Poll::Ready(Ok(HttpError::ShuttingDown.into_response()))
    }
}
