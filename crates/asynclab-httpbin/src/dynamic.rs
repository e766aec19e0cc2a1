//! `/uuid`, `/bytes/{n}`, `/stream-bytes/{n}`, `/stream/{n}`, `/range/{n}`,
//! `/base64/{value}`: generated bodies.
//!
//! Pattern: **a streamed body holds one piece at a time.** `/stream-bytes` and
//! `/stream` hand hyper a stream that makes each piece only when hyper asks for it
//! (after the previous one was written), so a slow client holds up one piece of
//! memory, not the whole answer. Every count is capped by `[http.httpbin]`.
//! Randomness comes from `fastrand`: a fresh generator per request, or one seeded
//! from `?seed=` so the same URL gives the same bytes every time.

use asynclab_core::config::HttpbinConfig;
use base64::Engine;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http::header::{ACCEPT_RANGES, CONTENT_RANGE, ETAG, HeaderValue, RANGE};
use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::error::{HttpbinError, bad};
use crate::reply::{self, Body};
use crate::{Call, inspect};

const OCTETS: &str = "application/octet-stream";
const MAX_BYTES_KEY: &str = "http.httpbin.max_bytes";
/// `/stream-bytes` pieces when no `?chunk_size=` is given (httpbin's default).
const DEFAULT_CHUNK: usize = 10 * 1024;

/// A whole number from a path segment or a parameter, at most `max` (named by `cap`).
pub(crate) fn count(key: &str, raw: &str, max: usize, cap: &str) -> Result<usize, HttpbinError> {
    let n: usize = raw
        .parse()
        .map_err(|_| bad(key, format!("`{raw}` is not a whole number")))?;
    if n > max {
        return Err(bad(key, format!("{n} is above {max} ({cap})")));
    }
    Ok(n)
}

fn max_bytes(config: &HttpbinConfig) -> usize {
    config.max_bytes.as_usize()
}

/// A generator seeded by `?seed=`, or a fresh one.
fn generator(call: &Call) -> Result<fastrand::Rng, HttpbinError> {
    match call.query().get("seed") {
        Some(raw) => raw
            .parse::<u64>()
            .map(fastrand::Rng::with_seed)
            .map_err(|_| bad("seed", format!("`{raw}` is not a whole number"))),
        None => Ok(fastrand::Rng::new()),
    }
}

fn random_bytes(rng: &mut fastrand::Rng, n: usize) -> Bytes {
    let mut out = vec![0u8; n];
    rng.fill(&mut out);
    out.into()
}

/// `GET /uuid`: a version-4 UUID from `rng`.
pub(crate) fn uuid(rng: &mut fastrand::Rng) -> Response<Body> {
    let id = uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes()).into_uuid();
    reply::json(&json!({ "uuid": id.to_string() }))
}

/// `GET /bytes/{n}?seed=`: `n` random bytes.
pub(crate) fn bytes(call: &Call, config: &HttpbinConfig) -> Result<Response<Body>, HttpbinError> {
    let n = count("n", call.param(0), max_bytes(config), MAX_BYTES_KEY)?;
    let mut rng = generator(call)?;
    Ok(reply::typed(
        StatusCode::OK,
        OCTETS,
        reply::whole(random_bytes(&mut rng, n)),
    ))
}

/// `GET /stream-bytes/{n}?chunk_size=&seed=`: `n` random bytes, streamed.
pub(crate) fn stream_bytes(
    call: &Call,
    config: &HttpbinConfig,
) -> Result<Response<Body>, HttpbinError> {
    let max = max_bytes(config);
    let n = count("n", call.param(0), max, MAX_BYTES_KEY)?;
    let chunk = match call.query().get("chunk_size") {
        Some(raw) => count("chunk_size", raw, max, MAX_BYTES_KEY)?.max(1),
        None => DEFAULT_CHUNK,
    };
    let rng = generator(call)?;
    // Each piece is made when hyper polls for it: `left` and `rng` live in the stream.
    let pieces = stream::unfold((n, rng), move |(left, mut rng)| async move {
        (left > 0).then(|| {
            let size = left.min(chunk);
            (random_bytes(&mut rng, size), (left - size, rng))
        })
    });
    Ok(reply::typed(
        StatusCode::OK,
        OCTETS,
        reply::streamed(pieces),
    ))
}

/// `GET /stream/{n}`: `n` lines, each the request as JSON with an `id`.
pub(crate) fn stream(call: &Call, config: &HttpbinConfig) -> Result<Response<Body>, HttpbinError> {
    let n = count(
        "n",
        call.param(0),
        config.max_stream_lines,
        "http.httpbin.max_stream_lines",
    )?;
    let doc = inspect::request(call);
    let lines = stream::iter(0..n).map(move |id| {
        let mut line = doc.clone();
        line.insert("id".into(), Value::from(id));
        let mut text = serde_json::to_vec(&line).expect("a JSON map always prints");
        text.push(b'\n');
        Bytes::from(text)
    });
    Ok(reply::typed(
        StatusCode::OK,
        "application/json",
        reply::streamed(lines),
    ))
}

/// `GET /range/{n}`: `n` bytes (`abc...z` repeated) that honour a single `Range`.
pub(crate) fn range(call: &Call, config: &HttpbinConfig) -> Result<Response<Body>, HttpbinError> {
    let n = count("n", call.param(0), max_bytes(config), MAX_BYTES_KEY)?;
    let all: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
    let asked = call.headers.get(RANGE).and_then(|v| v.to_str().ok());
    let mut res = match asked.map(|r| byte_range(r, n)) {
        None => reply::typed(StatusCode::OK, OCTETS, reply::whole(all)),
        Some(Some((start, end))) => {
            let mut res = reply::typed(
                StatusCode::PARTIAL_CONTENT,
                OCTETS,
                reply::whole(all[start..=end].to_vec()),
            );
            let range = format!("bytes {start}-{end}/{n}");
            res.headers_mut().insert(
                CONTENT_RANGE,
                HeaderValue::from_str(&range).expect("digits are a valid header"),
            );
            res
        }
        Some(None) => {
            let mut res = reply::empty(StatusCode::RANGE_NOT_SATISFIABLE);
            let range = format!("bytes */{n}");
            res.headers_mut().insert(
                CONTENT_RANGE,
                HeaderValue::from_str(&range).expect("digits are a valid header"),
            );
            res
        }
    };
    let headers = res.headers_mut();
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let etag = format!("range{n}");
    headers.insert(ETAG, HeaderValue::from_str(&etag).expect("a valid header"));
    Ok(res)
}

/// The inclusive byte range `bytes=a-b`, `bytes=a-` or `bytes=-k` asks of `len`
/// bytes, or `None` when it cannot be satisfied (several ranges are not offered).
pub(crate) fn byte_range(header: &str, len: usize) -> Option<(usize, usize)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let k: usize = suffix.parse().ok()?;
            (len.checked_sub(k.min(len))?, len.checked_sub(1)?)
        }
        (start, "") => (start.parse().ok()?, len.checked_sub(1)?),
        (start, end) => (
            start.parse().ok()?,
            end.parse::<usize>().ok()?.min(len.checked_sub(1)?),
        ),
    };
    (start <= end && start < len).then_some((start, end))
}

/// `GET /base64/{value}`: the value decoded (URL-safe or standard alphabet).
pub(crate) fn base64(value: &str) -> Result<Response<Body>, HttpbinError> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    let decoded = URL_SAFE
        .decode(value)
        .or_else(|_| URL_SAFE_NO_PAD.decode(value))
        .or_else(|_| STANDARD.decode(value))
        .map_err(|e| bad("value", format!("not base64: {e}")))?;
    Ok(reply::typed(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        reply::whole(decoded),
    ))
}
