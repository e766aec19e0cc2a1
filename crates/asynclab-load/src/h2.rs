//! The HTTP client side of one connection: hyper 1.x's low-level `client::conn`
//! API over a `TcpStream`, one request in flight at a time.
//!
//! Pattern: **drive the connection in the same task as the requests**. A hyper
//! handshake returns two halves: a `SendRequest` to send with, and a `Connection`
//! future that does the actual reading and writing. hyper's examples `spawn` the
//! `Connection`; here the connection task polls it itself, in a `select!` next to the
//! request. Each request then costs one task wake-up instead of two hand-offs between
//! tasks, which matters when the point is to be faster than the server under test.
//!
//! Keep-alive is the default: the connection is reused until it fails. With
//! `--no-keepalive` every request connects, sends `Connection: close` and drops the
//! connection, and its latency includes the connect.

use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::error::ErrorKind;
use crate::settings::HttpTarget;
use crate::stats::Outcome;
use crate::worker::Client;

type Io = TokioIo<TcpStream>;

/// An open connection and the future that drives it.
enum Conn {
    H1 {
        sender: http1::SendRequest<Full<Bytes>>,
        // Boxed so it can be pinned once and polled again for every request.
        driver: Pin<Box<http1::Connection<Io, Full<Bytes>>>>,
    },
    H2 {
        sender: http2::SendRequest<Full<Bytes>>,
        driver: Pin<Box<http2::Connection<Io, Full<Bytes>, TokioExecutor>>>,
    },
}

/// One connection's HTTP client.
pub(crate) struct HttpClient {
    addr: SocketAddr,
    method: Method,
    /// HTTP/1.1 sends the path (origin form); HTTP/2 needs the whole URL for
    /// `:scheme` and `:authority`.
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// Bytes of one request on the wire, roughly: the body (headers are not counted).
    body_len: u64,
    keepalive: bool,
    http2: bool,
    conn: Option<Conn>,
}

impl HttpClient {
    pub(crate) fn new(target: &HttpTarget, addr: SocketAddr) -> HttpClient {
        let uri = if target.http2 {
            target.uri.clone()
        } else {
            target
                .uri
                .path_and_query()
                .and_then(|p| p.as_str().parse().ok())
                .unwrap_or_else(|| Uri::from_static("/"))
        };
        HttpClient {
            addr,
            method: target.method.clone(),
            uri,
            headers: target.wire_headers(),
            body: target.body.clone(),
            body_len: target.body.len() as u64,
            keepalive: target.keepalive,
            http2: target.http2,
            conn: None,
        }
    }

    /// A copy of the request template. The clones are cheap (`Bytes` is reference
    /// counted) except the header map, which hyper needs to own.
    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    async fn connect(&self) -> Result<Conn, ErrorKind> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| ErrorKind::connect(&e))?;
        // Requests are small and answered one at a time: without TCP_NODELAY, Nagle's
        // algorithm could hold a write back waiting for an ACK, adding latency that
        // is the client's fault.
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(stream);
        if self.http2 {
            let (sender, driver) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| ErrorKind::hyper(&e))?;
            Ok(Conn::H2 {
                sender,
                driver: Box::pin(driver),
            })
        } else {
            let (sender, driver) = http1::handshake(io)
                .await
                .map_err(|e| ErrorKind::hyper(&e))?;
            Ok(Conn::H1 {
                sender,
                driver: Box::pin(driver),
            })
        }
    }
}

impl Client for HttpClient {
    async fn exchange(&mut self) -> Outcome {
        if self.conn.is_none() {
            match self.connect().await {
                Ok(conn) => self.conn = Some(conn),
                Err(kind) => return Outcome::Failed(kind),
            }
        }
        let request = self.request();
        let conn = self.conn.as_mut().expect("connected just above");
        let (result, closed) = match conn {
            Conn::H1 { sender, driver } => {
                let exchange = async {
                    sender.ready().await?;
                    read(sender.send_request(request).await?).await
                };
                drive_while(exchange, driver.as_mut()).await
            }
            Conn::H2 { sender, driver } => {
                let exchange = async {
                    sender.ready().await?;
                    read(sender.send_request(request).await?).await
                };
                drive_while(exchange, driver.as_mut()).await
            }
        };
        if closed || !self.keepalive {
            self.conn = None;
        }
        match result {
            Ok((status, received)) => Outcome::Answer {
                status,
                sent: self.body_len,
                received,
            },
            Err(e) => Outcome::Failed(ErrorKind::hyper(&e)),
        }
    }

    fn reset(&mut self) {
        self.conn = None;
    }
}

/// Reads a response to the end, counting body bytes without keeping them.
async fn read(response: http::Response<hyper::body::Incoming>) -> hyper::Result<(u16, u64)> {
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut received = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            received += data.len() as u64;
        }
    }
    Ok((status, received))
}

/// Polls `exchange` and the connection's driver together until the exchange is done.
/// Returns the exchange's result and whether the connection has ended.
async fn drive_while<T, D>(
    exchange: impl Future<Output = hyper::Result<T>>,
    mut driver: Pin<&mut D>,
) -> (hyper::Result<T>, bool)
where
    D: Future<Output = hyper::Result<()>>,
{
    let mut exchange = std::pin::pin!(exchange);
    tokio::select! {
        biased;
        result = &mut exchange => (result, false),
        // The driver finishes when the connection closes, which can happen in the
        // same poll that delivered the last response (a `Connection: close` answer).
        // The answer is then already waiting, or the exchange fails with the reason:
        // either way, finish it before giving up on the connection.
        _ = driver.as_mut() => (exchange.await, true),
    }
}
