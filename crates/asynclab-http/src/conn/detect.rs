//! Which protocol a new connection speaks, and the hyper connection that serves it.
//!
//! Pattern: **look before you read.** HTTP/1.1 and HTTP/2 with prior knowledge
//! (h2c) share a port. A `peek` at the first bytes tells them apart without
//! consuming anything, so hyper then reads the connection from its first byte.
//! hyper-util's `auto` builder can do the same by reading the first 24 bytes
//! and handing them back, but then its HTTP/1 read buffer has to grow for the
//! rest of the request, for the whole life of the connection; `auto` remains
//! for the rare client whose first packet is too short to tell.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::io::TimedIo;
use super::service::ConnService;
use crate::HttpService;
use crate::body::BoxError;

/// What the first bytes of a connection say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
    /// Too few bytes to tell: let hyper-util's `auto` find out.
    Unsure,
}

/// What an HTTP/2 client with prior knowledge sends first (RFC 9113 §3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Waits for the first bytes and looks at them without consuming them.
/// `None`: the client closed without sending a byte.
pub async fn sniff(stream: &TcpStream) -> io::Result<Option<Protocol>> {
    let mut first = [0u8; 24];
    let n = stream.peek(&mut first).await?;
    let seen = &first[..n];
    Ok(match n {
        0 => None,
        _ if !H2_PREFACE.starts_with(seen) => Some(Protocol::Http1),
        24 => Some(Protocol::Http2),
        _ => Some(Protocol::Unsure),
    })
}

/// The connection builders, made once: hyper's HTTP/1 builder, and hyper-util's
/// `auto` twice, for HTTP/2 only and to work the protocol out itself. The
/// HTTP/1 settings are the same in all of them (see `Server::new`).
#[derive(Debug)]
pub struct Builders {
    pub h1: http1::Builder,
    pub h2: auto::Builder<TokioExecutor>,
    pub any: auto::Builder<TokioExecutor>,
}

impl Builders {
    /// `h1` and `auto` must carry the same HTTP/1 settings: `auto` uses its own
    /// for a connection that turns out to be HTTP/1 after all.
    pub fn new(h1: http1::Builder, auto: auto::Builder<TokioExecutor>) -> Self {
        Self {
            h1,
            h2: auto.clone().http2_only(),
            any: auto,
        }
    }

    /// The hyper connection for `protocol`, serving `service` over `io`.
    pub fn serve<S: HttpService, I: Stream>(
        &self,
        protocol: Protocol,
        io: TimedIo<I>,
        service: ConnService<S>,
    ) -> Conn<'_, S, I> {
        let io = TokioIo::new(io);
        // `with_upgrades`: a request answered 101 (a WebSocket handshake) ends
        // hyper's part, and the socket goes to the request's `OnUpgrade`.
        let (h2, any) = (&self.h2, &self.any);
        match protocol {
            Protocol::Http1 => Conn::H1(self.h1.serve_connection(io, service).with_upgrades()),
            Protocol::Http2 => Conn::Auto(Box::pin(h2.serve_connection_with_upgrades(io, service))),
            Protocol::Unsure => {
                Conn::Auto(Box::pin(any.serve_connection_with_upgrades(io, service)))
            }
        }
    }
}

/// One connection being served. Why two variants: an `auto` connection has
/// room for an HTTP/2 connection too, about twice the size of an HTTP/1 one,
/// and the connection's task keeps it for as long as the connection is open.
/// So HTTP/1 (nearly every connection) is kept inline and the rest is boxed.
#[expect(
    clippy::large_enum_variant,
    reason = "on purpose: the common variant inline, the rare one boxed"
)]
pub enum Conn<'b, S: HttpService, I: Stream> {
    H1(http1::UpgradeableConnection<TokioIo<TimedIo<I>>, ConnService<S>>),
    Auto(Pin<Box<AutoConnection<'b, S, I>>>),
}

/// hyper-util's connection that serves HTTP/2, or works the protocol out.
type AutoConnection<'b, S, I> =
    auto::UpgradeableConnection<'b, TokioIo<TimedIo<I>>, ConnService<S>, TokioExecutor>;

/// A connection's byte stream: a `TcpStream`, or a TLS stream over one.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

impl<S: HttpService, I: Stream> Conn<'_, S, I> {
    /// HTTP/1: finish the current response with `Connection: close` (an idle
    /// connection closes at once); HTTP/2: send GOAWAY and finish open streams.
    pub fn graceful_shutdown(&mut self) {
        match self {
            Conn::H1(conn) => Pin::new(conn).graceful_shutdown(),
            Conn::Auto(conn) => conn.as_mut().graceful_shutdown(),
        }
    }
}

impl<S: HttpService, I: Stream> Future for Conn<'_, S, I> {
    type Output = Result<(), BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both variants are `Unpin` (the auto one is boxed), so no pin projection.
        match self.get_mut() {
            Conn::H1(conn) => Pin::new(conn).poll(cx).map_err(Into::into),
            Conn::Auto(conn) => conn.as_mut().poll(cx),
        }
    }
}
