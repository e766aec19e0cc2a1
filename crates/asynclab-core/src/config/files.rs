//! `[files]`: static file serving under `/files/`. See the `asynclab-files` crate.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units::{self, Size};
use super::{Check, at_least, invalid};

/// The most memory idle read buffers may hold (`read_buffer` x `idle_buffers`).
const IDLE_BUFFER_MEMORY: u64 = 256 << 20;

/// The `[files]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    /// The folder served under `/files/`. A relative path resolves against the
    /// project folder: the config file's folder, or its parent when that folder
    /// is named `config` (`X/config/foo.toml` → `X/`); with no config file, the
    /// current directory. It must exist when the server starts.
    pub root: String,
    /// A file no larger than this is read whole in the same blocking call that
    /// opens it (and may be kept in the cache of small files).
    pub chunk: Size,
    /// A larger file is streamed in pieces of this size: each is read into a
    /// buffer the server reuses and handed to the connection as one write.
    pub read_buffer: Size,
    /// How many free read buffers the server keeps for the next downloads; more
    /// are made when needed, and freed when they come back past this number.
    pub idle_buffers: usize,
    /// Memory for the cache of opened files: a small file's bytes (at most
    /// `chunk`), or a larger file's open descriptor, which counts as `chunk`;
    /// 0 turns it off.
    pub cache_size: Size,
    /// How long a cached file is served before it is looked up on disk again.
    #[serde(with = "units::duration")]
    pub cache_ttl: Duration,
    /// The `Cache-Control` header sent with every file; empty sends none.
    pub cache_control: String,
    /// A folder without `index.html` gets a plain HTML listing (otherwise 404).
    pub listing: bool,
    /// Follow symbolic links that point outside `root` (links inside it always work).
    pub follow_symlinks: bool,
    /// Serve hidden files and folders (names starting with `.`, such as `.git`, `.env`).
    pub hidden: bool,
    /// Accept `PUT /files/{path}` to store files.
    pub upload: bool,
    /// The largest body a `PUT` may store; larger gets 413.
    pub max_upload: Size,
}

impl FilesConfig {
    pub(super) fn check(&self) -> Check {
        if self.root.trim().is_empty() {
            return Err(invalid("files.root", &self.root, "must name a folder"));
        }
        // Below 4 KiB a 1 GiB download becomes a quarter of a million reads.
        at_least("files.chunk", self.chunk.bytes(), 4096)?;
        if self.chunk.bytes() > 16 << 20 {
            return Err(invalid("files.chunk", self.chunk, "must be at most 16MiB"));
        }
        at_least("files.read_buffer", self.read_buffer.bytes(), 4096)?;
        if self.read_buffer.bytes() > 16 << 20 {
            return Err(invalid(
                "files.read_buffer",
                self.read_buffer,
                "must be at most 16MiB",
            ));
        }
        if self
            .read_buffer
            .bytes()
            .saturating_mul(self.idle_buffers as u64)
            > IDLE_BUFFER_MEMORY
        {
            // A rule between two keys: blame the one the user set.
            let why = "must be at most 256MiB (memory kept while idle)";
            let buffers = invalid(
                "files.idle_buffers",
                self.idle_buffers,
                format!("times `files.read_buffer` {why}: lower either"),
            );
            let size = invalid(
                "files.read_buffer",
                self.read_buffer,
                format!("times `files.idle_buffers` {why}: lower either"),
            );
            return Err(buffers.or_from(size));
        }
        // The value goes into a header unchanged: visible ASCII and spaces only.
        if !self
            .cache_control
            .bytes()
            .all(|b| b == b' ' || b.is_ascii_graphic())
        {
            return Err(invalid(
                "files.cache_control",
                &self.cache_control,
                "must be printable ASCII (it is sent as a header)",
            ));
        }
        at_least("files.max_upload", self.max_upload.bytes(), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn check(tweak: impl FnOnce(&mut FilesConfig)) -> Option<&'static str> {
        let mut files = Config::builtin().files;
        tweak(&mut files);
        files.check().err().map(|bad| bad.key)
    }

    #[test]
    fn defaults_pass_and_bad_values_name_their_key() {
        assert_eq!(check(|_| {}), None);
        assert_eq!(check(|f| f.root = " ".into()), Some("files.root"));
        assert_eq!(check(|f| f.chunk = Size(100)), Some("files.chunk"));
        assert_eq!(check(|f| f.chunk = Size(32 << 20)), Some("files.chunk"));
        assert_eq!(
            check(|f| f.read_buffer = Size(100)),
            Some("files.read_buffer")
        );
        assert_eq!(
            check(|f| f.read_buffer = Size(32 << 20)),
            Some("files.read_buffer")
        );
        assert_eq!(check(|f| f.idle_buffers = 0), None);
        assert_eq!(
            check(|f| f.idle_buffers = 100_000),
            Some("files.idle_buffers")
        );
        assert_eq!(
            check(|f| f.cache_control = "max-age=1\n".into()),
            Some("files.cache_control")
        );
        assert_eq!(check(|f| f.max_upload = Size(0)), Some("files.max_upload"));
    }
}
