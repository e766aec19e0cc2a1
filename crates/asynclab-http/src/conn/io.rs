//! The connection's socket as hyper sees it: it notes reads on the connection's
//! [`Activity`], gives up on writes that stall, and joins small writes.
//!
//! Only writes are timed here: a read may legitimately wait for minutes (an
//! idle keep-alive connection, a long `/slow`), and the connection's clocks
//! (`clock.rs`) cover that. A write that makes no progress for
//! `http.write_timeout` fails, so a client that stops reading cannot pin a task
//! and its buffers.
//!
//! Generic over the stream: a `TcpStream` on the cleartext port, a rustls
//! `TlsStream` over one on the HTTPS port (then reads are noted once
//! decrypted, and a write waits on the TLS stream, which waits on the socket).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::clock::Activity;
use super::joined_writes::poll_write_joined;

/// A stream with a write timeout, reporting reads to its connection.
#[derive(Debug)]
pub struct TimedIo<T> {
    inner: T,
    write_timeout: Duration,
    /// Armed when a write returns `Pending`, disarmed when one makes progress.
    write_deadline: Option<Pin<Box<Sleep>>>,
    activity: Arc<Activity>,
}

impl<T> TimedIo<T> {
    pub fn new(inner: T, write_timeout: Duration, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            write_timeout,
            write_deadline: None,
            activity,
        }
    }

    /// Wraps one write-side poll: progress disarms the clock, `Pending` arms it,
    /// and a clock that runs out turns `Pending` into a `TimedOut` error.
    fn timed<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match poll {
            Poll::Ready(result) => {
                self.write_deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timeout = self.write_timeout;
                let sleep = self
                    .write_deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                // Polling the timer registers this task's waker with it too, so we
                // are woken by whichever comes first: a writable socket or the deadline.
                ready!(sleep.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "write made no progress within http.write_timeout",
                )))
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        self.timed(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = poll_write_joined(Pin::new(&mut self.inner), cx, bufs);
        self.timed(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.timed(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.timed(cx, poll)
    }
}
