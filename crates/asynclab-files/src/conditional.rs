//! Validators and the RFC 9110 rules that use them: `ETag`, `Last-Modified`,
//! the four preconditions in their required order, `Range` / `If-Range`, and
//! `Accept-Encoding` negotiation.
//!
//! Everything here is pure: headers and file metadata in, a decision out. That
//! keeps the standards logic testable without a server and keeps the async code
//! in `lib.rs` about I/O only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::{
    ACCEPT_ENCODING, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
    RANGE,
};

/// What we know about one version of a file; two equal `Meta`s are the same bytes
/// (as far as a file server can tell without hashing them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    pub len: u64,
    pub modified: SystemTime,
    pub ino: u64,
}

impl Meta {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Meta {
            len: meta.len(),
            modified: meta.modified().unwrap_or(UNIX_EPOCH),
            ino: meta.ino(),
        }
    }

    /// A strong validator: inode, length and modification time in nanoseconds.
    /// The inode changes when an upload renames a new version into place, even
    /// within the same nanosecond tick.
    pub(crate) fn etag(&self) -> String {
        let nanos = self
            .modified
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        format!("\"{:x}-{:x}-{:x}\"", self.ino, self.len, nanos)
    }

    /// `Last-Modified`, which has one-second resolution.
    pub(crate) fn last_modified(&self) -> String {
        httpdate::fmt_http_date(self.modified)
    }

    fn modified_secs(&self) -> u64 {
        self.modified
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    }
}

/// The outcome of the precondition headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precondition {
    Proceed,
    NotModified,
    Failed,
}

/// RFC 9110 §13.2.2: `If-Match`, else `If-Unmodified-Since` (412); then
/// `If-None-Match`, else `If-Modified-Since` (304 for GET/HEAD). A date header is
/// ignored when the matching entity-tag header is present, or when it does not parse.
pub(crate) fn evaluate(headers: &HeaderMap, meta: &Meta, etag: &str) -> Precondition {
    if let Some(value) = header_str(headers, IF_MATCH) {
        if !etag_listed(value, etag, Compare::Strong) {
            return Precondition::Failed;
        }
    } else if let Some(since) = header_date(headers, IF_UNMODIFIED_SINCE)
        && meta.modified_secs() > since
    {
        return Precondition::Failed;
    }
    if let Some(value) = header_str(headers, IF_NONE_MATCH) {
        if etag_listed(value, etag, Compare::Weak) {
            return Precondition::NotModified;
        }
    } else if let Some(since) = header_date(headers, IF_MODIFIED_SINCE)
        && meta.modified_secs() <= since
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// What part of the file to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// 200, the whole file (also for no, invalid, multiple or stale ranges).
    Whole,
    /// 206, bytes `start..start + len`.
    Part { start: u64, len: u64 },
    /// 416.
    Unsatisfiable,
}

/// RFC 9110 §14: one byte range is honoured; several are answered with the whole
/// file (allowed, and it avoids multipart bodies); a syntactically invalid header
/// is ignored. `If-Range` must match the current version exactly (strong ETag or
/// the exact `Last-Modified`), otherwise the client gets the whole new file.
pub(crate) fn span(headers: &HeaderMap, meta: &Meta, etag: &str) -> Span {
    let Some(range) = header_str(headers, RANGE) else {
        return Span::Whole;
    };
    if let Some(if_range) = header_str(headers, IF_RANGE) {
        let fresh = if if_range.starts_with('"') || if_range.starts_with("W/") {
            etag_listed(if_range, etag, Compare::Strong)
        } else {
            httpdate::parse_http_date(if_range)
                .ok()
                .is_some_and(|d| unix_secs(d) == meta.modified_secs())
        };
        if !fresh {
            return Span::Whole;
        }
    }
    parse_range(range, meta.len)
}

fn parse_range(value: &str, len: u64) -> Span {
    let Some((unit, specs)) = value.split_once('=') else {
        return Span::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || specs.contains(',') {
        return Span::Whole;
    }
    let Some((first, last)) = specs.trim().split_once('-') else {
        return Span::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u64>().ok()
        } else {
            None
        }
    };
    if first.is_empty() {
        // `-N`: the last N bytes.
        return match number(last) {
            Some(0) => Span::Unsatisfiable,
            Some(_) if len == 0 => Span::Unsatisfiable,
            Some(n) => Span::Part {
                start: len.saturating_sub(n),
                len: n.min(len),
            },
            None => Span::Whole,
        };
    }
    let Some(start) = number(first) else {
        return Span::Whole;
    };
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(end) if end >= start => Some(end),
            // `5-2` or `5-x` is invalid syntax, which means "ignore the header".
            _ => return Span::Whole,
        }
    };
    if start >= len {
        return Span::Unsatisfiable;
    }
    let end = end.unwrap_or(u64::MAX).min(len - 1);
    Span::Part {
        start,
        len: end - start + 1,
    }
}

/// Content codings we can serve from precompressed siblings, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Br,
    Gzip,
}

impl Encoding {
    pub(crate) fn token(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }

    /// This coding's bit in a set of accepted codings (a cache key).
    pub(crate) fn bit(self) -> u8 {
        match self {
            Encoding::Br => 1,
            Encoding::Gzip => 2,
        }
    }

    /// The sibling file's extension (`x.css.br`, `x.css.gz`).
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gz",
        }
    }
}

/// The precompressed codings the client accepts, in our order of preference.
/// `q=0` refuses a coding; `*` accepts any coding not named.
pub(crate) fn accepted(headers: &HeaderMap) -> Vec<Encoding> {
    let Some(value) = header_str(headers, ACCEPT_ENCODING) else {
        return Vec::new();
    };
    let (mut br, mut gzip, mut star) = (None, None, None);
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        let ok = q > 0.0;
        match coding.as_str() {
            "br" => br = Some(ok),
            "gzip" | "x-gzip" => gzip = Some(ok),
            "*" => star = Some(ok),
            _ => {}
        }
    }
    let star = star.unwrap_or(false);
    let mut out = Vec::with_capacity(2);
    if br.unwrap_or(star) {
        out.push(Encoding::Br);
    }
    if gzip.unwrap_or(star) {
        out.push(Encoding::Gzip);
    }
    out
}

#[derive(Clone, Copy)]
enum Compare {
    /// `If-Match`, `If-Range`: weak tags never match.
    Strong,
    /// `If-None-Match`: `W/"x"` matches `"x"`.
    Weak,
}

/// Is `etag` (always strong, ours) among the comma-separated tags in `list`?
fn etag_listed(list: &str, etag: &str, compare: Compare) -> bool {
    list.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        match (tag.strip_prefix("W/"), compare) {
            (Some(_), Compare::Strong) => false,
            (Some(weak), Compare::Weak) => weak == etag,
            (None, _) => tag == etag,
        }
    })
}

fn header_str(headers: &HeaderMap, name: http::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_date(headers: &HeaderMap, name: http::header::HeaderName) -> Option<u64> {
    header_str(headers, name)
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .map(unix_secs)
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn meta() -> Meta {
        Meta {
            len: 100,
            modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            ino: 7,
        }
    }

    fn headers(pairs: &[(http::header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name.clone(), HeaderValue::from_str(value).expect("valid"));
        }
        h
    }

    #[test]
    fn preconditions_follow_rfc_order() {
        let m = meta();
        let tag = m.etag();
        let lm = m.last_modified();
        let old = httpdate::fmt_http_date(m.modified - Duration::from_secs(10));
        let eval = |pairs: &[(http::header::HeaderName, &str)]| evaluate(&headers(pairs), &m, &tag);
        assert_eq!(eval(&[]), Precondition::Proceed);
        assert_eq!(eval(&[(IF_NONE_MATCH, &tag)]), Precondition::NotModified);
        assert_eq!(
            eval(&[(IF_NONE_MATCH, &format!("W/{tag}"))]),
            Precondition::NotModified
        );
        assert_eq!(eval(&[(IF_NONE_MATCH, "\"other\"")]), Precondition::Proceed);
        assert_eq!(eval(&[(IF_MODIFIED_SINCE, &lm)]), Precondition::NotModified);
        assert_eq!(eval(&[(IF_MODIFIED_SINCE, &old)]), Precondition::Proceed);
        // If-None-Match wins over If-Modified-Since.
        assert_eq!(
            eval(&[(IF_NONE_MATCH, "\"other\""), (IF_MODIFIED_SINCE, &lm)]),
            Precondition::Proceed
        );
        assert_eq!(eval(&[(IF_MATCH, "\"other\"")]), Precondition::Failed);
        assert_eq!(
            eval(&[(IF_MATCH, &format!("W/{tag}"))]),
            Precondition::Failed
        );
        assert_eq!(eval(&[(IF_MATCH, "*")]), Precondition::Proceed);
        assert_eq!(eval(&[(IF_UNMODIFIED_SINCE, &old)]), Precondition::Failed);
        // 412 is decided before 304.
        assert_eq!(
            eval(&[(IF_MATCH, "\"other\""), (IF_NONE_MATCH, &tag)]),
            Precondition::Failed
        );
        // If-Match wins over If-Unmodified-Since.
        assert_eq!(
            eval(&[(IF_MATCH, &tag), (IF_UNMODIFIED_SINCE, &old)]),
            Precondition::Proceed
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("bytes=0-9", 100),
            Span::Part { start: 0, len: 10 }
        );
        assert_eq!(
            parse_range("bytes=90-", 100),
            Span::Part { start: 90, len: 10 }
        );
        assert_eq!(
            parse_range("bytes=-10", 100),
            Span::Part { start: 90, len: 10 }
        );
        assert_eq!(
            parse_range("bytes=-1000", 100),
            Span::Part { start: 0, len: 100 }
        );
        assert_eq!(
            parse_range("bytes=50-1000", 100),
            Span::Part { start: 50, len: 50 }
        );
        assert_eq!(parse_range("bytes=100-", 100), Span::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Span::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-0", 0), Span::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Span::Whole);
        assert_eq!(parse_range("bytes=5-2", 100), Span::Whole);
        assert_eq!(parse_range("items=0-1", 100), Span::Whole);
        assert_eq!(parse_range("bytes=x-1", 100), Span::Whole);
    }

    #[test]
    fn encodings_respect_q_values() {
        let acc = |v: &str| accepted(&headers(&[(ACCEPT_ENCODING, v)]));
        assert_eq!(acc("gzip, deflate, br"), vec![Encoding::Br, Encoding::Gzip]);
        assert_eq!(acc("gzip"), vec![Encoding::Gzip]);
        assert_eq!(acc("br;q=0, gzip;q=0.5"), vec![Encoding::Gzip]);
        assert_eq!(acc("*"), vec![Encoding::Br, Encoding::Gzip]);
        assert_eq!(acc("*, br;q=0"), vec![Encoding::Gzip]);
        assert_eq!(acc("identity"), vec![]);
    }
}
