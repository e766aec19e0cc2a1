//! `[http.httpbin]`: the httpbin-compatible routes (`/get`, `/status/{codes}`,
//! `/bytes/{n}`, `/drip`, `/redirect-to`, ...). See the `asynclab-httpbin` crate.
//!
//! Each key caps what a request may ask for: a request over a cap gets 400 naming
//! the key, so no request can make the server hang, loop or hold unbounded memory.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units::{self, Size};
use super::{Check, at_least, invalid, nonzero, shorter};

/// The `[http.httpbin]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpbinConfig {
    /// The largest generated body: `/bytes/{n}`, `/stream-bytes/{n}`, `/range/{n}`,
    /// `/drip?numbytes=`, and `/echo?size=`.
    pub max_bytes: Size,
    /// The most lines `/stream/{n}` sends.
    pub max_stream_lines: usize,
    /// The longest `/delay/{n}` and `/drip?delay=` wait (at most `http.slow.max_delay`).
    #[serde(with = "units::duration")]
    pub max_delay: Duration,
    /// The longest `/drip?duration=` spreads its bytes over.
    #[serde(with = "units::duration")]
    pub max_drip_duration: Duration,
    /// The most hops `/redirect/{n}` and its relative and absolute forms chain.
    pub max_redirects: usize,
    /// Hosts `/redirect-to?url=` may send a client to besides this server's own
    /// (empty: relative URLs and this host only, so it is never an open redirect).
    pub allowed_redirect_hosts: Vec<String>,
    /// Request bodies held whole at once to be parsed (`/post`, `/anything`...: each
    /// up to `http.max_body`); more get 503 at once.
    pub max_buffered_bodies: usize,
}

impl HttpbinConfig {
    /// `max_delay` is `http.slow.max_delay`, the longest wait any request may ask for.
    pub(super) fn check(&self, max_delay: Duration) -> Check {
        at_least("http.httpbin.max_bytes", self.max_bytes.bytes(), 1)?;
        at_least("http.httpbin.max_stream_lines", self.max_stream_lines, 1)?;
        nonzero("http.httpbin.max_delay", self.max_delay)?;
        shorter(
            ("http.httpbin.max_delay", self.max_delay),
            ("http.slow.max_delay", max_delay),
            true,
            "",
        )?;
        nonzero("http.httpbin.max_drip_duration", self.max_drip_duration)?;
        at_least(
            "http.httpbin.max_buffered_bodies",
            self.max_buffered_bodies,
            1,
        )?;
        for host in &self.allowed_redirect_hosts {
            let plain = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if !plain {
                return Err(invalid(
                    "http.httpbin.allowed_redirect_hosts",
                    host,
                    "must be a host name such as example.com (no scheme, path or wildcard)",
                ));
            }
        }
        Ok(())
    }
}
