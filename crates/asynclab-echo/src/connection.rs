//! One client connection: waiting for input without holding memory, the idle
//! timer, bounded writes and a clean close. Line and raw mode (`line.rs`,
//! `raw.rs`) are loops over the few methods here.
//!
//! Patterns shown:
//!
//! - **`select!` between the socket, a timer and the shutdown.** [`Connection::wait`]
//!   waits for whichever comes first: data from the client, the idle timeout, or
//!   the server stopping. The branches that lose are simply dropped, which
//!   cancels them: nothing was read, so nothing is lost. The shutdown branch
//!   is a [`Watch`] on the server's [`StopFlag`]: until the server stops,
//!   polling it is a flag load, not the lock a `CancellationToken` takes on
//!   every wake-up (see `asynclab_core::stop`).
//! - **No buffer while idle.** A connection waits with
//!   [`Transport::poll_read_ready`] (for TCP, `TcpStream::poll_read_ready`),
//!   which needs no buffer, and only then reads,
//!   into its worker thread's buffer (`scratch.rs`); it keeps memory of its own
//!   only for the start of an unfinished line or an answer the client has not
//!   taken yet. An idle connection costs its task, a
//!   socket registration, a timer and a shutdown waiter, several times less
//!   than a server that keeps a read buffer per connection (measured in
//!   `docs/performance.md`).
//! - **One timer per connection, not one per read.** Creating or resetting a
//!   `Sleep` on every read would touch the runtime's timer wheel once per line.
//!   Instead the connection notes *when* the client last sent something (a cheap
//!   clock read) and its one timer, when it fires, checks that note and re-arms
//!   itself if the client was busy in the meantime. It fires at most once per
//!   `idle_timeout`.
//! - **Every write is bounded.** A client that stops reading fills the kernel's
//!   buffers and then `write_all` waits. That stalls this connection only: it
//!   reads nothing more meanwhile, so nothing piles up in memory. The same timer
//!   gives up on a client that has not taken its answer `echo.idle_timeout`
//!   after sending, and the end of the shutdown grace period cuts it.
//! - **A farewell bounded by a timeout** ([`Connection::goodbye`]): one slow
//!   client cannot hold up a shutdown, as in tokio's graceful-shutdown example.
//!
//! A [`Connection`] is generic over its stream: plain TCP or TLS
//! (`transport.rs`), with the same timers, limits and farewells.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use asynclab_core::Events;
use asynclab_core::config::EchoConfig;
use asynclab_core::metrics::EchoMetrics;
use asynclab_core::stop::{StopFlag, Watch};
use futures_util::FutureExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, Sleep, sleep_until, timeout};

use crate::error::{Error, IDLE};
use crate::scratch::{self, Scratch};
use crate::transport::Transport;

/// What every connection task shares, built once per [`crate::Server::run`] and
/// handed to each task as one `Arc` (a pointer per connection, not a copy).
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: EchoConfig,
    pub metrics: EchoMetrics,
    /// The live event feed (`GET /events`): connections opening and closing.
    pub events: Events,
    /// The shutdown's `stopping` phase: finish the current line, say goodbye.
    pub stopping: StopFlag,
    /// The shutdown's `cut` phase: stop whatever you are doing.
    pub cut: StopFlag,
}

/// What [`Connection::read_now`] read.
#[derive(Debug)]
pub(crate) enum Input {
    /// This many new bytes.
    Data(usize),
    /// The client half-closed: it will send nothing more.
    Eof,
}

/// What [`Connection::wait`] waited for.
#[derive(Debug)]
enum Wake {
    /// The socket has something to read (or was closed by the client).
    Readable,
    /// Nothing came for `echo.idle_timeout`.
    Idle,
    /// The server is shutting down.
    Stopping,
}

/// How a connection ended, for the debug log.
#[derive(Debug, Clone, Copy)]
pub(crate) enum End {
    /// The client half-closed and everything it sent was answered.
    ClientDone,
    /// It stayed silent for `echo.idle_timeout`.
    Idle,
    /// The server shut down.
    ShuttingDown,
}

/// A client connection (over TCP or TLS) and its idle timer.
#[derive(Debug)]
pub(crate) struct Connection<S> {
    stream: S,
    shared: Arc<Shared>,
    /// Completes when `shared.stopping` is set. One waiter kept for the whole
    /// connection: registered with the token once, then a flag load per wait.
    stopping: Watch,
    idle: IdleTimer,
}

/// Measures the client's silence with one timer that is re-armed lazily.
#[derive(Debug)]
struct IdleTimer {
    /// Boxed so that it stays put in memory (a `Sleep` must be pinned to be
    /// polled) while the `Connection` holding it is moved around.
    sleep: Pin<Box<Sleep>>,
    /// When the client last sent something (or connected).
    last_input: Instant,
    limit: Duration,
}

impl IdleTimer {
    fn new(limit: Duration) -> Self {
        let now = Instant::now();
        Self {
            sleep: Box::pin(sleep_until(now + limit)),
            last_input: now,
            limit,
        }
    }

    /// The client sent something: only a clock read, the timer is left alone.
    fn input(&mut self) {
        self.last_input = Instant::now();
    }

    /// Completes when the timer fires, which is no later than the deadline.
    fn fired(&mut self) -> &mut Pin<Box<Sleep>> {
        &mut self.sleep
    }

    /// After the timer fired: true if the client has really been silent for the
    /// whole limit; otherwise re-arms the timer for the rest of it.
    fn expired(&mut self) -> bool {
        let deadline = self.last_input + self.limit;
        if Instant::now() >= deadline {
            return true;
        }
        self.sleep.as_mut().reset(deadline);
        false
    }
}

impl<S: Transport> Connection<S> {
    pub(crate) fn new(stream: S, shared: Arc<Shared>) -> Self {
        Self {
            idle: IdleTimer::new(shared.config.idle_timeout),
            stopping: shared.stopping.watch(),
            stream,
            shared,
        }
    }

    pub(crate) fn config(&self) -> &EchoConfig {
        &self.shared.config
    }

    pub(crate) fn metrics(&self) -> &EchoMetrics {
        &self.shared.metrics
    }

    /// Waits, holding no buffer, for the client to send something: `None` when
    /// there is input to read. If the client stays silent for `echo.idle_timeout`
    /// it is told so, and if the server stops it is told `farewell`; either way
    /// the connection is closed and `Some` says how it ended.
    pub(crate) async fn wait_for_input(&mut self, farewell: &[u8]) -> Result<Option<End>, Error> {
        Ok(match self.wait().await? {
            Wake::Readable => None,
            Wake::Idle => {
                self.goodbye(IDLE).await;
                Some(End::Idle)
            }
            Wake::Stopping => {
                self.goodbye(farewell).await;
                Some(End::ShuttingDown)
            }
        })
    }

    /// Runs `f` with this connection and its worker thread's buffers (see
    /// `scratch.rs`), the read buffer `echo.read_buffer` bytes long.
    pub(crate) fn with_scratch<T>(&mut self, f: impl FnOnce(&mut Self, &mut Scratch) -> T) -> T {
        scratch::with(self.shared.config.read_buffer.as_usize(), |s| f(self, s))
    }

    /// Waits, holding no buffer, until the socket is readable, the client has
    /// been silent for `echo.idle_timeout`, or the server stops.
    async fn wait(&mut self) -> Result<Wake, Error> {
        // A client that sends without pause keeps the socket readable, and the
        // `select!` below then never gets to look at the shutdown: look here.
        if self.shared.stopping.is_stopped() {
            return Ok(Wake::Stopping);
        }
        // TLS only: answers rustls encrypted but the socket did not take yet
        // go out before the wait (a plain socket never has any).
        if self.stream.has_unsent() {
            self.write(&[]).await?;
        }
        loop {
            tokio::select! {
                // `biased` polls the branches in this order instead of at random.
                // The socket first: when it is ready the others are not even
                // polled, and a wait costs one atomic check of its readiness.
                biased;
                // `poll_read_ready` keeps this task's waker in the socket's
                // single reader slot, the same one `read` uses; `readable()`
                // would add a waiter to a list under a lock, on every wait.
                ready = poll_fn(|cx| Transport::poll_read_ready(&self.stream, cx)) => {
                    ready?;
                    return Ok(Wake::Readable);
                }
                () = &mut self.stopping => return Ok(Wake::Stopping),
                () = self.idle.fired() => match self.idle.expired() {
                    true => return Ok(Wake::Idle),
                    // The client sent something since the timer was set.
                    false => continue,
                },
            }
        }
    }

    /// Reads into `buf` once, without waiting: `None` if there was nothing to
    /// read after all (a stale readiness: wait again).
    ///
    /// Why a poll of `read` rather than `try_read`? `read` goes through tokio's
    /// `poll_read`, which takes a short read as proof that the socket is
    /// drained; after `try_read` tokio would still think it readable, and the
    /// next wait would start with a `recv` syscall that can only say "nothing
    /// yet": one wasted syscall per message.
    pub(crate) fn read_now(&mut self, buf: &mut [u8]) -> Result<Option<Input>, Error> {
        match self.stream.read(buf).now_or_never() {
            Some(result) => self.received(result?).map(Some),
            None => Ok(None),
        }
    }

    /// Notes `n` bytes just read (0: the client half-closed).
    fn received(&mut self, n: usize) -> Result<Input, Error> {
        if n == 0 {
            return Ok(Input::Eof);
        }
        self.idle.input();
        self.shared.metrics.bytes_in.inc_by(n as u64);
        Ok(Input::Data(n))
    }

    /// Writes as much of `bytes` as the socket takes right now, without
    /// waiting, and says how much that was (0 if its send buffer is full).
    pub(crate) fn write_now(&mut self, bytes: &[u8]) -> Result<usize, Error> {
        let sent = match Transport::try_write(&mut self.stream, bytes) {
            Ok(sent) => sent,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e.into()),
        };
        self.shared.metrics.bytes_out.inc_by(sent as u64);
        Ok(sent)
    }

    /// Writes all of `bytes` and flushes (a no-op on TCP; over TLS it sends
    /// what rustls still holds), or gives up if the client has still not taken
    /// them `echo.idle_timeout` after it last sent something, or when the
    /// shutdown grace period ends.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        // Pinned outside the loop so that the same write carries on when the
        // idle timer fires early and is re-armed.
        let stream = &mut self.stream;
        let write = async move {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        tokio::pin!(write);
        loop {
            tokio::select! {
                // The write usually completes on its first poll; putting it first
                // means the other branches are then never even looked at.
                biased;
                written = &mut write => break written?,
                () = self.idle.fired() => {
                    if self.idle.expired() {
                        return Err(Error::Stalled(self.idle.limit));
                    }
                }
                // Polled only when the write waits: a plain wait is enough.
                () = self.shared.cut.stopped() => return Err(Error::Cut),
            }
        }
        self.shared.metrics.bytes_out.inc_by(bytes.len() as u64);
        Ok(())
    }

    /// The client half-closed and has been answered: close our side too.
    pub(crate) async fn finish(&mut self) -> Result<End, Error> {
        self.stream.shutdown().await?;
        Ok(End::ClientDone)
    }

    /// Says `message` (if not empty) and closes the connection cleanly, all within
    /// `echo.farewell_timeout`.
    ///
    /// "Cleanly" matters: closing a socket that still has unread input makes the
    /// kernel answer with a reset, and a reset can destroy our last line before
    /// the client reads it. So we send our end-of-stream (`shutdown`), then read
    /// and discard whatever the client still sends until it closes too (a
    /// "lingering close", as HTTP servers do) or the time is up.
    pub(crate) async fn goodbye(&mut self, message: &[u8]) {
        let limit = self.shared.config.farewell_timeout;
        let farewell = async {
            self.stream.write_all(message).await?;
            self.shared.metrics.bytes_out.inc_by(message.len() as u64);
            self.stream.shutdown().await?;
            // `copy` reads into its own small buffer, taken only now. (Bytes
            // discarded when the time runs out go uncounted.)
            let discarded = tokio::io::copy(&mut self.stream, &mut tokio::io::sink()).await?;
            self.shared.metrics.bytes_in.inc_by(discarded);
            Ok::<_, std::io::Error>(())
        };
        let cut = self.shared.cut.clone();
        tokio::select! {
            outcome = timeout(limit, farewell) => match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "farewell failed"),
                Err(_elapsed) => tracing::debug!("farewell timed out"),
            },
            () = cut.stopped() => {}
        }
    }
}
