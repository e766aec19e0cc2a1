//! Why an httpbin request failed, and the one place where that becomes a response.
//!
//! Every variant is a client-facing condition (a bad parameter, a cap, a refused
//! redirect, a body too large or too slow), so nothing here is logged as a fault.

use asynclab_core::query::QueryError;
use http::header::{ALLOW, CONNECTION, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};

use crate::reply::{Body, text};

/// An httpbin request that cannot be served as asked. Each variant is one status.
#[derive(Debug, thiserror::Error)]
pub enum HttpbinError {
    /// 400: a bad path or query value, or one over its `[http.httpbin]` cap.
    #[error(transparent)]
    BadQuery(#[from] QueryError),
    /// 400: the request body could not be read or parsed.
    #[error("{0}")]
    BadBody(String),
    /// 403: `/redirect-to` to a host nobody allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 405 + `Allow`: an httpbin path with a method it does not take.
    #[error("method not allowed (allowed: {allow})")]
    MethodNotAllowed { allow: &'static str },
    /// 408: the body arrived slower than `http.body_min_rate`.
    #[error("the request body arrived too slowly (http.body_min_rate)")]
    BodyTooSlow,
    /// 413: the body is larger than `http.max_body`.
    #[error("request body larger than http.max_body ({limit} bytes)")]
    PayloadTooLarge { limit: u64 },
    /// 503: every buffer for bodies parsed whole is in use.
    #[error(
        "every buffer for request bodies parsed whole is in use \
         (http.httpbin.max_buffered_bodies); try again later"
    )]
    Busy,
}

impl HttpbinError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadQuery(_) | Self::BadBody(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BodyTooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The plain-text answer, with the headers its status calls for.
    pub fn into_response(self) -> Response<Body> {
        let mut res = text(self.status(), format!("{self}\n"));
        let headers = res.headers_mut();
        match &self {
            Self::MethodNotAllowed { allow } => {
                let allow = match *allow {
                    crate::ANY => "GET, HEAD, POST, PUT, PATCH, DELETE",
                    allow => allow,
                };
                headers.insert(ALLOW, HeaderValue::from_static(allow));
            }
            Self::Busy => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
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

/// A 400 naming `key`: `bad value for `key`: reason`.
pub(crate) fn bad(key: &str, reason: impl std::fmt::Display) -> HttpbinError {
    HttpbinError::BadQuery(asynclab_core::query::bad(key, reason))
}
