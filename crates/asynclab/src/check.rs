//! `asynclab check TARGET`: a health probe for containers that have no shell or curl.
//!
//! Pattern: **a deadline over a whole sequence of awaits**. The probe (connect,
//! send, read) is one async block wrapped in `tokio::time::timeout`; when the time
//! runs out, the block is dropped mid-await and with it the socket: cancellation by
//! drop. Exit 0 when the target answered correctly, 1 otherwise, with one line
//! saying why; a target or timeout that cannot be used is a usage error (exit 2,
//! from clap, which runs [`Target::parse`] and [`timeout`]).
//!
//! `https://` and `tls://` run the same probes over TLS: the TLS handshake is
//! one more await in the block, under the same deadline. The connection is
//! made by [`connect`], and each probe is generic over the stream it gets.

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use asynclab_tls::{ClientTls, TlsError};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::cli::TlsArgs;

/// The most of a response body the one-line result shows.
const SUMMARY_CHARS: usize = 80;

/// What to probe.
#[derive(Debug, Clone)]
pub enum Target {
    /// `tcp://HOST:PORT` (or `tls://`, over TLS): an echo server.
    Tcp { addr: String, tls: bool },
    /// `http://HOST:PORT/PATH` or `https://...`: any 2xx is healthy.
    Http(hyper::Uri),
}

impl Target {
    /// Parses `tcp://HOST:PORT`, `tls://HOST:PORT` or `http[s]://HOST[:PORT]/PATH`.
    pub fn parse(text: &str) -> Result<Self, String> {
        const USE: &str = "use tcp://HOST:PORT, tls://HOST:PORT or http[s]://HOST:PORT/PATH";
        let echo = [("tcp://", false), ("tls://", true)]
            .into_iter()
            .find_map(|(scheme, tls)| Some((text.strip_prefix(scheme)?, tls)));
        if let Some((addr, tls)) = echo {
            let addr = addr.trim_end_matches('/');
            match addr.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    Ok(Self::Tcp {
                        addr: addr.to_string(),
                        tls,
                    })
                }
                _ => Err(format!("`{text}` has no HOST:PORT ({USE})")),
            }
        } else if text.starts_with("http://") || text.starts_with("https://") {
            let uri: hyper::Uri = text.parse().map_err(|e| format!("bad URL: {e}"))?;
            match uri.host() {
                Some(_) => Ok(Self::Http(uri)),
                None => Err(format!("`{text}` has no host ({USE})")),
            }
        } else {
            Err(format!("unsupported target ({USE})"))
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp { addr, tls: false } => write!(f, "tcp://{addr}"),
            Self::Tcp { addr, tls: true } => write!(f, "tls://{addr}"),
            Self::Http(uri) => write!(f, "{uri}"),
        }
    }
}

/// `--timeout`: a duration longer than zero (a zero deadline fails every probe).
pub fn timeout(text: &str) -> Result<Duration, String> {
    match asynclab_core::config::units::duration::parse(text)? {
        d if d.is_zero() => Err("must be longer than zero".into()),
        d => Ok(d),
    }
}

/// The TLS client for `target`, when it speaks TLS. HTTP offers only
/// `http/1.1` by ALPN: the probe sends one HTTP/1.1 request.
pub fn tls(target: &Target, args: &TlsArgs) -> Result<Option<ClientTls>, TlsError> {
    match target {
        Target::Tcp { tls: false, .. } => Ok(None),
        Target::Http(uri) if uri.scheme_str() != Some("https") => Ok(None),
        Target::Tcp { .. } => args.client(&[]).map(Some),
        Target::Http(_) => args.client(&[asynclab_tls::ALPN_HTTP11]).map(Some),
    }
}

pub async fn run(
    target: &Target,
    timeout: Duration,
    tls: Option<&ClientTls>,
) -> anyhow::Result<ExitCode> {
    let outcome = match tokio::time::timeout(timeout, probe(target, tls)).await {
        Ok(result) => result,
        Err(_) => Err(anyhow!(
            "no answer within {}",
            humantime::format_duration(timeout)
        )),
    };
    Ok(match outcome {
        Ok(what) => {
            println!("ok: {target}: {what}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("fail: {target}: {e:#}");
            ExitCode::FAILURE
        }
    })
}

async fn probe(target: &Target, tls: Option<&ClientTls>) -> anyhow::Result<String> {
    match target {
        Target::Tcp { addr, .. } => {
            let (host, port) = addr.rsplit_once(':').context("HOST:PORT")?;
            let port = port.parse().context("port")?;
            match connect(host, port, tls).await? {
                Stream::Plain(s) => probe_echo(s).await,
                Stream::Tls(s) => probe_echo(*s).await,
            }
        }
        Target::Http(uri) => probe_http(uri, tls).await,
    }
}

/// A connection to the target: TCP, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<asynclab_tls::ClientStream<TcpStream>>),
}

/// Connects to `host:port`, and with `tls` runs the handshake, checking the
/// certificate against `host` (unless `--insecure`).
async fn connect(host: &str, port: u16, tls: Option<&ClientTls>) -> anyhow::Result<Stream> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((bare, port)).await.context("connect")?;
    let Some(tls) = tls else {
        return Ok(Stream::Plain(stream));
    };
    let name = ClientTls::server_name(host)?;
    let stream = tls
        .connector()
        .connect(name, stream)
        .await
        .context("TLS handshake")?;
    Ok(Stream::Tls(Box::new(stream)))
}

/// Sends one line and expects it back (with or without the echo prefix).
async fn probe_echo<S: AsyncRead + AsyncWrite>(stream: S) -> anyhow::Result<String> {
    const PROBE: &str = "asynclab-check";
    let (read, mut write) = tokio::io::split(stream);
    write
        .write_all(format!("{PROBE}\n").as_bytes())
        .await
        .context("send")?;
    let mut line = String::new();
    BufReader::new(read)
        .read_line(&mut line)
        .await
        .context("read")?;
    let line = line.trim_end();
    if line.ends_with(PROBE) {
        Ok(format!("echoed `{line}`"))
    } else if line.is_empty() {
        bail!("connection closed without an answer")
    } else {
        bail!("unexpected answer `{line}`")
    }
}

/// One HTTP/1.1 GET on a fresh connection; any 2xx is healthy.
async fn probe_http(uri: &hyper::Uri, tls: Option<&ClientTls>) -> anyhow::Result<String> {
    let request = http_request(uri, "GET")?
        .body(Full::default())
        .context("building the request")?;
    let (status, body) = send(uri, request, tls).await?;
    let summary = first_line(&body);
    if status.is_success() {
        Ok(format!("{status} {summary}"))
    } else {
        bail!("{status} {summary}")
    }
}

/// A request to `uri` with `Host` and `User-Agent` set: what `check` and
/// `control` send.
pub fn http_request(
    uri: &hyper::Uri,
    method: &str,
) -> anyhow::Result<hyper::http::request::Builder> {
    let host = uri.host().context("URL has no host")?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok(hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(
            hyper::header::HOST,
            uri.authority().map(|a| a.as_str()).unwrap_or(host),
        )
        .header(
            hyper::header::USER_AGENT,
            concat!("asynclab/", env!("CARGO_PKG_VERSION")),
        ))
}

/// Sends `request` to `uri`'s host on a fresh HTTP/1.1 connection (TLS over it
/// with `tls`); returns the status and the whole body.
pub async fn send(
    uri: &hyper::Uri,
    request: hyper::Request<Full<Bytes>>,
    tls: Option<&ClientTls>,
) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
    let host = uri.host().context("URL has no host")?;
    let default_port = if tls.is_some() { 443 } else { 80 };
    let port = uri.port_u16().unwrap_or(default_port);
    match connect(host, port, tls).await? {
        Stream::Plain(s) => send_on(s, request).await,
        Stream::Tls(s) => send_on(*s, request).await,
    }
}

/// One request and its whole answer on `stream`, plain or TLS.
async fn send_on<S>(
    stream: S,
    request: hyper::Request<Full<Bytes>>,
) -> anyhow::Result<(hyper::StatusCode, Bytes)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("handshake")?;
    // The connection future drives the socket; it ends when the request is done or
    // when this probe is dropped by the timeout.
    tokio::spawn(conn);
    let response = sender.send_request(request).await.context("request")?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the body")?
        .to_bytes();
    Ok((status, body))
}

/// The body's first non-blank line, at most [`SUMMARY_CHARS`] characters, with
/// control characters escaped and `...` where anything was left out: a health
/// log wants one line per probe, whatever the body holds.
fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let mut summary: String = first
        .chars()
        .take(SUMMARY_CHARS)
        .flat_map(char::escape_default)
        .collect();
    if first.chars().count() > SUMMARY_CHARS || lines.next().is_some() {
        summary.push_str(" ...");
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_summed_up_on_one_line() {
        assert_eq!(first_line(b"ready\n"), "ready");
        assert_eq!(first_line(b"\n  hello\nworld\n"), "hello ...");
        assert_eq!(first_line(b"a\x1b[31mb"), "a\\u{1b}[31mb");
        let long = "x".repeat(200);
        assert_eq!(first_line(long.as_bytes()), format!("{} ...", &long[..80]));
    }

    #[test]
    fn targets_and_timeouts_that_cannot_work_are_refused() {
        assert!(
            matches!(Target::parse("tcp://127.0.0.1:7000/"), Ok(Target::Tcp { addr, tls: false }) if addr == "127.0.0.1:7000")
        );
        assert!(Target::parse("http://127.0.0.1:8080/readyz").is_ok());
        assert!(Target::parse("https://localhost:8443/readyz").is_ok());
        assert!(matches!(
            Target::parse("tls://localhost:7000"),
            Ok(Target::Tcp { tls: true, .. })
        ));
        assert!(Target::parse("127.0.0.1:8080").is_err());
        assert!(Target::parse("tcp://127.0.0.1").is_err());
        assert!(Target::parse("ftp://127.0.0.1:21").is_err());
        assert!(timeout("0s").is_err());
        assert_eq!(timeout("250ms"), Ok(Duration::from_millis(250)));
    }
}
