//! Why a demo request failed, and the one place where that becomes a response.
//!
//! Every variant is a client-facing condition (a bad query value, a switched-off
//! route, a full subscriber list), so nothing here is logged as a server fault.

use std::time::Duration;

use asynclab_core::query::QueryError;
use http::header::{ALLOW, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};

use crate::reply::{Body, text};

/// A demo request that cannot be served as asked. Each variant is one status code.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// 400: an unknown parameter, or a value missing its unit, malformed, or over its cap.
    #[error(transparent)]
    BadQuery(#[from] QueryError),
    /// 403: `GET /block` while `http.demo.allow_blocking` is false.
    #[error(
        "GET /block is off: it blocks a runtime worker thread with std::thread::sleep, \
         which stalls every other request and connection that worker is serving. \
         It exists to show that mistake; turn it on for a demo with \
         `asynclab serve --set http.demo.allow_blocking=true` \
         (or ASYNCLAB_HTTP__DEMO__ALLOW_BLOCKING=true)."
    )]
    BlockingDisabled,
    /// 503 + `Retry-After`: `http.demo.max_subscribers` streams are already open.
    #[error(
        "too many /events subscribers: {max} streams are open (http.demo.max_subscribers); try again later"
    )]
    TooManySubscribers { max: usize },
    /// 405 + `Allow`: a demo path with a method it does not take.
    #[error("method not allowed (allowed: {allow})")]
    MethodNotAllowed { allow: &'static str },
}

impl DemoError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadQuery(_) => StatusCode::BAD_REQUEST,
            Self::BlockingDisabled => StatusCode::FORBIDDEN,
            Self::TooManySubscribers { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The plain-text answer, with the headers its status calls for.
    pub fn into_response(self) -> Response<Body> {
        let mut res = text(self.status(), format!("{self}\n"));
        let headers = res.headers_mut();
        match &self {
            Self::MethodNotAllowed { allow } => {
                headers.insert(ALLOW, HeaderValue::from_static(allow));
            }
            Self::TooManySubscribers { .. } => {
                // A stream slot frees only when someone disconnects; a few seconds is
                // a polite guess, and never 0 (that invites a retry storm).
                headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_SUBSCRIBE.as_secs()));
            }
            _ => {}
        }
        res
    }
}

/// What a client turned away from `/events` is told to wait.
const RETRY_SUBSCRIBE: Duration = Duration::from_secs(5);
