//! The HTTP/2 client side of one connection (`--http2`: prior knowledge over
//! `http://`, ALPN over `https://`): hyper 1.x's low-level `client::conn::http2`
//! over the connection's stream (`tls.rs`), one request in flight at a time.
//!
//! Pattern: **the two halves of a hyper client connection**. A handshake returns a
//! `SendRequest` to send with and a `Connection` future that runs the protocol. hyper's
//! examples `spawn` the `Connection`; here the connection task polls it itself, in a
//! `select!` next to the request (see [`drive_while`]), so nothing outlives the task
//! and an ended connection is noticed by the request that was using it.
//! (HTTP/1.1 does not go through hyper: see `h1.rs` for why.)

use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::error::ErrorKind;
use crate::stats::Outcome;
use crate::target::HttpTarget;
use crate::tls::{Connector, Stream};
use crate::worker::Client;

type Driver = http2::Connection<TokioIo<Stream>, Full<Bytes>, TokioExecutor>;

/// An open connection: the sending half and the future that drives it, boxed so it
/// can be pinned once and polled again for every request.
struct Conn {
    sender: http2::SendRequest<Full<Bytes>>,
    driver: Pin<Box<Driver>>,
}

/// One connection's HTTP/2 client.
pub(crate) struct H2Client {
    connector: Connector,
    method: Method,
    /// The whole URL: HTTP/2 sends `:scheme` and `:authority` from it.
    uri: Uri,
    headers: HeaderMap,
    /// Cloning `Bytes` is a reference-count increment, not a copy.
    body: Bytes,
    conn: Option<Conn>,
}

impl H2Client {
    pub(crate) fn new(target: &HttpTarget, connector: Connector) -> H2Client {
        H2Client {
            connector,
            method: target.method.clone(),
            uri: target.uri.clone(),
            headers: target.wire_headers(),
            body: target.body.clone(),
            conn: None,
        }
    }

    /// A copy of the request template; hyper takes ownership of each request.
    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    async fn connect(&self) -> Result<Conn, ErrorKind> {
        let stream = self.connector.connect().await?;
        let (sender, driver) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|e| ErrorKind::hyper(&e))?;
        Ok(Conn {
            sender,
            driver: Box::pin(driver),
        })
    }
}

impl Client for H2Client {
    async fn exchange(&mut self) -> Outcome {
        if self.conn.is_none() {
            match self.connect().await {
                Ok(conn) => self.conn = Some(conn),
                Err(kind) => return Outcome::Failed(kind),
            }
        }
        let request = self.request();
        let Conn { sender, driver } = self.conn.as_mut().expect("connected just above");
        let exchange = async {
            sender.ready().await?;
            read(sender.send_request(request).await?).await
        };
        let (result, closed) = drive_while(exchange, driver.as_mut()).await;
        if closed {
            self.conn = None;
        }
        match result {
            Ok((status, received)) => Outcome::Answer {
                status,
                sent: self.body.len() as u64,
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
async fn drive_while<T>(
    exchange: impl Future<Output = hyper::Result<T>>,
    mut driver: Pin<&mut Driver>,
) -> (hyper::Result<T>, bool) {
    let mut exchange = std::pin::pin!(exchange);
    tokio::select! {
        biased;
        result = &mut exchange => (result, false),
        // The driver finishes when the connection closes, which can happen in the
        // same poll that delivered the last response (a GOAWAY after it). The answer
        // is then already waiting, or the exchange fails with the reason: either way,
        // finish it before giving up on the connection.
        _ = driver.as_mut() => (exchange.await, true),
    }
}
