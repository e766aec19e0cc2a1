//! The one body type every route answers with, and small constructors for it.
//!
//! Pattern: **an enum for the common cases, a box for the rest.** A fixed text,
//! a JSON document, a request body streamed back and a file streamed from disk
//! are different `http_body::Body` types, and a route table needs one. Boxing
//! each into a trait object would do (`http_body_util`'s `UnsyncBoxBody`), at
//! one allocation per body and a virtual call per frame. Most bodies are one of
//! two kinds, though: bytes already in memory (every answer of `/fast`, the
//! probes, the JSON endpoints) and the request body hyper hands over. [`Body`]
//! keeps those two inline and boxes only the rest, so the hot path allocates
//! nothing for its bodies in either direction. (The tower stack's panic layer
//! boxes what leaves it; see `stack.rs`.)

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

/// Any error a body can fail with (a client that went away, a limit, an I/O error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request and response body of every route. `Send`, not `Sync` (hyper
/// needs no more, and a streaming body such as hyper's `Incoming` is not `Sync`).
#[derive(Debug)]
pub struct Body(Kind);

#[derive(Debug)]
enum Kind {
    /// Bytes already in memory, sent as one frame (or none, when empty).
    Full(Full<Bytes>),
    /// A request body as hyper received it.
    Incoming(Incoming),
    /// Anything else, behind a box.
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

/// Boxes any body whose error converts into [`BoxError`].
pub fn boxed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    Body(Kind::Boxed(body.map_err(Into::into).boxed_unsync()))
}

/// A complete body held in memory.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Body(Kind::Full(Full::new(bytes.into())))
}

/// No body at all.
pub fn empty() -> Body {
    full(Bytes::new())
}

impl From<Incoming> for Body {
    fn from(incoming: Incoming) -> Self {
        Body(Kind::Incoming(incoming))
    }
}

/// Each call goes to the variant's own body; every variant is `Unpin` (the boxed
/// one is pinned inside its box), so no pin projection is needed.
impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Kind::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            Kind::Incoming(incoming) => Pin::new(incoming).poll_frame(cx).map_err(Into::into),
            Kind::Boxed(boxed) => Pin::new(boxed).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Full(full) => full.is_end_stream(),
            Kind::Incoming(incoming) => incoming.is_end_stream(),
            Kind::Boxed(boxed) => boxed.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Full(full) => full.size_hint(),
            Kind::Incoming(incoming) => incoming.size_hint(),
            Kind::Boxed(boxed) => boxed.size_hint(),
        }
    }
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

#[cfg(test)]
mod tests {
    use http_body::Body as _;

    use super::*;

    async fn collect(body: Body) -> (Bytes, usize) {
        let mut frames = 0;
        let mut out = Vec::new();
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.expect("no error");
            if let Ok(data) = frame.into_data() {
                frames += 1;
                out.extend_from_slice(&data);
            }
        }
        (out.into(), frames)
    }

    #[tokio::test]
    async fn full_and_boxed_bodies_carry_their_bytes_and_sizes() {
        let body = full("hello\n");
        assert_eq!(body.size_hint().exact(), Some(6));
        assert!(!body.is_end_stream());
        assert_eq!(collect(body).await, (Bytes::from("hello\n"), 1));

        let none = empty();
        assert!(none.is_end_stream(), "an empty body sends no frame");
        assert_eq!(none.size_hint().exact(), Some(0));
        assert_eq!(collect(none).await, (Bytes::new(), 0));

        let body = boxed(Full::new(Bytes::from_static(b"boxed")));
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(collect(body).await, (Bytes::from("boxed"), 1));
    }
}
