//! The response body for a file too large to read in one go: chunks read from
//! disk on the blocking pool, one read always in flight ahead of the socket.
//!
//! This is a hand-written [`http_body::Body`] rather than `ReaderStream` over a
//! `tokio::fs::File` for three reasons:
//!
//! - **Fewer, larger trips, overlapped.** Each trip to the blocking pool reads
//!   `files.read_ahead` chunks (1 MiB by default) and the body hands them to
//!   hyper one `files.chunk` frame at a time. As soon as a batch arrives, the
//!   read of the next one starts, so the disk and the socket work at the same
//!   time. Handing a thread 64 KiB at a time made the thread hand-offs, not the
//!   copying, the limit (about a third of nginx's speed on a 1 GiB file); with
//!   1 MiB per trip it keeps up. At most two batches exist per download, so
//!   memory does not grow with the file.
//! - **Truth in labelling.** We promised `Content-Length` bytes of one version of
//!   the file. After every read the file is `fstat`ed again; if it shrank or its
//!   size or modification time changed, the body returns an error. hyper then
//!   closes the connection mid-response, so the client sees a truncated transfer
//!   instead of a body padded with zeros or mixing two versions.
//! - **Fairness.** Each batch is its own short blocking task (a millisecond or
//!   so from the page cache): a 1 GiB download never holds a blocking thread for
//!   long, so it cannot starve other requests waiting for the pool, and its
//!   task goes back to the runtime between frames.
//!
//! Backpressure is free: hyper polls the body only when it wants more data, so a
//! slow client simply stops the reads. If the client goes away hyper drops the
//! body; an in-flight read then finishes on its thread and its result is dropped.

use std::fs::File;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::task::JoinHandle;

use crate::Settings;
use crate::conditional::Meta;
use crate::open::read_at_most;

/// Streams `len` bytes of `file` from `start`, checking it stays `meta`.
#[derive(Debug)]
pub(crate) struct FileBody {
    file: Arc<File>,
    meta: Meta,
    chunk: usize,
    /// Where the next read starts, and how much is left to read after it.
    next: u64,
    unread: u64,
    /// Bytes not yet handed to hyper.
    unsent: u64,
    /// Bytes read per trip to the blocking pool (a multiple of `chunk`).
    batch: usize,
    /// What is left of the last batch read, handed out `chunk` bytes at a time.
    ready: Bytes,
    in_flight: Option<JoinHandle<io::Result<Bytes>>>,
    /// The path inside the root, for the log line when a transfer is cut.
    name: Arc<str>,
}

impl FileBody {
    /// Streams `range` of `file`, in frames of `files.chunk` bytes, reading
    /// `files.read_ahead` chunks per trip to the blocking pool.
    pub(crate) fn new(
        file: File,
        meta: Meta,
        range: Range<u64>,
        settings: &Settings,
        name: Arc<str>,
    ) -> Self {
        let len = range.end - range.start;
        FileBody {
            file: Arc::new(file),
            meta,
            chunk: settings.chunk,
            batch: settings.chunk * settings.read_ahead,
            next: range.start,
            unread: len,
            unsent: len,
            ready: Bytes::new(),
            in_flight: None,
            name,
        }
    }

    fn start_read(&mut self) {
        let n = self.unread.min(self.batch as u64) as usize;
        let (file, offset, meta) = (Arc::clone(&self.file), self.next, self.meta);
        self.next += n as u64;
        self.unread -= n as u64;
        // The buffer is allocated here, on the runtime thread that will also
        // free it once hyper has written it. Allocating on the blocking thread
        // instead spreads the batches over one malloc arena per pool thread, each
        // keeping a few freed MiB: RSS then grows with the number of threads.
        let buf = Vec::with_capacity(n);
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            read_chunk(&file, offset, buf, meta)
        }));
    }
}

/// One chunk, and the check that the file is still the version we announced.
fn read_chunk(file: &File, offset: u64, buf: Vec<u8>, meta: Meta) -> io::Result<Bytes> {
    let n = buf.capacity();
    let bytes = read_at_most(file, offset, buf)?;
    if bytes.len() < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file shrank while being sent",
        ));
    }
    if Meta::of(&file.metadata()?) != meta {
        return Err(io::Error::other("the file changed while being sent"));
    }
    Ok(Bytes::from(bytes))
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        // Every field is `Unpin` (a `JoinHandle` is), so no pin projection is needed.
        let this = self.get_mut();
        if this.ready.is_empty() {
            if this.unsent == 0 {
                return Poll::Ready(None);
            }
            if this.in_flight.is_none() {
                this.start_read();
            }
            let handle = this.in_flight.as_mut().expect("a read was just started");
            let result = ready!(Pin::new(handle).poll(cx));
            this.in_flight = None;
            match result.unwrap_or_else(|join| Err(io::Error::other(join))) {
                Ok(bytes) => this.ready = bytes,
                Err(e) => {
                    tracing::warn!(file = %this.name, offset = this.next, error = %e, "file transfer cut");
                    // Ending with an error (not `None`) is what makes hyper close the
                    // connection instead of pretending the response is complete.
                    this.unsent = 0;
                    this.unread = 0;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            if this.unread > 0 {
                // Read ahead: the next batch comes off the disk while hyper
                // writes this one.
                this.start_read();
            }
        }
        let frame = this.ready.split_to(this.ready.len().min(this.chunk));
        this.unsent -= frame.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.unsent == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.unsent)
    }
}
