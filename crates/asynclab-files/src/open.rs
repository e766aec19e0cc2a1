//! Everything that touches the file system for one GET/HEAD, done in **one**
//! trip to Tokio's blocking pool.
//!
//! Tokio's `fs` functions each run the std call on the blocking pool and wake the
//! task when it is done; `open`, `metadata`, a check for `.br`/`.gz` siblings and a
//! first read would be four or five such round trips per request, and the
//! hand-offs between threads cost more than the system calls themselves. So the
//! whole resolution runs here, as ordinary blocking code, inside a single
//! [`tokio::task::spawn_blocking`] started by `lib.rs`: open, `fstat`, the symlink
//! and hidden-file policy, the directory index (or listing), precompressed
//! siblings, and, for a file no larger than one chunk, the read itself. A small
//! file therefore costs exactly one hop to the pool; a large one is then streamed
//! by `body.rs`.
//!
//! The policy checks run on the file we *opened*, not on the name we were given:
//! on Linux `/proc/self/fd/N` says where the open descriptor really is, so a link
//! swapped between a check and the open cannot slip a file from outside the root
//! past us.

use std::fs::File;
use std::io;
use std::io::{Read, Seek};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::conditional::{Encoding, Meta};
use crate::listing;
use crate::path::RelPath;
use crate::{Settings, Version};

/// What one request found.
#[derive(Debug)]
pub(crate) enum Outcome {
    File(Opened),
    /// A folder asked for without its trailing slash.
    Redirect,
    /// A folder without `index.html`, with `files.listing` on.
    Listing(String),
    Missing,
    /// A symbolic link leading outside the root.
    Forbidden,
}

/// An open file ready to be answered.
#[derive(Debug)]
pub(crate) struct Opened {
    pub file: File,
    pub version: Version,
    /// The whole file, when it was small enough to read in this same trip.
    pub contents: Option<Bytes>,
}

/// Resolves `rel` under `settings.root`. `encodings` are the precompressed codings
/// the client accepts; `want_body` is false for HEAD (no read needed).
pub(crate) fn resolve(
    settings: &Settings,
    rel: &RelPath,
    encodings: &[Encoding],
    want_body: bool,
) -> io::Result<Outcome> {
    let mut path = settings.root.join(&rel.rel);
    let Some(mut file) = open(&path)? else {
        return Ok(Outcome::Missing);
    };
    let mut meta = file.metadata()?;
    if let Some(refused) = policy(settings, &file, &path) {
        return Ok(refused);
    }
    if meta.is_dir() {
        if !rel.dir {
            return Ok(Outcome::Redirect);
        }
        let index = path.join("index.html");
        match open(&index)? {
            Some(f) => {
                file = f;
                meta = file.metadata()?;
                if let Some(refused) = policy(settings, &file, &index) {
                    return Ok(refused);
                }
                path = index;
            }
            None if settings.listing => {
                return listing::render(&path, &rel.rel, settings.hidden).map(Outcome::Listing);
            }
            None => return Ok(Outcome::Missing),
        }
    } else if rel.dir {
        // `a.txt/` names a folder that is not there.
        return Ok(Outcome::Missing);
    }
    // A FIFO, socket or device is not something to serve.
    if !meta.is_file() {
        return Ok(Outcome::Missing);
    }
    let content_type = crate::mime::content_type(&path);
    let mut encoding = None;
    for &enc in encodings {
        let mut name = path.clone().into_os_string();
        name.push(".");
        name.push(enc.extension());
        let sibling = PathBuf::from(name);
        if let Some(f) = open(&sibling)? {
            let m = f.metadata()?;
            if m.is_file() && policy(settings, &f, &sibling).is_none() {
                (file, meta, encoding) = (f, m, Some(enc));
                break;
            }
        }
    }
    let mut meta = Meta::of(&meta);
    let contents = if want_body && meta.len <= settings.chunk as u64 {
        let (bytes, now) = read_small(&file, meta)?;
        meta = now;
        Some(bytes)
    } else {
        None
    };
    Ok(Outcome::File(Opened {
        file,
        // `Content-Type` comes from the name the client asked for (or
        // `index.html`), never from a `.gz` sibling's name.
        version: Version::new(meta, content_type, encoding),
        contents,
    }))
}

/// Opens for reading; `None` when there is nothing (usable) by that name.
fn open(path: &Path) -> io::Result<Option<File>> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise block this thread
    // until some writer showed up. It changes nothing for regular files.
    match File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => Ok(Some(file)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Errors that just mean "no such file" to the client.
pub(crate) fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidFilename
    ) || e.raw_os_error() == Some(libc::ENAMETOOLONG)
        || e.raw_os_error() == Some(libc::ELOOP)
}

/// The symlink and hidden-file policy, applied to where `file` really is.
fn policy(settings: &Settings, file: &File, path: &Path) -> Option<Outcome> {
    let real = match real_path(file, path) {
        Ok(real) => real,
        Err(_) => return Some(Outcome::Missing),
    };
    match real.strip_prefix(&settings.root) {
        // Inside the root: a link may lead to a hidden name (`x -> .env`).
        Ok(inside) => {
            (!settings.hidden && crate::path::has_hidden(inside)).then_some(Outcome::Missing)
        }
        Err(_) if settings.follow_symlinks => None,
        Err(_) => Some(Outcome::Forbidden),
    }
}

/// Where an open file really is, every symbolic link resolved.
pub(crate) fn real_path(file: &File, path: &Path) -> io::Result<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // One readlink, and it describes the descriptor itself (no race).
        if let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            return Ok(real);
        }
    }
    let _ = file;
    std::fs::canonicalize(path)
}

/// How many times a small file is re-read when it changes under us before we give up.
const SMALL_READ_TRIES: usize = 3;

/// Reads a whole small file and checks, with a second `fstat`, that it did not
/// change meanwhile, so the bytes always match the validators we send with them.
fn read_small(file: &File, mut meta: Meta) -> io::Result<(Bytes, Meta)> {
    for _ in 0..SMALL_READ_TRIES {
        // One byte more than expected, to notice a file that grew.
        let bytes = read_at_most(file, 0, Vec::with_capacity(meta.len as usize + 1))?;
        let now = Meta::of(&file.metadata()?);
        if now == meta && bytes.len() as u64 == meta.len {
            return Ok((Bytes::from(bytes), meta));
        }
        meta = now;
    }
    Err(io::Error::other("the file kept changing while being read"))
}

/// Reads at `offset` until `buf` is full (to its capacity), or to the end of the file.
///
/// `seek` + `read_to_end` on a `take(n)` rather than `pread` into a zeroed buffer:
/// std reads straight into the vector's spare capacity, so the buffer is never
/// zero-filled first. Using the file's cursor is safe because this runs once, in
/// the trip that opened the file, before anything else can read it.
fn read_at_most(file: &File, offset: u64, mut buf: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut reader = file;
    reader.seek(io::SeekFrom::Start(offset))?;
    let n = buf.capacity() as u64;
    reader.take(n).read_to_end(&mut buf)?;
    Ok(buf)
}
