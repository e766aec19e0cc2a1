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
    /// Open connections allowed at once; more are told `error: server busy`.
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed.
    #[serde(with = "units::duration")]
    pub idle_timeout: Duration,
    /// The most time spent writing the farewell line during a shutdown.
    #[serde(with = "units::duration")]
    pub farewell_timeout: Duration,
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
        nonzero("echo.idle_timeout", self.idle_timeout)?;
        nonzero("echo.farewell_timeout", self.farewell_timeout)
    }
}
