//! The one body type every route answers with, and small constructors for it.
//!
//! Pattern: **type erasure at the edge**. A fixed text, a JSON document, a request
//! body streamed back and (later) a file streamed from disk are different `Body`
//! types; boxing them into one [`Body`] lets a route table hold every handler as the
//! same function type. The cost is one allocation per response, which the `/fast`
//! benchmark shows is noise next to the syscalls.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};

/// Any error a body can fail with (a client that went away, a limit, an I/O error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request and response body of every route: boxed, `Send`, not `Sync`
/// (hyper needs no more, and a streaming body such as hyper's `Incoming` is not `Sync`).
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Boxes any body whose error converts into [`BoxError`].
pub fn boxed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// A complete body held in memory.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    boxed(Full::new(bytes.into()))
}

/// No body at all.
pub fn empty() -> Body {
    boxed(Empty::new())
}

const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A plain-text response. `text` should end with a newline (curl prints it nicely).
pub fn text(status: StatusCode, text: impl Into<Bytes>) -> Response<Body> {
    let mut res = Response::new(full(text));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, TEXT);
    res
}

/// A JSON response, pretty-printed (people read these with curl) and newline-terminated.
pub fn json(value: &serde_json::Value) -> Response<Body> {
    let mut bytes =
        serde_json::to_vec_pretty(value).expect("a serde_json::Value always serializes");
    bytes.push(b'\n');
    let mut res = Response::new(full(bytes));
    res.headers_mut().insert(CONTENT_TYPE, JSON);
    res
}
