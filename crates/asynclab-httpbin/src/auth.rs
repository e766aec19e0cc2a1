//! `/basic-auth/{user}/{passwd}`, `/hidden-basic-auth/{user}/{passwd}`, `/bearer`:
//! endpoints that want credentials, for testing how clients send them.
//!
//! Nothing is protected here: the expected credentials are in the URL. A wrong
//! or missing one gets the challenge a real server sends (`401` with
//! `WWW-Authenticate`), or `404` for the hidden form, which pretends not to exist.

use base64::Engine;
use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use serde_json::json;

use crate::Call;
use crate::reply::{self, Body};

/// The credentials part of `Authorization: <scheme> <credentials>`.
fn credentials<'c>(call: &'c Call, scheme: &str) -> Option<&'c str> {
    let value = call.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

fn challenge(value: &'static str) -> Response<Body> {
    let mut res = reply::empty(StatusCode::UNAUTHORIZED);
    res.headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(value));
    res
}

/// `GET /basic-auth/{user}/{passwd}` (and the hidden form).
pub(crate) fn basic(call: &Call, hidden: bool) -> Response<Body> {
    let (user, passwd) = (call.param(0), call.param(1));
    let given = credentials(call, "Basic")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let expected = format!("{user}:{passwd}");
    match (given.as_deref() == Some(expected.as_str()), hidden) {
        (true, _) => reply::json(&json!({ "authenticated": true, "user": user })),
        (false, false) => challenge("Basic realm=\"Fake Realm\""),
        (false, true) => reply::empty(StatusCode::NOT_FOUND),
    }
}

/// `GET /bearer`: any token will do; none (or another scheme) is 401.
pub(crate) fn bearer(call: &Call) -> Response<Body> {
    match credentials(call, "Bearer").filter(|t| !t.is_empty()) {
        Some(token) => reply::json(&json!({ "authenticated": true, "token": token })),
        None => challenge("Bearer"),
    }
}
