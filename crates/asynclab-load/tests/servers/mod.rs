//! Small servers for the load generator's tests, each on `127.0.0.1:0`, each
//! counting what it saw so the tests can compare both sides.
//!
//! They run on the test's runtime and live until the test ends (the runtime drops
//! their tasks). None of them is meant to be fast or complete: each shows one
//! behaviour the load generator must measure correctly.

#![allow(dead_code)] // each test binary uses a different subset

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// What a test server saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    /// HTTP: how many requests had arrived when the last connection to be heard
    /// from sent its first one (at least the number of connections).
    pub before_last_first: AtomicU64,
    /// HTTP: when each request arrived, in order.
    pub arrivals: Mutex<Vec<Instant>>,
    /// HTTP, `/record`: `METHOD path?query x-id:VALUE body` of each request.
    pub recorded: Mutex<Vec<String>>,
}

impl Seen {
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
    pub fn before_last_first(&self) -> u64 {
        self.before_last_first.load(Ordering::SeqCst)
    }
    /// Arrival times, in seconds after `origin`.
    pub fn arrivals_since(&self, origin: Instant) -> Vec<f64> {
        let arrivals = self.arrivals.lock().expect("not poisoned");
        arrivals
            .iter()
            .map(|t| t.saturating_duration_since(origin).as_secs_f64())
            .collect()
    }
}

/// Binds `127.0.0.1:0` and spawns an accept loop that counts connections and hands
/// each one to its own task.
async fn serve<F, Fut>(handle: F) -> (SocketAddr, Arc<Seen>)
where
    F: Fn(TcpStream, Arc<Seen>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    // A backlog of 4,096, as the servers use (see `asynclab_core::listen`): a
    // thousand connections arriving at once all wait in the queue.
    let listener =
        asynclab_core::listen::listen("127.0.0.1:0".parse().expect("address"), 4096).expect("bind");
    let addr = listener.local_addr().expect("bound address");
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            state.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handle(stream, state.clone()));
        }
    });
    (addr, seen)
}

/// What `/chunked` sends, one chunk each.
pub const CHUNKS: [&[u8]; 3] = [b"Hello, ", b"chunked ", b"world!"];
/// The size of `/big`'s body.
pub const BIG: usize = 1 << 20;

/// When `/stall` requests are held, relative to the server's start.
pub const STALL_FROM: Duration = Duration::from_millis(500);
pub const STALL_UNTIL: Duration = Duration::from_millis(1500);

/// `/degrade` answers up to this many requests a second (over the last quarter of
/// a second, counting every path), and beyond it closes the connection instead.
pub const DEGRADES_ABOVE: u64 = 250;

/// How long `/slow` takes to answer.
pub const SLOW: Duration = Duration::from_millis(50);
/// The `Authorization` header `/auth` wants: `user:pw` in Basic auth.
pub const AUTH: &str = "Basic dXNlcjpwdw==";

/// An HTTP/1.1 + HTTP/2 (prior knowledge) server:
/// - `/` answers `Hello, world!` (13 bytes);
/// - `/slow` answers the same after [`SLOW`], `/mixed` only every 13th request
///   (counted over all paths), the others at once;
/// - `/record` answers after noting the request in [`Seen::recorded`];
/// - `/degrade` answers below [`DEGRADES_ABOVE`] requests a second, and closes
///   the connection without an answer above it;
/// - `/auth` answers 200 with the [`AUTH`] header, 401 without it, and 400 when
///   `Host` is not a plain `host:port` (credentials in it, as a naive client sends);
/// - `/alternate` answers 200 and 500 in turn;
/// - `/chunked` answers [`CHUNKS`] with chunked encoding, `/big` [`BIG`] bytes;
/// - `/stall` answers at once, except that requests arriving between
///   [`STALL_FROM`] and [`STALL_UNTIL`] are held until [`STALL_UNTIL`].
pub async fn http() -> (SocketAddr, Arc<Seen>) {
    let started = Instant::now();
    serve(move |stream, seen| async move {
        let heard = AtomicBool::new(false);
        let service = service_fn(move |request: Request<Incoming>| {
            let recent = {
                let mut arrivals = seen.arrivals.lock().expect("not poisoned");
                let now = Instant::now();
                arrivals.push(now);
                let quarter = Duration::from_millis(250);
                arrivals
                    .iter()
                    .rev()
                    .take_while(|t| now - **t < quarter)
                    .count() as u64
            };
            let n = seen.requests.fetch_add(1, Ordering::SeqCst);
            if !heard.swap(true, Ordering::SeqCst) {
                seen.before_last_first.fetch_max(n + 1, Ordering::SeqCst);
            }
            let seen = seen.clone();
            async move {
                if request.uri().path() == "/record" {
                    let head = format!(
                        "{} {} x-id:{}",
                        request.method(),
                        request.uri().path_and_query().map_or("", |p| p.as_str()),
                        request
                            .headers()
                            .get("x-id")
                            .map_or("", |v| v.to_str().unwrap_or("?"))
                    );
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map_err(std::io::Error::other)?;
                    let body = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                    seen.recorded
                        .lock()
                        .expect("not poisoned")
                        .push(format!("{head} {body}"));
                    return Ok(Response::new(
                        Full::new(Bytes::from_static(b"noted")).boxed(),
                    ));
                }
                let status = match request.uri().path() {
                    "/alternate" if n % 2 == 1 => StatusCode::INTERNAL_SERVER_ERROR,
                    // An error from the service makes hyper drop the connection.
                    "/degrade" if recent * 4 > DEGRADES_ABOVE => {
                        return Err(std::io::Error::other("over the limit"));
                    }
                    "/mixed" if n % 13 == 0 => {
                        tokio::time::sleep(SLOW).await;
                        StatusCode::OK
                    }
                    "/slow" => {
                        tokio::time::sleep(SLOW).await;
                        StatusCode::OK
                    }
                    "/auth" => {
                        let header = |name| request.headers().get(name).map(|v| v.as_bytes());
                        if header(http::header::HOST).is_some_and(|h| h.contains(&b'@')) {
                            StatusCode::BAD_REQUEST
                        } else if header(http::header::AUTHORIZATION) == Some(AUTH.as_bytes()) {
                            StatusCode::OK
                        } else {
                            StatusCode::UNAUTHORIZED
                        }
                    }
                    "/stall" => {
                        let now = started.elapsed();
                        if now >= STALL_FROM && now < STALL_UNTIL {
                            tokio::time::sleep_until(started + STALL_UNTIL).await;
                        }
                        StatusCode::OK
                    }
                    _ => StatusCode::OK,
                };
                let body = match request.uri().path() {
                    // No length known in advance: hyper sends it chunked.
                    "/chunked" => StreamBody::new(futures_util::stream::iter(
                        CHUNKS.map(|c| Ok::<_, Infallible>(Frame::data(Bytes::from_static(c)))),
                    ))
                    .boxed(),
                    "/big" => Full::new(Bytes::from(vec![b'x'; BIG])).boxed(),
                    _ => Full::new(Bytes::from_static(b"Hello, world!")).boxed(),
                };
                let mut response = Response::new(body);
                *response.status_mut() = status;
                Ok::<_, std::io::Error>(response)
            }
        });
        let _ = auto::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), service)
            .await;
    })
    .await
}

/// A TCP echo server. Line mode answers `Echo: ` + each line; raw mode echoes bytes.
/// With `corrupt_every = Some(k)`, every k-th message (counted over all
/// connections) comes back with one byte changed.
pub async fn echo(line_mode: bool, corrupt_every: Option<u64>) -> (SocketAddr, Arc<Seen>) {
    serve(move |stream, seen| async move {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = if line_mode {
                buf.extend_from_slice(b"Echo: ");
                read.read_until(b'\n', &mut buf).await
            } else {
                buf.resize(64 * 1024, 0);
                let n = read.read(&mut buf).await;
                if let Ok(n) = n {
                    buf.truncate(n);
                }
                n
            };
            if matches!(n, Ok(0) | Err(_)) {
                return;
            }
            let count = seen.requests.fetch_add(1, Ordering::SeqCst) + 1;
            if corrupt_every.is_some_and(|k| count % k == 0) {
                let middle = buf.len() / 2;
                buf[middle] ^= 0x20;
            }
            if write.write_all(&buf).await.is_err() {
                return;
            }
        }
    })
    .await
}

/// Accepts connections, reads whatever comes, and never answers.
pub async fn silent() -> SocketAddr {
    let (addr, _) = serve(|mut stream, _| async move {
        let mut sink = [0; 1024];
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                return;
            }
        }
    })
    .await;
    addr
}

/// An address nothing listens on: bound once, then released.
pub async fn refused() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("bound address")
}
