//! The answers the file server builds: bodies held in memory, short text
//! answers (every error is one line of text), refusals and redirects. Each is a
//! `Response<FilesBody>`, like a streamed file.

use std::io;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};

use crate::FilesBody;
use crate::path::Refusal;

/// A header value we built ourselves from visible ASCII (digits, dates, quotes,
/// or a path segment taken from the request URI).
pub(crate) fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("built from visible ASCII")
}

pub(crate) fn set(res: &mut Response<FilesBody>, name: http::header::HeaderName, value: &str) {
    res.headers_mut().insert(name, header(value));
}

pub(crate) fn empty() -> FilesBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A body already in memory (it cannot fail, hence the empty `match`).
pub(crate) fn buffered(bytes: Bytes) -> FilesBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// A buffered response (HEAD gets the headers and no body).
pub(crate) fn full(status: StatusCode, bytes: Bytes, parts: &Parts) -> Response<FilesBody> {
    let len = bytes.len();
    let body = if parts.method == Method::HEAD {
        empty()
    } else {
        buffered(bytes)
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(len));
    res
}

/// A short plain-text answer, one line ending in a newline (the style of every
/// error answer of asynclab: lowercase, the reason after a colon or in
/// parentheses); `message` never names a server path.
pub(crate) fn text(status: StatusCode, message: &str) -> Response<FilesBody> {
    let message = Bytes::from(format!("{message}\n"));
    let length = message.len();
    let mut res = Response::new(buffered(message));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from(length));
    res
}

pub(crate) fn not_found() -> Response<FilesBody> {
    text(StatusCode::NOT_FOUND, "file not found")
}

pub(crate) fn refused(refusal: Refusal) -> Response<FilesBody> {
    match refusal {
        Refusal::Bad => text(StatusCode::BAD_REQUEST, "bad request: invalid path"),
        Refusal::TooLong => text(StatusCode::URI_TOO_LONG, "path too long"),
        // Answered exactly like a missing file, so probing for `.env` learns nothing.
        Refusal::Hidden => not_found(),
    }
}

/// A server-side failure (permissions, I/O): logged with the path *inside* the
/// root, answered without any detail.
pub(crate) fn server_error(name: &str, e: &io::Error) -> Response<FilesBody> {
    if e.kind() == io::ErrorKind::PermissionDenied {
        return text(StatusCode::FORBIDDEN, "forbidden");
    }
    tracing::error!(file = %name, error = %e, "file request failed");
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
}

/// `dir` → `dir/`. The `Location` is relative (`./dir/`), so it is right whatever
/// prefix the HTTP server mounted us under, and the `./` keeps a name such as
/// `javascript:x` or `//host` from being read as a scheme or a host.
pub(crate) fn redirect(last_raw: &str) -> Response<FilesBody> {
    let mut res = text(StatusCode::MOVED_PERMANENTLY, "moved permanently");
    set(&mut res, LOCATION, &format!("./{last_raw}/"));
    res
}
