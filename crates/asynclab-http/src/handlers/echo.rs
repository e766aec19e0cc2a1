//! `POST /echo`: a request body **streamed** straight back, with bounded memory;
//! and on `GET` or `POST`, fortio's parameters to make the reply misbehave on
//! purpose (`?status=503:5&delay=150ms:10&size=1024&close=5&header=X:y&gzip=true`,
//! parsed in `echo_plan.rs`).

use std::time::Duration;

use futures_util::{StreamExt, stream};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, EXPECT, HeaderValue};
use http::{HeaderMap, Method, Request, Response};
use http_body_util::{BodyExt, BodyStream, Limited, StreamBody};

use super::echo_plan::{Choice, Plan};
use crate::body::{self, Body};
use crate::error::HttpError;
use crate::state::AppState;

type Result<T = Response<Body>> = std::result::Result<T, HttpError>;

/// `GET`/`POST /echo`: the plan of the query's fortio parameters is read (400 for
/// a bad one) and rolled for this reply; the reply waits its delay (a parked
/// future, dropped if the client leaves), then carries the echoed body (or a
/// generated one of the chosen `size`, gzipped on `gzip=true`), the chosen status,
/// the `header=` headers and, on `close`, `Connection: close`.
pub async fn echo(state: AppState, req: Request<Body>) -> Result {
    let plan = Plan::parse(req.uri().query(), &state.config)?;
    let choice = plan.choose(&mut fastrand::Rng::new());
    let limit = state.config.max_body.bytes();
    if declared_length(req.headers()).is_some_and(|len| len > limit) {
        return Err(HttpError::PayloadTooLarge { limit });
    }
    if let Some(delay) = choice.delay {
        tokio::time::sleep(delay).await;
    }
    let posted = req.method() == Method::POST;
    let mut res = match (choice.size, plan.gzip, posted) {
        (Some(size), gzip, _) => Response::new(body::full(encoded(generated(size), gzip))),
        (None, false, true) => stream_back(state, req).await?,
        (None, true, true) => {
            let content_type = req.headers().get(CONTENT_TYPE).cloned();
            let whole = collect_buffered(&state, req.into_body(), limit).await?;
            let mut res = Response::new(body::full(encoded(whole, true)));
            if let Some(ct) = content_type {
                res.headers_mut().insert(CONTENT_TYPE, ct);
            }
            res
        }
        (None, gzip, false) => Response::new(body::full(encoded(Vec::new(), gzip))),
    };
    apply(&plan, &choice, &mut res);
    Ok(res)
}

/// The chosen status and headers on `res`.
fn apply(plan: &Plan, choice: &Choice, res: &mut Response<Body>) {
    *res.status_mut() = choice.status;
    let headers = res.headers_mut();
    plan.headers(choice, headers);
    if plan.gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
}

/// `size` bytes of `abc...z` repeated: a body of a chosen size, cheap to make.
fn generated(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// `bytes`, gzipped when asked (flate2, through the httpbin crate's helper).
fn encoded(bytes: Vec<u8>, gzip: bool) -> Vec<u8> {
    match gzip {
        true => asynclab_httpbin::gzip(&bytes),
        false => bytes,
    }
}

/// The `Content-Length` a request declares, if any.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The request body sent straight back, with its `Content-Type`.
///
/// With a `Content-Length` (what curl and most clients send) the limit is checked
/// before anything is read (413), and the body is *streamed*: each chunk read from
/// the client is written back before the next is read, so memory stays at a chunk
/// or two whatever the size.
///
/// Without one (`Transfer-Encoding: chunked`) the size is only known at the end.
/// To still answer 413 rather than cut a 200 halfway, such a body is collected
/// first, through `Limited` (which fails as soon as it passes `http.max_body`).
/// Collecting costs memory, so it takes a permit from a semaphore
/// (`http.echo_buffers`) with `try_acquire`: when all are taken the request gets
/// 503 at once instead of queueing, and the memory all such bodies can hold is
/// bounded by `echo_buffers × max_body`.
async fn stream_back(state: AppState, req: Request<Body>) -> Result {
    let limit = state.config.max_body.bytes();
    let declared = declared_length(req.headers());
    let (parts, incoming) = req.into_parts();
    let mut res = match declared {
        // hyper enforces the declared length, so streaming can never pass it;
        // `Limited` is a second guard that costs nothing.
        Some(length) => {
            let mut incoming = Limited::new(incoming, state.config.max_body.as_usize());
            if expects_continue(&parts.headers) {
                // The client sends the body only once told to go on (curl asks
                // for bodies over 1 MiB, and otherwise waits a second). hyper
                // says `100 Continue` when the body is first read, but only while
                // no response has started: so read the first chunk *before*
                // answering, and stream that chunk and then the rest (with the
                // length said up front: a stream of chunks has no size of its own).
                let first = incoming
                    .frame()
                    .await
                    .transpose()
                    .map_err(HttpError::from_body)?;
                let rest = BodyStream::new(incoming);
                let mut res = Response::new(body::boxed(StreamBody::new(
                    stream::iter(first.map(Ok)).chain(rest),
                )));
                res.headers_mut().insert(CONTENT_LENGTH, length.into());
                res
            } else {
                Response::new(body::boxed(incoming))
            }
        }
        None => Response::new(body::full(collect_buffered(&state, incoming, limit).await?)),
    };
    if let Some(ct) = parts.headers.get(CONTENT_TYPE) {
        res.headers_mut().insert(CONTENT_TYPE, ct.clone());
    }
    Ok(res)
}

/// Reads a whole body with a permit from `http.echo_buffers` (503 at once when
/// all are taken), so the memory such bodies take all together stays bounded.
async fn collect_buffered(
    state: &AppState,
    incoming: Body,
    limit: u64,
) -> std::result::Result<Vec<u8>, HttpError> {
    // Held until the body is read: released when this function returns, however.
    let _permit = state
        .echo_buffers
        .clone()
        .try_acquire_owned()
        .map_err(|_| HttpError::Busy {
            reason: "every buffer for chunked /echo bodies is in use (http.echo_buffers)",
            retry_after: Duration::from_secs(1),
        })?;
    collect_up_to(incoming, limit).await
}

/// `Expect: 100-continue` (the only expectation HTTP defines).
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads a whole body, failing with 413 as soon as it passes `limit` bytes (so a
/// client cannot make us hold more than that).
async fn collect_up_to(mut incoming: Body, limit: u64) -> std::result::Result<Vec<u8>, HttpError> {
    let mut buf = Vec::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(HttpError::from_body)?;
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > limit {
                return Err(HttpError::PayloadTooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}
