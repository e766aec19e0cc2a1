//! Errors: the one place where a failed request becomes a response.
//!
//! Handlers and our own layers return `Result<Response, HttpError>` and use `?`;
//! [`HttpError::into_response`] turns the error into the answer. The errors of
//! the kept tower layers (the load shedder's "overloaded") and panics come here
//! too ([`respond`], [`panicked`]). So every status code, body text and
//! `Retry-After` header for a failure is decided in this file (its format, text
//! or JSON per `Accept`, in `layers/error_format.rs`), and only server
//! faults (a panic, a bug) are logged as errors: a client asking for a missing
//! page is not the server's problem.

use std::any::Any;
use std::time::Duration;

use asynclab_core::query::QueryError;
use http::header::{
    ALLOW, CONNECTION, HeaderValue, RETRY_AFTER, SEC_WEBSOCKET_VERSION, UPGRADE, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use tower::load_shed::error::Overloaded;

use crate::body::{Body, BoxError, text};
use crate::counters::HttpMetrics;
use crate::layers::faults::Aborted;

/// The server could not be built (bad settings that config validation cannot see).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("files.root from {origin}")]
    Files {
        origin: String,
        source: asynclab_files::FilesError,
    },
}

/// Why a request failed. Each variant is one status code.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// 404: no route has this path.
    #[error("not found")]
    NotFound,
    /// 405: the path exists, the method does not; `allow` lists the ones that do.
    #[error("method not allowed (allowed: {allow})")]
    MethodNotAllowed { allow: String },
    /// 400: the request is malformed (no `Host` header...).
    #[error("{0}")]
    BadRequest(String),
    /// 400: a query parameter the route does not take, or a bad value.
    #[error(transparent)]
    BadQuery(#[from] QueryError),
    /// 426 + `Upgrade: websocket`, `Sec-WebSocket-Version: 13`: a WebSocket
    /// endpoint asked for without the upgrade, or for a version not spoken.
    #[error("{0}")]
    UpgradeRequired(&'static str),
    /// 401: the control API wants `Authorization: Bearer <token>`.
    #[error("the control API needs Authorization: Bearer <control.token>")]
    Unauthorized,
    /// 403: the control API was given a wrong token.
    #[error("wrong token for the control API")]
    Forbidden,
    /// 413: the body is larger than `http.max_body`.
    #[error("request body larger than http.max_body ({limit} bytes)")]
    PayloadTooLarge { limit: u64 },
    /// 503 + `Retry-After`: the server is at a limit right now; the same request
    /// can succeed later (in-flight limit, `/limited` queue full or too slow).
    #[error("server busy: {reason}")]
    Busy {
        reason: &'static str,
        retry_after: Duration,
    },
    /// 503: the handler did not answer within `http.request_timeout`.
    ///
    /// Why 503 and not 408 or 504: 408 tells a client *it* was too slow sending its
    /// request, and 504 is what a gateway says about an upstream server. Here the
    /// request arrived in full and this server failed to answer in time, a
    /// temporary condition of the server: that is 503, and a retry may succeed.
    #[error(
        "the server gave up on this request after http.request_timeout ({}); try again later",
        humantime::format_duration(*.0)
    )]
    Timeout(Duration),
    /// 408: the request body arrived slower than `http.body_min_rate` (see
    /// `layers/body_rate.rs`). This one is the client's: its request never
    /// arrived whole.
    #[error("the request body arrived too slowly (http.body_min_rate)")]
    BodyTooSlow,
    /// 503: the shutdown's grace period ended before the answer was ready.
    #[error("the server is shutting down and gave up on this request; try again")]
    ShuttingDown,
    /// 500: the handler panicked; only this request fails.
    #[error("internal server error (the handler panicked)")]
    Panic,
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest(_) | Self::BadQuery(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            Self::Busy { .. } | Self::Timeout(_) | Self::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BodyTooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Panic => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response the client gets: the status, the message as a line of text,
    /// and the headers the status calls for.
    pub fn into_response(self) -> Response<Body> {
        let mut res = text(self.status(), format!("{self}\n"));
        let headers = res.headers_mut();
        match &self {
            Self::MethodNotAllowed { allow } => {
                let allow =
                    HeaderValue::from_str(allow).expect("method names are valid header values");
                headers.insert(ALLOW, allow);
            }
            Self::Busy { retry_after, .. } => {
                // Retry-After is in whole seconds; never say 0 (that invites a storm).
                let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                headers.insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            // RFC 6750: a 401 names the scheme it wants.
            Self::Unauthorized => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"asynclab control\""),
                );
            }
            Self::Timeout(_) => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // The connection is about to close; another replica may answer.
            Self::ShuttingDown => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            // RFC 9110 §15.5.22: a 426 names the protocol to upgrade to; RFC 6455
            // §4.4: the versions the server speaks.
            Self::UpgradeRequired(_) => {
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            // The rest of the body may still come; the connection cannot be reused.
            Self::BodyTooSlow => {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        res
    }
}

impl HttpError {
    /// A request body that could not be read: too slow (408), or broken (400).
    pub fn from_body(error: BoxError) -> Self {
        match error.downcast_ref::<std::io::Error>() {
            Some(e) if e.kind() == std::io::ErrorKind::TimedOut => Self::BodyTooSlow,
            _ => Self::BadRequest(format!("reading the request body failed: {error}")),
        }
    }
}

/// The answer for an error of a tower layer (`ServiceBuilder::map_result` in
/// `stack.rs`): the load shedder's "overloaded" is a 503 at once, counted. And
/// the one error made here: an answer the fault layer marked [`Aborted`]
/// becomes that error, which hyper answers by closing the connection.
pub fn respond(
    metrics: &HttpMetrics,
    result: Result<Response<Body>, BoxError>,
) -> Result<Response<Body>, BoxError> {
    let error = match result {
        // An answer the fault layer marked: the connection closes unanswered.
        Ok(res) if res.extensions().get::<Aborted>().is_some() => return Err(Box::new(Aborted)),
        Ok(res) => return Ok(res),
        Err(error) => error,
    };
    if error.is::<Overloaded>() {
        metrics.shed.inc();
        return Ok(HttpError::Busy {
            reason: "too many requests in flight (http.max_in_flight)",
            retry_after: Duration::from_secs(1),
        }
        .into_response());
    }
    match error.downcast::<HttpError>() {
        Ok(error) => Ok(error.into_response()),
        Err(error) => {
            tracing::error!(%error, "a layer of the HTTP stack failed; answered 500");
            Ok(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error\n",
            ))
        }
    }
}

/// A handler panicked (tower-http's `CatchPanicLayer` caught it): counted,
/// logged, and the request gets a 500. The connection and the server go on.
pub fn panicked(metrics: &HttpMetrics, panic: Box<dyn Any + Send>) -> Response<Body> {
    metrics.panics.inc();
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = message, "handler panicked; answered 500");
    HttpError::Panic.into_response()
}
