//! The WebSocket client side of one connection (`ws://HOST:PORT/PATH`): send a
//! message, wait for its echo, check it byte for byte and by type.
//!
//! Pattern: **connect once, measure apart.** The handshake (TCP connect and
//! HTTP upgrade) happens in [`Client::open`], before the connection's first
//! paced message, and its time goes to a histogram of its own: the round-trip
//! percentiles are the echo's alone. At the end of the run, [`Client::close`]
//! sends a close frame and waits for the server's, so the server sees a clean
//! close (1000) rather than a dropped socket; clean and failed closes are
//! counted too.
//!
//! Each message differs from the one before (rotated by a counter, as the TCP
//! echo client does), so an echo of an earlier message is a mismatch. Binary
//! messages use every byte value; text messages printable letters.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::error::{Error, ErrorKind};
use crate::stats::Outcome;
use crate::tls::{Connector, Stream};
use crate::worker::Client;

/// How long the close handshake at the end of a run may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A WebSocket echo endpoint and the messages to send it.
#[derive(Debug, Clone)]
pub struct WsTarget {
    /// `ws://host:port/path` (or `wss://`), as given.
    pub url: String,
    pub host: String,
    pub port: u16,
    /// Bytes per message.
    pub size: usize,
    /// Binary messages (`--binary`) instead of text.
    pub binary: bool,
    /// `wss://`: a TLS handshake before the upgrade.
    pub tls: bool,
}

impl WsTarget {
    /// Parses `ws[s]://HOST:PORT[/PATH]`: 64-byte text messages.
    pub fn parse(url: &str) -> Result<WsTarget, Error> {
        let bad = |reason: &str| Error::Target {
            target: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: http::Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        let (tls, default_port) = match uri.scheme_str() {
            Some("ws") => (false, 80),
            Some("wss") => (true, 443),
            _ => return Err(bad("use ws[s]://HOST:PORT/PATH")),
        };
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        Ok(WsTarget {
            url: url.to_string(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: uri.port_u16().unwrap_or(default_port),
            size: 64,
            binary: false,
            tls,
        })
    }
}

/// What the WebSocket connections of a run share: handshake times and closes.
#[derive(Debug)]
pub(crate) struct WsStats(Mutex<Counts>);

#[derive(Debug)]
struct Counts {
    handshakes: Histogram<u64>,
    clean_closes: u64,
    failed_closes: u64,
}

impl Default for WsStats {
    fn default() -> Self {
        WsStats(Mutex::new(Counts {
            handshakes: crate::stats::histogram(),
            clean_closes: 0,
            failed_closes: 0,
        }))
    }
}

/// The WebSocket part of a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WsReport {
    /// Handshakes completed (TCP connect, TLS with `wss://`, HTTP upgrade).
    pub handshakes: u64,
    /// Handshake time in microseconds: 50th, 99th percentile and the longest.
    pub handshake_p50_us: u64,
    pub handshake_p99_us: u64,
    pub handshake_max_us: u64,
    /// Connections closed with a complete close handshake (at the end, or when
    /// a `--stage` ramp let them go).
    pub clean_closes: u64,
    /// Connections whose close handshake failed or timed out.
    pub failed_closes: u64,
    /// The handshake times, lossless (as the report's `hdr_histogram`): what
    /// `asynclab load merge` adds.
    #[serde(rename = "handshake_hdr_histogram", with = "crate::hdr")]
    pub(crate) hdr: Histogram<u64>,
}

impl WsReport {
    fn new(hdr: Histogram<u64>, clean_closes: u64, failed_closes: u64) -> Self {
        WsReport {
            handshakes: hdr.len(),
            handshake_p50_us: hdr.value_at_quantile(0.5),
            handshake_p99_us: hdr.value_at_quantile(0.99),
            handshake_max_us: hdr.max(),
            clean_closes,
            failed_closes,
            hdr,
        }
    }

    /// Adds another run's handshakes and closes (`asynclab load merge`): the
    /// histograms are added, and the percentiles computed from the sum.
    pub(crate) fn add(&mut self, other: &WsReport) -> Result<(), String> {
        let mut hdr = self.hdr.clone();
        hdr.add(&other.hdr)
            .map_err(|e| format!("its handshake histogram cannot be added: {e:?}"))?;
        *self = WsReport::new(
            hdr,
            self.clean_closes + other.clean_closes,
            self.failed_closes + other.failed_closes,
        );
        Ok(())
    }
}

impl WsStats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn report(&self) -> WsReport {
        let c = self.lock();
        WsReport::new(c.handshakes.clone(), c.clean_closes, c.failed_closes)
    }
}

/// One connection's WebSocket client. The message buffer is reused.
pub(crate) struct WsClient {
    target: WsTarget,
    connector: Connector,
    stats: Arc<WsStats>,
    message: Vec<u8>,
    sequence: u64,
    socket: Option<WebSocketStream<Stream>>,
}

impl WsClient {
    pub(crate) fn new(
        target: &WsTarget,
        connector: Connector,
        index: usize,
        stats: Arc<WsStats>,
    ) -> Self {
        WsClient {
            target: target.clone(),
            connector,
            stats,
            message: vec![0; target.size],
            sequence: index as u64,
            socket: None,
        }
    }

    /// Connects (with `wss://`, the TLS handshake too) and upgrades, recording
    /// how long that took.
    async fn connect(&mut self) -> Result<(), ErrorKind> {
        let started = Instant::now();
        let stream = self.connector.connect().await?;
        let request = self
            .target
            .url
            .as_str()
            .into_client_request()
            .map_err(|_| ErrorKind::Protocol)?;
        let (socket, _) = tokio_tungstenite::client_async(request, stream)
            .await
            .map_err(|e| kind(&e))?;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.stats
            .lock()
            .handshakes
            .saturating_record(micros.max(1));
        self.socket = Some(socket);
        Ok(())
    }

    /// The next message: letters (text) or every byte value (binary), rotated.
    fn next_message(&mut self) -> Message {
        let shift = self.sequence as usize;
        self.sequence += 1;
        for (i, byte) in self.message.iter_mut().enumerate() {
            *byte = match self.target.binary {
                true => (i + shift) as u8,
                false => b'a' + ((i + shift) % 26) as u8,
            };
        }
        let bytes = Bytes::copy_from_slice(&self.message);
        match self.target.binary {
            true => Message::Binary(bytes),
            false => Message::Text(bytes.try_into().expect("letters are UTF-8")),
        }
    }

    async fn round_trip(&mut self) -> Result<(), ErrorKind> {
        if self.socket.is_none() {
            self.connect().await?;
        }
        let message = self.next_message();
        let socket = self.socket.as_mut().expect("connected just above");
        socket.send(message).await.map_err(|e| kind(&e))?;
        loop {
            let answer = match socket.next().await {
                Some(answer) => answer.map_err(|e| kind(&e))?,
                None => return Err(ErrorKind::Reset),
            };
            let echoed: &[u8] = match (&answer, self.target.binary) {
                (Message::Text(text), false) => text.as_bytes(),
                (Message::Binary(bytes), true) => bytes,
                // Pings are answered by tungstenite; they are not the echo.
                (Message::Ping(_) | Message::Pong(_), _) => continue,
                (Message::Close(_), _) => return Err(ErrorKind::Reset),
                _ => return Err(ErrorKind::EchoMismatch),
            };
            return match echoed == self.message.as_slice() {
                true => Ok(()),
                false => Err(ErrorKind::EchoMismatch),
            };
        }
    }
}

/// The error kind a tungstenite error counts as.
fn kind(error: &WsError) -> ErrorKind {
    match error {
        WsError::Io(e) => ErrorKind::io(e),
        WsError::ConnectionClosed | WsError::AlreadyClosed => ErrorKind::Reset,
        _ => ErrorKind::Protocol,
    }
}

impl Client for WsClient {
    async fn open(&mut self) {
        // A failure here is retried, and counted, by the first message.
        let _ = self.connect().await;
    }

    async fn exchange(&mut self) -> Outcome {
        match self.round_trip().await {
            Ok(()) => Outcome::Answer {
                status: 0,
                sent: self.message.len() as u64,
                received: self.message.len() as u64,
            },
            Err(kind) => Outcome::Failed(kind),
        }
    }

    fn reset(&mut self) {
        self.socket = None;
    }

    async fn close(&mut self) {
        let Some(mut socket) = self.socket.take() else {
            return;
        };
        let handshake = async {
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "load run over".into(),
            };
            socket.close(Some(frame)).await.ok()?;
            // The server answers with its close, then ends the stream.
            let mut answered = false;
            while let Some(Ok(message)) = socket.next().await {
                answered |= message.is_close();
            }
            answered.then_some(())
        };
        let clean = tokio::time::timeout(CLOSE_TIMEOUT, handshake).await;
        let mut counts = self.stats.lock();
        match clean {
            Ok(Some(())) => counts.clean_closes += 1,
            _ => counts.failed_closes += 1,
        }
    }
}
