//! Connections over TLS (`https://`, `wss://`, and `tls://` to an echo server):
//! one [`Connector`] per run opens every connection, with the handshake timed
//! apart and counted.
//!
//! Patterns shown:
//!
//! - **One TLS client configuration per run, shared.** The rustls `ClientConfig`
//!   (built by `asynclab-tls` from the same flags `asynclab check` takes) is made
//!   once and each connection's handshake reads it through an `Arc`. Its session
//!   cache is shared too, which is what lets a new connection *resume* a session
//!   an earlier one made (unless `--no-resume`).
//! - **An enum over the two streams.** [`Stream`] is plain TCP or TLS over TCP
//!   and implements `AsyncRead`/`AsyncWrite` by passing each call on, so the
//!   HTTP/1.1 loop, hyper's HTTP/2, tungstenite and the echo client are written
//!   once for both.
//!   (A `Box<dyn ...>` would work as well, at one allocation per connection.)
//! - **Handshakes measured apart.** Their times go to a histogram of their own,
//!   with the number resumed and failed: the request latency still counts from
//!   when a request was due, so a request that had to connect includes the
//!   connect and handshake (as wrk's do); the handshake figures say how much.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use asynclab_tls::rustls::HandshakeKind;
use asynclab_tls::rustls::pki_types::ServerName;
use asynclab_tls::{ClientStream, ClientTls, ClientTlsOptions, TlsConnector};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::Error;
use crate::error::ErrorKind;

/// A connection: plain TCP, or TLS over TCP.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<ClientStream<TcpStream>>),
}

/// Opens the run's connections: TCP to `addr`, then TLS when the target asks.
#[derive(Clone)]
pub(crate) struct Connector {
    addr: SocketAddr,
    tls: Option<Arc<Tls>>,
}

struct Tls {
    connector: TlsConnector,
    name: ServerName<'static>,
    /// The protocol offered by ALPN, which the server must choose (`h2` for
    /// `--http2`), or not answer at all (for `http/1.1`); `None` offers none
    /// (the echo server speaks no HTTP, and answers no ALPN).
    alpn: Option<&'static [u8]>,
    stats: TlsStats,
}

impl Connector {
    /// Plain TCP to `addr`.
    pub(crate) fn plain(addr: SocketAddr) -> Connector {
        Connector { addr, tls: None }
    }

    /// TLS to `addr`, checking the certificate against `host`, offering `alpn`
    /// (or nothing).
    pub(crate) fn tls(
        addr: SocketAddr,
        host: &str,
        options: &ClientTlsOptions,
        alpn: Option<&'static [u8]>,
    ) -> Result<Connector, Error> {
        let options = ClientTlsOptions {
            alpn: alpn.iter().map(|p| p.to_vec()).collect(),
            ..options.clone()
        };
        let client = ClientTls::new(&options)?;
        let tls = Tls {
            connector: client.connector(),
            name: ClientTls::server_name(host)?,
            alpn,
            stats: TlsStats::default(),
        };
        Ok(Connector {
            addr,
            tls: Some(Arc::new(tls)),
        })
    }

    /// Connects, and runs the TLS handshake when there is one.
    pub(crate) async fn connect(&self) -> Result<Stream, ErrorKind> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|e| ErrorKind::connect(&e))?;
        // One small request at a time: without TCP_NODELAY, Nagle's algorithm could
        // hold a write back waiting for an ACK, adding latency that is ours.
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        let started = Instant::now();
        let stream = match tls.connector.connect(tls.name.clone(), tcp).await {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(%error, "TLS handshake failed");
                tls.stats.lock().failed += 1;
                return Err(ErrorKind::Tls);
            }
        };
        let session = stream.get_ref().1;
        let resumed = session.handshake_kind() == Some(HandshakeKind::Resumed);
        // A server that does no ALPN at all speaks HTTP/1.1 (as curl assumes);
        // HTTP/2 must have been chosen. Offering nothing, anything goes (rustls
        // refuses a server that chooses what was not offered).
        let chosen = match (session.alpn_protocol(), tls.alpn) {
            (_, None) => true,
            (Some(chosen), Some(wanted)) => chosen == wanted,
            (None, Some(wanted)) => wanted != asynclab_tls::ALPN_H2,
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut counts = tls.stats.lock();
        counts.handshakes.saturating_record(micros.max(1));
        counts.resumed += u64::from(resumed);
        drop(counts);
        if !chosen {
            // Asked for h2 and got HTTP/1.1 (or nothing): not the run asked for.
            return Err(ErrorKind::Protocol);
        }
        Ok(Stream::Tls(Box::new(stream)))
    }

    /// The handshakes so far, for the report (`None` without TLS).
    pub(crate) fn report(&self) -> Option<TlsReport> {
        let tls = self.tls.as_ref()?;
        let counts = tls.stats.lock();
        Some(TlsReport::new(
            counts.handshakes.clone(),
            counts.resumed,
            counts.failed,
        ))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// The handshakes of a run, shared by its connections (a lock per handshake,
/// never held across an `.await`).
struct TlsStats(Mutex<Counts>);

struct Counts {
    handshakes: Histogram<u64>,
    resumed: u64,
    failed: u64,
}

impl Default for TlsStats {
    fn default() -> Self {
        TlsStats(Mutex::new(Counts {
            handshakes: crate::stats::histogram(),
            resumed: 0,
            failed: 0,
        }))
    }
}

impl TlsStats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The TLS part of a report (`https://`, `wss://` and `tls://` runs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TlsReport {
    /// Handshakes completed, warmup included (connections opened then are
    /// reused after it).
    pub handshakes: u64,
    /// Of those, how many resumed an earlier session (no certificate sent or
    /// checked): 0 with `--no-resume`.
    pub resumed: u64,
    /// Handshakes that failed (a certificate refused, either way).
    pub failed: u64,
    /// Handshake time in microseconds (after the TCP connect): 50th, 99th
    /// percentile and the longest.
    pub handshake_p50_us: u64,
    pub handshake_p99_us: u64,
    pub handshake_max_us: u64,
    /// The handshake times, lossless: what `asynclab load merge` adds.
    #[serde(rename = "handshake_hdr_histogram", with = "crate::hdr")]
    pub(crate) hdr: Histogram<u64>,
}

impl TlsReport {
    fn new(hdr: Histogram<u64>, resumed: u64, failed: u64) -> Self {
        TlsReport {
            handshakes: hdr.len(),
            resumed,
            failed,
            handshake_p50_us: hdr.value_at_quantile(0.5),
            handshake_p99_us: hdr.value_at_quantile(0.99),
            handshake_max_us: hdr.max(),
            hdr,
        }
    }

    /// Adds another run's handshakes (`asynclab load merge`).
    pub(crate) fn add(&mut self, other: &TlsReport) -> Result<(), String> {
        let mut hdr = self.hdr.clone();
        hdr.add(&other.hdr)
            .map_err(|e| format!("its TLS handshake histogram cannot be added: {e:?}"))?;
        *self = TlsReport::new(
            hdr,
            self.resumed + other.resumed,
            self.failed + other.failed,
        );
        Ok(())
    }
}
