//! Reading a request body whole, with bounds, and parsing it the way httpbin does:
//! `data` (the text sent), `form` (urlencoded or multipart fields), `files`
//! (multipart files) and `json` (the body, if it is JSON).
//!
//! Pattern: **bounded buffering.** Parsing needs the whole body, which costs
//! memory, so two bounds hold: each body is read through `Limited` (it fails as
//! soon as `http.max_body` is passed, and a declared `Content-Length` over it is
//! refused before a byte is read), and holding one takes a permit from a semaphore
//! (`http.httpbin.max_buffered_bodies`) with `try_acquire`: when all are taken the
//! request gets 503 at once instead of queueing. The memory all such bodies can
//! take is then at most `max_buffered_bodies × max_body`, whatever clients send.
//! The multipart parser (multer, axum's) reads from the bytes already held.

use std::io::ErrorKind;

use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};

use crate::Inner;
use crate::error::HttpbinError;

/// What a body carried, in httpbin's four fields.
#[derive(Debug)]
pub(crate) struct Sent {
    pub data: Value,
    pub form: Map<String, Value>,
    pub files: Map<String, Value>,
    pub json: Value,
}

impl Default for Sent {
    fn default() -> Self {
        Self {
            data: Value::String(String::new()),
            form: Map::new(),
            files: Map::new(),
            json: Value::Null,
        }
    }
}

/// Reads the body whole (bounded, see the module doc) and parses it.
pub(crate) async fn read<B>(
    inner: &Inner,
    headers: &HeaderMap,
    incoming: B,
) -> Result<Sent, HttpbinError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limit = inner.max_body;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(HttpbinError::PayloadTooLarge { limit });
    }
    // Held until this function returns: the parsed fields are what is kept.
    let _permit = inner
        .bodies
        .clone()
        .try_acquire_owned()
        .map_err(|_| HttpbinError::Busy)?;
    let limited = Limited::new(incoming, usize::try_from(limit).unwrap_or(usize::MAX));
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Err(HttpbinError::PayloadTooLarge { limit });
        }
        // The server's body-rate guard fails a body that trickles in with TimedOut.
        Err(error) => match error.downcast_ref::<std::io::Error>() {
            Some(e) if e.kind() == ErrorKind::TimedOut => return Err(HttpbinError::BodyTooSlow),
            _ => {
                return Err(HttpbinError::BadBody(format!(
                    "reading the request body failed: {error}"
                )));
            }
        },
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    parse(content_type, bytes).await
}

/// httpbin's fields for a body of `content_type`.
pub(crate) async fn parse(content_type: &str, bytes: Bytes) -> Result<Sent, HttpbinError> {
    let mut sent = Sent::default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            sent.form = multimap(form_urlencoded::parse(&bytes));
        }
        "multipart/form-data" => multipart(content_type, bytes, &mut sent).await?,
        _ => {
            sent.json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            sent.data = Value::String(text_or_data_url(&bytes, "application/octet-stream"));
        }
    }
    Ok(sent)
}

/// The fields and files of a `multipart/form-data` body.
async fn multipart(content_type: &str, bytes: Bytes, sent: &mut Sent) -> Result<(), HttpbinError> {
    let bad =
        |e: multer::Error| HttpbinError::BadBody(format!("bad multipart/form-data body: {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let whole = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut parts = multer::Multipart::new(whole, boundary);
    let (mut form, mut files) = (Vec::new(), Vec::new());
    while let Some(field) = parts.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        let is_file = field.file_name().is_some();
        let mime = field
            .content_type()
            .map_or("application/octet-stream".to_owned(), ToString::to_string);
        let content = field.bytes().await.map_err(bad)?;
        let value = text_or_data_url(&content, &mime);
        match is_file {
            true => files.push((name, value)),
            false => form.push((name, value)),
        }
    }
    sent.form = multimap(form);
    sent.files = multimap(files);
    Ok(())
}

/// The bytes as text when they are UTF-8, else as a `data:` URL (httpbin's way of
/// showing binary content in JSON).
fn text_or_data_url(bytes: &[u8], mime: &str) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    }
}

/// httpbin's shape for repeatable keys (`args`, `form`): one value as a string,
/// several as a list.
pub(crate) fn multimap<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Map<String, Value>
where
    K: Into<String>,
    V: Into<String>,
{
    let mut map = Map::new();
    for (key, value) in pairs {
        let (key, value) = (key.into(), Value::String(value.into()));
        match map.get_mut(&key) {
            Some(Value::Array(list)) => list.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                map.insert(key, value);
            }
        }
    }
    map
}
