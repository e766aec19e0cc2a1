//! What can go wrong setting TLS up: each error names the file and the problem,
//! so `asynclab` can stop at start with one line a person can act on.

use std::path::PathBuf;

/// A TLS setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read, or held nothing usable.
    #[error("{what} {path}: {problem}")]
    File {
        what: &'static str,
        path: PathBuf,
        problem: String,
    },
    /// The private key is not the one the certificate was issued for.
    #[error("the key {key} does not match the certificate {cert}: {problem}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        problem: String,
    },
    /// One of `cert` and `key` without the other.
    #[error("{0}")]
    Incomplete(&'static str),
    /// The self-signed certificate could not be made (a bad name).
    #[error("cannot make a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
    /// rustls refused a configuration (a CA file with no usable certificate, say).
    #[error("{context}: {source}")]
    Rustls {
        context: String,
        source: rustls::Error,
    },
}

impl TlsError {
    pub(crate) fn file(what: &'static str, path: &std::path::Path, problem: impl ToString) -> Self {
        Self::File {
            what,
            path: path.to_path_buf(),
            problem: problem.to_string(),
        }
    }
}
