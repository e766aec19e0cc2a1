//! The HTTPS side of a connection: the TLS handshake, then the protocol ALPN chose.
//!
//! Pattern: **the handshake is part of the connection's task.** The accept loop
//! only accepts; a slow or silent client then costs its own task, never the
//! loop. [`accept`] runs inside `serve`'s `select!`, so the header timeout
//! (counted from accept) and the shutdown cut a handshake that stalls.
//!
//! Before the handshake, a `peek` at the first byte: every TLS client starts
//! with a handshake record (`0x16`). Anything else is a client speaking plain
//! HTTP to the HTTPS port, which gets a 400 saying so (as Go's server does)
//! instead of a TLS alert it would print as garbage.

use std::sync::Arc;
use std::time::Duration;

use asynclab_tls::{HANDSHAKE_RECORD, ServerStream, TlsAcceptor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::detect::Protocol;
use super::service::TlsInfo;

/// The answer to plain HTTP on the HTTPS port.
const PLAINTEXT_ANSWER: &[u8] = b"HTTP/1.0 400 Bad Request\r\n\
    content-type: text/plain; charset=utf-8\r\n\
    connection: close\r\n\r\n\
    Client sent an HTTP request to an HTTPS server: use https://\n";

/// How much of a plain HTTP request is read (and dropped) before answering:
/// closing a socket with unread bytes sends a reset, which can make the client
/// lose the answer. One read, bounded; the rest may be lost.
const PLAINTEXT_DRAIN: usize = 8192;

/// How long the plain-HTTP answer may take to write.
const PLAINTEXT_WRITE: Duration = Duration::from_secs(1);

/// A TLS connection ready for hyper.
pub struct Accepted {
    pub stream: ServerStream<TcpStream>,
    pub protocol: Protocol,
    pub info: TlsInfo,
}

/// What came of the first bytes of a connection on the HTTPS port.
pub enum Outcome {
    Tls(Box<Accepted>),
    /// Closed before a byte, or plain HTTP (answered): nothing more to do.
    Closed,
}

/// Runs the handshake on `stream`. Errors are the client's (a failed handshake,
/// a certificate refused): the caller logs them at debug.
pub async fn accept(stream: TcpStream, acceptor: &TlsAcceptor) -> std::io::Result<Outcome> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 0 {
        return Ok(Outcome::Closed);
    }
    if first[0] != HANDSHAKE_RECORD {
        answer_plaintext(stream).await;
        return Ok(Outcome::Closed);
    }
    let stream = acceptor.accept(stream).await?;
    let (_, session) = stream.get_ref();
    // ALPN: `h2` when the client offered it; HTTP/1.1 when it chose
    // `http/1.1` or offered nothing (curl --http1.1, openssl s_client).
    let protocol = match session.alpn_protocol() {
        Some(asynclab_tls::ALPN_H2) => Protocol::Http2,
        _ => Protocol::Http1,
    };
    let client_subject = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(asynclab_tls::subject)
        .map(Arc::from);
    Ok(Outcome::Tls(Box::new(Accepted {
        stream,
        protocol,
        info: TlsInfo { client_subject },
    })))
}

async fn answer_plaintext(mut stream: TcpStream) {
    let mut sink = vec![0u8; PLAINTEXT_DRAIN];
    let _ = stream.read(&mut sink).await;
    let _ = tokio::time::timeout(PLAINTEXT_WRITE, async {
        stream.write_all(PLAINTEXT_ANSWER).await?;
        stream.shutdown().await
    })
    .await;
}
