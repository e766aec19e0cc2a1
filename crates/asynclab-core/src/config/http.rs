//! `[http]`: the HTTP server's settings. See the `asynclab-http` crate.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::demo::DemoConfig;
use super::units::{self, Size};
use super::{Check, at_least, invalid, nonzero};

/// The `[http]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Where to listen. Port 0 picks a free port.
    #[serde(with = "units::addr")]
    pub addr: SocketAddr,
    /// The largest request body accepted (`POST /echo`); larger gets 413.
    pub max_body: Size,
    /// A request still unanswered after this long gets 503: the server failed to
    /// answer in time (408 would blame the client, 504 is for gateways). With a
    /// body, counted from the body's end (see `asynclab-http`'s `arrival.rs`).
    #[serde(with = "units::duration")]
    pub request_timeout: Duration,
    /// Requests being handled at once; more are shed with 503 immediately.
    pub max_in_flight: usize,
    /// A request head must be complete within this time, counted from connect or
    /// from the first byte of the next request (so silent connections are closed too).
    #[serde(with = "units::duration")]
    pub header_read_timeout: Duration,
    /// An idle keep-alive connection is closed after this long.
    #[serde(with = "units::duration")]
    pub idle_timeout: Duration,
    /// A response write that makes no progress for this long closes the connection.
    #[serde(with = "units::duration")]
    pub write_timeout: Duration,
    /// Open connections allowed at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Connections the kernel may hold waiting to be accepted (`listen` backlog;
    /// Linux caps it at `net.core.somaxconn`). Too small, and a burst of new
    /// connections loses SYNs that clients retry only a second later.
    pub backlog: u32,
    /// Where connections run: `per-core` (each on one of `workers` threads with a
    /// single-threaded runtime of its own) or `shared` (on the process's
    /// multi-threaded, work-stealing runtime).
    pub runtime: HttpRuntime,
    /// Threads serving connections with `runtime = "per-core"`; 0 means one per
    /// CPU core the process may use.
    pub workers: usize,
    /// The largest request head (request line and headers); larger gets 431.
    pub max_header_bytes: Size,
    /// The most request headers accepted; more gets 431.
    pub max_headers: usize,
    /// `POST /echo` bodies without a `Content-Length` buffered at once (each up to
    /// `max_body`, so a too-large one gets 413 before any answer); more get 503.
    pub echo_buffers: usize,
    /// `GET /slow`.
    pub slow: SlowConfig,
    /// `GET /limited`.
    pub limited: LimitedConfig,
    /// The async-pattern demo routes (`/fanout`, `/race`, `/events`, ...).
    pub demo: DemoConfig,
}

/// More threads than this is a typo, not a configuration.
const MAX_WORKERS: usize = 1024;

/// Where the HTTP server runs its connections (`http.runtime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpRuntime {
    /// Each connection stays on one of `http.workers` threads, each polling its own
    /// epoll: nginx's worker model.
    PerCore,
    /// Every connection on the process's multi-threaded runtime, where idle
    /// workers steal tasks from busy ones.
    Shared,
}

impl HttpConfig {
    /// How many per-core threads to start: `workers`, or one per usable core.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            // One per CPU core this process may use (it follows a container's CPU
            // quota and affinity); 1 if that cannot be known.
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// `[http.slow]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowConfig {
    /// How long `/slow` waits when no `?delay=` is given.
    #[serde(with = "units::duration")]
    pub delay: Duration,
    /// The longest wait any request may ask for (`/slow`, `/limited`, the demos).
    #[serde(with = "units::duration")]
    pub max_delay: Duration,
}

/// `[http.limited]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitedConfig {
    /// Requests allowed inside the work section at once (semaphore permits).
    pub permits: usize,
    /// How long each request holds its permit when no `?work=` is given.
    #[serde(with = "units::duration")]
    pub work: Duration,
    /// Requests allowed to wait for a permit; more get 503 at once.
    pub max_waiters: usize,
    /// The longest a request waits for a permit before it gets 503.
    #[serde(with = "units::duration")]
    pub queue_timeout: Duration,
}

impl HttpConfig {
    pub(super) fn check(&self) -> Check {
        at_least("http.max_body", self.max_body.bytes(), 1)?;
        nonzero("http.request_timeout", self.request_timeout)?;
        at_least("http.max_in_flight", self.max_in_flight, 1)?;
        nonzero("http.header_read_timeout", self.header_read_timeout)?;
        nonzero("http.idle_timeout", self.idle_timeout)?;
        nonzero("http.write_timeout", self.write_timeout)?;
        at_least("http.max_connections", self.max_connections, 1)?;
        at_least("http.backlog", self.backlog, 1)?;
        if self.workers > MAX_WORKERS {
            return Err(invalid(
                "http.workers",
                self.workers,
                format!("must be at most {MAX_WORKERS} (0 = one per CPU core)"),
            ));
        }
        // hyper needs room for at least one read buffer (8 KiB) of headers.
        at_least("http.max_header_bytes", self.max_header_bytes.bytes(), 8192)?;
        at_least("http.max_headers", self.max_headers, 1)?;
        at_least("http.echo_buffers", self.echo_buffers, 1)?;
        nonzero("http.slow.max_delay", self.slow.max_delay)?;
        if self.slow.delay > self.slow.max_delay {
            return Err(invalid(
                "http.slow.delay",
                units::duration::show(self.slow.delay),
                "must not be longer than http.slow.max_delay",
            ));
        }
        at_least("http.limited.permits", self.limited.permits, 1)?;
        if self.limited.work > self.slow.max_delay {
            return Err(invalid(
                "http.limited.work",
                units::duration::show(self.limited.work),
                "must not be longer than http.slow.max_delay",
            ));
        }
        nonzero("http.limited.queue_timeout", self.limited.queue_timeout)?;
        self.demo.check(self.idle_timeout)
    }
}
