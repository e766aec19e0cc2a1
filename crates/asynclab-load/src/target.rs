//! [`Target`]: what a run talks to, parsed from the URL the user gave: an HTTP
//! request built once and sent again and again, a TCP echo server (plain or over
//! TLS) and the messages to send it, or a WebSocket echo endpoint (`ws.rs`).

use base64::Engine;
use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use http::{Method, Uri};

use crate::Error;
use crate::ws::WsTarget;

/// What a run talks to.
// Built once per run and cloned once per connection, never moved per request:
// boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Target {
    /// An HTTP server (`http://HOST:PORT/PATH`, or `https://`).
    Http(HttpTarget),
    /// A TCP echo server (`tcp://HOST:PORT`, or `tls://` over TLS).
    Echo(EchoTarget),
    /// A WebSocket echo endpoint (`ws://HOST:PORT/PATH`; see `ws.rs`).
    Ws(WsTarget),
}

impl Target {
    /// `HOST:PORT` to resolve and connect to.
    pub fn authority(&self) -> (&str, u16) {
        match self {
            Target::Http(h) => (&h.host, h.port),
            Target::Echo(e) => (&e.host, e.port),
            Target::Ws(w) => (&w.host, w.port),
        }
    }

    /// The target as the user wrote it (for the report).
    pub fn url(&self) -> String {
        match self {
            Target::Http(h) => h.uri.to_string(),
            Target::Echo(e) => {
                let scheme = if e.tls { "tls" } else { "tcp" };
                format!("{scheme}://{}:{}", e.host, e.port)
            }
            Target::Ws(w) => w.url.clone(),
        }
    }

    /// True for `https://`, `wss://` and `tls://`: connections run a TLS handshake.
    pub fn tls(&self) -> bool {
        match self {
            Target::Http(h) => h.tls,
            Target::Echo(e) => e.tls,
            Target::Ws(w) => w.tls,
        }
    }

    /// The protocol in the report: `http/1.1`, `h2`, `echo-line` or `echo-raw`.
    pub fn protocol(&self) -> &'static str {
        match self {
            Target::Http(h) if h.http2 => "h2",
            Target::Http(_) => "http/1.1",
            Target::Echo(e) if e.mode == EchoMode::Line => "echo-line",
            Target::Echo(_) => "echo-raw",
            Target::Ws(w) if w.binary => "websocket-binary",
            Target::Ws(_) => "websocket-text",
        }
    }
}

/// One HTTP request, built once and sent again and again.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    /// The absolute URL (`http[s]://host:port/path?query`).
    pub uri: Uri,
    pub host: String,
    pub port: u16,
    pub method: Method,
    /// Sent with every request; `Host` and `User-Agent` are added unless given.
    pub headers: HeaderMap,
    /// Cloning `Bytes` is a reference-count increment: no copy per request.
    pub body: Bytes,
    /// Keep the connection open between requests (HTTP/1.1 keep-alive).
    pub keepalive: bool,
    /// Speak HTTP/2: with prior knowledge over `http://` (no upgrade), chosen
    /// by ALPN over `https://` (the run offers only `h2`, and insists on it).
    pub http2: bool,
    /// `https://`: every connection runs a TLS handshake first.
    pub tls: bool,
    /// `Authorization: Basic ...` from the URL's `user:password@`, as curl sends it;
    /// a `-H 'Authorization: ...'` replaces it.
    pub basic_auth: Option<HeaderValue>,
}

impl HttpTarget {
    /// Parses `http[s]://[USER:PASSWORD@]HOST[:PORT][/PATH]`: a GET with no
    /// body, keep-alive, HTTP/1.1.
    pub fn parse(url: &str) -> Result<HttpTarget, Error> {
        let bad = |reason: &str| Error::Target {
            target: url.to_string(),
            reason: reason.to_string(),
        };
        if !url.contains("://") {
            return Err(bad(&format!(
                "no scheme: add http:// or tcp:// (http://{url} or tcp://{url})"
            )));
        }
        let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        let (scheme, tls, default_port) = match uri.scheme_str() {
            Some("http") => ("http", false, 80),
            Some("https") => ("https", true, 443),
            _ => {
                return Err(bad(
                    "use http[s]://HOST:PORT/PATH, tcp://HOST:PORT or tls://HOST:PORT",
                ));
            }
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?.as_str();
        // The user name and password go into a header, never into `Host` or the
        // request line (the `http` crate keeps them in the authority).
        let (basic_auth, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(basic_auth(userinfo).map_err(bad)?), host_port),
            None => (None, authority),
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        // A bare `http://host:port` has no path; hyper wants at least `/`.
        let path = if path.is_empty() { "/" } else { path };
        let uri: Uri = format!("{scheme}://{host_port}{path}")
            .parse()
            .map_err(|e| bad(&format!("{e}")))?;
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        // `[::1]` in a URL is `::1` to the resolver.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(default_port);
        Ok(HttpTarget {
            uri,
            host,
            port,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            keepalive: true,
            http2: false,
            tls,
            basic_auth,
        })
    }

    /// Adds one `Name: value` header (as given to `-H`).
    pub fn add_header(&mut self, line: &str) -> Result<(), Error> {
        let bad = || Error::Usage(format!("bad header `{line}` (use -H 'Name: value')"));
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
        self.headers.append(name, value);
        Ok(())
    }

    /// The headers actually sent: the user's, plus `Host` (HTTP/1.1 only: HTTP/2
    /// carries it as `:authority`), `User-Agent`, and `Connection: close` without
    /// keep-alive.
    pub(crate) fn wire_headers(&self) -> HeaderMap {
        let mut headers = self.headers.clone();
        if !self.http2 && !headers.contains_key(HOST) {
            let authority = self
                .uri
                .authority()
                .map_or(self.host.as_str(), |a| a.as_str());
            if let Ok(value) = HeaderValue::from_str(authority) {
                headers.insert(HOST, value);
            }
        }
        if let Some(auth) = &self.basic_auth
            && !headers.contains_key(AUTHORIZATION)
        {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(
                USER_AGENT,
                HeaderValue::from_static(concat!("asynclab-load/", env!("CARGO_PKG_VERSION"))),
            );
        }
        if !self.keepalive && !self.http2 {
            headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        headers
    }
}

/// `Basic base64(user:password)` from a URL's `user:password` (percent-decoded).
fn basic_auth(userinfo: &str) -> Result<HeaderValue, &'static str> {
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(userinfo).collect();
    let token = base64::engine::general_purpose::STANDARD.encode(decoded);
    let mut value = HeaderValue::from_str(&format!("Basic {token}"))
        .map_err(|_| "the user name or password cannot be sent")?;
    // Kept out of logs that print headers.
    value.set_sensitive(true);
    Ok(value)
}

/// The echo server's framing, as in its `echo.mode` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EchoMode {
    /// Each message is one line; the answer is `prefix` + the line.
    Line,
    /// Bytes come back as they were sent, with no framing.
    Raw,
}

/// A TCP echo server and the messages to send it.
#[derive(Debug, Clone)]
pub struct EchoTarget {
    pub host: String,
    pub port: u16,
    /// `tls://`: a TLS handshake (with no ALPN: the echo speaks no HTTP) before
    /// the first message of each connection, as `asynclab echo` with `echo.tls`
    /// expects.
    pub tls: bool,
    /// Bytes per message, the newline included in line mode.
    pub size: usize,
    pub mode: EchoMode,
    /// What the server puts before each echoed line (its `echo.prefix`).
    pub prefix: Bytes,
}

impl EchoTarget {
    /// Parses `tcp://HOST:PORT` (or `tls://HOST:PORT`): 64-byte lines, answered
    /// with the `Echo: ` prefix.
    pub fn parse(url: &str) -> Result<EchoTarget, Error> {
        let bad = |reason: &str| Error::Target {
            target: url.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, tls) = if url.starts_with("tls://") {
            ("tls", true)
        } else {
            ("tcp", false)
        };
        let rest = url
            .strip_prefix(&format!("{scheme}://"))
            .ok_or_else(|| bad("use tcp://HOST:PORT or tls://HOST:PORT"))?
            .trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad(&format!("no port (use {scheme}://HOST:PORT)")))?;
        let port = port
            .parse()
            .map_err(|_| bad("the port is not a number up to 65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(EchoTarget {
            host: host.to_string(),
            port,
            tls,
            size: 64,
            mode: EchoMode::Line,
            prefix: Bytes::from_static(b"Echo: "),
        })
    }
}

impl std::str::FromStr for Target {
    type Err = Error;

    /// `tcp://...` and `tls://...` are echo targets, `ws[s]://` WebSocket
    /// ones, anything else must be an `http[s]://` URL.
    fn from_str(url: &str) -> Result<Target, Error> {
        if url.starts_with("tcp://") || url.starts_with("tls://") {
            EchoTarget::parse(url).map(Target::Echo)
        } else if url.starts_with("ws://") || url.starts_with("wss://") {
            WsTarget::parse(url).map(Target::Ws)
        } else {
            HttpTarget::parse(url).map(Target::Http)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_host_names_and_defaults() {
        let Ok(Target::Http(h)) = "http://localhost:8080".parse::<Target>() else {
            panic!("http target")
        };
        assert_eq!(
            (h.host.as_str(), h.port, h.uri.path()),
            ("localhost", 8080, "/")
        );
        let Ok(Target::Http(h)) = "http://web/fast?x=1".parse::<Target>() else {
            panic!("http target")
        };
        assert_eq!(
            (h.port, h.uri.path_and_query().map(|p| p.as_str())),
            (80, Some("/fast?x=1"))
        );
        let Ok(Target::Echo(e)) = "tcp://echo:7000".parse::<Target>() else {
            panic!("echo target")
        };
        assert_eq!((e.host.as_str(), e.port, e.size), ("echo", 7000, 64));
        let Ok(Target::Echo(e)) = "tcp://[::1]:7000".parse::<Target>() else {
            panic!("echo target")
        };
        assert_eq!((e.host.as_str(), e.tls), ("::1", false));
        let Ok(Target::Echo(e)) = "tls://localhost:7000".parse::<Target>() else {
            panic!("tls echo target")
        };
        assert_eq!((e.host.as_str(), e.port, e.tls), ("localhost", 7000, true));
        let target = Target::Echo(e);
        assert_eq!(
            (target.url(), target.tls()),
            ("tls://localhost:7000".into(), true)
        );
        let Ok(Target::Http(h)) = "https://localhost/fast".parse::<Target>() else {
            panic!("https target")
        };
        assert_eq!(
            (h.tls, h.port, h.uri.scheme_str()),
            (true, 443, Some("https"))
        );
        let Ok(Target::Ws(w)) = "wss://localhost/ws/echo".parse::<Target>() else {
            panic!("wss target")
        };
        assert_eq!((w.tls, w.port), (true, 443));
    }

    #[test]
    fn bad_targets_say_why() {
        for (url, why) in [
            ("https://", "empty"),
            ("wss://", "empty"),
            ("tcp://localhost", "no port"),
            ("tls://localhost", "no port (use tls://"),
            ("tls://:7000", "no host"),
            ("tcp://localhost:99999", "port"),
            ("ftp://x/", "tcp://"),
            ("127.0.0.1:8080/fast", "add http:// or tcp://"),
            ("localhost", "http://localhost or tcp://localhost"),
        ] {
            let err = url.parse::<Target>().expect_err(url).to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn headers_are_added_and_host_can_be_overridden() {
        let Ok(Target::Http(mut h)) = "http://127.0.0.1:8080/".parse::<Target>() else {
            panic!("http target")
        };
        assert!(h.add_header("no colon").is_err());
        h.add_header("X-Test: 1").expect("valid header");
        let wire = h.wire_headers();
        assert_eq!(wire[HOST], "127.0.0.1:8080");
        assert_eq!(wire["x-test"], "1");
        h.add_header("Host: example.com").expect("valid header");
        assert_eq!(h.wire_headers()[HOST], "example.com");
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth_not_part_of_host() {
        let Ok(Target::Http(mut h)) = "http://user:p%40ss@127.0.0.1:8080/x".parse::<Target>()
        else {
            panic!("http target")
        };
        let wire = h.wire_headers();
        assert_eq!(wire[HOST], "127.0.0.1:8080");
        // base64("user:p@ss"), as `curl -v http://user:p%40ss@...` sends it.
        assert_eq!(wire[AUTHORIZATION], "Basic dXNlcjpwQHNz");
        // Nothing of the password in the report's URL.
        assert_eq!(h.uri.to_string(), "http://127.0.0.1:8080/x");
        h.add_header("Authorization: Bearer t")
            .expect("valid header");
        assert_eq!(h.wire_headers()[AUTHORIZATION], "Bearer t");
    }
}
