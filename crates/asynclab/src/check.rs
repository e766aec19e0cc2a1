//! `asynclab check TARGET`: a health probe for containers that have no shell or curl.
//!
//! Pattern: **a deadline over a whole sequence of awaits**. The probe (connect,
//! send, read) is one async block wrapped in `tokio::time::timeout`; when the time
//! runs out, the block is dropped mid-await and with it the socket: cancellation by
//! drop. Exit 0 when the target answered correctly, 1 otherwise, with one line
//! saying why.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub async fn run(target: &str, timeout: Duration) -> anyhow::Result<ExitCode> {
    let outcome = match tokio::time::timeout(timeout, probe(target)).await {
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

async fn probe(target: &str) -> anyhow::Result<String> {
    if let Some(addr) = target.strip_prefix("tcp://") {
        probe_echo(addr.trim_end_matches('/')).await
    } else if target.starts_with("http://") {
        probe_http(target).await
    } else {
        bail!("unsupported target (use tcp://HOST:PORT or http://HOST:PORT/PATH)")
    }
}

/// Sends one line and expects it back (with or without the echo prefix).
async fn probe_echo(addr: &str) -> anyhow::Result<String> {
    const PROBE: &str = "asynclab-check";
    let stream = TcpStream::connect(addr).await.context("connect")?;
    let (read, mut write) = stream.into_split();
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
async fn probe_http(url: &str) -> anyhow::Result<String> {
    let uri: hyper::Uri = url.parse().context("bad URL")?;
    let host = uri.host().context("URL has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .context("connect")?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("handshake")?;
    // The connection future drives the socket; it ends when the request is done or
    // when this probe is dropped by the timeout.
    tokio::spawn(conn);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let request = hyper::Request::get(path)
        .header(
            hyper::header::HOST,
            uri.authority().map(|a| a.as_str()).unwrap_or(&host),
        )
        .header(
            hyper::header::USER_AGENT,
            concat!("asynclab-check/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .context("building the request")?;
    let response = sender.send_request(request).await.context("request")?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the body")?
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    let body = body.trim();
    let summary: String = body.chars().take(80).collect();
    if status.is_success() {
        Ok(format!("{status} {summary}"))
    } else {
        bail!("{status} {summary}")
    }
}
