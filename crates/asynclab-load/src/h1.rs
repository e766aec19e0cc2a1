//! The HTTP/1.1 client side of one connection, written directly on the socket
//! (a `TcpStream`, or TLS over one: see `tls.rs`):
//! the request is serialised once, each response head is parsed with `httparse`
//! (the parser inside hyper), and the body is skipped by its framing.
//!
//! Why not hyper's client here? A load generator must cost the machine less than the
//! server it measures, and hyper's `client::conn::http1` spent several times wrk's
//! user CPU per request on its dispatch channels and request building (see "The load
//! generator" in `docs/performance.md`): with client and server sharing the cores,
//! that is throughput taken from the server. This loop does what wrk does: one
//! `write` of bytes prepared in advance, reads into one reused buffer, no allocation
//! per request. HTTP/2 (`h2.rs`) keeps hyper, where framing by hand would be a
//! protocol implementation rather than a loop.
//!
//! Pattern: **a reused `BytesMut` as a read buffer**. `read_buf` appends to it,
//! parsed bytes are dropped from the front with `advance`, and `reserve` moves what is
//! left back to the start of the allocation when it can instead of growing it, so a
//! keep-alive connection reads every response into the same memory.

use std::mem::MaybeUninit;

use bytes::{Buf, Bytes, BytesMut};
use http::Method;
use http::header::CONTENT_LENGTH;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::ErrorKind;
use crate::scenario::Picker;
use crate::stats::Outcome;
use crate::target::HttpTarget;
use crate::tls::{Connector, Stream};
use crate::worker::Client;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// A response head larger than this is refused as a protocol error.
const MAX_HEAD: usize = 64 * 1024;
/// Response headers parsed at most; more is a protocol error.
const MAX_HEADERS: usize = 64;
/// The longest chunk-size line (with extensions) accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4 * 1024;

/// How a response body is delimited (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body: HEAD, 1xx, 204, 304.
    Empty,
    Length(u64),
    Chunked,
    /// No length given: the body ends when the server closes the connection.
    UntilClose,
}

/// The parts of a response head the client needs.
#[derive(Debug)]
struct Head {
    status: u16,
    /// Bytes of the head, blank line included.
    len: usize,
    framing: Framing,
    /// The server will close the connection after this response.
    close: bool,
}

/// One connection's HTTP/1.1 client.
pub(crate) struct H1Client {
    connector: Connector,
    /// The whole request (line, headers, body) ready to write.
    request: Bytes,
    body_len: u64,
    keepalive: bool,
    /// False for HEAD: the response says a length but carries no body.
    expect_body: bool,
    stream: Option<Stream>,
    buf: BytesMut,
    /// With a scenario: the requests to pick from (see `scenario.rs`).
    scenario: Option<Picker>,
}

impl H1Client {
    pub(crate) fn new(
        target: &HttpTarget,
        connector: Connector,
        scenario: Option<std::sync::Arc<crate::Scenario>>,
    ) -> H1Client {
        H1Client {
            connector,
            request: serialise(target),
            body_len: target.body.len() as u64,
            keepalive: target.keepalive,
            expect_body: target.method != Method::HEAD,
            stream: None,
            buf: BytesMut::with_capacity(READ_CHUNK),
            scenario: scenario.map(|scenario| Picker::new(scenario, common_headers(target))),
        }
    }

    async fn round_trip(&mut self) -> Result<(u16, u64), ErrorKind> {
        if self.stream.is_none() {
            self.stream = Some(self.connector.connect().await?);
        }
        let stream = self.stream.as_mut().expect("connected just above");
        let buf = &mut self.buf;
        let request: &[u8] = match &mut self.scenario {
            None => &self.request,
            Some(picker) => {
                let (request, body_len) = picker.next();
                self.body_len = body_len;
                request
            }
        };
        stream
            .write_all(request)
            .await
            .map_err(|e| ErrorKind::io(&e))?;
        let head = loop {
            // Right after the write nothing has been read yet: nothing to parse.
            if !buf.is_empty()
                && let Some(head) = parse_head(buf, self.expect_body)?
            {
                buf.advance(head.len);
                // An interim answer (100 Continue): the real one follows.
                if head.status >= 200 || head.status == 101 {
                    break head;
                }
                continue;
            }
            if buf.len() > MAX_HEAD {
                return Err(ErrorKind::Protocol);
            }
            match fill(stream, buf).await {
                // Not one byte of an answer: the server closed the connection (an
                // idle keep-alive connection, a server shutting down) rather than
                // breaking off a response.
                Err(ErrorKind::Reset) if buf.is_empty() => return Err(ErrorKind::Closed),
                result => result?,
            }
        };
        let received = match head.framing {
            Framing::Empty => 0,
            Framing::Length(n) => {
                skip(stream, buf, n).await?;
                n
            }
            Framing::Chunked => chunked(stream, buf).await?,
            Framing::UntilClose => until_close(stream, buf).await?,
        };
        if head.close || head.framing == Framing::UntilClose || !self.keepalive {
            self.reset();
        }
        Ok((head.status, received))
    }
}

impl Client for H1Client {
    async fn exchange(&mut self) -> Outcome {
        match self.round_trip().await {
            Ok((status, received)) => Outcome::Answer {
                status,
                sent: self.body_len,
                received,
            },
            Err(kind) => Outcome::Failed(kind),
        }
    }

    fn reset(&mut self) {
        self.stream = None;
        // Whatever was left belongs to the dropped connection.
        self.buf.clear();
    }

    fn picked(&self) -> Option<usize> {
        self.scenario.as_ref().map(Picker::picked)
    }
}

/// The headers every request carries (`Host`, `User-Agent`, ...), serialised.
fn common_headers(target: &HttpTarget) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in &target.wire_headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The request as it goes on the wire, built once per connection.
fn serialise(target: &HttpTarget) -> Bytes {
    let path = target.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = Vec::with_capacity(256 + target.body.len());
    out.extend_from_slice(target.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let headers = target.wire_headers();
    out.extend_from_slice(&common_headers(target));
    let sends_body = !target.body.is_empty()
        || matches!(target.method, Method::POST | Method::PUT | Method::PATCH);
    if sends_body && !headers.contains_key(CONTENT_LENGTH) {
        out.extend_from_slice(format!("content-length: {}\r\n", target.body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&target.body);
    out.into()
}

/// Parses a response head at the start of `buf`; `None` while it is incomplete.
fn parse_head(buf: &[u8], expect_body: bool) -> Result<Option<Head>, ErrorKind> {
    // Uninitialised: httparse writes and hands back only the headers it finds.
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut headers,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ErrorKind::Protocol),
    };
    let status = response.code.ok_or(ErrorKind::Protocol)?;
    // HTTP/1.0 closes after each response unless told otherwise; we do not ask.
    let mut close = response.version == Some(0) || status == 101;
    let mut length = None;
    let mut chunked = false;
    for header in response.headers.iter() {
        let value = header.value;
        if header.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(ErrorKind::Protocol)?;
            length = Some(n);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked must be the last encoding applied.
            chunked = value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if header.name.eq_ignore_ascii_case("connection") {
            close |= value
                .split(|&b| b == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
    }
    let framing = if !expect_body || status < 200 || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok(Some(Head {
        status,
        len,
        framing,
        close,
    }))
}

/// Reads more from the socket into `buf`; the end of the stream here is a reset,
/// since something was still expected.
async fn fill(stream: &mut Stream, buf: &mut BytesMut) -> Result<(), ErrorKind> {
    buf.reserve(READ_CHUNK);
    match stream.read_buf(buf).await {
        Ok(0) => Err(ErrorKind::Reset),
        Ok(_) => Ok(()),
        Err(e) => Err(ErrorKind::io(&e)),
    }
}

/// Consumes `n` body bytes, reading as needed, without keeping them.
async fn skip(stream: &mut Stream, buf: &mut BytesMut, mut n: u64) -> Result<(), ErrorKind> {
    loop {
        let take = usize::try_from(n).unwrap_or(usize::MAX).min(buf.len());
        buf.advance(take);
        n -= take as u64;
        if n == 0 {
            return Ok(());
        }
        fill(stream, buf).await?;
    }
}

/// Waits for a complete line in `buf`; returns the position of its `\n`.
async fn line(stream: &mut Stream, buf: &mut BytesMut) -> Result<usize, ErrorKind> {
    loop {
        if let Some(end) = buf.iter().position(|&b| b == b'\n') {
            return Ok(end);
        }
        if buf.len() > MAX_CHUNK_LINE {
            return Err(ErrorKind::Protocol);
        }
        fill(stream, buf).await?;
    }
}

/// Consumes a chunked body (sizes, data, the last chunk and any trailers); returns
/// the data bytes.
async fn chunked(stream: &mut Stream, buf: &mut BytesMut) -> Result<u64, ErrorKind> {
    let mut total = 0;
    loop {
        let end = line(stream, buf).await?;
        // `1a2b;name=value\r`: the size is the hex digits before any extension.
        let size = buf[..end]
            .split(|&b| b == b';')
            .next()
            .and_then(|hex| std::str::from_utf8(hex.trim_ascii()).ok())
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .ok_or(ErrorKind::Protocol)?;
        buf.advance(end + 1);
        if size == 0 {
            // Trailer lines until an empty one.
            loop {
                let end = line(stream, buf).await?;
                let empty = buf[..end].trim_ascii().is_empty();
                buf.advance(end + 1);
                if empty {
                    return Ok(total);
                }
            }
        }
        // The data and the CRLF after it.
        skip(stream, buf, size + 2).await?;
        total += size;
    }
}

/// Consumes a body that ends when the server closes the connection.
async fn until_close(stream: &mut Stream, buf: &mut BytesMut) -> Result<u64, ErrorKind> {
    let mut total = buf.len() as u64;
    buf.clear();
    loop {
        buf.reserve(READ_CHUNK);
        match stream.read_buf(buf).await {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) => return Err(ErrorKind::io(&e)),
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes(), true)
            .expect("valid head")
            .expect("complete head")
    }

    #[test]
    fn framing_follows_the_headers() {
        let h = head("HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nHello, world!");
        assert_eq!(
            (h.status, h.framing, h.close, h.len),
            (200, Framing::Length(13), false, 39)
        );
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(h.framing, Framing::Chunked);
        let h = head("HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n");
        assert_eq!(h.framing, Framing::Empty);
        let h = head("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n\r\n");
        assert_eq!((h.framing, h.close), (Framing::UntilClose, true));
        let h = head("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n");
        assert!(h.close);
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\ncontent-le", true)
                .expect("valid")
                .is_none()
        );
        assert!(parse_head(b"SMTP ready\r\n\r\n", true).is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n", true).is_err());
    }

    #[test]
    fn the_request_is_serialised_once_with_its_length() {
        let Ok(crate::Target::Http(mut target)) = "http://web:8080/echo?x=1".parse() else {
            panic!("http target")
        };
        target.method = Method::POST;
        target.body = Bytes::from_static(b"hi");
        let wire = serialise(&target);
        let text = std::str::from_utf8(&wire).expect("ASCII");
        assert!(
            text.starts_with("POST /echo?x=1 HTTP/1.1\r\nhost: web:8080\r\n"),
            "{text}"
        );
        assert!(text.ends_with("content-length: 2\r\n\r\nhi"), "{text}");
    }
}
