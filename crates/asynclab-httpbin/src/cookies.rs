//! `/cookies`, `/cookies/set?name=value`, `/cookies/delete?name`: reading the
//! `Cookie` header and setting or expiring cookies with `Set-Cookie`.
//!
//! Setting and deleting answer 302 to `/cookies` (as httpbin does), so a client
//! with a cookie jar that follows redirects sees the result at once. Names and
//! values come from the query string, so they are checked against what a cookie
//! may contain (RFC 6265) before they go into a header: a `;` in a value would
//! otherwise set attributes the client never asked for.

use http::header::{COOKIE, HeaderValue, LOCATION, SET_COOKIE};
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::Call;
use crate::error::{HttpbinError, bad};
use crate::reply::{self, Body};

/// The cookies the request carries, by name (the last one wins).
fn sent(call: &Call) -> Map<String, Value> {
    let mut map = Map::new();
    for header in call.headers.get_all(COOKIE) {
        let text = String::from_utf8_lossy(header.as_bytes());
        for pair in text.split(';') {
            if let Some((name, value)) = pair.split_once('=') {
                map.insert(
                    name.trim().to_owned(),
                    Value::String(value.trim().to_owned()),
                );
            }
        }
    }
    map
}

/// `GET /cookies`.
pub(crate) fn cookies(call: &Call) -> Response<Body> {
    reply::json(&json!({ "cookies": sent(call) }))
}

/// A 302 to `/cookies` with one `Set-Cookie` per cookie.
fn to_cookies(set: Vec<HeaderValue>) -> Response<Body> {
    let mut res = reply::empty(StatusCode::FOUND);
    let headers = res.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("/cookies"));
    for cookie in set {
        headers.append(SET_COOKIE, cookie);
    }
    res
}

/// `GET /cookies/set?name=value...`.
pub(crate) fn set(call: &Call) -> Result<Response<Body>, HttpbinError> {
    let q = call.query();
    let mut set = Vec::new();
    for (name, value) in q.pairs() {
        check(name, value)?;
        set.push(header(format!("{name}={value}; Path=/")));
    }
    Ok(to_cookies(set))
}

/// `GET /cookies/delete?name...`: each cookie expired (empty, `Max-Age=0`).
pub(crate) fn delete(call: &Call) -> Result<Response<Body>, HttpbinError> {
    let q = call.query();
    let mut set = Vec::new();
    for (name, _) in q.pairs() {
        check(name, "")?;
        set.push(header(format!(
            "{name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
        )));
    }
    Ok(to_cookies(set))
}

fn header(text: String) -> HeaderValue {
    HeaderValue::from_str(&text).expect("checked: cookie names and values are visible ASCII")
}

/// A cookie name is an HTTP token; a value has no spaces, quotes, commas,
/// semicolons or backslashes (RFC 6265, section 4.1.1).
fn check(name: &str, value: &str) -> Result<(), HttpbinError> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(bad(name, "not a valid cookie name"));
    }
    let octet = |c: char| c.is_ascii_graphic() && !"\",;\\".contains(c);
    if !value.chars().all(octet) {
        return Err(bad(name, format!("`{value}` is not a valid cookie value")));
    }
    Ok(())
}
