//! The response body type of every demo route and the few ways a demo answers:
//! JSON for results, plain text for errors, and a streamed body for `/events`.
//!
//! The body is boxed so a route table can return fixed JSON and an endless event
//! stream through the same signature. It is `UnsyncBoxBody` (Send, not Sync):
//! hyper needs no more, and the event stream holds futures that are not `Sync`.
//! Its error is `std::io::Error`, which the HTTP crate's own boxed body accepts.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

/// The body of every demo response.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A body held in memory, sent in one piece.
fn whole(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// Plain text; `message` should end with a newline so curl prints it cleanly.
pub(crate) fn text(status: StatusCode, message: String) -> Response<Body> {
    with_type(status, "text/plain; charset=utf-8", whole(message))
}

/// Pretty JSON (people read these in a terminal), newline-terminated.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut out = serde_json::to_string_pretty(value).expect("a serde_json::Value always prints");
    out.push('\n');
    with_type(status, "application/json", whole(out))
}

/// A streamed body with the given content type (the event stream).
pub(crate) fn stream(content_type: &'static str, body: Body) -> Response<Body> {
    with_type(StatusCode::OK, content_type, body)
}

/// Milliseconds with one decimal: precise enough to see scheduling, short to read.
pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}
