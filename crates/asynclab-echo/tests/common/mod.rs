//! Helpers for the echo server's in-process tests: a real server on
//! `127.0.0.1:0`, real client sockets, and every wait bounded so a broken server
//! fails a test instead of hanging it.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::time::Duration;

pub use asynclab_core::config::{Config, EchoConfig, EchoMode};
use asynclab_core::metrics::EchoMetrics;
use asynclab_core::{DrainReport, Metrics, Shutdown};
use asynclab_echo::Server;
use asynclab_tls::{ClientStream, ClientTls, ClientTlsOptions, TlsAcceptor};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest any single step may take before the test fails. Generous: the
/// tests run on a small, busy machine; a healthy server answers in microseconds.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The built-in echo settings on port 0, with timeouts short enough for tests
/// that do not exercise them to never wait on them either.
pub fn config() -> EchoConfig {
    let mut config = Config::builtin().echo;
    config.addr = "127.0.0.1:0".parse().expect("a valid address");
    config.idle_timeout = Duration::from_secs(30);
    config.farewell_timeout = Duration::from_millis(500);
    config.accept_retry = Duration::from_millis(20);
    config
}

pub fn raw_config() -> EchoConfig {
    EchoConfig {
        mode: EchoMode::Raw,
        ..config()
    }
}

/// A running echo server and the handles a test needs to observe and stop it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: Shutdown,
    pub metrics: EchoMetrics,
    run: JoinHandle<DrainReport>,
}

/// Starts a server with a 10 s grace period.
pub async fn start(config: EchoConfig) -> TestServer {
    start_with_grace(config, PATIENCE).await
}

pub async fn start_with_grace(config: EchoConfig, grace: Duration) -> TestServer {
    start_server(config, grace, None).await
}

/// Starts a server speaking TLS with `acceptor` (as `echo.tls` does).
pub async fn start_tls(config: EchoConfig, acceptor: TlsAcceptor) -> TestServer {
    start_server(config, PATIENCE, Some(acceptor)).await
}

async fn start_server(config: EchoConfig, grace: Duration, tls: Option<TlsAcceptor>) -> TestServer {
    let listener = TcpListener::bind(config.addr).await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let metrics = Metrics::new();
    let shutdown = Shutdown::with_grace(grace);
    let mut server = Server::new(config, metrics.clone(), shutdown.clone());
    if let Some(acceptor) = tls {
        server = server.with_tls(acceptor);
    }
    let run = tokio::spawn(server.run(listener));
    TestServer {
        addr,
        shutdown,
        metrics: metrics.echo(),
        run,
    }
}

impl TestServer {
    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Starts the shutdown (listeners close now); [`TestServer::report`] waits
    /// for the drain.
    pub fn stop(&self) {
        self.shutdown.stop();
    }

    /// True until `run` has returned.
    pub fn is_running(&self) -> bool {
        !self.run.is_finished()
    }

    /// Waits for `run` to return (after [`TestServer::stop`]).
    pub async fn report(self) -> DrainReport {
        within(PATIENCE * 2, self.run).await.expect("run panicked")
    }

    /// Waits until `what` holds for the server's counters.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&EchoMetrics) -> bool) {
        let waited = tokio::time::timeout(PATIENCE, async {
            while !check(&self.metrics) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "waited {PATIENCE:?} for {what}");
    }
}

/// A client connection with line-oriented helpers, over TCP or TLS.
pub struct Client<S = TcpStream> {
    pub stream: BufReader<S>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = within(PATIENCE, TcpStream::connect(addr))
            .await
            .expect("connect to the echo server");
        Self {
            stream: BufReader::new(stream),
        }
    }
}

impl Client<ClientStream<TcpStream>> {
    /// Connects and runs the TLS handshake as `localhost`: the client, or the
    /// handshake's error.
    pub async fn tls(addr: SocketAddr, options: &ClientTlsOptions) -> std::io::Result<Self> {
        let tls = ClientTls::new(options).expect("client TLS builds");
        let name = ClientTls::server_name("localhost").expect("a DNS name");
        let tcp = within(PATIENCE, TcpStream::connect(addr)).await?;
        let stream = within(PATIENCE, tls.connector().connect(name, tcp)).await?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        within(PATIENCE, self.stream.get_mut().write_all(bytes))
            .await
            .expect("send");
    }

    /// Reads up to and including the next `\n` (or to the end of the stream).
    pub async fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        within(PATIENCE, self.stream.read_until(b'\n', &mut line))
            .await
            .expect("read a line");
        line
    }

    /// Reads exactly `n` bytes.
    pub async fn exact(&mut self, n: usize) -> Vec<u8> {
        let mut bytes = vec![0; n];
        within(PATIENCE, self.stream.read_exact(&mut bytes))
            .await
            .expect("read the expected bytes");
        bytes
    }

    /// Reads until the server closes the connection.
    pub async fn rest(&mut self) -> Vec<u8> {
        let mut bytes = Vec::new();
        within(PATIENCE, self.stream.read_to_end(&mut bytes))
            .await
            .expect("read to the end");
        bytes
    }

    /// One line sent, one answer read.
    pub async fn round_trip(&mut self, line: &[u8]) -> Vec<u8> {
        self.send(line).await;
        self.line().await
    }

    /// Half-closes: the server sees the end of the stream; we can still read.
    pub async fn half_close(&mut self) {
        use tokio::io::AsyncWriteExt;
        within(PATIENCE, self.stream.get_mut().shutdown())
            .await
            .expect("half-close");
    }
}

/// Runs `future`, failing the test if it takes longer than `limit`.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("no progress within {limit:?}"))
}
