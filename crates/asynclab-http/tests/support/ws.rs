//! A WebSocket client that writes its frames by hand (RFC 6455 §5.2), so tests
//! can send what no proper client would: unmasked frames, reserved bits and
//! opcodes, stray continuations, oversized lengths with no payload behind them.
//! Every read is bounded by [`STEP`].
//!
//! For WebSockets over HTTP/2 (RFC 8441) no hand-made frames are needed: [`H2`]
//! is hyper's HTTP/2 client opening them with an extended CONNECT, and
//! tokio-tungstenite speaking the protocol over the stream.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Empty;
use hyper::client::conn::http2::SendRequest;
use hyper::ext::Protocol;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::STEP;

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The masking key every frame of these tests uses.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The status code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// A frame to send, with every bit under the test's control.
#[derive(Debug, Clone)]
pub struct Out<'a> {
    pub fin: bool,
    /// The three reserved bits, as the high nibble's low three bits (0..=7).
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: &'a [u8],
}

impl<'a> Out<'a> {
    /// A final, masked frame with no reserved bits: what a proper client sends.
    pub fn new(opcode: u8, payload: &'a [u8]) -> Self {
        Self {
            fin: true,
            rsv: 0,
            opcode,
            masked: true,
            payload,
        }
    }

    pub fn fin(self, fin: bool) -> Self {
        Self { fin, ..self }
    }
}

/// The bytes of a frame header announcing `len` bytes of payload (masked when
/// `mask` is given), without the payload.
pub fn header(fin: bool, rsv: u8, opcode: u8, len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
    let masked = if mask.is_some() { 0x80 } else { 0 };
    match len {
        0..=125 => out.push(masked | len as u8),
        126..=0xffff => {
            out.push(masked | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(masked | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    if let Some(mask) = mask {
        out.extend_from_slice(&mask);
    }
    out
}

/// A WebSocket over a raw socket, after a real handshake.
pub struct RawWs {
    pub stream: TcpStream,
    /// Bytes read past the last frame returned.
    buf: Vec<u8>,
}

/// The request line and headers of a correct handshake for `path`.
pub fn handshake_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

impl RawWs {
    /// Connects and completes the handshake for `path`; panics unless 101.
    pub async fn connect(addr: SocketAddr, path: &str) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(handshake_request(path).as_bytes())
            .await
            .expect("write the handshake");
        let mut ws = Self {
            stream,
            buf: Vec::new(),
        };
        let head = ws.read_head().await;
        assert!(head.starts_with("HTTP/1.1 101"), "no 101: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "{head}"
        );
        ws
    }

    async fn read_head(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 4);
                return head;
            }
            assert!(self.fill().await, "closed during the handshake");
        }
    }

    /// Reads more bytes; false at EOF (or a reset).
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        let read = tokio::time::timeout(STEP, self.stream.read(&mut chunk))
            .await
            .expect("the server said something within STEP");
        match read {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Sends one frame exactly as described.
    pub async fn send(&mut self, out: Out<'_>) {
        let mask = out.masked.then_some(MASK);
        let mut bytes = header(out.fin, out.rsv, out.opcode, out.payload.len() as u64, mask);
        bytes.extend(
            out.payload
                .iter()
                .enumerate()
                .map(|(i, b)| if out.masked { b ^ MASK[i % 4] } else { *b }),
        );
        self.stream.write_all(&bytes).await.expect("write a frame");
    }

    /// Sends raw bytes (a header with no payload behind it, say).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next frame from the server, or `None` once it closed the socket.
    pub async fn read(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Reads until a close frame; returns its code (`None`: it had none).
    /// Panics if the socket closes first.
    pub async fn read_close(&mut self) -> Option<u16> {
        loop {
            let frame = self.read().await.expect("a close frame before EOF");
            if frame.opcode == CLOSE {
                return frame.close_code();
            }
        }
    }

    /// After a close: the server closes the socket (EOF within STEP).
    pub async fn expect_eof(&mut self) {
        while let Some(frame) = self.read().await {
            assert_eq!(
                frame.opcode, CLOSE,
                "nothing but a close after a close: {frame:?}"
            );
        }
    }
}

/// A server frame from the start of `buf`: unmasked, as RFC 6455 requires.
fn parse(buf: &[u8]) -> Option<(Frame, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    assert_eq!(b1 & 0x80, 0, "a server frame must not be masked");
    let (len, at) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(at..at + len)?.to_vec();
    let frame = Frame {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        payload,
    };
    Some((frame, at + len))
}

/// A WebSocket on one stream of an HTTP/2 connection.
pub type H2Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// An HTTP/2 connection with prior knowledge (h2c), on which WebSockets open
/// as extended CONNECTs (RFC 8441) beside ordinary requests.
pub struct H2 {
    pub addr: SocketAddr,
    pub sender: SendRequest<Empty<Bytes>>,
}

impl H2 {
    /// Connects, and has a first request answered: the server's SETTINGS have
    /// come by then, so the client knows what it may ask.
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .expect("h2 handshake");
        tokio::spawn(conn);
        let mut h2 = Self { addr, sender };
        assert_eq!(h2.get("/fast").await, StatusCode::OK);
        h2
    }

    /// An ordinary `GET` on this connection: its status.
    pub async fn get(&mut self, path: &str) -> StatusCode {
        let req = Request::builder()
            .uri(format!("http://{}{path}", self.addr))
            .body(Empty::new())
            .expect("valid request");
        self.answer(req).await.status()
    }

    /// Sends `CONNECT path` with `:protocol` (when given) and the other
    /// `headers`; the answer, within STEP.
    pub async fn connect_request(
        &mut self,
        path: &str,
        protocol: Option<&'static str>,
        headers: &[(&str, &str)],
    ) -> http::Response<hyper::body::Incoming> {
        let mut req = Request::builder()
            .method(Method::CONNECT)
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(protocol) = protocol {
            req = req.extension(Protocol::from_static(protocol));
        }
        self.answer(req.body(Empty::new()).expect("valid request"))
            .await
    }

    /// Opens a WebSocket on `path`; panics unless the server answers 200.
    pub async fn websocket(&mut self, path: &str) -> H2Socket {
        let version = [("sec-websocket-version", "13")];
        let res = self
            .connect_request(path, Some("websocket"), &version)
            .await;
        assert_eq!(res.status(), StatusCode::OK, "the extended CONNECT");
        let upgraded = tokio::time::timeout(STEP, hyper::upgrade::on(res))
            .await
            .expect("the stream switched within STEP")
            .expect("an upgraded stream");
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await
    }

    async fn answer(
        &mut self,
        req: Request<Empty<Bytes>>,
    ) -> http::Response<hyper::body::Incoming> {
        tokio::time::timeout(STEP, self.sender.send_request(req))
            .await
            .expect("an answer within STEP")
            .expect("an h2 answer")
    }
}

/// The settings of the server's first SETTINGS frame on an h2c connection, as
/// `(identifier, value)` pairs, read from the raw bytes (RFC 9113 §6.5).
pub async fn h2_server_settings(addr: SocketAddr) -> Vec<(u16, u32)> {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // The client's preface: the magic, then an empty SETTINGS frame.
    let empty_settings = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(PREFACE).await.expect("write the preface");
    stream
        .write_all(&empty_settings)
        .await
        .expect("write SETTINGS");
    let mut header = [0u8; 9];
    tokio::time::timeout(STEP, stream.read_exact(&mut header))
        .await
        .expect("a frame within STEP")
        .expect("a frame header");
    assert_eq!(header[3], 0x4, "the server's first frame is SETTINGS");
    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; len];
    tokio::time::timeout(STEP, stream.read_exact(&mut payload))
        .await
        .expect("the payload within STEP")
        .expect("the SETTINGS payload");
    payload
        .chunks_exact(6)
        .map(|s| {
            let id = u16::from_be_bytes([s[0], s[1]]);
            (id, u32::from_be_bytes([s[2], s[3], s[4], s[5]]))
        })
        .collect()
}
