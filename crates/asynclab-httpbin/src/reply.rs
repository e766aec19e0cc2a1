//! The response body type of every httpbin route and the ways they answer: JSON
//! (httpbin's pretty, sorted-key documents), fixed bytes, and streams.
//!
//! As in the demo crate, the body is boxed (`UnsyncBoxBody`), so a route table can
//! return a fixed document and a paced stream through one signature; its error is
//! `std::io::Error`, which the HTTP crate's own boxed body accepts.

use bytes::Bytes;
use futures_util::Stream;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};

/// The body of every httpbin response.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A body held in memory, sent in one piece.
pub(crate) fn whole(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A body sent piece by piece as `pieces` yields them: memory holds one piece.
pub(crate) fn streamed(pieces: impl Stream<Item = Bytes> + Send + 'static) -> Body {
    use futures_util::StreamExt;
    StreamBody::new(pieces.map(|piece| Ok(Frame::data(piece)))).boxed_unsync()
}

/// `body` with `status` and `content_type`.
pub(crate) fn typed(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// Plain text; `message` should end with a newline so curl prints it cleanly.
pub(crate) fn text(status: StatusCode, message: impl Into<Bytes>) -> Response<Body> {
    typed(status, "text/plain; charset=utf-8", whole(message))
}

/// The JSON text httpbin sends: pretty, keys sorted (serde_json's maps are
/// sorted), newline-terminated.
pub(crate) fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).expect("a serde_json::Value always prints");
    out.push(b'\n');
    out
}

/// A 200 JSON answer.
pub(crate) fn json(value: &serde_json::Value) -> Response<Body> {
    json_with(StatusCode::OK, value)
}

/// A JSON answer with `status`.
pub(crate) fn json_with(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    typed(status, "application/json", whole(json_bytes(value)))
}

/// An empty answer with `status`.
pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut res = Response::new(whole(Bytes::new()));
    *res.status_mut() = status;
    res
}
