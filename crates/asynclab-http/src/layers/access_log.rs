//! `AccessLogLayer`: a span around each request, and one log line per answer.
//!
//! The span (`request`, with the method, the route template, the request id
//! and the client's address) is entered while the request's future is polled,
//! so anything a handler logs carries those fields. The line is written when
//! the answer is ready: at info for server errors (5xx) and, with
//! `log.access = true`, for everything; at debug otherwise. A client error
//! (4xx) is the client's news, not the server's, so it stays at debug, where
//! its line also names the path asked for (bounded, control characters
//! escaped) — the route of a 404 is only `unmatched`.
//!
//! Why our own layer: tower-http's `TraceLayer` writes its response line from
//! a callback that sees the response but not the request, so the method,
//! route and path would reach the line only through an enabled span; this
//! layer keeps them by value, and a disabled span costs one branch.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::header::HeaderValue;
use http::{Request, Response, Uri};
use tokio::time::Instant;
use tower::{Layer, Service};
use tracing::{Level, Span};

use super::request_id::X_REQUEST_ID;
use crate::conn::{ClientAddr, TlsInfo};
use crate::counters::method_label;
use crate::routes;

/// The longest path written to a log line; longer ones are cut.
const MAX_LOGGED_PATH: usize = 256;

/// Logs each request (see the module doc). `all`: `log.access`.
#[derive(Debug, Clone, Copy)]
pub struct AccessLogLayer {
    all: bool,
}

impl AccessLogLayer {
    pub fn new(all: bool) -> Self {
        Self { all }
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> AccessLog<S> {
        AccessLog {
            inner,
            all: self.all,
        }
    }
}

/// The service made by [`AccessLogLayer`].
#[derive(Debug, Clone)]
pub struct AccessLog<S> {
    inner: S,
    all: bool,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AccessLog<S>
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
        let request = Logged {
            method: method_label(req.method()),
            route: routes::template(req.uri().path()),
            request_id: req.headers().get(X_REQUEST_ID).cloned(),
            // Kept only when a line that shows it can be written.
            uri: (self.all || tracing::enabled!(Level::DEBUG)).then(|| Box::new(req.uri().clone())),
            all: self.all,
        };
        let peer = req.extensions().get::<ClientAddr>().map(|c| c.0);
        // Under mutual TLS, who the client certificate says the client is.
        let client_cert = req
            .extensions()
            .get::<TlsInfo>()
            .and_then(|t| t.client_subject.clone());
        let client_cert = client_cert.as_deref();
        let (method, route) = (request.method, request.route);
        // `tracing`'s macros need the level at compile time, hence two spans.
        // Their fields are worked out only for a span that is enabled.
        let span = match self.all {
            true => {
                tracing::info_span!("request", method, route, request_id = request.id(), peer = ?peer, client_cert)
            }
            false => {
                tracing::debug_span!("request", method, route, request_id = request.id(), peer = ?peer, client_cert)
            }
        };
        let inner = span.in_scope(|| self.inner.call(req));
        ResponseFuture {
            inner,
            span,
            started: Instant::now(),
            request,
        }
    }
}

/// What the log line says about the request, taken when it arrived.
#[derive(Debug)]
struct Logged {
    method: &'static str,
    route: &'static str,
    request_id: Option<HeaderValue>,
    // Boxed: a `Uri` is large, and this struct is moved with the request's
    // future through the layers above, for every request, kept or not.
    uri: Option<Box<Uri>>,
    all: bool,
}

impl Logged {
    fn id(&self) -> &str {
        self.request_id
            .as_ref()
            .and_then(|id| id.to_str().ok())
            .unwrap_or("")
    }

    /// The path for the log: at most [`MAX_LOGGED_PATH`] characters (then `…`),
    /// with what a terminal would not show as it is escaped (`\u{202e}`, a
    /// right-to-left override that could disguise the line). Quotes and
    /// backslashes stay readable: the JSON format escapes them itself.
    fn path(&self) -> String {
        let Some(uri) = &self.uri else {
            return String::new();
        };
        let path = uri.path();
        let mut out = String::with_capacity(path.len().min(MAX_LOGGED_PATH) + 4);
        for c in path.chars().take(MAX_LOGGED_PATH) {
            match c {
                '"' | '\\' | '\'' => out.push(c),
                c => out.extend(c.escape_debug()),
            }
        }
        if path.chars().nth(MAX_LOGGED_PATH).is_some() {
            out.push('…');
        }
        out
    }

    fn log(&self, status: u16, started: Instant) {
        let (method, route, request_id) = (self.method, self.route, self.id());
        // The fields are worked out only for a line that is written: a line
        // filtered out costs no clock read.
        macro_rules! line {
            ($level:expr, $($path:tt)*) => {
                tracing::event!($level, method, route, status, latency_ms = latency_ms(started), request_id, $($path)* "request")
            };
        }
        if self.all {
            line!(Level::INFO, path = self.path(),);
        } else if status >= 500 {
            line!(Level::INFO,);
        } else if status >= 400 {
            line!(Level::DEBUG, path = self.path(),);
        } else {
            line!(Level::DEBUG,);
        }
    }
}

/// Milliseconds since `started`, to the microsecond.
fn latency_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

pin_project_lite::pin_project! {
    /// The inner future, polled inside the request's span; logs its answer.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        started: Instant,
        request: Logged,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        if let Ok(res) = &result {
            this.request.log(res.status().as_u16(), *this.started);
        }
        Poll::Ready(result)
    }
}
