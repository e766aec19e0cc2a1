//! `PUT /files/{path}` (only with `files.upload = true`): store the request body
//! so that readers only ever see a complete file.
//!
//! The body is streamed, frame by frame, into a hidden temporary file *in the
//! target's folder* (so the final `rename` stays on one file system and is
//! atomic), counted against `files.max_upload`, flushed with `fsync`, and only
//! then moved into place. Readers see the old version or the new one, never a
//! mix; two concurrent uploads each write their own temporary file and the last
//! rename wins whole.
//!
//! Cancellation is the async subtlety here: if the client disconnects, hyper
//! drops this future at whatever `.await` it was parked on. Cleanup therefore
//! cannot be a line at the end of the function; it lives in [`TempFile`]'s
//! `Drop`, which runs on every exit path, including a dropped future.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use crate::{FilesBody, Settings, path, refused, server_error, text};

pub(crate) async fn put<B>(settings: &Settings, req: Request<B>, raw: &str) -> Response<FilesBody>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let rel = match path::parse(raw, settings.hidden) {
        Ok(rel) => rel,
        Err(refusal) => return refused(refusal),
    };
    let Some(name) = rel.rel.file_name().map(|n| n.to_owned()) else {
        return text(StatusCode::BAD_REQUEST, "PUT needs a file name");
    };
    if rel.dir {
        return text(StatusCode::BAD_REQUEST, "PUT needs a file name");
    }
    // Refuse early when the client says up front that it is too large.
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > settings.max_upload) {
        return too_large();
    }
    let shown: String = rel.rel.to_string_lossy().into();
    let target = settings.root.join(&rel.rel);
    let root = settings.root.clone();
    let hidden = settings.hidden;
    let prepared = tokio::task::spawn_blocking(move || prepare(&root, hidden, &target, &name))
        .await
        .unwrap_or_else(|join| Err(io::Error::other(join)));
    let (mut temp, file) = match prepared {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(response)) => return response,
        Err(e) => return server_error(&shown, &e),
    };

    let mut file = tokio::fs::File::from_std(file);
    let mut body = std::pin::pin!(req.into_body());
    let mut stored: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                tracing::debug!(file = %shown, error = %e, "upload interrupted");
                // A body the server stopped waiting for (too slow to arrive) is
                // the client's timeout, and the rest of it may still come.
                let timed_out = e
                    .downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut);
                if timed_out {
                    let mut res = text(StatusCode::REQUEST_TIMEOUT, "upload too slow");
                    res.headers_mut().insert(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("close"),
                    );
                    return res;
                }
                return text(StatusCode::BAD_REQUEST, "upload interrupted");
            }
        };
        let Some(data) = frame.data_ref() else {
            continue; // trailers
        };
        stored += data.len() as u64;
        if stored > settings.max_upload {
            return too_large();
        }
        if let Err(e) = file.write_all(data).await {
            return server_error(&shown, &e);
        }
    }
    // `flush` waits for tokio's in-flight background write; `sync_all` asks the
    // disk to keep the bytes before anyone can see them under the real name.
    if let Err(e) = async {
        file.flush().await?;
        file.sync_all().await
    }
    .await
    {
        return server_error(&shown, &e);
    }
    drop(file);

    let published = tokio::task::spawn_blocking(move || temp.publish())
        .await
        .unwrap_or_else(|join| Err(io::Error::other(join)));
    // Whatever happened, a cached copy of the old version must not outlive it.
    settings.cache.clear();
    match published {
        Ok(true) => text(StatusCode::CREATED, "created"),
        Ok(false) => {
            // A 204 has no body and, per RFC 9110, no Content-Length either.
            let mut res = Response::new(crate::empty());
            *res.status_mut() = StatusCode::NO_CONTENT;
            res
        }
        Err(e) => server_error(&shown, &e),
    }
}

fn too_large() -> Response<FilesBody> {
    text(StatusCode::PAYLOAD_TOO_LARGE, "upload too large")
}

/// Checks the target's folder and creates the temporary file beside the target.
fn prepare(
    root: &Path,
    hidden: bool,
    target: &Path,
    name: &std::ffi::OsStr,
) -> io::Result<Result<(TempFile, std::fs::File), Response<FilesBody>>> {
    let folder = target
        .parent()
        .expect("a path with a file name has a parent");
    let real = match std::fs::canonicalize(folder) {
        Ok(real) => real,
        Err(e) if crate::open::is_absent(&e) => {
            return Ok(Err(text(StatusCode::CONFLICT, "the folder does not exist")));
        }
        Err(e) => return Err(e),
    };
    // Writes never go through a link to outside the root, whatever
    // `files.follow_symlinks` says: reading elsewhere may be wanted, writing is not.
    match real.strip_prefix(root) {
        Ok(inside) if hidden || !path::has_hidden(inside) => {}
        Ok(_) => return Ok(Err(crate::not_found())),
        Err(_) => return Ok(Err(text(StatusCode::FORBIDDEN, "forbidden"))),
    }
    if !real.is_dir() {
        return Ok(Err(text(StatusCode::CONFLICT, "the folder does not exist")));
    }
    let target = real.join(name);
    if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
        return Ok(Err(text(StatusCode::CONFLICT, "a folder has that name")));
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let temp = real.join(format!(
        ".{}.upload-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    Ok(Ok((
        TempFile {
            temp: Some(temp),
            target,
        },
        file,
    )))
}

/// A temporary upload that is deleted unless [`TempFile::publish`] succeeds.
#[derive(Debug)]
struct TempFile {
    temp: Option<PathBuf>,
    target: PathBuf,
}

impl TempFile {
    /// Moves the complete file into place; `true` when nothing was there before.
    ///
    /// A hard link refuses to replace an existing name, atomically, which tells
    /// "created" (201) from "replaced" (204) without a race; when the name exists a
    /// `rename` replaces it in one step.
    fn publish(&mut self) -> io::Result<bool> {
        let temp = self.temp.as_ref().expect("published once");
        let created = match std::fs::hard_link(temp, &self.target) {
            Ok(()) => {
                std::fs::remove_file(temp)?;
                true
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                std::fs::rename(temp, &self.target)?;
                false
            }
            // File systems without hard links: fall back to an existence check.
            Err(_) => {
                let existed = self.target.exists();
                std::fs::rename(temp, &self.target)?;
                !existed
            }
        };
        self.temp = None;
        // Make the rename itself durable.
        if let Some(folder) = self.target.parent() {
            std::fs::File::open(folder)?.sync_all()?;
        }
        Ok(created)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            // One unlink, on whatever thread drops us (possibly a runtime thread):
            // a short blocking call, accepted so cleanup also runs when the
            // request future is dropped mid-upload.
            let _ = std::fs::remove_file(temp);
        }
    }
}
