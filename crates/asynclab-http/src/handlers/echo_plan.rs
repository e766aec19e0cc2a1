//! `/echo`'s fortio-style parameters: what to do to one reply, chosen at random.
//!
//! `?status=503:5,429:1&delay=150ms:10,2s:1&size=1024&close=5.3&header=X-A:b&gzip=true`
//! is fortio's echo-server syntax, so fortio users' habits carry over: each
//! weighted list gives percentages of replies, the rest get the default (200, no
//! delay, the echoed body). The lists are read by `asynclab_core::weighted` (the
//! parser `/status/{codes}` and the fault settings share), checked against their
//! caps before anything waits, and a bad value is a 400 naming the parameter.
//! [`Plan::choose`] then rolls the dice with a generator the caller passes in, so
//! a unit test can pass a seeded one.

use std::time::Duration;

use asynclab_core::config::HttpConfig;
use asynclab_core::config::units::duration;
use asynclab_core::query::{Query, QueryError, bad};
use asynclab_core::weighted::Weighted;
use http::header::{CONNECTION, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

/// The parameters `/echo` takes.
const PARAMS: &[&str] = &["status", "delay", "size", "close", "header", "gzip"];

/// What a request asked for, parsed and checked.
#[derive(Debug, Default)]
pub struct Plan {
    status: Option<Weighted<StatusCode>>,
    delay: Option<Weighted<Duration>>,
    size: Option<Weighted<usize>>,
    /// Percent of replies after which the connection is closed.
    close: f64,
    headers: HeaderMap,
    pub gzip: bool,
}

/// What one reply gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub status: StatusCode,
    pub delay: Option<Duration>,
    /// A generated body of this many bytes instead of the echo.
    pub size: Option<usize>,
    /// `Connection: close` on the reply.
    pub close: bool,
}

impl Plan {
    /// Reads `query`, checking each value against its cap in `config`.
    pub fn parse(query: Option<&str>, config: &HttpConfig) -> Result<Self, QueryError> {
        let q = Query::parse(query, PARAMS)?;
        let mut plan = Plan::default();
        if let Some(raw) = q.get("status") {
            let list = Weighted::percent(raw, asynclab_httpbin::status_code);
            plan.status = Some(list.map_err(|e| bad("status", e))?);
        }
        if let Some(raw) = q.get("delay") {
            let list = Weighted::percent(raw, duration::parse).map_err(|e| bad("delay", e))?;
            let max = config.slow.max_delay;
            if let Some(longest) = list.max_by_key(|d| *d).filter(|d| **d > max) {
                return Err(bad(
                    "delay",
                    format!(
                        "{} is longer than {} (http.slow.max_delay)",
                        duration::show(*longest),
                        duration::show(max)
                    ),
                ));
            }
            plan.delay = Some(list);
        }
        if let Some(raw) = q.get("size") {
            let number = |t: &str| {
                t.parse::<usize>()
                    .map_err(|_| format!("`{t}` is not a size in bytes"))
            };
            let list = Weighted::percent(raw, number).map_err(|e| bad("size", e))?;
            let max = config.httpbin.max_bytes.as_usize();
            if let Some(largest) = list.max_by_key(|n| *n).filter(|n| **n > max) {
                return Err(bad(
                    "size",
                    format!("{largest} is above {max} (http.httpbin.max_bytes)"),
                ));
            }
            plan.size = Some(list);
        }
        if let Some(raw) = q.get("close") {
            plan.close = match raw {
                "true" => 100.0,
                "false" => 0.0,
                _ => match raw.parse::<f64>() {
                    Ok(p) if (0.0..=100.0).contains(&p) => p,
                    _ => {
                        return Err(bad(
                            "close",
                            format!("`{raw}` is not true, false or a percentage"),
                        ));
                    }
                },
            };
        }
        for raw in q.all("header") {
            let (name, value) = raw
                .split_once(':')
                .ok_or_else(|| bad("header", format!("`{raw}` is not Name:Value")))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| bad("header", format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| bad("header", format!("`{value}` is not a header value")))?;
            plan.headers.append(name, value);
        }
        if let Some(raw) = q.get("gzip") {
            plan.gzip = match raw {
                "true" => true,
                "false" => false,
                _ => return Err(bad("gzip", format!("`{raw}` is not true or false"))),
            };
        }
        Ok(plan)
    }

    /// Rolls the dice for one reply: one draw per list, from `rng`.
    pub fn choose(&self, rng: &mut fastrand::Rng) -> Choice {
        Choice {
            status: pick(&self.status, rng).unwrap_or(StatusCode::OK),
            delay: pick(&self.delay, rng),
            size: pick(&self.size, rng),
            close: self.close > 0.0 && rng.f64() * 100.0 < self.close,
        }
    }
}

/// One draw from an optional list: `None` when absent or when the roll falls to
/// the default.
fn pick<T: Copy>(list: &Option<Weighted<T>>, rng: &mut fastrand::Rng) -> Option<T> {
    list.as_ref().and_then(|l| l.pick(rng.f64()).copied())
}

impl Plan {
    /// The `header=` headers, and `Connection: close` when `choice` says so.
    pub fn headers(&self, choice: &Choice, headers: &mut HeaderMap) {
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        if choice.close {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }
}

#[cfg(test)]
#[path = "echo_plan_tests.rs"]
mod tests;
