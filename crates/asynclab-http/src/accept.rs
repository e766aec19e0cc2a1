//! Content negotiation: which of two media types a client's `Accept` header
//! prefers (RFC 9110 §12.5.1).
//!
//! Two places ask: the error answers (plain text, or JSON for a client that
//! prefers `application/json`) and `/metrics` (Prometheus text 0.0.4, or
//! OpenMetrics for a scraper that prefers it). Both have a default, and the
//! other type wins only when the client gives it a strictly higher quality
//! (`q`): a client with no `Accept`, or `*/*` (curl), gets the default.
//!
//! Why our own twenty lines: the question is always "this one or that one", and
//! answering it needs no allocation, only a walk over the header's bytes; the
//! header crates parse every media range into owned values first.

use http::HeaderMap;
use http::header::ACCEPT;

/// True when the request's `Accept` prefers `other` to `default` (both
/// `type/subtype`, lowercase). No `Accept` header: false.
pub fn prefers(headers: &HeaderMap, other: &str, default: &str) -> bool {
    let mut accept = headers.get_all(ACCEPT).iter().peekable();
    if accept.peek().is_none() {
        return false;
    }
    let (mut q_other, mut q_default) = (Quality::NONE, Quality::NONE);
    for value in accept {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let (media, q) = parse_range(range);
            q_other = q_other.max(Quality::of(media, q, other));
            q_default = q_default.max(Quality::of(media, q, default));
        }
    }
    q_other.q > q_default.q
}

/// How well a media range matches a type: the most specific range that matches
/// decides its quality (`text/plain;q=0` beats `*/*`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct Quality {
    /// 0 for `*/*`, 1 for `type/*`, 2 for `type/subtype`; -1 for no match.
    specificity: i8,
    q: f32,
}

impl Quality {
    const NONE: Self = Self {
        specificity: -1,
        q: 0.0,
    };

    fn of(range: &str, q: f32, media: &str) -> Self {
        let (kind, _) = media.split_once('/').unwrap_or((media, ""));
        let specificity = if range.eq_ignore_ascii_case(media) {
            2
        } else if range
            .strip_suffix("/*")
            .is_some_and(|k| k.eq_ignore_ascii_case(kind))
        {
            1
        } else if range == "*/*" {
            0
        } else {
            return Self::NONE;
        };
        Self { specificity, q }
    }

    /// The more specific match; between equally specific ones, the higher q.
    fn max(self, other: Self) -> Self {
        if other > self { other } else { self }
    }
}

/// `text/plain; version=0.0.4; q=0.5` → (`text/plain`, 0.5). A malformed `q`
/// counts as 1, as if it were absent; quality is clamped to 0..=1.
fn parse_range(range: &str) -> (&str, f32) {
    let mut parts = range.split(';');
    let media = parts.next().unwrap_or("").trim();
    let q = parts
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
        .and_then(|(_, v)| v.trim().parse::<f32>().ok())
        .unwrap_or(1.0)
        .clamp(0.0, 1.0);
    (media, q)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn json_wins(accept: Option<&'static str>) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(ACCEPT, HeaderValue::from_static(a));
        }
        prefers(&headers, "application/json", "text/plain")
    }

    #[test]
    fn the_default_wins_ties_and_absent_headers() {
        assert!(!json_wins(None));
        assert!(!json_wins(Some("*/*")));
        assert!(!json_wins(Some("application/json, text/plain")));
        assert!(!json_wins(Some("text/html")));
    }

    #[test]
    fn the_other_type_wins_with_a_higher_quality() {
        assert!(json_wins(Some("application/json")));
        assert!(json_wins(Some("Application/JSON")));
        assert!(json_wins(Some("application/*")));
        assert!(json_wins(Some("text/plain;q=0.5, application/json")));
        assert!(json_wins(Some("application/json;q=0.9, */*;q=0.1")));
        assert!(!json_wins(Some("application/json;q=0.1, */*")));
        // The most specific range decides: text/plain is refused outright.
        assert!(json_wins(Some("*/*, text/plain;q=0")));
        assert!(!json_wins(Some("application/json;q=0, */*")));
    }

    #[test]
    fn a_prometheus_scraper_gets_openmetrics_when_it_prefers_it() {
        let mut headers = HeaderMap::new();
        let om = "application/openmetrics-text";
        headers.insert(ACCEPT, HeaderValue::from_static(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        ));
        assert!(prefers(&headers, om, "text/plain"));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/plain;version=0.0.4;q=1,*/*;q=0.1"),
        );
        assert!(!prefers(&headers, om, "text/plain"));
    }
}
