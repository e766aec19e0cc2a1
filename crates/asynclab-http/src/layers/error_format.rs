//! `ErrorFormatLayer`: every error answer in one format, whoever made it.
//!
//! An error answer (status 400 or more) is made in several places: `error.rs`
//! for the server's own failures, the file server and the demo crate for
//! theirs, tower-http's panic layer for a panic. Each writes a short line of
//! plain text. This layer, near the top of the stack, is where the format is
//! decided once: by default, that line and a newline (`not found\n`); for a
//! client whose `Accept` prefers `application/json`, a JSON object
//! (`{"status":404,"error":"not found"}`). Headers the status calls for
//! (`Allow`, `Retry-After`) stay as they are.
//!
//! Only small, complete, plain-text bodies of error answers are rewritten
//! (at most [`MAX_MESSAGE`] bytes, all in memory), into a new body held in
//! memory (the right side of [`ResponseBody`]): successes pass untouched (the
//! left side), with no work beyond one comparison, and so do streamed or large bodies and
//! error answers that are already JSON (`/timeout`'s 504).
//!
//! Why our own layer: tower-http has no layer that rewrites error bodies per
//! `Accept`; axum leaves that to each handler's error type, which would put the
//! format back in three crates.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::response::Parts;
use http::{Request, Response};
use http_body::Body as _;
use http_body_util::{Either, Full};
use tower::{Layer, Service};

use crate::accept;
use crate::body::BoxError;
use crate::stack::{ResponseBody, StackBody};

/// The longest error message rewritten; a longer body passes as it is.
pub const MAX_MESSAGE: u64 = 4096;

const JSON: &str = "application/json";
const TEXT: &str = "text/plain";

/// Formats error answers per `Accept` (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorFormatLayer;

impl<S> Layer<S> for ErrorFormatLayer {
    type Service = ErrorFormat<S>;

    fn layer(&self, inner: S) -> ErrorFormat<S> {
        ErrorFormat { inner }
    }
}

/// The service made by [`ErrorFormatLayer`].
#[derive(Debug, Clone)]
pub struct ErrorFormat<S> {
    inner: S,
}

impl<S, ReqBody> Service<Request<ReqBody>> for ErrorFormat<S>
where
    S: Service<Request<ReqBody>, Response = Response<StackBody>, Error = BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // Decided now: the request is gone by the time the answer comes.
        let json = accept::prefers(req.headers(), JSON, TEXT);
        ResponseFuture {
            inner: self.inner.call(req),
            json,
            reading: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner future; then, for an error answer, its body read and rewritten.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        json: bool,
        // Boxed: only error answers need it, and the future every request
        // carries stays small.
        reading: Option<Box<Reading>>,
    }
}

/// An error answer whose message is being read (it is in memory: one poll).
struct Reading {
    parts: Parts,
    body: StackBody,
    message: BytesMut,
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<StackBody>, BoxError>>,
{
    type Output = Result<Response<ResponseBody>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if this.reading.is_none() {
            let res = ready!(this.inner.as_mut().poll(cx))?;
            if !rewritable(&res) {
                return Poll::Ready(Ok(res.map(Either::Left)));
            }
            let (parts, body) = res.into_parts();
            *this.reading = Some(Box::new(Reading {
                parts,
                body,
                message: BytesMut::new(),
            }));
        }
        let reading = this.reading.as_mut().expect("set above");
        // Bounded: `rewritable` saw an exact size of at most MAX_MESSAGE.
        while let Some(frame) = ready!(Pin::new(&mut reading.body).poll_frame(cx)) {
            if let Ok(data) = frame?.into_data() {
                reading.message.extend_from_slice(&data);
            }
        }
        let Reading { parts, message, .. } = *this.reading.take().expect("set above");
        Poll::Ready(Ok(rewrite(parts, &message, *this.json)))
    }
}

/// An error answer with a short plain-text body held in memory.
fn rewritable(res: &Response<StackBody>) -> bool {
    let status = res.status();
    (status.is_client_error() || status.is_server_error())
        && res
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(TEXT.as_bytes()))
        && res
            .body()
            .size_hint()
            .exact()
            .is_some_and(|n| n <= MAX_MESSAGE)
}

/// The message (trailing whitespace trimmed) as one line of text, or as JSON.
fn rewrite(mut parts: Parts, message: &[u8], json: bool) -> Response<ResponseBody> {
    let message = String::from_utf8_lossy(message);
    let message = message.trim_end();
    let (content_type, body) = match json {
        true => {
            // Written by hand so that `status` comes first, as people read it.
            let message = serde_json::to_string(message).expect("a string always serializes");
            let status = parts.status.as_u16();
            let out = format!("{{\"status\":{status},\"error\":{message}}}\n");
            (JSON, Bytes::from(out))
        }
        false => (TEXT, Bytes::from(format!("{message}\n"))),
    };
    parts.headers.remove(CONTENT_LENGTH);
    let content_type = match content_type {
        JSON => HeaderValue::from_static(JSON),
        _ => HeaderValue::from_static("text/plain; charset=utf-8"),
    };
    parts.headers.insert(CONTENT_TYPE, content_type);
    Response::from_parts(parts, Either::Right(Full::new(body)))
}
