//! A request body that must keep arriving: a minimum rate, and a note of its
//! progress for the request timeout.
//!
//! A body sent a byte a second would otherwise hold its connection (and the
//! handler waiting for it) for as long as the sender likes: the slow-POST
//! attack. [`MinRateBody`] counts the bytes that arrive and, each time a window
//! of `http.body_rate_window` has passed, checks that at least
//! `http.body_min_rate` bytes a second arrived over it (the spirit of Apache's
//! `mod_reqtimeout` `MinRate`). A body below the rate fails with a `TimedOut`
//! error: a handler reading it answers 408 (`HttpError::from_body`), and a
//! response streaming it back (`POST /echo`) is cut, which closes the
//! connection. A genuine slow upload, well above the rate, goes on for as long
//! as it takes.
//!
//! Pattern: **a body that times itself.** The check runs when the body is
//! polled; while the reader waits for the next frame, the body's own timer
//! wakes it at the end of the window, so a body that stops sending is caught
//! too, even though nothing else wakes the reader.
//!
//! It also notes on a shared [`Progress`] when its last byte arrived, which the
//! request timeout (`timeout.rs`) counts from.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::body::{Body, BoxError};

/// The minimum rate a body must keep, from `http.body_min_rate` and
/// `http.body_rate_window`.
#[derive(Debug, Clone, Copy)]
pub struct MinRate {
    pub bytes_per_sec: u64,
    pub window: Duration,
}

/// When a request last made progress: its arrival, a frame of its body, or
/// the body's end. In milliseconds after the request arrived.
#[derive(Debug)]
pub struct Progress {
    arrived: Instant,
    last_ms: AtomicU64,
}

impl Progress {
    pub fn new(arrived: Instant) -> Self {
        Self {
            arrived,
            last_ms: AtomicU64::new(0),
        }
    }

    fn note(&self) {
        let ms = self.arrived.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// The last time the request made progress.
    pub fn last(&self) -> Instant {
        self.arrived + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A request body held to a minimum rate. See the module doc.
#[derive(Debug)]
pub struct MinRateBody {
    inner: Body,
    rate: MinRate,
    progress: Arc<Progress>,
    /// When the current window began, and the bytes that arrived since.
    window_start: Instant,
    window_bytes: u64,
    /// Wakes a reader waiting for a frame at the end of the window; made the
    /// first time the reader has to wait.
    timer: Option<Pin<Box<Sleep>>>,
}

impl MinRateBody {
    pub fn new(inner: Body, rate: MinRate, progress: Arc<Progress>) -> Self {
        Self {
            inner,
            rate,
            progress,
            window_start: Instant::now(),
            window_bytes: 0,
            timer: None,
        }
    }

    /// At the end of a window: was the rate kept? Then a new window begins.
    fn check_window(&mut self, now: Instant) -> Result<(), BoxError> {
        let elapsed = now.saturating_duration_since(self.window_start);
        if self.rate.bytes_per_sec == 0 || elapsed < self.rate.window {
            return Ok(());
        }
        let needed = self.rate.bytes_per_sec as f64 * elapsed.as_secs_f64();
        if (self.window_bytes as f64) < needed {
            return Err(Box::new(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "request body below http.body_min_rate: {} bytes in {} ms",
                    self.window_bytes,
                    elapsed.as_millis()
                ),
            )));
        }
        self.window_start = now;
        self.window_bytes = 0;
        Ok(())
    }
}

impl HttpBody for MinRateBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        this.window_bytes += data.len() as u64;
                    }
                    this.progress.note();
                    if let Err(e) = this.check_window(Instant::now()) {
                        return Poll::Ready(Some(Err(e)));
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(other) => {
                    this.progress.note();
                    return Poll::Ready(other);
                }
                Poll::Pending if this.rate.bytes_per_sec == 0 => return Poll::Pending,
                Poll::Pending => {
                    let window_end = this.window_start + this.rate.window;
                    let timer = this
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(window_end)));
                    if timer.deadline() != window_end {
                        timer.as_mut().reset(window_end);
                    }
                    ready!(timer.as_mut().poll(cx));
                    // The window is over and nothing came in meanwhile: check it,
                    // and if the rate was kept, poll the body again (a new window).
                    if let Err(e) = this.check_window(Instant::now()) {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::stream;
    use http_body_util::{BodyExt, StreamBody};
    use tokio::sync::mpsc;

    use super::*;

    const RATE: MinRate = MinRate {
        bytes_per_sec: 1024,
        window: Duration::from_secs(10),
    };

    /// A body fed through a channel, held to [`RATE`].
    fn body() -> (mpsc::Sender<Bytes>, MinRateBody) {
        let (tx, rx) = mpsc::channel::<Bytes>(4);
        let frames = stream::unfold(rx, |mut rx| async move {
            let bytes = rx.recv().await?;
            Some((Ok::<_, BoxError>(Frame::data(bytes)), rx))
        });
        let inner = crate::body::boxed(StreamBody::new(frames));
        let progress = Arc::new(Progress::new(Instant::now()));
        (tx, MinRateBody::new(inner, RATE, progress))
    }

    /// Reads the body to its end or its error: the bytes read, and the error.
    async fn read(mut body: MinRateBody) -> (u64, Option<BoxError>) {
        let mut bytes = 0;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => bytes += frame.into_data().map_or(0, |d| d.len() as u64),
                Err(e) => return (bytes, Some(e)),
            }
        }
        (bytes, None)
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_sent_a_byte_a_second_fails_at_the_end_of_its_first_window() {
        let (tx, body) = body();
        tokio::spawn(async move {
            for _ in 0..3600 {
                if tx.send(Bytes::from_static(b"x")).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let started = Instant::now();
        let (bytes, error) = read(body).await;
        let error = error.expect("the trickle is refused");
        let io = error.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(io.kind(), io::ErrorKind::TimedOut);
        assert!(bytes <= 11, "{bytes}");
        assert!(started.elapsed() <= RATE.window + Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_fails_after_one_window() {
        let (tx, body) = body();
        tx.send(Bytes::from(vec![0; 20_000])).await.expect("sent");
        let started = Instant::now();
        let (bytes, error) = read(body).await;
        assert_eq!(bytes, 20_000);
        assert!(error.is_some(), "a stalled body is refused");
        // The first window brought enough; the second brought nothing.
        assert_eq!(started.elapsed(), 2 * RATE.window);
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn an_upload_at_64_kib_a_second_goes_on_as_long_as_it_takes() {
        let (tx, body) = body();
        tokio::spawn(async move {
            // 8 KiB every 125 ms, for a minute: six windows.
            for _ in 0..480 {
                tx.send(Bytes::from(vec![0; 8192])).await.expect("read");
                tokio::time::sleep(Duration::from_millis(125)).await;
            }
        });
        let (bytes, error) = read(body).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(bytes, 480 * 8192);
    }
}
