//! `/get`, `/post`, `/put`, `/patch`, `/delete`, `/anything`, `/headers`, `/ip`,
//! `/user-agent`: the request sent back as JSON, in httpbin's shapes.
//!
//! Nothing to wait for except the body (see `body.rs`): these are plain functions
//! from the request's parts to a document. The shapes are postmanlabs/httpbin's
//! (header values as strings, header names in `Title-Case`, a repeated argument as
//! a list), which most scripts were written against; go-httpbin sends every
//! header and argument as a list instead (`docs/httpbin.md`).

use http::header::{HOST, USER_AGENT};
use http::{HeaderMap, Response};
use serde_json::{Map, Value, json};

use crate::Call;
use crate::body::{Sent, multimap};
use crate::error::HttpbinError;
use crate::reply::{self, Body};

/// Which document an inspection route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `/get`: args, headers, origin, url.
    Get,
    /// `/post` and the other body methods: also data, files, form, json.
    Body,
    /// `/anything`: all of that and the method.
    Anything,
}

impl Shape {
    pub fn reads_body(self) -> bool {
        self != Self::Get
    }
}

/// The document for an inspection route.
pub(crate) fn inspect(
    call: &Call,
    shape: Shape,
    sent: Sent,
) -> Result<Response<Body>, HttpbinError> {
    let mut doc = request(call);
    if shape != Shape::Get {
        doc.insert("data".into(), sent.data);
        doc.insert("files".into(), Value::Object(sent.files));
        doc.insert("form".into(), Value::Object(sent.form));
        doc.insert("json".into(), sent.json);
    }
    if shape == Shape::Anything {
        doc.insert("method".into(), Value::String(call.method.to_string()));
    }
    Ok(reply::json(&Value::Object(doc)))
}

/// `args`, `headers`, `origin` and `url`: what every httpbin document starts with.
pub(crate) fn request(call: &Call) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("args".into(), Value::Object(args(call)));
    doc.insert("headers".into(), Value::Object(headers_map(&call.headers)));
    doc.insert("origin".into(), Value::String(origin(call)));
    doc.insert("url".into(), Value::String(url(call)));
    doc
}

/// The query's arguments (a repeated one as a list).
pub(crate) fn args(call: &Call) -> Map<String, Value> {
    multimap(
        call.query()
            .pairs()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
}

/// The request headers, names in `Title-Case` as httpbin shows them; a repeated
/// header's values joined with commas (what HTTP says they mean).
pub(crate) fn headers_map(headers: &HeaderMap) -> Map<String, Value> {
    let mut map = Map::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        map.insert(title_case(name.as_str()), Value::String(values.join(",")));
    }
    map
}

/// `user-agent` → `User-Agent`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The client's address: the first `X-Forwarded-For` entry when a proxy added
/// one (as go-httpbin does), else the peer's IP.
pub(crate) fn origin(call: &Call) -> String {
    let forwarded = call
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match (forwarded, call.peer) {
        (Some(forwarded), _) => forwarded.to_owned(),
        (None, Some(peer)) => peer.ip().to_string(),
        (None, None) => String::new(),
    }
}

/// The `Host` the client addressed (the server's stack makes sure there is one).
pub(crate) fn host(call: &Call) -> &str {
    call.headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| call.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost")
}

/// The full URL of the request, as the client addressed it.
pub(crate) fn url(call: &Call) -> String {
    let path = call.uri.path_and_query().map_or("/", |p| p.as_str());
    format!("http://{}{path}", host(call))
}

/// `GET /headers`.
pub(crate) fn headers(call: &Call) -> Response<Body> {
    reply::json(&json!({ "headers": headers_map(&call.headers) }))
}

/// `GET /ip`.
pub(crate) fn ip(call: &Call) -> Response<Body> {
    reply::json(&json!({ "origin": origin(call) }))
}

/// `GET /user-agent`.
pub(crate) fn user_agent(call: &Call) -> Response<Body> {
    let agent = call
        .headers
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    reply::json(&json!({ "user-agent": agent }))
}
