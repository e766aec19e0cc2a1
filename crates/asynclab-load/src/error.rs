//! What can go wrong: [`Error`] for a run that cannot start, [`ErrorKind`] for one
//! request that failed.
//!
//! The two are kept apart on purpose. A bad URL or a host name that does not resolve
//! stops the command before any request is sent; a refused connection or a timeout is
//! *data*: it is counted, reported by kind, and the run goes on.

use std::io;

use serde::{Deserialize, Serialize};

/// Why a load run could not start (or could not finish collecting its results).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target is not something `asynclab load` can talk to.
    #[error("bad target `{target}`: {reason}")]
    Target { target: String, reason: String },
    /// A flag has a value that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// The host name of the target did not resolve to any address.
    #[error("cannot resolve `{host}`: {source}")]
    Resolve {
        host: String,
        #[source]
        source: io::Error,
    },
    /// `-b @FILE` could not be read.
    #[error("cannot read the body file `{path}`: {source}")]
    BodyFile {
        path: String,
        #[source]
        source: io::Error,
    },
    /// A connection task panicked, so its counts are lost: a bug, reported as such.
    #[error("a connection task failed: {0}")]
    Task(String),
    /// A saved report (`merge`) could not be read or used.
    #[error("`{path}`: {reason}")]
    Input { path: String, reason: String },
    /// The TLS flags cannot be used (a missing `--cacert` file, a key that
    /// does not match `--cert`).
    #[error("TLS: {0}")]
    Tls(#[from] asynclab_tls::TlsError),
    /// The latency chart or the HTML report could not be written.
    #[error("cannot write `{path}`: {reason}")]
    Plot { path: String, reason: String },
}

/// The kinds a failed request is counted under. Every kind is always present in the
/// report (with 0), so the JSON schema does not depend on what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The target actively refused the connection: nothing listens on that port.
    ConnectRefused,
    /// Any other failure to connect (network unreachable, no route, ...).
    ConnectFailed,
    /// No complete answer within `--timeout` (connecting included).
    Timeout,
    /// The peer closed or reset the connection before the answer was complete.
    Reset,
    /// The server closed the connection instead of answering: an HTTP connection
    /// that ended before any byte of the response, or an echo server's farewell
    /// (`server shutting down`) followed by the end of the stream.
    Closed,
    /// The answer was not valid HTTP (or HTTP/2 framing).
    Protocol,
    /// The echo server sent back something other than what was sent.
    EchoMismatch,
    /// The TLS handshake failed: a certificate not trusted (or, with mutual
    /// TLS, ours refused), no protocol in common.
    Tls,
}

impl ErrorKind {
    /// Every kind, in the order the report lists them.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::ConnectRefused,
        ErrorKind::ConnectFailed,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Closed,
        ErrorKind::Protocol,
        ErrorKind::EchoMismatch,
        ErrorKind::Tls,
    ];

    /// Position in [`ErrorKind::ALL`], for counting in a plain array.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// How the text summary names the kind.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect refused",
            ErrorKind::ConnectFailed => "connect failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Closed => "closed by server",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::EchoMismatch => "echo mismatch",
            ErrorKind::Tls => "tls handshake",
        }
    }

    /// Classifies a failed `connect`.
    pub(crate) fn connect(e: &io::Error) -> ErrorKind {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
            io::ErrorKind::TimedOut => ErrorKind::Timeout,
            _ => ErrorKind::ConnectFailed,
        }
    }

    /// True for the kinds where no connection was made: the next attempt waits a
    /// little (see `worker.rs`) instead of hammering a port nothing listens on
    /// (or a server that refuses our certificate).
    pub(crate) fn is_connect(self) -> bool {
        matches!(
            self,
            ErrorKind::ConnectRefused | ErrorKind::ConnectFailed | ErrorKind::Tls
        )
    }

    /// Classifies an I/O error on an established connection.
    pub(crate) fn io(e: &io::Error) -> ErrorKind {
        // A TLS alert (a server refusing our certificate after a TLS 1.3
        // handshake) or a record that does not decrypt: the TLS layer's failure.
        if e.get_ref()
            .is_some_and(|inner| inner.is::<asynclab_tls::rustls::Error>())
        {
            return ErrorKind::Tls;
        }
        match e.kind() {
            io::ErrorKind::TimedOut => ErrorKind::Timeout,
            io::ErrorKind::InvalidData => ErrorKind::Protocol,
            // Reset, aborted, broken pipe, EOF in the middle of an answer: the peer
            // went away. Anything stranger is counted with them rather than lost.
            _ => ErrorKind::Reset,
        }
    }

    /// Classifies a hyper error: an I/O error underneath wins, then hyper's own view.
    pub(crate) fn hyper(e: &hyper::Error) -> ErrorKind {
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            if let Some(io) = inner.downcast_ref::<io::Error>() {
                return ErrorKind::io(io);
            }
            source = inner.source();
        }
        if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() || e.is_user() {
            ErrorKind::Protocol
        } else if e.is_timeout() {
            ErrorKind::Timeout
        } else {
            // Closed, canceled, incomplete message, an HTTP/2 GOAWAY or RST_STREAM:
            // the connection ended under the request.
            ErrorKind::Reset
        }
    }
}
