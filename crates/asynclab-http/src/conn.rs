//! One connection: its timeouts, its I/O wrapper, and the task that serves it.
//!
//! hyper serves the protocol; this file decides how long a connection may sit
//! there. Three clocks, all from config:
//!
//! - **header read** (`http.header_read_timeout`): from accept, or from the first
//!   byte of the next request, the request head must be complete in time. This
//!   also closes connections that never send a byte.
//! - **idle** (`http.idle_timeout`): a keep-alive connection with no request and no
//!   traffic is closed gracefully (HTTP/2 gets a GOAWAY). A response body still
//!   streaming after its handler answered (an echo, a file) is traffic whenever
//!   bytes move either way: the request body of an echo arriving meanwhile is
//!   not mistaken for the start of the next request head.
//! - **write** (`http.write_timeout`): a write that makes no progress for that long
//!   fails, so a client that stops reading cannot pin a task and its buffers.
//!
//! hyper's own `header_read_timeout` is not used: it also runs between keep-alive
//! requests, so idle connections would close after the header timeout rather
//! than `http.idle_timeout`, and it does nothing for HTTP/2.
//!
//! Pattern: **shared state between an I/O object and its owner task.** hyper owns
//! the socket, so the task cannot look at it; [`Activity`] (a few atomics behind
//! an `Arc`) is how the socket wrapper and the per-connection service tell the
//! task what is going on. The task sleeps until the next deadline and re-checks.
//!
//! Pattern: **touch little per request.** With a thousand connections taking
//! turns, whatever a request touches on its connection has left the CPU cache
//! since that connection's last request, and each separate piece costs a trip
//! to memory. So what a request touches is one allocation ([`PerConnection`]:
//! the activity and the app with the client's address), and the shutdown
//! waiter is looked at only once the shutdown has begun (a flag in front of
//! the token, `asynclab_core::stop`). Measured at 1,000 connections: 6 % less
//! CPU per request and 5 % more requests per second (`bench/results/REPORT.md`).

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use asynclab_core::stop::StopFlag;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use crate::app::{App, Handling};
use crate::body::{self, Body};
use crate::state::HttpMetrics;

/// The connection-level settings, copied once from `HttpConfig`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
    pub write: Duration,
}

impl Timeouts {
    /// How often a connection task looks at its state, at most.
    fn shortest(&self) -> Duration {
        self.header_read.min(self.idle)
    }
}

/// The connection builders: hyper's own HTTP/1 builder, and hyper-util's `auto`
/// twice, once for HTTP/2 only and once to work the protocol out itself. The
/// HTTP/1 settings are the same in all of them (see `Server::new`).
///
/// Why not `auto` for everything: it reads the first 24 bytes to look for the
/// HTTP/2 preface and hands them back to hyper, whose read buffer then has to
/// grow for the rest of the request: 8 KiB more per connection, forever. A
/// `peek` at the first bytes (see [`sniff`]) picks the protocol without
/// consuming anything; `auto` remains for the rare client whose first packet
/// is too short to tell.
///
/// Why hyper's HTTP/1 builder rather than `auto` told to speak only HTTP/1: an
/// `auto` connection is an enum with room for an HTTP/2 connection too (about
/// 1.7 KB against 0.8 KB for HTTP/1 alone, in the task of every connection).
/// See [`Conn`].
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
}

/// One connection being served. HTTP/1 (nearly every connection) is kept inline
/// in the connection's task; HTTP/2 and the undecided go through `auto`, boxed,
/// so that the rare case does not make every task as large as itself: the
/// task's future is allocated per connection and lives as long as it does, so
/// its size is part of what each idle keep-alive connection costs.
#[expect(
    clippy::large_enum_variant,
    reason = "on purpose: the common variant inline, the rare one boxed"
)]
enum Conn<'b> {
    H1(http1::Connection<TokioIo<TimedIo>, ConnService>),
    Auto(Pin<Box<auto::Connection<'b, TokioIo<TimedIo>, ConnService, TokioExecutor>>>),
}

impl Conn<'_> {
    /// HTTP/1: finish the current response with `Connection: close` (an idle
    /// connection closes at once); HTTP/2: send GOAWAY and finish open streams.
    fn graceful_shutdown(&mut self) {
        match self {
            Conn::H1(conn) => Pin::new(conn).graceful_shutdown(),
            Conn::Auto(conn) => conn.as_mut().graceful_shutdown(),
        }
    }
}

impl Future for Conn<'_> {
    type Output = Result<(), body::BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both variants are `Unpin` (the auto one is boxed), so no pin projection.
        match self.get_mut() {
            Conn::H1(conn) => Pin::new(conn).poll(cx).map_err(Into::into),
            Conn::Auto(conn) => conn.as_mut().poll(cx),
        }
    }
}

/// What the first bytes of a connection say.
enum Sniffed {
    Http1,
    Http2,
    Unsure,
}

/// What an HTTP/2 client with prior knowledge sends first (RFC 9113 §3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Waits for the first bytes and looks at them without consuming them.
async fn sniff(stream: &TcpStream) -> io::Result<Option<Sniffed>> {
    let mut first = [0u8; 24];
    let n = stream.peek(&mut first).await?;
    let seen = &first[..n];
    Ok(match n {
        0 => None, // closed without a byte
        _ if !H2_PREFACE.starts_with(seen) => Some(Sniffed::Http1),
        24 => Some(Sniffed::Http2),
        _ => Some(Sniffed::Unsure),
    })
}

/// Everything a connection task needs besides its socket, built once and shared
/// by every connection through an `Arc` (one pointer in each task, one
/// reference-count increment per accept).
#[derive(Debug)]
pub struct ConnContext {
    pub builders: Arc<Builders>,
    pub app: App,
    pub timeouts: Timeouts,
    pub metrics: Arc<HttpMetrics>,
    /// Set when the accept loop stops: finish the current request, then close.
    /// Watched with a flag load per wake-up, not a lock (see
    /// `asynclab_core::stop`).
    pub stopping: StopFlag,
    /// Set at the end of the grace period: close now.
    pub cut: StopFlag,
}

/// Serves one connection to completion. Runs in its own task; errors stay here.
///
/// `permit` is this connection's slot under `http.max_connections`: moving it in
/// means it is released when the task ends, however it ends.
///
/// A plain `fn` returning an `async move` block rather than an `async fn`: an
/// `async fn` keeps its arguments twice in its future (as received, and moved
/// into the body), and this future is allocated for every connection and lives
/// as long as it does. Its size is part of what an idle connection costs.
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` would store its arguments twice (see above)"
)]
pub fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<ConnContext>,
    permit: OwnedSemaphorePermit,
) -> impl Future<Output = ()> + Send {
    async move {
        let _permit = permit;
        ctx.metrics.connections_open.inc();
        let _open = OpenConnection(&ctx.metrics);
        // Responses are written whole; don't let Nagle hold back the last segment.
        let _ = stream.set_nodelay(true);

        // Born now: the header timeout counts from accept, sniffing included.
        let shared = Arc::new(PerConnection {
            activity: Activity::new(),
            app: ctx.app.for_peer(peer),
        });
        // The two shutdown signals come in order, `stopping` then `cut`, so one
        // waiter serves both: made once, here, and replaced by the second when
        // the first fires. Until the server stops, polling it is a flag load
        // (see `asynclab_core::stop`).
        let mut shutdown = ctx.stopping.watch();
        let sniffed = tokio::select! {
            sniffed = tokio::time::timeout(ctx.timeouts.header_read, sniff(&stream)) => sniffed,
            // Nothing received yet, so nothing to finish: just close.
            () = &mut shutdown => return,
        };
        let sniffed = match sniffed {
            Ok(Ok(Some(sniffed))) => sniffed,
            Ok(Ok(None)) => return,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "connection failed before its first byte");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "no byte within http.header_read_timeout; closing");
                return;
            }
        };

        let io = TokioIo::new(TimedIo::new(stream, ctx.timeouts.write, shared.clone()));
        let service = ConnService {
            shared: shared.clone(),
        };
        let builders = &ctx.builders;
        // `Unpin` (see `Conn`), so `select!` can poll it by `&mut` without pinning.
        let mut conn = match sniffed {
            Sniffed::Http1 => Conn::H1(builders.h1.serve_connection(io, service)),
            Sniffed::Http2 => Conn::Auto(Box::pin(builders.h2.serve_connection(io, service))),
            Sniffed::Unsure => Conn::Auto(Box::pin(builders.any.serve_connection(io, service))),
        };
        let timer = tokio::time::sleep(ctx.timeouts.shortest());
        tokio::pin!(timer);
        let mut awaiting_cut = false;
        let mut closing = false;

        loop {
            tokio::select! {
                // `biased`: the connection first, as it is nearly always what woke
                // the task (and the random start `select!` draws costs a little).
                biased;
                result = &mut conn => {
                    if let Err(error) = result {
                        // A client that resets, sends garbage or times out a write is
                        // routine for a server: debug, with the peer, and only here.
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                    break;
                }
                () = &mut shutdown => {
                    // Shutdown step 4: the grace period is over. Dropping `conn` closes
                    // the socket and drops any handler future still running (it is
                    // cancelled).
                    if awaiting_cut {
                        tracing::debug!(%peer, "connection cut at the end of the grace period");
                        break;
                    }
                    // Shutdown step 3: HTTP/1 finishes the current response with
                    // `Connection: close` (an idle one closes at once), HTTP/2 sends
                    // GOAWAY.
                    awaiting_cut = true;
                    shutdown = ctx.cut.watch();
                    if !closing {
                        closing = true;
                        conn.graceful_shutdown();
                    }
                }
                () = &mut timer => match shared.activity.check(&ctx.timeouts) {
                    Check::Wait(deadline) => timer.as_mut().reset(deadline),
                    Check::HeadTimeout => {
                        tracing::debug!(%peer, "request head not received within http.header_read_timeout; closing");
                        break;
                    }
                    Check::Idle if !closing => {
                        tracing::debug!(%peer, "idle for http.idle_timeout; closing");
                        closing = true;
                        conn.graceful_shutdown();
                        timer.as_mut().reset(Instant::now() + ctx.timeouts.idle);
                    }
                    // Still open an idle period after a graceful close: stop waiting.
                    Check::Idle => break,
                },
            }
        }
    }
}

/// Keeps the open-connections gauge right on every way out of [`serve`].
struct OpenConnection<'a>(&'a HttpMetrics);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections_open.dec();
    }
}

/// What the connection is doing, as seen by its socket and its service.
#[derive(Debug)]
struct Activity {
    born: Instant,
    /// Requests on this connection whose handler has not answered yet.
    requests: AtomicUsize,
    /// Responses whose handler has answered but whose body is still being sent
    /// (an echo of a request body still arriving, a file, an event feed).
    streaming: AtomicUsize,
    /// True while waiting for a request head (from accept, or from the first byte
    /// after an idle period); false while idle between requests.
    reading_head: AtomicBool,
    /// Milliseconds after `born` when the current wait began (head) or when the
    /// connection was last active (idle).
    since_ms: AtomicU64,
    /// Bytes were written, or read for a response still streaming, since the
    /// task last looked: progress, which pushes the idle deadline back.
    traffic: AtomicBool,
}

enum Check {
    Wait(Instant),
    HeadTimeout,
    Idle,
}

impl Activity {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            requests: AtomicUsize::new(0),
            streaming: AtomicUsize::new(0),
            reading_head: AtomicBool::new(true),
            since_ms: AtomicU64::new(0),
            traffic: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.born.elapsed().as_millis() as u64
    }

    /// Bytes arrived. If the connection was idle, a new request head has begun.
    fn on_read(&self) {
        if self.requests.load(Ordering::Acquire) != 0 {
            return;
        }
        if self.streaming.load(Ordering::Acquire) != 0 {
            // The request body of a response still streaming (`POST /echo`
            // answers before its body has all arrived): progress, not a head.
            self.traffic.store(true, Ordering::Release);
        } else if !self.reading_head.swap(true, Ordering::AcqRel) {
            self.since_ms.store(self.now_ms(), Ordering::Release);
        }
    }

    /// Bytes left: writing a response body after its handler answered is not
    /// idleness. Only a flag, no clock read: this runs on every write, and the
    /// task's next look (at most the shorter timeout away) turns it into a time.
    fn on_write(&self) {
        self.traffic.store(true, Ordering::Release);
    }

    fn request_started(&self) {
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.reading_head.store(false, Ordering::Release);
    }

    fn request_answered(&self) {
        if self.requests.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.since_ms.store(self.now_ms(), Ordering::Release);
        }
    }

    fn stream_started(&self) {
        self.streaming.fetch_add(1, Ordering::AcqRel);
    }

    fn stream_ended(&self) {
        if self.streaming.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.since_ms.store(self.now_ms(), Ordering::Release);
        }
    }

    /// Which deadline applies now, and whether it has passed.
    fn check(&self, t: &Timeouts) -> Check {
        let now = Instant::now();
        // Never sleep longer than the shorter timeout: the state may change while
        // we sleep (a request ends, a new head begins), and the deadline of the
        // new state is at least that far from the change, so it is never missed.
        let next_look = now + t.shortest();
        if self.requests.load(Ordering::Acquire) > 0 {
            // Busy: the handler has `http.request_timeout`; look again later.
            return Check::Wait(next_look);
        }
        let head = self.reading_head.load(Ordering::Acquire);
        if self.traffic.swap(false, Ordering::AcqRel) && !head {
            // A response body still moving: idle counts from now.
            self.since_ms.store(self.now_ms(), Ordering::Release);
        }
        let since = self.born + Duration::from_millis(self.since_ms.load(Ordering::Acquire));
        let deadline = since + if head { t.header_read } else { t.idle };
        match (deadline <= now, head) {
            (false, _) => Check::Wait(deadline.min(next_look)),
            (true, true) => Check::HeadTimeout,
            (true, false) => Check::Idle,
        }
    }
}

/// What a request touches on its connection, in one allocation (see the
/// module doc): shared by the socket wrapper, the service and each request
/// being answered.
#[derive(Debug)]
struct PerConnection {
    activity: Activity,
    /// The app, with this connection's peer address.
    app: App,
}

/// Marks a request as answered when dropped (the handler finished or was dropped).
#[derive(Debug)]
struct Answered(Arc<PerConnection>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.activity.request_answered();
    }
}

/// The per-connection hyper service: notes the request on the connection's
/// [`Activity`] and passes it to the app (which knows the peer address).
#[derive(Debug, Clone)]
struct ConnService {
    shared: Arc<PerConnection>,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<ConnBody>;
    type Error = Infallible;
    type Future = Answering;

    fn call(&self, req: Request<Incoming>) -> Answering {
        self.shared.activity.request_started();
        // No `poll_ready` first: the app is always ready (see `App`). The request
        // body goes in as it is (see `Body`), not boxed.
        Answering {
            handling: crate::app::handle(&self.shared.app, req.map(Body::from)),
            answered: Answered(self.shared.clone()),
        }
    }
}

/// The app's [`Handling`] and this connection's note that a request is being
/// answered, which is dropped with it: hyper drops the future as soon as it
/// has the response (or when the connection goes). Not boxed: a request
/// answered at once allocates nothing here.
#[derive(Debug)]
struct Answering {
    handling: Handling,
    answered: Answered,
}

impl Future for Answering {
    type Output = Result<Response<ConnBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let res = ready!(Pin::new(&mut this.handling).poll(cx))?;
        // A body that streams keeps the exchange going after the handler has
        // answered: say so until it is sent (or dropped with the connection).
        let streaming = (!res.body().is_in_memory()).then(|| Streaming::start(&this.answered.0));
        Poll::Ready(Ok(res.map(|body| ConnBody {
            body,
            _streaming: streaming,
        })))
    }
}

/// A response body as hyper sends it: the app's [`Body`] and, for one that
/// streams, this connection's note that it is still being sent (see
/// [`Activity::on_read`]). A body already in memory carries no note.
#[derive(Debug)]
pub struct ConnBody {
    body: Body,
    _streaming: Option<Streaming>,
}

impl http_body::Body for ConnBody {
    type Data = bytes::Bytes;
    type Error = body::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Marks a streamed response body as finished when dropped (sent whole, or
/// dropped with its connection).
#[derive(Debug)]
struct Streaming(Arc<PerConnection>);

impl Streaming {
    fn start(shared: &Arc<PerConnection>) -> Self {
        shared.activity.stream_started();
        Self(shared.clone())
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.0.activity.stream_ended();
    }
}

/// Buffers adding up to at most this many bytes are written with one `send`
/// rather than a `writev` (see [`TimedIo`]): a response head and a small body.
const JOIN_LIMIT: usize = 2048;

/// A `TcpStream` that reports activity, gives up on writes that stall, and
/// sends a small response with one `send`.
///
/// Only writes are timed here: a read may legitimately wait for minutes (an idle
/// keep-alive connection, a long `/slow`), and the task's clocks cover that.
///
/// Why join small writes: hyper hands over a response as separate buffers (the
/// head it wrote, then the body), and tokio writes several buffers with
/// `writev`, one buffer with `send`. For a socket, `writev` first goes through
/// the kernel's generic file-write path (`vfs_writev` and its checks on the
/// socket's file) and only then reaches the socket; `send` goes to the socket
/// directly. In a profile of `/fast` at 1,000 connections that detour was
/// about 4 % of the server's CPU time, `vfs_writev` alone 3 %: with a thousand
/// connections taking turns, what it reads about each socket's file has left
/// the cache. Copying the head and a small body into one buffer costs a few
/// hundred bytes of `memcpy`; measured, `/fast` at 1,000 connections took 6 to
/// 10 % less CPU per request (`bench/results/REPORT.md`). Large writes (file
/// bodies) keep `writev`: no copy, and there the detour is small next to the
/// bytes moved.
#[derive(Debug)]
struct TimedIo {
    inner: TcpStream,
    write_timeout: Duration,
    /// Armed when a write returns `Pending`, disarmed when one makes progress.
    write_deadline: Option<Pin<Box<Sleep>>>,
    shared: Arc<PerConnection>,
}

impl TimedIo {
    fn new(inner: TcpStream, write_timeout: Duration, shared: Arc<PerConnection>) -> Self {
        Self {
            inner,
            write_timeout,
            write_deadline: None,
            shared,
        }
    }

    /// Bytes went out (a flush is not activity: hyper flushes on every poll).
    fn wrote(&self, poll: &Poll<io::Result<usize>>) {
        if matches!(poll, Poll::Ready(Ok(n)) if *n > 0) {
            self.shared.activity.on_write();
        }
    }

    /// Wraps one write-side poll: progress disarms the clock, `Pending` arms it,
    /// and a clock that runs out turns `Pending` into a `TimedOut` error.
    fn timed<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
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

thread_local! {
    /// Where [`poll_write_joined`] joins small buffers: one per thread, reused.
    static JOINED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes `bufs` to `stream` and says how many bytes went, as `writev` does,
/// but buffers adding up to at most [`JOIN_LIMIT`] bytes are copied into one
/// and sent with one `send` (see [`TimedIo`] for why). If the kernel takes
/// only part, the count says how far into the buffers it got, which is all
/// the caller needs to go on from there.
fn poll_write_joined(
    stream: Pin<&mut TcpStream>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    let total: usize = bufs.iter().map(|b| b.len()).sum();
    match bufs {
        [one] => stream.poll_write(cx, one),
        // The copy goes into the thread's own buffer (as in the echo server's
        // `scratch.rs`), used and released within this call.
        _ if total <= JOIN_LIMIT => JOINED.with_borrow_mut(|joined| {
            joined.clear();
            for buf in bufs {
                joined.extend_from_slice(buf);
            }
            stream.poll_write(cx, joined)
        }),
        _ => stream.poll_write_vectored(cx, bufs),
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.shared.activity.on_read();
        }
        poll
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        self.wrote(&poll);
        self.timed(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = poll_write_joined(Pin::new(&mut self.inner), cx, bufs);
        self.wrote(&poll);
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

#[cfg(test)]
mod tests {
    use std::io::IoSlice;

    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpSocket};

    use super::*;

    /// The three parts of each message, like a response head and a body in two
    /// pieces: together just small enough to be joined, and large, so that a
    /// full socket often has room for only part of one.
    const PARTS: [&[u8]; 3] = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n",
        &[b'a'; 1000],
        &[b'b'; 1000],
    ];

    /// What is left of the parts after the first `skip` bytes.
    fn rest(mut skip: usize) -> Vec<IoSlice<'static>> {
        let mut slices = Vec::new();
        for part in PARTS {
            if skip >= part.len() {
                skip -= part.len();
            } else {
                slices.push(IoSlice::new(&part[skip..]));
                skip = 0;
            }
        }
        slices
    }

    #[tokio::test]
    async fn joined_writes_cut_short_by_a_full_socket_go_on_exactly_where_they_stopped() {
        const MESSAGES: usize = 5_000;
        let message = PARTS.concat();
        assert!(message.len() <= JOIN_LIMIT);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        // A small send buffer, and a reader that starts late: the socket fills
        // up, and the kernel takes only part of many writes.
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_send_buffer_size(4096).expect("SO_SNDBUF");
        let mut writer = socket
            .connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (mut reader, _) = listener.accept().await.expect("accept");
        let read = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut all = Vec::new();
            reader.read_to_end(&mut all).await.expect("read");
            all
        });

        let mut cut_short = 0;
        for _ in 0..MESSAGES {
            let mut sent = 0;
            while sent < message.len() {
                let slices = rest(sent);
                let n = std::future::poll_fn(|cx| {
                    poll_write_joined(Pin::new(&mut writer), cx, &slices)
                })
                .await
                .expect("write");
                assert!(n > 0, "a write that returns takes something");
                sent += n;
                if sent < message.len() {
                    cut_short += 1;
                }
            }
        }
        drop(writer);

        let all = read.await.expect("reader");
        assert_eq!(all.len(), MESSAGES * message.len());
        assert!(all.chunks(message.len()).all(|m| m == message.as_slice()));
        assert!(
            cut_short > 0,
            "the socket never filled: the test proved nothing"
        );
    }
}
