//! Test helpers: a real server on `127.0.0.1:0` in this process, real clients.
//!
//! `spawn` starts `asynclab_http::Server` exactly as the binary does (same
//! `Server::new` and `run`), with the settings a test changes, and hands back its
//! address, its state (to read counters) and the shutdown handle it listens to.
//! Every wait is bounded, so a broken server fails a test instead of hanging it.

#![allow(dead_code)] // each test uses a different subset

pub mod tls;

use std::net::SocketAddr;
use std::time::Duration;

use asynclab_core::config::{Config, Loaded};
use asynclab_core::{DrainReport, Metrics, Shutdown};
use asynclab_http::{AppState, Server};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

pub mod ws;

/// The longest any single step of a test may take before it counts as a failure.
pub const STEP: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    /// The HTTPS listener's address, for a server started by `tls::spawn_tls`.
    pub https: Option<SocketAddr>,
    pub state: AppState,
    pub shutdown: Shutdown,
    pub run: JoinHandle<DrainReport>,
}

/// Starts a server with the built-in defaults changed by `tweak`.
pub async fn spawn(tweak: impl FnOnce(&mut Config)) -> TestServer {
    start(tweak, None).await
}

/// The one way a test starts a server: as `asynclab serve` does, and with an
/// HTTPS listener too when `tls` is given (see `tls::spawn_tls`).
async fn start(
    tweak: impl FnOnce(&mut Config),
    tls: Option<&asynclab_tls::ServerTlsOptions>,
) -> TestServer {
    let mut config = Config::builtin();
    config.http.addr = "127.0.0.1:0".parse().expect("address");
    tweak(&mut config);
    let loaded = Loaded::from_config(config);
    let shutdown = Shutdown::with_grace(loaded.config.shutdown.grace);
    let server = Server::new(&loaded, Metrics::new(), shutdown.clone()).expect("server builds");
    let state = server.state().clone();
    // With `http.backlog`, as `asynclab serve` binds (see `asynclab_core::listen`).
    let http = &loaded.config.http;
    let listener = asynclab_core::listen::listen(http.addr, http.backlog).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let https = tls.map(|options| asynclab_http::Https {
        listener: asynclab_core::listen::listen("127.0.0.1:0".parse().expect("addr"), http.backlog)
            .expect("bind https"),
        tls: asynclab_tls::ServerTls::new(options).expect("TLS config builds"),
    });
    let https_addr = https
        .as_ref()
        .map(|h| h.listener.local_addr().expect("local addr"));
    let run = tokio::spawn(server.run_with_tls(listener, https));
    TestServer {
        addr,
        https: https_addr,
        state,
        shutdown,
        run,
    }
}

impl TestServer {
    /// Shuts down as the first signal does: readiness off now, listeners closed
    /// after `readiness_delay`.
    pub fn shut_down(&self, readiness_delay: Duration) {
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move { shutdown.sequence(readiness_delay).await });
    }
}

/// A pooled HTTP/1.1 client (the one most users' tools behave like).
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// What a test looks at in a response.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub version: Version,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// Sends `req` with `client` and reads the whole answer (bounded by [`STEP`]).
pub async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Answer {
    let fut = async { read_answer(client.request(req).await.expect("request")).await };
    tokio::time::timeout(STEP, fut)
        .await
        .expect("answer within STEP")
}

pub async fn read_answer(res: http::Response<hyper::body::Incoming>) -> Answer {
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        version: parts.version,
    }
}

/// `GET http://addr{path}` on a fresh client.
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    send(&client(), request("GET", addr, path)).await
}

pub fn request(method: &str, addr: SocketAddr, path: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::new()))
        .expect("valid request")
}

/// Writes `bytes` on a fresh connection and reads until the server closes it
/// (or [`STEP`] passes). For input no well-behaved client would send.
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    read_to_close(&mut stream).await
}

/// Reads everything until EOF (or a reset), bounded by [`STEP`].
pub async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(STEP, async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server did not close the connection within {STEP:?}"
    );
    String::from_utf8_lossy(&out).into_owned()
}

/// Polls `/stats` until `pred` holds (bounded by [`STEP`]); returns the last stats.
pub async fn wait_stats(
    addr: SocketAddr,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let stats = get(addr, "/stats").await.json();
        if pred(&stats) {
            return stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stats never matched: {stats:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An HTTP/2 request with prior knowledge (no upgrade dance), like
/// `curl --http2-prior-knowledge`.
pub async fn get_h2(addr: SocketAddr, path: &str) -> Answer {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2 handshake");
    tokio::spawn(conn);
    let req = Request::builder()
        .uri(format!("http://{addr}{path}"))
        .body(Empty::<Bytes>::new())
        .expect("valid request");
    read_answer(sender.send_request(req).await.expect("h2 request")).await
}

/// Sends `GET /slow?delay=...` on a raw connection and returns once the server is
/// handling it (two requests in flight: it and the `/stats` poll).
pub async fn slow_in_flight(addr: SocketAddr, delay: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET /slow?delay={delay} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    wait_stats(addr, |st| st["requests_in_flight"] == 2).await;
    stream
}
