//! The HTTP server over real sockets: each test starts a server on
//! `127.0.0.1:0` in this process and talks to it with hyper's clients (or raw
//! bytes for what no proper client would send). Each test proves one claim of the
//! README; timings have wide margins, or come from short configured timeouts.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

mod control;
mod dashboard;
mod echo_params;
mod errors;
mod faults;
mod httpbin;
mod httpbin_more;
mod metrics;
mod metrics_docs;
mod metrics_format;
mod protocol;
mod routes;
mod shutdown;
mod timers;
mod tls;
mod websocket;
mod websocket_h2;
mod websocket_life;

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use http::{Request, StatusCode, Version};
use http_body_util::Full;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Reads one response, the one ending in `end`, from a keep-alive connection
/// (it will not close by itself).
async fn read_until(stream: &mut TcpStream, end: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while !String::from_utf8_lossy(&out).ends_with(end) {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}
