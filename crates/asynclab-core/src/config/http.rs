//! `[http]`: the HTTP server's settings. See the `asynclab-http` crate.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dashboard::DashboardConfig;
use super::demo::DemoConfig;
use super::faults::FaultsConfig;
use super::httpbin::HttpbinConfig;
use super::units::{self, Size};
use super::ws::WsConfig;
use super::{Check, at_least, invalid, nonzero, shorter};

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
    /// body, counted from the body's end (see `asynclab-http`'s `layers/timeout.rs`).
    #[serde(with = "units::duration")]
    pub request_timeout: Duration,
    /// Requests being handled at once; more are shed with 503 immediately.
    pub max_in_flight: usize,
    /// A request head must be complete within this time, counted from connect or
    /// from the first byte of the next request (so silent connections are closed too).
    #[serde(with = "units::duration")]
    pub header_read_timeout: Duration,
    /// A request body must arrive at least this fast (bytes per second, averaged
    /// over `body_rate_window`), or the request gets 408 and the connection
    /// closes: a body sent a byte at a time cannot hold a connection forever.
    /// 0 turns the check off.
    pub body_min_rate: Size,
    /// The window `body_min_rate` is averaged over: each window of a body still
    /// arriving must bring `body_min_rate × body_rate_window` bytes.
    #[serde(with = "units::duration")]
    pub body_rate_window: Duration,
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
    /// The WebSocket endpoints (`/ws/echo`, `/ws/events`).
    pub ws: WsConfig,
    /// Faults injected on purpose (off by default; the control API changes them).
    pub faults: FaultsConfig,
    /// The httpbin-compatible routes (`/get`, `/status/{codes}`, `/bytes/{n}`, ...).
    pub httpbin: HttpbinConfig,
    /// The live dashboard (`GET /dashboard`).
    pub dashboard: DashboardConfig,
}

/// `[http.slow]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowConfig {
    /// How long `/slow` waits when no `?delay=` is given.
    #[serde(with = "units::duration")]
    pub delay: Duration,
    /// The longest `GET /slow?delay=` may ask for.
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
    /// The longest `?work=` a request may ask for.
    #[serde(with = "units::duration")]
    pub max_work: Duration,
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
        nonzero("http.body_rate_window", self.body_rate_window)?;
        at_least("http.max_connections", self.max_connections, 1)?;
        at_least("http.backlog", self.backlog, 1)?;
        // hyper needs room for at least one read buffer (8 KiB) of headers.
        at_least("http.max_header_bytes", self.max_header_bytes.bytes(), 8192)?;
        // HTTP/2 announces the limit in a 32-bit setting.
        if self.max_header_bytes.bytes() > u64::from(u32::MAX) {
            return Err(invalid(
                "http.max_header_bytes",
                self.max_header_bytes,
                "must be below 4GiB",
            ));
        }
        at_least("http.max_headers", self.max_headers, 1)?;
        at_least("http.echo_buffers", self.echo_buffers, 1)?;
        nonzero("http.slow.max_delay", self.slow.max_delay)?;
        shorter(
            ("http.slow.delay", self.slow.delay),
            ("http.slow.max_delay", self.slow.max_delay),
            true,
            "",
        )?;
        at_least("http.limited.permits", self.limited.permits, 1)?;
        nonzero("http.limited.max_work", self.limited.max_work)?;
        shorter(
            ("http.limited.work", self.limited.work),
            ("http.limited.max_work", self.limited.max_work),
            true,
            "",
        )?;
        nonzero("http.limited.queue_timeout", self.limited.queue_timeout)?;
        self.ws.check()?;
        self.faults.check(self.slow.max_delay)?;
        self.demo.check(self.idle_timeout)?;
        self.dashboard.check(self.idle_timeout)?;
        self.httpbin.check(self.slow.max_delay)
    }
}
