//! How a connection can end, and what the client is told each time.
//!
//! Pattern: **errors stay in the connection's task.** A reset, a broken pipe or a
//! client that stops reading ends *that* connection: the task logs the [`Error`]
//! at debug level inside its `peer` span and returns. Nothing is propagated to the
//! accept loop, so one bad client can never stop the server or touch another
//! connection (see `Server::run` in `lib.rs`).
//!
//! The lines the server sends on its own initiative live here too, so every
//! message a client can see is in one place.

use std::io;
use std::time::Duration;

/// Sent to a connection beyond `echo.max_connections`, which is then closed.
pub(crate) const BUSY: &[u8] = b"error: server busy\n";
/// Sent to a connection that stayed silent for `echo.idle_timeout`.
pub(crate) const IDLE: &[u8] = b"bye: idle timeout\n";
/// Sent to each line-mode client when the server shuts down.
pub(crate) const SHUTTING_DOWN: &[u8] = b"server shutting down\n";

/// Why a connection ended before the client closed it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket failed: the client reset the connection, the pipe broke, ...
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),

    /// In line mode, a line longer than `echo.max_line` (not counting its line
    /// ending). The client is told so, with [`Error::client_message`].
    #[error("line too long (max {max} bytes)")]
    LineTooLong { max: usize },

    /// The client stopped reading: it had still not taken an answer this long
    /// (`echo.idle_timeout`) after it last sent something.
    #[error("the client took no answer for {0:?}")]
    Stalled(Duration),

    /// The shutdown grace period ran out with this connection still busy.
    #[error("cut at the end of the shutdown grace period")]
    Cut,
}

impl Error {
    /// The line the client gets before the connection closes, if any. A broken
    /// socket or a stalled client cannot be told anything.
    pub(crate) fn client_message(&self) -> Option<Vec<u8>> {
        match self {
            Error::LineTooLong { .. } => Some(format!("error: {self}\n").into_bytes()),
            Error::Io(_) | Error::Stalled(_) | Error::Cut => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_explained_to_the_client() {
        let message = Error::LineTooLong { max: 65536 }.client_message();
        assert_eq!(
            message.as_deref(),
            Some(&b"error: line too long (max 65536 bytes)\n"[..])
        );
        assert!(Error::Cut.client_message().is_none());
    }
}
