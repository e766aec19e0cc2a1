//! `/redirect/{n}`, `/relative-redirect/{n}`, `/absolute-redirect/{n}`,
//! `/redirect-to?url=`: redirect chains for testing clients' redirect handling.
//!
//! Two bounds keep them harmless: a chain has at most `http.httpbin.max_redirects`
//! hops (a client following it always ends at `/get`), and `/redirect-to` is not an
//! open redirect: it sends a client only to a relative URL, to this server's own
//! host, or to a host named in `http.httpbin.allowed_redirect_hosts` (go-httpbin's
//! `-allowed-redirect-domains`); anything else is 403. Otherwise a link such as
//! `https://this-server/redirect-to?url=https://evil.example` would lend this
//! server's name to a phishing page.

use asynclab_core::config::HttpbinConfig;
use http::header::{HeaderValue, LOCATION};
use http::{Response, StatusCode, Uri};

use crate::dynamic::count;
use crate::error::{HttpbinError, bad};
use crate::reply::{self, Body};
use crate::{Call, inspect};

/// Whether a chain's `Location`s are paths or full URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hops {
    Relative,
    Absolute,
}

fn found(status: StatusCode, location: &str) -> Result<Response<Body>, HttpbinError> {
    let location =
        HeaderValue::from_str(location).map_err(|_| bad("url", "not a valid header value"))?;
    let mut res = reply::empty(status);
    res.headers_mut().insert(LOCATION, location);
    Ok(res)
}

/// `GET /redirect/{n}` (`?absolute=true` for full URLs) and its two explicit forms:
/// a 302 to the next hop, and from the last one to `/get`.
pub(crate) fn redirect(
    call: &Call,
    hops: Hops,
    config: &HttpbinConfig,
) -> Result<Response<Body>, HttpbinError> {
    let n = count(
        "n",
        call.param(0),
        config.max_redirects,
        "http.httpbin.max_redirects",
    )?;
    if n == 0 {
        return Err(bad("n", "a chain has at least 1 hop"));
    }
    let absolute = hops == Hops::Absolute
        || (call.uri.path().starts_with("/redirect/")
            && call
                .query()
                .get("absolute")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")));
    let next = match (n, absolute) {
        (1, _) => "/get".to_owned(),
        (n, false) => format!("/relative-redirect/{}", n - 1),
        (n, true) => format!("/absolute-redirect/{}", n - 1),
    };
    let location = match absolute {
        true => format!("http://{}{next}", inspect::host(call)),
        false => next,
    };
    found(StatusCode::FOUND, &location)
}

/// `/redirect-to?url=&status_code=302`.
pub(crate) fn redirect_to(
    call: &Call,
    config: &HttpbinConfig,
) -> Result<Response<Body>, HttpbinError> {
    let q = call.query();
    let url = q
        .get("url")
        .ok_or_else(|| bad("url", "missing: /redirect-to?url=/get"))?;
    let status = match q.get("status_code") {
        Some(raw) => match raw.parse::<u16>() {
            Ok(n @ 300..=399) => StatusCode::from_u16(n).map_err(|e| bad("status_code", e))?,
            _ => return Err(bad("status_code", format!("`{raw}` is not a 3xx status"))),
        },
        None => StatusCode::FOUND,
    };
    let own = host_name(inspect::host(call));
    if let Some(host) = foreign_host(url)?
        && !host.eq_ignore_ascii_case(own)
        && !config
            .allowed_redirect_hosts
            .iter()
            .any(|allowed| host_name(allowed).eq_ignore_ascii_case(host))
    {
        return Err(HttpbinError::Forbidden(format!(
            "redirecting to {host} is not allowed: /redirect-to only sends clients to \
             relative URLs, this server's own host, or http.httpbin.allowed_redirect_hosts"
        )));
    }
    found(status, url)
}

/// The host an absolute or scheme-relative URL points to; `None` for a relative
/// URL (which stays on this server). Schemes other than http(s) are refused.
fn foreign_host(url: &str) -> Result<Option<&str>, HttpbinError> {
    // Browsers read `\` as `/`, so `/\evil.example` is scheme-relative too.
    let normal = url.replace('\\', "/");
    let before_path = normal.split(['/', '?', '#']).next().unwrap_or("");
    if !normal.starts_with("//") && !before_path.contains(':') {
        return Ok(None);
    }
    let with_scheme = match normal.strip_prefix("//") {
        Some(rest) => format!("http://{rest}"),
        None => normal.clone(),
    };
    let uri: Uri = with_scheme
        .parse()
        .map_err(|_| bad("url", format!("`{url}` is not a URL")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(bad("url", "only http and https URLs are followed")),
    }
    let host = uri
        .host()
        .ok_or_else(|| bad("url", format!("`{url}` has no host")))?;
    // Point into `url` itself (its host is there, in any case): the caller compares it.
    let start = url
        .to_ascii_lowercase()
        .find(&host.to_ascii_lowercase())
        .ok_or_else(|| bad("url", format!("`{url}` is not a URL")))?;
    Ok(Some(&url[start..start + host.len()]))
}

/// `example.com:8080` → `example.com` (and `[::1]:80` → `[::1]`).
fn host_name(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_stay_and_absolute_ones_name_their_host() {
        for url in ["/get", "get", "/status/418?x=1", "/get?at=12:00"] {
            assert_eq!(foreign_host(url).ok(), Some(None), "{url}");
        }
        let cases = [
            ("http://example.com/x", "example.com"),
            ("https://Example.com:8443/", "Example.com"),
            ("//evil.example/x", "evil.example"),
            ("/\\evil.example/x", "evil.example"),
            ("http://127.0.0.1:8080/get", "127.0.0.1"),
        ];
        for (url, host) in cases {
            assert_eq!(foreign_host(url).ok().flatten(), Some(host), "{url}");
        }
        for url in ["javascript:alert(1)", "ftp://example.com/", "http://"] {
            assert!(foreign_host(url).is_err(), "{url}");
        }
        assert_eq!(host_name("example.com:80"), "example.com");
        assert_eq!(host_name("example.com"), "example.com");
        assert_eq!(host_name("[::1]:80"), "[::1]");
    }
}
