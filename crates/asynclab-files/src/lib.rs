//! Static file serving for asynclab: `GET`/`HEAD` (and, when enabled, `PUT`) under
//! `/files/`, the way a production static server does it, streaming with bounded
//! memory.
//!
//! The async pattern this crate shows is **keeping blocking file system work off
//! the runtime threads while making as few trips to the blocking pool as
//! possible**. Tokio has no truly asynchronous file I/O on Linux; `tokio::fs` runs
//! each std call on the blocking pool, and each trip costs two thread hand-offs.
//! So a repeated file makes no trip at all (a bounded cache of small files'
//! bytes and large files' open descriptors, revalidated every
//! `files.cache_ttl`, `cache.rs`); any other request makes exactly one
//! [`spawn_blocking`](tokio::task::spawn_blocking) that resolves the path,
//! applies the policy and reads a small file whole (`open.rs`); a large file
//! then streams in `files.read_buffer` pieces, each read into a reused buffer
//! with the next read already in flight (`body.rs`, `buffers.rs`).
//!
//! | file | what it decides |
//! |---|---|
//! | `path.rs` | request path → safe relative path, or 400/404/414 (traversal, NUL, hidden) |
//! | `open.rs` | the one blocking trip: open, symlink/hidden policy, index, siblings, small read |
//! | `conditional.rs` | `ETag`, `Last-Modified`, 304/412 in RFC 9110 order, `Range`/`If-Range`, `Accept-Encoding` |
//! | `cache.rs` | small files' bytes and large files' descriptors kept for `files.cache_ttl`: no blocking trip at all |
//! | `body.rs` | streaming a large file, cut (not padded) if it changes |
//! | `buffers.rs` | the bounded pool of read buffers lent to hyper and given back |
//! | `listing.rs` | the optional HTML folder listing |
//! | `answers.rs` | the answers built in memory: text lines for every error, refusals, redirects |
//! | `upload.rs` | `PUT`: temp file, `fsync`, atomic rename |
//!
//! Why not tower-http's `ServeDir`: it does Range, `If-(Un)Modified-Since` and
//! precompressed siblings well, but sends no `ETag` (so no `If-None-Match`,
//! `If-Match` or ETag `If-Range`), has no symlink or hidden-file policy, answers a
//! file that shrinks mid-stream by ending early, and makes three or four trips to
//! the blocking pool per request (metadata, open, metadata again, then reads),
//! the design that left small files far behind nginx (`docs/performance.md`). Wrapping it would
//! have meant re-doing most of its response path anyway, so this crate owns the
//! response path and keeps it small instead.
//!
//! Every refusal is a 4xx with a short plain-text body that never contains a
//! path on the server.

mod answers;
mod body;
mod buffers;
mod cache;
mod conditional;
mod listing;
mod mime;
mod open;
mod path;
mod upload;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use asynclab_core::config::FilesConfig;
use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, HeaderValue, LAST_MODIFIED, VARY,
};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;

use crate::answers::{buffered, full, header, redirect, set};
pub(crate) use crate::answers::{empty, not_found, refused, server_error, text};
use crate::cache::{Cache, Cached, Contents};
use crate::conditional::{Encoding, Meta, Precondition, Span};
use crate::open::Outcome;

/// The body of every response: a buffer, or a file streamed from disk.
pub type FilesBody = BoxBody<Bytes, io::Error>;

/// Errors at start-up; a request never fails with one of these.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("files.root `{root}` (resolved to {resolved}) is not a usable folder: {reason}")]
    Root {
        root: String,
        resolved: PathBuf,
        reason: String,
    },
}

/// Serves one folder. Cheap to clone (one `Arc`); build it once at start-up.
#[derive(Debug, Clone)]
pub struct Files {
    settings: Arc<Settings>,
}

/// The checked configuration, shared by every request.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Canonical (absolute, links resolved), so "is this inside?" is a prefix test.
    pub root: PathBuf,
    pub chunk: usize,
    /// Read buffers for large files, `files.read_buffer` bytes each.
    pub buffers: Arc<buffers::Pool>,
    pub cache_control: Option<HeaderValue>,
    pub listing: bool,
    pub follow_symlinks: bool,
    pub hidden: bool,
    pub upload: bool,
    pub max_upload: u64,
    pub cache: Cache,
}

/// One version of one file as the client will see it: its validators (formatted
/// once) and how it is labelled.
#[derive(Debug)]
pub(crate) struct Version {
    pub meta: Meta,
    pub etag: HeaderValue,
    pub last_modified: HeaderValue,
    pub content_type: &'static str,
    pub encoding: Option<Encoding>,
}

impl Version {
    pub(crate) fn new(meta: Meta, content_type: &'static str, encoding: Option<Encoding>) -> Self {
        Version {
            etag: header(&meta.etag()),
            last_modified: header(&meta.last_modified()),
            meta,
            content_type,
            encoding,
        }
    }
}

/// Where the bytes of a response come from.
enum Source {
    Memory(Bytes),
    /// A large file, streamed; the name (inside the root) is for log lines.
    Disk(Arc<std::fs::File>, Arc<str>),
}

impl Source {
    /// A cheap handle on cached (or just resolved) contents: a `Bytes` or an `Arc` clone.
    fn of(contents: &Contents) -> Self {
        match contents {
            Contents::Memory(bytes) => Source::Memory(bytes.clone()),
            Contents::Open(file, name) => Source::Disk(Arc::clone(file), Arc::clone(name)),
        }
    }
}

impl Files {
    /// Resolves and checks `config.root` (see [`Files::resolve_root`]); fails when
    /// it is missing or not a folder, so a typo is reported at start, not as 404s.
    pub fn new(config: &FilesConfig, base_dir: &Path) -> Result<Self, FilesError> {
        let root = Self::check_root(config, base_dir)?;
        let fail = |reason: String| FilesError::Root {
            root: config.root.clone(),
            resolved: root.clone(),
            reason,
        };
        let cache_control = match config.cache_control.trim() {
            "" => None,
            value => Some(
                HeaderValue::from_str(value)
                    .map_err(|_| fail("files.cache_control is not a valid header value".into()))?,
            ),
        };
        Ok(Files {
            settings: Arc::new(Settings {
                root,
                chunk: config.chunk.as_usize(),
                buffers: buffers::Pool::new(config.read_buffer.as_usize(), config.idle_buffers),
                cache_control,
                listing: config.listing,
                follow_symlinks: config.follow_symlinks,
                hidden: config.hidden,
                upload: config.upload,
                max_upload: config.max_upload.bytes(),
                cache: Cache::new(
                    config.cache_size.as_usize(),
                    config.cache_ttl,
                    config.chunk.as_usize(),
                ),
            }),
        })
    }

    /// Resolves `config.root` (see [`Files::resolve_root`]) and checks that it is
    /// a folder; returns its canonical path. The one check of the root: the
    /// binary runs it for `asynclab config --check` as well as before serving.
    pub fn check_root(config: &FilesConfig, base_dir: &Path) -> Result<PathBuf, FilesError> {
        let resolved = Self::resolve_root(&config.root, base_dir);
        let fail = |reason: String| FilesError::Root {
            root: config.root.clone(),
            resolved: resolved.clone(),
            reason,
        };
        let root = std::fs::canonicalize(&resolved).map_err(|e| fail(e.to_string()))?;
        if !root.is_dir() {
            return Err(fail("not a folder".into()));
        }
        Ok(root)
    }

    /// Where `files.root` points. `base_dir` is the config file's folder (or `.`
    /// without one). An absolute root is used as is. A relative one starts at the
    /// *project folder*: `base_dir`, or its parent when `base_dir` is a folder
    /// named `config`. So `public` means `./public` both for `cargo run` at the
    /// repository root (no file) and for `--config config/foo.toml`, and
    /// `/etc/asynclab/public` for a file at `/etc/asynclab/container.toml`. A
    /// deployment that mounts its config folder over the image's can set an
    /// absolute `files.root` instead.
    pub fn resolve_root(root: &str, base_dir: &Path) -> PathBuf {
        let root = Path::new(root);
        if root.is_absolute() {
            return root.to_path_buf();
        }
        let project = match base_dir.file_name() {
            Some(name) if name == "config" => base_dir.parent().unwrap_or(base_dir),
            _ => base_dir,
        };
        project.join(root)
    }

    /// The folder being served (absolute), for the start-up log line.
    pub fn root(&self) -> &Path {
        &self.settings.root
    }

    /// Answers one request. `path` is what follows `/files/` in the URI, still
    /// percent-encoded. Never fails: problems become 4xx (or 500) responses.
    pub async fn serve<B>(&self, req: Request<B>, path: &str) -> Response<FilesBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let method = req.method().clone();
        if method == Method::GET || method == Method::HEAD {
            let (parts, _body) = req.into_parts();
            self.get(&parts, path).await
        } else if method == Method::PUT && self.settings.upload {
            upload::put(&self.settings, req, path).await
        } else {
            let allow = if self.settings.upload {
                "GET, HEAD, PUT"
            } else {
                "GET, HEAD"
            };
            let mut res = text(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("method not allowed (allowed: {allow})"),
            );
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            res
        }
    }

    async fn get(&self, parts: &Parts, raw: &str) -> Response<FilesBody> {
        let encodings = conditional::accepted(&parts.headers);
        let bits = encodings.iter().fold(0, |bits, e| bits | e.bit());
        // The cache is asked before the path is checked: an entry is only ever
        // stored for a raw path that passed `path::parse` and the policy, and
        // the same raw path always parses the same way.
        if let Some(cached) = self.settings.cache.get(raw, bits)
            && cached.is_current()
        {
            return self.respond(parts, &cached.version, Source::of(&cached.contents));
        }
        let rel = match path::parse(raw, self.settings.hidden) {
            Ok(rel) => rel,
            Err(refusal) => return refused(refusal),
        };
        let want_body = parts.method == Method::GET;
        let settings = Arc::clone(&self.settings);
        let name: Arc<str> = rel.rel.to_string_lossy().into();
        let found = tokio::task::spawn_blocking(move || {
            open::resolve(&settings, &rel, &encodings, want_body).map(|found| (found, rel))
        })
        .await
        .unwrap_or_else(|join| Err(io::Error::other(join)));
        match found {
            Ok((Outcome::File(opened), _)) => {
                let contents = match opened.contents {
                    Some(bytes) => Contents::Memory(bytes),
                    None => Contents::Open(Arc::new(opened.file), name),
                };
                let source = Source::of(&contents);
                // A small file is cached with its bytes, a large one with its open
                // descriptor; a small file opened for HEAD (not read) is not.
                if matches!(contents, Contents::Memory(_))
                    || opened.version.meta.len > self.settings.chunk as u64
                {
                    let cached = Cached {
                        version: opened.version,
                        contents,
                    };
                    let cached = Arc::new(cached);
                    let descriptor = matches!(cached.contents, Contents::Open(..));
                    self.settings.cache.put(raw, bits, Arc::clone(&cached));
                    if descriptor {
                        self.sweep_later();
                    }
                    return self.respond(parts, &cached.version, source);
                }
                self.respond(parts, &opened.version, source)
            }
            Ok((Outcome::Redirect, rel)) => redirect(&rel.last_raw),
            Ok((Outcome::Listing(html), _)) => {
                let mut res = full(StatusCode::OK, Bytes::from(html), parts);
                set(&mut res, CONTENT_TYPE, "text/html; charset=utf-8");
                res
            }
            Ok((Outcome::Missing, _)) => not_found(),
            Ok((Outcome::Forbidden, _)) => text(StatusCode::FORBIDDEN, "forbidden"),
            Err(e) => server_error(&name, &e),
        }
    }

    /// Sweeps the cache once the descriptor just stored has expired, so it is
    /// closed even if no other request comes. A timer task rather than a
    /// background loop: it exists only while there is something to close, and
    /// holds the settings weakly, so it never keeps a dropped `Files` alive.
    fn sweep_later(&self) {
        let settings = Arc::downgrade(&self.settings);
        let ttl = self.settings.cache.ttl();
        tokio::spawn(async move {
            tokio::time::sleep(ttl).await;
            if let Some(settings) = settings.upgrade() {
                settings.cache.sweep();
            }
        });
    }

    /// The answer for a file: preconditions, range, headers, body.
    fn respond(&self, parts: &Parts, version: &Version, source: Source) -> Response<FilesBody> {
        let meta = version.meta;
        let etag = version.etag.to_str().expect("built from ASCII");
        let precondition = conditional::evaluate(&parts.headers, &meta, etag);
        let span = if parts.method == Method::GET && precondition == Precondition::Proceed {
            conditional::span(&parts.headers, &meta, etag)
        } else {
            Span::Whole
        };
        let (status, start, len) = match (precondition, span) {
            (Precondition::Failed, _) => {
                return text(StatusCode::PRECONDITION_FAILED, "precondition failed");
            }
            (Precondition::NotModified, _) => (StatusCode::NOT_MODIFIED, 0, 0),
            (Precondition::Proceed, Span::Whole) => (StatusCode::OK, 0, meta.len),
            (Precondition::Proceed, Span::Part { start, len }) => {
                (StatusCode::PARTIAL_CONTENT, start, len)
            }
            (Precondition::Proceed, Span::Unsatisfiable) => {
                let mut res = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
                set(&mut res, CONTENT_RANGE, &format!("bytes */{}", meta.len));
                return res;
            }
        };

        let body = if status == StatusCode::NOT_MODIFIED || parts.method == Method::HEAD {
            empty()
        } else {
            match source {
                Source::Memory(bytes) => {
                    buffered(bytes.slice(start as usize..(start + len) as usize))
                }
                Source::Disk(file, name) => {
                    body::FileBody::new(file, meta, start..start + len, &self.settings, name)
                        .boxed()
                }
            }
        };
        let mut res = Response::new(body);
        *res.status_mut() = status;
        let h = res.headers_mut();
        h.insert(ETAG, version.etag.clone());
        h.insert(LAST_MODIFIED, version.last_modified.clone());
        if let Some(cc) = &self.settings.cache_control {
            h.insert(CACHE_CONTROL, cc.clone());
        }
        // Every file may have a precompressed sibling, so caches must key on it.
        h.insert(VARY, HeaderValue::from_static("accept-encoding"));
        if status == StatusCode::NOT_MODIFIED {
            return res;
        }
        h.insert(CONTENT_TYPE, HeaderValue::from_static(version.content_type));
        h.insert(CONTENT_LENGTH, HeaderValue::from(len));
        h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if let Some(enc) = version.encoding {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static(enc.token()));
        }
        if status == StatusCode::PARTIAL_CONTENT {
            let range = format!("bytes {}-{}/{}", start, start + len - 1, meta.len);
            h.insert(CONTENT_RANGE, header(&range));
        }
        res
    }
}
