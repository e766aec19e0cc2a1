//! The TCP echo client side of one connection: send a message, read the echo, check
//! it byte for byte. The connection is plain TCP (`tcp://`) or TLS (`tls://`), opened
//! by the run's [`Connector`] (`tls.rs`), which times and counts the handshakes.
//!
//! Pattern: **buffered reads on a stream you also write to**. The stream sits in a
//! `BufReader`, which passes writes straight through, so one value both sends the
//! message and reads the answer line by line without a read syscall per byte. In
//! line mode the answer is one line, `prefix` + the message; in raw mode it is exactly
//! the bytes sent, which may arrive in several pieces (`read_exact` gathers them).
//!
//! Each message differs from the one before (its letters are rotated by a counter), so
//! an answer to an *earlier* message, or one stuck in a buffer, is a mismatch too.
//! After a mismatch the stream may be out of step with what is expected, so the
//! connection is dropped and the next message goes over a new one.
//!
//! A server that is shutting down says so (`server shutting down`) and closes. That
//! answer differs from the echo, but it is not a wrong echo: an answer that differs
//! and is followed by the end of the stream is counted as `closed by server`.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::error::ErrorKind;
use crate::stats::Outcome;
use crate::target::{EchoMode, EchoTarget};
use crate::tls::{Connector, Stream};
use crate::worker::Client;

/// After an answer that is not the echo, how long to wait for the end of the stream
/// that tells a farewell from a wrong echo. A closing server has already sent its
/// end of stream with the farewell; a wrong echo on a live connection costs this wait.
const FAREWELL_WAIT: Duration = Duration::from_millis(100);

/// One connection's echo client. The buffers are allocated once and reused.
pub(crate) struct EchoClient {
    connector: Connector,
    mode: EchoMode,
    prefix_len: usize,
    /// The next message to send.
    message: Vec<u8>,
    /// What must come back: `prefix` + message in line mode, the message in raw mode.
    expected: Vec<u8>,
    answer: Vec<u8>,
    sequence: u64,
    stream: Option<BufReader<Stream>>,
}

impl EchoClient {
    pub(crate) fn new(target: &EchoTarget, connector: Connector, index: usize) -> EchoClient {
        let prefix: &[u8] = match target.mode {
            EchoMode::Line => &target.prefix,
            EchoMode::Raw => &[],
        };
        EchoClient {
            connector,
            mode: target.mode,
            prefix_len: prefix.len(),
            message: vec![0; target.size],
            expected: [prefix, &vec![0; target.size]].concat(),
            answer: Vec::with_capacity(prefix.len() + target.size),
            sequence: index as u64,
            stream: None,
        }
    }

    /// Writes the next message (and its expected echo) into the reused buffers:
    /// printable letters, rotated by the sequence number, ending in `\n` in line mode.
    fn next_message(&mut self) {
        let shift = (self.sequence % 26) as usize;
        self.sequence += 1;
        for (i, byte) in self.message.iter_mut().enumerate() {
            *byte = b'a' + ((i + shift) % 26) as u8;
        }
        if self.mode == EchoMode::Line
            && let Some(last) = self.message.last_mut()
        {
            *last = b'\n';
        }
        self.expected[self.prefix_len..].copy_from_slice(&self.message);
    }

    async fn round_trip(&mut self) -> Result<(), ErrorKind> {
        if self.stream.is_none() {
            // TCP_NODELAY is set there: one small message at a time.
            self.stream = Some(BufReader::new(self.connector.connect().await?));
        }
        let stream = self.stream.as_mut().expect("connected just above");
        let io = |e: std::io::Error| ErrorKind::io(&e);
        stream.write_all(&self.message).await.map_err(io)?;
        self.answer.clear();
        match self.mode {
            EchoMode::Line => {
                // Read at most the expected length: a server that never sends the
                // newline (or sends far too much) cannot make the buffer grow.
                let limit = self.expected.len() as u64;
                let n = (&mut *stream)
                    .take(limit)
                    .read_until(b'\n', &mut self.answer)
                    .await
                    .map_err(io)?;
                // Fewer bytes than expected and no newline: the stream ended mid-line.
                if (n as u64) < limit && self.answer.last() != Some(&b'\n') {
                    return Err(ErrorKind::Reset);
                }
            }
            EchoMode::Raw => {
                // `read_exact` by hand, to know what came before an early end.
                self.answer.resize(self.expected.len(), 0);
                let mut got = 0;
                while got < self.answer.len() {
                    match stream.read(&mut self.answer[got..]).await.map_err(io)? {
                        0 => {
                            self.answer.truncate(got);
                            return Err(if self.expected.starts_with(&self.answer) {
                                // The echo itself, cut short.
                                ErrorKind::Reset
                            } else {
                                ErrorKind::Closed
                            });
                        }
                        n => got += n,
                    }
                }
            }
        }
        if self.answer == self.expected {
            return Ok(());
        }
        // Something else than the echo: a farewell if the stream ends right after it.
        let mut probe = [0; 1];
        match tokio::time::timeout(FAREWELL_WAIT, stream.read(&mut probe)).await {
            Ok(Ok(0) | Err(_)) => Err(ErrorKind::Closed),
            Ok(Ok(_)) | Err(_) => Err(ErrorKind::EchoMismatch),
        }
    }
}

impl Client for EchoClient {
    async fn exchange(&mut self) -> Outcome {
        self.next_message();
        match self.round_trip().await {
            Ok(()) => Outcome::Answer {
                status: 0,
                sent: self.message.len() as u64,
                received: self.answer.len() as u64,
            },
            Err(kind) => Outcome::Failed(kind),
        }
    }

    fn reset(&mut self) {
        self.stream = None;
    }
}
