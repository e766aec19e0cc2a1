//! What a connection is served over: a plain `TcpStream`, or a TLS stream on
//! top of one (`echo.tls`). Line and raw mode are written once, against the
//! [`Transport`] trait, and work on either.
//!
//! Pattern: **a small trait over the two streams, rather than a `dyn` or a
//! copy of the server.** Tokio's `AsyncRead` + `AsyncWrite` cover reading and
//! writing; the trait adds the two things the echo server does that they do
//! not: wait for input *without a buffer* (`poll_read_ready`), and write
//! *without waiting* (`try_write`). Generic code is compiled once per stream
//! type, so the plain TCP path costs nothing for TLS being possible.
//!
//! TLS changes what "readable" and "written" mean. rustls may already hold
//! decrypted bytes nobody has read (the socket is then quiet, but there is
//! input), and bytes handed to it are encrypted into its own buffer before
//! the socket takes them (so a write can be "done" with bytes still in
//! memory). Hence [`Transport::has_unsent`]: before a connection waits for
//! the client, it flushes what rustls still holds, bounded like any write.
//!
//! The handshake happens in the connection's task, after the connection
//! took its slot ([`handshake`]): a client that never finishes it holds that
//! slot for at most `echo.handshake_timeout`, and the shutdown cuts it at once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use asynclab_tls::{ServerStream, TlsAcceptor};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::connection::Shared;

/// A stream the echo server can serve a client over.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Ready when a read would find something (or the end of the stream),
    /// without taking a buffer to find out.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Writes as much of `bytes` as can go now; `WouldBlock` if nothing can.
    fn try_write(&mut self, bytes: &[u8]) -> io::Result<usize>;

    /// True while bytes already accepted by a write are still in memory, not
    /// yet handed to the kernel.
    fn has_unsent(&self) -> bool {
        false
    }
}

impl Transport for TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_read_ready(self, cx)
    }

    fn try_write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        TcpStream::try_write(self, bytes)
    }
}

impl Transport for ServerStream<TcpStream> {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (tcp, session) = self.get_ref();
        // rustls wants no more input while it holds decrypted bytes (or the
        // client's close_notify): those are there to read now.
        if !session.wants_read() {
            return Poll::Ready(Ok(()));
        }
        tcp.poll_read_ready(cx)
    }

    fn try_write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        // One poll with a waker that does nothing: tokio-rustls encrypts what
        // its buffer takes and sends what the socket takes, never waiting.
        // What the socket did not take stays in rustls (see `has_unsent`).
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(self).poll_write(&mut cx, bytes) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn has_unsent(&self) -> bool {
        self.get_ref().1.wants_write()
    }
}

/// The TLS handshake of a newly accepted connection: the stream, or `None`
/// (logged at debug) if it failed, took longer than `echo.handshake_timeout`,
/// or the server started stopping meanwhile.
pub(crate) async fn handshake(
    tcp: TcpStream,
    acceptor: &TlsAcceptor,
    shared: &Shared,
) -> Option<ServerStream<TcpStream>> {
    let limit = shared.config.handshake_timeout;
    tokio::select! {
        // A handshake has not been answered yet: nothing to finish or say
        // goodbye to when the server stops, so it is closed at once.
        () = shared.stopping.stopped() => {
            tracing::debug!("TLS handshake cut: shutting down");
            None
        }
        done = tokio::time::timeout(limit, acceptor.accept(tcp)) => match done {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(error)) => {
                tracing::debug!(%error, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(timeout = ?limit, "TLS handshake timed out");
                None
            }
        },
    }
}
