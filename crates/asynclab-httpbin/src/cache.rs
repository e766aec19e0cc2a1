//! `/cache`, `/cache/{n}`, `/etag/{etag}`, `/response-headers`: the headers that
//! make caches and conditional requests work, for testing clients and proxies.
//!
//! Conditional requests are answered as RFC 9110 says: a matching
//! `If-None-Match` is 304 (nothing to send again), a failing `If-Match` is 412.

use std::time::SystemTime;

use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, IF_MATCH,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, TRANSFER_ENCODING,
};
use http::{HeaderMap, Response, StatusCode};
use serde_json::Value;

use crate::body::multimap;
use crate::dynamic::count;
use crate::error::{HttpbinError, bad};
use crate::reply::{self, Body};
use crate::{Call, inspect};

/// The `/get` document: what these routes answer with when there is something to send.
fn document(call: &Call) -> Response<Body> {
    reply::json(&Value::Object(inspect::request(call)))
}

/// `GET /cache`: 304 to any conditional request, else 200 with `Last-Modified`
/// and a fresh `ETag`.
pub(crate) fn cache(call: &Call) -> Response<Body> {
    if call.headers.contains_key(IF_MODIFIED_SINCE) || call.headers.contains_key(IF_NONE_MATCH) {
        return reply::empty(StatusCode::NOT_MODIFIED);
    }
    let mut res = document(call);
    let headers = res.headers_mut();
    let now = httpdate::fmt_http_date(SystemTime::now());
    headers.insert(
        LAST_MODIFIED,
        HeaderValue::from_str(&now).expect("an HTTP date"),
    );
    let tag = format!("\"{:032x}\"", fastrand::u128(..));
    headers.insert(ETAG, HeaderValue::from_str(&tag).expect("hex digits"));
    res
}

/// `GET /cache/{n}`: `Cache-Control: public, max-age=n`.
pub(crate) fn cache_for(call: &Call) -> Result<Response<Body>, HttpbinError> {
    let n = count("n", call.param(0), u32::MAX as usize, "a 32-bit max-age")?;
    let mut res = document(call);
    res.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={n}")).expect("digits"),
    );
    Ok(res)
}

/// The entity tags listed in an `If-Match`/`If-None-Match` header, without quotes
/// or the weak marker (`*` kept as is).
fn tags(headers: &HeaderMap, name: HeaderName) -> Option<Vec<String>> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| {
            t.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_owned()
        })
        .collect();
    (!values.is_empty()).then_some(values)
}

/// `GET /etag/{etag}`.
pub(crate) fn etag(call: &Call) -> Response<Body> {
    let etag = call.param(0);
    let listed = |tags: &[String]| tags.iter().any(|t| t == etag || t == "*");
    let quoted = HeaderValue::from_str(&format!("\"{etag}\""));
    let mut res = match (
        tags(&call.headers, IF_NONE_MATCH),
        tags(&call.headers, IF_MATCH),
    ) {
        (Some(none_match), _) if listed(&none_match) => reply::empty(StatusCode::NOT_MODIFIED),
        (_, Some(must_match)) if !listed(&must_match) => {
            return reply::empty(StatusCode::PRECONDITION_FAILED);
        }
        _ => document(call),
    };
    if let Ok(quoted) = quoted {
        res.headers_mut().insert(ETAG, quoted);
    }
    res
}

/// `GET|POST /response-headers?Name=value...`: those headers on the answer, and
/// listed in its JSON body. `Content-Type` may be replaced; the headers that frame
/// the body (`Content-Length`, `Transfer-Encoding`) are the server's to set.
pub(crate) fn response_headers(call: &Call) -> Result<Response<Body>, HttpbinError> {
    let q = call.query();
    let mut set = HeaderMap::new();
    set.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut listed = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    for (name, value) in q.pairs() {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(name, "not a valid header name"))?;
        if header == CONTENT_LENGTH || header == TRANSFER_ENCODING {
            return Err(bad(name, "this header frames the body: the server sets it"));
        }
        let value_header =
            HeaderValue::from_str(value).map_err(|_| bad(name, "not a valid header value"))?;
        if header == CONTENT_TYPE {
            set.remove(CONTENT_TYPE);
            listed.retain(|(n, _)| n != "Content-Type");
        }
        set.append(header, value_header);
        listed.push((name.to_owned(), value.to_owned()));
    }
    let body = reply::json_bytes(&Value::Object(multimap(listed)));
    let mut res = reply::empty(StatusCode::OK);
    *res.body_mut() = reply::whole(body);
    res.headers_mut().extend(set);
    Ok(res)
}
