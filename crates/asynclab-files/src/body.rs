//! The response body for a file too large to read in one go: pieces of
//! `files.read_buffer` bytes read into reused buffers, straight from the page
//! cache when the data is there, on the blocking pool when it is not.
//!
//! This is a hand-written [`http_body::Body`] rather than `ReaderStream` over a
//! `tokio::fs::File` for four reasons:
//!
//! - **No hand-off when the file is in memory.** A trip to the blocking pool
//!   costs two thread wake-ups and two context switches; profiled on 1 MiB
//!   downloads, those were a quarter of the server's CPU. Linux can tell us
//!   whether a read would wait: `preadv2` with `RWF_NOWAIT` copies the data if
//!   the page cache has all of it and otherwise fails at once with `EAGAIN`
//!   (nginx's event loop reads files the same way it writes sockets). So each
//!   piece is first read that way, right here on the runtime thread: a bounded
//!   copy of at most `files.read_buffer` bytes, never a wait for the disk. Only
//!   a piece that is not cached (or a file system that cannot say) goes to the
//!   blocking pool, whose read also starts the kernel's read-ahead, so the next
//!   pieces are usually cached by the time we ask.
//! - **No fresh memory.** Each piece is read into a buffer lent by the server's
//!   pool (`buffers.rs`) and handed to hyper as one frame without a copy; the
//!   buffer goes back to the pool once hyper has written it. New large buffers
//!   cost the kernel a page fault per page, more than the copy itself.
//! - **Few, large writes.** One frame per piece (512 KiB by default) lets hyper
//!   write it with one system call; on loopback each write also wakes the
//!   reader, so two writes per MiB cost much less than sixteen. (Larger pieces
//!   no longer stay in the CPU caches; the measurement is in
//!   `docs/performance.md`.)
//! - **Truth in labelling.** We promised `Content-Length` bytes of one version of
//!   the file. After every read the file is `fstat`ed again; if it shrank or its
//!   size or modification time changed, the body returns an error. hyper then
//!   closes the connection mid-response, so the client sees a truncated transfer
//!   instead of a body padded with zeros or mixing two versions.
//!
//! Backpressure is free: hyper polls the body only when it wants more data, so a
//! slow client simply stops the reads. If the client goes away hyper drops the
//! body; a read in flight on the blocking pool then finishes on its thread, its
//! result is dropped, and its buffer goes back to the pool.

use std::fs::File;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::task::JoinHandle;

use crate::Settings;
use crate::buffers::{Buffer, Pool};
use crate::conditional::Meta;

/// Streams `len` bytes of `file` from `start`, checking it stays `meta`.
#[derive(Debug)]
pub(crate) struct FileBody {
    file: Arc<File>,
    meta: Meta,
    /// Where the read buffers come from (and go back to).
    pool: Arc<Pool>,
    /// Where the next read starts, and how much is left to read after it.
    next: u64,
    unread: u64,
    /// Bytes not yet handed to hyper.
    unsent: u64,
    in_flight: Option<JoinHandle<io::Result<Bytes>>>,
    /// Whether this file's system answers `RWF_NOWAIT` reads (see `read_cached`).
    /// Without them every piece goes to the blocking pool, with the next read
    /// started as soon as one arrives so the disk and the socket still overlap.
    nowait: bool,
    /// The path inside the root, for the log line when a transfer is cut.
    name: Arc<str>,
}

impl FileBody {
    /// Streams `range` of `file`, one frame per `files.read_buffer` bytes.
    pub(crate) fn new(
        file: Arc<File>,
        meta: Meta,
        range: Range<u64>,
        settings: &Settings,
        name: Arc<str>,
    ) -> Self {
        let len = range.end - range.start;
        FileBody {
            file,
            meta,
            pool: Arc::clone(&settings.buffers),
            next: range.start,
            unread: len,
            unsent: len,
            in_flight: None,
            nowait: true,
            name,
        }
    }

    /// How long the next piece is: one buffer, or what is left.
    fn piece_len(&self) -> usize {
        self.unread.min(self.pool.size() as u64) as usize
    }

    /// Where the next piece starts and how long it is, moving the read
    /// position past it.
    fn advance(&mut self) -> (u64, usize) {
        let n = self.piece_len();
        let offset = self.next;
        self.next += n as u64;
        self.unread -= n as u64;
        (offset, n)
    }

    /// The next piece, if the page cache has all of it: read here, no hand-off.
    /// `Ok(None)` means "ask the blocking pool".
    fn try_cached(&mut self) -> io::Result<Option<Bytes>> {
        let n = self.piece_len();
        let mut buf = self.pool.take();
        match read_cached(&self.file, &mut buf.as_mut_slice()[..n], self.next) {
            Cached::All => {
                check_version(&self.file, self.meta)?;
                self.advance();
                Ok(Some(buf.freeze(n)))
            }
            Cached::NotAll => Ok(None),
            Cached::Unsupported => {
                self.nowait = false;
                Ok(None)
            }
        }
    }

    fn start_read(&mut self) {
        let (offset, n) = self.advance();
        let (file, meta) = (Arc::clone(&self.file), self.meta);
        let buf = self.pool.take();
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            read_piece(&file, offset, buf, n, meta)
        }));
    }

    /// Ends the body with `e`: hyper then closes the connection instead of
    /// pretending the response is complete (an error, not `None`).
    fn cut(&mut self, e: io::Error) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        tracing::warn!(file = %self.name, offset = self.next, error = %e, "file transfer cut");
        self.unsent = 0;
        self.unread = 0;
        Poll::Ready(Some(Err(e)))
    }

    fn send(&mut self, frame: Bytes) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.unsent -= frame.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }
}

/// What an `RWF_NOWAIT` read found.
enum Cached {
    /// Every byte asked for was in the page cache, and is now in the buffer.
    All,
    /// Some of it would have to come from the disk (or the file ended early:
    /// the blocking read tells the two apart).
    NotAll,
    /// This file system (or kernel) cannot do such reads.
    Unsupported,
}

/// Reads all of `buf` at `offset` if the page cache has it, without waiting.
#[cfg(target_os = "linux")]
fn read_cached(file: &File, buf: &mut [u8], offset: u64) -> Cached {
    use rustix::io::{Errno, ReadWriteFlags, preadv2};
    let want = buf.len();
    match preadv2(
        file,
        &mut [io::IoSliceMut::new(buf)],
        offset,
        ReadWriteFlags::NOWAIT,
    ) {
        Ok(n) if n == want => Cached::All,
        Ok(_) | Err(Errno::AGAIN) => Cached::NotAll,
        // No `RWF_NOWAIT` here (older kernel, or a file system without it).
        Err(Errno::OPNOTSUPP | Errno::INVAL | Errno::NOSYS) => Cached::Unsupported,
        // Anything else the blocking read will meet again and report properly.
        Err(_) => Cached::NotAll,
    }
}

#[cfg(not(target_os = "linux"))]
fn read_cached(_file: &File, _buf: &mut [u8], _offset: u64) -> Cached {
    Cached::Unsupported
}

/// Fails when the file is no longer the version we announced.
fn check_version(file: &File, meta: Meta) -> io::Result<()> {
    if Meta::of(&file.metadata()?) != meta {
        return Err(io::Error::other("the file changed while being sent"));
    }
    Ok(())
}

/// Reads `n` bytes at `offset` into `buf`, then checks the file is still the
/// version we announced.
fn read_piece(
    file: &File,
    offset: u64,
    mut buf: Buffer,
    n: usize,
    meta: Meta,
) -> io::Result<Bytes> {
    match file.read_exact_at(&mut buf.as_mut_slice()[..n], offset) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while being sent",
            ));
        }
        result => result?,
    }
    check_version(file, meta)?;
    Ok(buf.freeze(n))
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
        if this.unsent == 0 {
            return Poll::Ready(None);
        }
        if this.in_flight.is_none() {
            if this.nowait {
                match this.try_cached() {
                    Ok(Some(frame)) => return this.send(frame),
                    Ok(None) => {}
                    Err(e) => return this.cut(e),
                }
            }
            this.start_read();
        }
        let handle = this.in_flight.as_mut().expect("a read was just started");
        let result = ready!(Pin::new(handle).poll(cx));
        this.in_flight = None;
        match result.unwrap_or_else(|join| Err(io::Error::other(join))) {
            Ok(frame) => {
                if this.unread > 0 && !this.nowait {
                    // Read ahead: the next piece comes off the disk while hyper
                    // writes this one. (With `RWF_NOWAIT` reads the kernel's own
                    // read-ahead does this.)
                    this.start_read();
                }
                this.send(frame)
            }
            Err(e) => this.cut(e),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.unsent == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.unsent)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use asynclab_core::Config;
    use http::Request;
    use http_body_util::{BodyExt, Empty};

    use super::*;
    use crate::Files;

    /// A folder of its own under the system temp dir, removed at the end.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("asynclab-files-body-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a temp folder");
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn cached_reads_copy_what_is_cached_and_refuse_a_short_file() {
        let dir = Dir::new("cached");
        let path = dir.0.join("f.bin");
        let data: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("written");
        let file = File::open(&path).expect("opened");
        // An ordinary read puts every page in the page cache.
        assert_eq!(std::fs::read(&path).expect("read"), data);
        let mut buf = vec![0; 64 * 1024];
        match read_cached(&file, &mut buf, 1000) {
            Cached::All => assert!(buf[..] == data[1000..1000 + 64 * 1024]),
            // A file system without RWF_NOWAIT: every piece takes the blocking path.
            Cached::Unsupported => return,
            Cached::NotAll => panic!("a cached file was not read"),
        }
        // Past the end: fewer bytes than asked is never "all".
        let mut tail = vec![0; 64 * 1024];
        assert!(matches!(
            read_cached(&file, &mut tail, 200 * 1024),
            Cached::NotAll
        ));
    }

    /// A large file's descriptor is cached, and closed one TTL later even
    /// though no other request comes (the soak's "descriptors come back").
    #[tokio::test]
    async fn cached_descriptors_are_closed_after_the_ttl_without_traffic() {
        let dir = Dir::new("sweep");
        let mut config = Config::builtin().files;
        config.root = dir.0.display().to_string();
        config.cache_ttl = std::time::Duration::from_millis(50);
        std::fs::write(dir.0.join("big.bin"), vec![1u8; 200_000]).expect("written");
        let files = Files::new(&config, Path::new(".")).expect("a usable root");
        let req = Request::get("/files/big.bin")
            .body(Empty::<Bytes>::new())
            .expect("a request");
        let body = files.serve(req, "big.bin").await.into_body();
        assert_eq!(
            body.collect().await.expect("no cut").to_bytes().len(),
            200_000
        );
        assert_eq!(files.settings.cache.len(), 1, "the descriptor was cached");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(files.settings.cache.len(), 0, "still open after its TTL");
    }

    /// Many downloads at once hold a few buffers each, however large the file:
    /// pieces are read into buffers that come back once each frame is written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_downloads_reuse_a_bounded_number_of_buffers() {
        const DOWNLOADS: usize = 32;
        const PIECES: usize = 16;
        let dir = Dir::new("bounded");
        let mut config = Config::builtin().files;
        config.root = dir.0.display().to_string();
        // Room to keep every buffer, so any buffer made twice shows in `made`.
        config.idle_buffers = 2 * DOWNLOADS;
        let piece = config.read_buffer.as_usize();
        let data: Vec<u8> = (0..piece * PIECES).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.0.join("big.bin"), &data).expect("written");
        let files = Files::new(&config, Path::new(".")).expect("a usable root");
        let data = Arc::new(data);
        let mut tasks = Vec::new();
        for _ in 0..DOWNLOADS {
            let (files, data) = (files.clone(), Arc::clone(&data));
            tasks.push(tokio::spawn(async move {
                let req = Request::get("/files/big.bin")
                    .body(Empty::<Bytes>::new())
                    .expect("a request");
                let mut body = files.serve(req, "big.bin").await.into_body();
                let mut at = 0;
                while let Some(frame) = body.frame().await {
                    let frame = frame.expect("no cut").into_data().expect("data");
                    assert!(frame[..] == data[at..at + frame.len()]);
                    at += frame.len();
                    // Like hyper, drop the frame once written, then ask for more.
                    drop(frame);
                    tokio::task::yield_now().await;
                }
                assert_eq!(at, data.len());
            }));
        }
        for task in tasks {
            task.await.expect("a download finished");
        }
        let pool = &files.settings.buffers;
        // Each download holds at most one frame and one read at a time.
        assert!(
            pool.made() <= 2 * DOWNLOADS,
            "{} buffers made for {DOWNLOADS} downloads of {PIECES} pieces",
            pool.made()
        );
        assert_eq!(pool.idle(), pool.made(), "every buffer came back");
    }
}
