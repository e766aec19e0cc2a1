//! `/status/{codes}` and `/delay/{n}`: a chosen status, and a capped wait.
//!
//! `/status/200:90,503:10` is a weighted random choice: the list is parsed by
//! `asynclab_core::weighted` (the same parser `/echo?status=` uses, in httpbin's
//! relative reading) and the choice is a plain function of one random number,
//! which the caller passes in, so a test can pass a fixed one. `/delay/{n}` waits
//! on a timer that blocks nothing (see `/slow`): the future is parked, and dropped
//! mid-wait when the client goes away.

use std::time::Duration;

use asynclab_core::config::units::duration;
use asynclab_core::weighted::{self, Weighted};
use http::header::{HeaderValue, LOCATION, PROXY_AUTHENTICATE, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use serde_json::Value;

use crate::error::{HttpbinError, bad};
use crate::reply::{self, Body};
use crate::{Call, inspect};

/// The config key that caps `/delay/{n}` and `/drip?delay=`.
pub(crate) const MAX_DELAY_KEY: &str = "http.httpbin.max_delay";

/// A status code a route may answer with: 200 to 599 (a 1xx is not a final
/// answer). Also what `/echo?status=` accepts; `[http.faults]` reads the same.
pub fn code(text: &str) -> Result<StatusCode, String> {
    let n = weighted::final_status(text)?;
    StatusCode::from_u16(n).map_err(|e| format!("`{text}`: {e}"))
}

/// `/status/{codes}`: one code, or a weighted choice; `roll` is uniform in `0..1`.
pub(crate) fn status(codes: &str, roll: f64) -> Result<Response<Body>, HttpbinError> {
    let list = Weighted::relative(codes, code).map_err(|e| bad("codes", e))?;
    let status = *list
        .pick(roll)
        .expect("a relative list always chooses something");
    Ok(answer(status))
}

/// The answer httpbin gives for a status: empty, except where the status calls
/// for a header (a redirect's `Location`, a challenge) or a joke (418).
fn answer(status: StatusCode) -> Response<Body> {
    let mut res = match status.as_u16() {
        418 => reply::text(status, TEAPOT),
        _ => reply::empty(status),
    };
    let headers = res.headers_mut();
    match status.as_u16() {
        301 | 302 | 303 | 305 | 307 | 308 => {
            headers.insert(LOCATION, HeaderValue::from_static("/redirect/1"));
        }
        401 => {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(FAKE_REALM));
        }
        407 => {
            headers.insert(PROXY_AUTHENTICATE, HeaderValue::from_static(FAKE_REALM));
        }
        418 => {
            let more = HeaderValue::from_static("http://tools.ietf.org/html/rfc2324");
            headers.insert("x-more-info", more);
        }
        _ => {}
    }
    res
}

const FAKE_REALM: &str = "Basic realm=\"Fake Realm\"";

const TEAPOT: &str = r#"
    -=[ teapot ]=-

       _...._
     .'  _ _ `.
    | ."` ^ `". _,
    \_;`"---"`|//
      |       ;/
      \_     _/
        `"""`
"#;

/// A wait given as seconds (`2`, `0.5`: httpbin's form) or with a unit (`250ms`:
/// go-httpbin's), at most `max` (named by `cap`).
pub(crate) fn seconds(
    key: &str,
    raw: &str,
    max: Duration,
    cap: &str,
) -> Result<Duration, HttpbinError> {
    let value = match raw.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => {
            Duration::try_from_secs_f64(s).map_err(|e| bad(key, e))?
        }
        Ok(_) => return Err(bad(key, format!("`{raw}` is negative"))),
        Err(_) => duration::parse(raw).map_err(|e| bad(key, e))?,
    };
    if value > max {
        return Err(bad(
            key,
            format!("`{raw}` is longer than {} ({cap})", duration::show(max)),
        ));
    }
    Ok(value)
}

/// `/delay/{n}`: waits `n` seconds, then answers with the request as JSON.
pub(crate) async fn delay(call: &Call, max: Duration) -> Result<Response<Body>, HttpbinError> {
    let wait = seconds("n", call.param(0), max, MAX_DELAY_KEY)?;
    tokio::time::sleep(wait).await;
    Ok(reply::json(&Value::Object(inspect::request(call))))
}
