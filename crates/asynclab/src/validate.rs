//! The settings only the file system can confirm, checked the same way for
//! `asynclab config --check` and before a server starts, so `config --check`
//! accepts exactly what `serve` accepts.
//!
//! The configuration's own `check` sees values; it cannot see that a folder
//! named in `files.root` is missing. That is still a configuration error (one
//! line naming the key and where it was set, exit 2), found before anything binds.

use asynclab_core::ConfigError;
use asynclab_core::config::{Loaded, base_dir};
use asynclab_files::{Files, FilesError};

/// `files.root` must be a folder, unless it is the built-in default: `asynclab`
/// runs from any folder, with file serving off (the HTTP server logs that).
pub fn files_root(loaded: &Loaded) -> Result<(), ConfigError> {
    if loaded.is_default("files.root") {
        return Ok(());
    }
    match Files::check_root(&loaded.config.files, &base_dir(loaded)) {
        Ok(_) => Ok(()),
        Err(FilesError::Root {
            root,
            resolved,
            reason,
        }) => Err(ConfigError::Invalid {
            key: "files.root".into(),
            value: format!("{root:?}"),
            origin: loaded.origin("files.root"),
            reason: format!(
                "not a usable folder (resolved to {}): {reason}",
                resolved.display()
            ),
        }),
    }
}
