//! `[echo]`: the TCP echo server's settings. See the `asynclab-echo` crate.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units::{self, Size};
use super::{Check, at_least, nonzero};

/// The `[echo]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoConfig {
    /// Where to listen. Port 0 picks a free port.
    #[serde(with = "units::addr")]
    pub addr: SocketAddr,
    /// `line`: answer each line with `prefix` + line; `raw`: echo bytes as they arrive.
    pub mode: EchoMode,
    /// What each echoed line starts with, in line mode.
    pub prefix: String,
    /// The longest line accepted, in line mode; longer lines close the connection.
    pub max_line: Size,
    /// Speak TLS on `addr` with the `[tls]` section's certificate, key and
    /// client CA (`openssl s_client -connect ADDR`; `asynclab check tls://ADDR`).
    pub tls: bool,
    /// With `tls`: a client whose handshake is not done this long after it
    /// connected is closed (it holds a connection slot meanwhile).
    #[serde(with = "units::duration")]
    pub handshake_timeout: Duration,
    /// Open connections allowed at once; more are told `error: server busy`
    /// (with `tls`, closed before the handshake, without a word).
    pub max_connections: usize,
    /// Connections the kernel may hold waiting to be accepted (`listen` backlog;
    /// Linux caps it at `net.core.somaxconn`). Too small, and a burst of new
    /// connections loses SYNs that clients retry only a second later.
    pub backlog: u32,
    /// A connection that sends nothing for this long is closed.
    #[serde(with = "units::duration")]
    pub idle_timeout: Duration,
    /// The most time spent saying goodbye (`server shutting down`, `bye: idle
    /// timeout`, `error: line too long`) and closing the connection cleanly.
    #[serde(with = "units::duration")]
    pub farewell_timeout: Duration,
    /// Bytes read from a connection at a time. Taken only while a connection has
    /// data to handle: an idle connection holds no buffer at all.
    pub read_buffer: Size,
    /// How long to pause after a failed accept (out of file descriptors, say)
    /// before accepting again. The server never stops over it.
    #[serde(with = "units::duration")]
    pub accept_retry: Duration,
}

/// How the echo server frames what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EchoMode {
    /// Line by line, with a prefix.
    Line,
    /// Bytes as they arrive, no framing.
    Raw,
}

impl EchoConfig {
    pub(super) fn check(&self) -> Check {
        at_least("echo.max_line", self.max_line.bytes(), 1)?;
        at_least("echo.max_connections", self.max_connections, 1)?;
        at_least("echo.backlog", self.backlog, 1)?;
        nonzero("echo.idle_timeout", self.idle_timeout)?;
        nonzero("echo.handshake_timeout", self.handshake_timeout)?;
        nonzero("echo.farewell_timeout", self.farewell_timeout)?;
        at_least("echo.read_buffer", self.read_buffer.bytes(), 1)?;
        nonzero("echo.accept_retry", self.accept_retry)
    }
}
