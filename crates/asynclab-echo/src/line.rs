//! Line mode: every line the client sends comes back as `echo.prefix` + the line,
//! with the client's own line ending (`\n` or `\r\n`).
//!
//! Pattern: **a codec separate from the I/O.** [`LineCodec`] implements
//! tokio-util's [`Decoder`] and [`Encoder`] traits: it turns bytes into lines and
//! lines into answers, and knows nothing about sockets, so it is tested without
//! one. Usually you would hand it to `Framed` and get a `Stream` of lines; we
//! use its two rules ([`LineCodec::line_end`], [`LineCodec::answer`]) by hand
//! instead, because `Framed` keeps an 8 KiB buffer per connection even while the
//! connection is idle, while here lines are answered straight from the worker
//! thread's buffer (`scratch.rs`) and idle connections hold none.
//!
//! Lines are bytes, not text: invalid UTF-8, NULs and stray `\r` come back
//! unchanged. Memory stays bounded whatever the client sends: a line longer than
//! `echo.max_line` is refused as soon as the buffered part is too long, so a
//! connection never holds more than `max_line` + `read_buffer` bytes of input.

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::connection::{Connection, End, Input};
use crate::error::{Error, SHUTTING_DOWN};
use crate::scratch::Scratch;
use crate::transport::Transport;

/// Serves one connection in line mode until it ends.
pub(crate) async fn serve<S: Transport>(conn: &mut Connection<S>) -> Result<End, Error> {
    let mut codec = LineCodec::new(
        conn.config().prefix.as_bytes(),
        conn.config().max_line.as_usize(),
    );
    // The start of a line whose end has not arrived yet: the only input a
    // connection keeps between reads (usually none).
    let mut partial = BytesMut::new();
    loop {
        // Every line read so far has been answered (the shutdown is only looked
        // at between reads); a partial line is dropped.
        if let Some(end) = conn.wait_for_input(SHUTTING_DOWN).await? {
            return Ok(end);
        }
        let answered =
            conn.with_scratch(|conn, scratch| answer_now(conn, &mut codec, &mut partial, scratch))?;
        let (rest, decoded) = match answered {
            Answered::Nothing => continue,
            Answered::Eof => return finish(conn, &mut codec, &mut partial).await,
            Answered::Lines { rest, decoded } => (rest, decoded),
        };
        if let Some(rest) = rest {
            // The client is slow to read: wait until it takes the rest.
            conn.write(&rest).await?;
        }
        // Lines before a too-long one are answered before it is refused.
        decoded?;
    }
}

/// What one read-and-answer without waiting did.
enum Answered {
    /// The readiness was stale: nothing to read after all.
    Nothing,
    /// The client half-closed.
    Eof,
    /// Every whole line read so far was answered. `rest` is the part of the
    /// answers the kernel did not take at once; `decoded` is an error if a line
    /// turned out too long (the lines before it were answered).
    Lines {
        rest: Option<Vec<u8>>,
        decoded: Result<(), Error>,
    },
}

/// Reads once into the thread's buffer, answers every whole line with one write
/// that never waits, and keeps a trailing partial line in `partial`.
fn answer_now<S: Transport>(
    conn: &mut Connection<S>,
    codec: &mut LineCodec,
    partial: &mut BytesMut,
    scratch: &mut Scratch,
) -> Result<Answered, Error> {
    let Scratch { read, answers } = scratch;
    let n = match conn.read_now(read)? {
        None => return Ok(Answered::Nothing),
        Some(Input::Data(n)) => n,
        Some(_) => return Ok(Answered::Eof),
    };
    // Usually the read holds whole lines and nothing waits from before: the lines
    // are answered straight from the thread's buffer. Otherwise the new bytes join
    // the partial line first.
    let joined = !partial.is_empty();
    if joined {
        partial.extend_from_slice(&read[..n]);
    }
    let input: &[u8] = if joined { partial } else { &read[..n] };
    let mut used = 0;
    let mut lines = 0;
    let decoded = loop {
        match codec.line_end(&input[used..]) {
            Ok(Some(len)) => {
                codec.answer(&input[used..used + len], answers);
                used += len;
                lines += 1;
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    if decoded.is_ok() {
        // Keep what is left (the start of the next line), and only that.
        if joined {
            partial.advance(used);
        } else {
            partial.extend_from_slice(&read[used..n]);
        }
    }
    if partial.is_empty() {
        // Hand the memory back before a wait that may last minutes.
        *partial = BytesMut::new();
    }
    conn.metrics().lines.inc_by(lines);
    let sent = conn.write_now(answers)?;
    let rest = (sent < answers.len()).then(|| answers[sent..].to_vec());
    Ok(Answered::Lines { rest, decoded })
}

/// The client half-closed: a last line without a newline is still a line, and
/// is answered before we close.
async fn finish<S: Transport>(
    conn: &mut Connection<S>,
    codec: &mut LineCodec,
    partial: &mut BytesMut,
) -> Result<End, Error> {
    if let Some(line) = codec.decode_eof(partial)? {
        let mut answer = BytesMut::new();
        codec.encode(line, &mut answer)?;
        conn.write(&answer).await?;
        conn.metrics().lines.inc();
    }
    conn.finish().await
}

/// Splits bytes into lines of at most `max_line` bytes (line ending not
/// counted), and answers each with `prefix` + the line + its own line ending.
#[derive(Debug, Clone)]
pub struct LineCodec {
    prefix: Vec<u8>,
    max_line: usize,
    /// How much of the buffer is known to hold no `\n`, so that a long line
    /// arriving in many reads is scanned once, not once per read.
    searched: usize,
}

impl LineCodec {
    pub fn new(prefix: &[u8], max_line: usize) -> Self {
        Self {
            prefix: prefix.to_vec(),
            max_line,
            searched: 0,
        }
    }

    fn too_long(&self) -> Error {
        Error::LineTooLong { max: self.max_line }
    }

    /// The length of the first whole line at the start of `buf` (with its line
    /// ending), or `None` if its end has not arrived yet; an error as soon as
    /// the line is known to be longer than `max_line`. The rules of a line live
    /// here, for the [`Decoder`] and for the server's own loop alike.
    pub fn line_end(&mut self, buf: &[u8]) -> Result<Option<usize>, Error> {
        // `memchr` looks at 16 or 32 bytes per step (SIMD) where a byte-by-byte
        // loop looks at one: for long lines the scan was most of the work
        // (`docs/performance.md`).
        let Some(at) = memchr::memchr(b'\n', &buf[self.searched..]) else {
            self.searched = buf.len();
            // `max_line` bytes plus a `\r` that may yet be followed by `\n` is the
            // most a line still within the limit can have buffered.
            if buf.len() > self.max_line + 1 {
                return Err(self.too_long());
            }
            return Ok(None);
        };
        let end = self.searched + at + 1;
        self.searched = 0;
        if content_len(&buf[..end]) > self.max_line {
            return Err(self.too_long());
        }
        Ok(Some(end))
    }

    /// Appends the answer to `line`: `prefix` + the line + its own line ending.
    pub fn answer(&self, line: &[u8], dst: &mut impl BufMut) {
        dst.put_slice(&self.prefix);
        dst.put_slice(line);
        // The client's own ending came with the line; a last line sent without
        // one is answered with `\n`, so the answer is still a whole line.
        if !line.ends_with(b"\n") {
            dst.put_u8(b'\n');
        }
    }
}

impl Decoder for LineCodec {
    /// A whole line, with its line ending.
    type Item = BytesMut;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, Error> {
        Ok(self.line_end(src)?.map(|end| src.split_to(end)))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, Error> {
        if let Some(line) = self.decode(src)? {
            return Ok(Some(line));
        }
        if src.is_empty() {
            return Ok(None);
        }
        // A last line with no line ending at all.
        self.searched = 0;
        let line = src.split();
        if line.len() > self.max_line {
            return Err(self.too_long());
        }
        Ok(Some(line))
    }
}

impl Encoder<BytesMut> for LineCodec {
    type Error = Error;

    fn encode(&mut self, line: BytesMut, dst: &mut BytesMut) -> Result<(), Error> {
        self.answer(&line, dst);
        Ok(())
    }
}

/// A line's length without its `\n` or `\r\n`.
fn content_len(line: &[u8]) -> usize {
    let without_lf = line.strip_suffix(b"\n").unwrap_or(line);
    without_lf.strip_suffix(b"\r").unwrap_or(without_lf).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(codec: &mut LineCodec, input: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let mut src = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(line) = codec.decode_eof(&mut src)? {
            out.push(line.to_vec());
        }
        Ok(out)
    }

    #[test]
    fn keeps_each_line_ending_and_any_bytes() {
        let mut codec = LineCodec::new(b"> ", 16);
        let got = lines(&mut codec, b"a\r\nb\n\0\xff\xfe\rc\nlast").expect("lines");
        assert_eq!(
            got,
            [&b"a\r\n"[..], b"b\n", b"\0\xff\xfe\rc\n", b"last"].map(<[u8]>::to_vec)
        );
        let mut out = BytesMut::new();
        for line in got {
            codec
                .encode(BytesMut::from(&line[..]), &mut out)
                .expect("encode");
        }
        assert_eq!(&out[..], b"> a\r\n> b\n> \0\xff\xfe\rc\n> last\n");
    }

    #[test]
    fn max_line_does_not_count_the_line_ending() {
        let mut codec = LineCodec::new(b"", 3);
        assert!(lines(&mut codec, b"abc\r\nabc\nabc").is_ok());
        assert!(matches!(
            lines(&mut codec, b"abcd\n"),
            Err(Error::LineTooLong { max: 3 })
        ));
        assert!(lines(&mut LineCodec::new(b"", 3), b"abcd").is_err());
    }

    #[test]
    fn a_long_line_is_refused_before_it_ends() {
        let mut codec = LineCodec::new(b"", 4);
        let mut src = BytesMut::from(&b"abcd\r"[..]);
        assert!(codec.decode(&mut src).expect("may still end").is_none());
        src.extend_from_slice(b"x");
        assert!(codec.decode(&mut src).is_err(), "6 bytes, no newline yet");
    }

    #[test]
    fn a_line_arriving_in_pieces_is_found() {
        let mut codec = LineCodec::new(b"", 64);
        let mut src = BytesMut::from(&b"hel"[..]);
        assert!(codec.decode(&mut src).expect("partial").is_none());
        src.extend_from_slice(b"lo\nwor");
        let line = codec.decode(&mut src).expect("a line").expect("complete");
        assert_eq!(&line[..], b"hello\n");
        assert_eq!(&src[..], b"wor");
    }
}
