//! `/gzip`, `/deflate`, `/json`, `/html`, `/xml`, `/robots.txt`, `/deny`,
//! `/encoding/utf8`: fixed documents, for testing how clients read formats,
//! encodings and compressed bodies.
//!
//! The documents are httpbin's (shortened), kept in `samples/` and compiled in.
//! Compression is flate2's (the kept crate for deflate streams), never our own:
//! [`gzip`] is also what `/echo?gzip=true` uses.

use std::io::Write;

use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use http::header::{CONTENT_ENCODING, HeaderValue};
use http::{Response, StatusCode};
use serde_json::Value;

use crate::reply::{self, Body};
use crate::{Call, inspect};

/// Which fixed document a route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Doc {
    Gzip,
    Deflate,
    Json,
    Html,
    Xml,
    Robots,
    Deny,
    Utf8,
}

const ROBOTS: &str = "User-agent: *\nDisallow: /deny\n";

/// `bytes` as a gzip stream (`Content-Encoding: gzip`).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// `bytes` as a zlib stream: what `Content-Encoding: deflate` means (RFC 9110).
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// The answer for `doc`.
pub(crate) fn document(call: &Call, doc: Doc) -> Response<Body> {
    let ok = StatusCode::OK;
    let page =
        |content_type, text: &'static str| reply::typed(ok, content_type, reply::whole(text));
    match doc {
        Doc::Gzip => compressed(call, "gzipped", "gzip", gzip),
        Doc::Deflate => compressed(call, "deflated", "deflate", deflate),
        Doc::Json => page(
            "application/json",
            include_str!("../samples/slideshow.json"),
        ),
        Doc::Html => page(
            "text/html; charset=utf-8",
            include_str!("../samples/moby.html"),
        ),
        Doc::Xml => page("application/xml", include_str!("../samples/slideshow.xml")),
        Doc::Robots => page("text/plain", ROBOTS),
        Doc::Deny => page("text/plain", include_str!("../samples/deny.txt")),
        Doc::Utf8 => page(
            "text/html; charset=utf-8",
            include_str!("../samples/utf8.html"),
        ),
    }
}

/// httpbin's compressed document: the request's headers, method and origin, and
/// `flag: true`, encoded by `encode` and labelled `encoding`.
fn compressed(
    call: &Call,
    flag: &str,
    encoding: &'static str,
    encode: fn(&[u8]) -> Vec<u8>,
) -> Response<Body> {
    let mut doc = serde_json::Map::new();
    doc.insert(flag.into(), Value::Bool(true));
    doc.insert(
        "headers".into(),
        Value::Object(inspect::headers_map(&call.headers)),
    );
    doc.insert("method".into(), Value::String(call.method.to_string()));
    doc.insert("origin".into(), Value::String(inspect::origin(call)));
    let plain = reply::json_bytes(&Value::Object(doc));
    let mut res = reply::typed(
        StatusCode::OK,
        "application/json",
        reply::whole(encode(&plain)),
    );
    res.headers_mut()
        .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    res
}
