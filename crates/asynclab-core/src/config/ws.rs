//! `[http.ws]`: the WebSocket endpoints (`/ws/echo`, `/ws/events`). See the
//! `asynclab-http` crate's `ws/` module.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units::{self, Size};
use super::{Check, at_least, invalid, nonzero};

/// The `[http.ws]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsConfig {
    /// The largest message accepted, whole or in fragments. A frame whose header
    /// announces more is refused before its payload is read: close 1009.
    pub max_message: Size,
    /// Bytes read from the socket at a time: each open WebSocket keeps one
    /// buffer of this size.
    pub read_buffer: Size,
    /// A WebSocket that receives nothing for this long gets a ping.
    #[serde(with = "units::duration")]
    pub idle_timeout: Duration,
    /// After that ping, how long the client has to send anything (its pong)
    /// before the server closes with 1001.
    #[serde(with = "units::duration")]
    pub ping_timeout: Duration,
    /// After the server sends a close frame, how long it waits for the
    /// client's before it closes the socket anyway.
    #[serde(with = "units::duration")]
    pub close_timeout: Duration,
}

impl WsConfig {
    pub(super) fn check(&self) -> Check {
        // A WebSocket frame header is up to 14 bytes: a buffer must hold one.
        at_least("http.ws.read_buffer", self.read_buffer.bytes(), 64)?;
        at_least("http.ws.max_message", self.max_message.bytes(), 1)?;
        if usize::try_from(self.max_message.bytes()).is_err() {
            return Err(invalid(
                "http.ws.max_message",
                self.max_message,
                "is larger than this machine's memory can address",
            ));
        }
        nonzero("http.ws.idle_timeout", self.idle_timeout)?;
        nonzero("http.ws.ping_timeout", self.ping_timeout)?;
        nonzero("http.ws.close_timeout", self.close_timeout)
    }
}
