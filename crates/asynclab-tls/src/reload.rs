//! The certificate new handshakes get, replaceable while the server runs.
//!
//! Pattern: **swap an `Arc` behind a lock.** rustls asks a
//! [`ResolvesServerCert`] for the certificate at every handshake. Ours holds
//! an `Arc<CertifiedKey>` in a `std::sync::RwLock`: a handshake takes the read
//! lock just long enough to clone the `Arc` (never across an `.await`, which is
//! why a std lock is right here), and a reload builds the new certificate
//! *first*, outside the lock, then swaps it in. A connection already open keeps
//! the certificate it was given; a file that fails to load never replaces a
//! good one.
//!
//! [`ReloadableCert::watch`] reloads when either file's modification time or
//! size changes (checked every few seconds, following symlinks, which is how a
//! Kubernetes Secret volume swaps its files). `SIGHUP` reloads it too: the
//! binary's one SIGHUP task (`crates/asynclab/src/reload.rs`, which also reloads
//! the configuration) calls [`ReloadableCert::reload_logged`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::inspect::warn_if_expiring;
use crate::{TlsError, pem, provider};

/// The certificate files behind a [`ReloadableCert`].
#[derive(Debug, Clone)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
}

/// What the files looked like at the last load: modification time and size of each.
type Stamp = [Option<(SystemTime, u64)>; 2];

/// The server certificate, as rustls resolves it for each handshake.
#[derive(Debug)]
pub struct ReloadableCert {
    current: RwLock<Arc<CertifiedKey>>,
    files: Option<Files>,
    stamp: Mutex<Stamp>,
}

impl ReloadableCert {
    /// Loads `cert` (a chain, leaf first) and `key`, checking they belong together.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let files = Files {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        };
        let stamp = stamp(&files);
        Ok(Self {
            current: RwLock::new(Arc::new(load(&files)?)),
            files: Some(files),
            stamp: Mutex::new(stamp),
        })
    }

    /// A certificate held in memory only (the self-signed one): never reloaded.
    pub(crate) fn fixed(key: CertifiedKey) -> Self {
        Self {
            current: RwLock::new(Arc::new(key)),
            files: None,
            stamp: Mutex::new([None, None]),
        }
    }

    /// The certificate handshakes get now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Reads the files again; on success new handshakes use the new certificate,
    /// on failure the old one stays and the error says why. `Ok(false)`: there
    /// are no files to read (a self-signed certificate).
    pub fn reload(&self) -> Result<bool, TlsError> {
        let Some(files) = &self.files else {
            return Ok(false);
        };
        *self.stamp.lock().unwrap_or_else(|p| p.into_inner()) = stamp(files);
        let fresh = Arc::new(load(files)?);
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        Ok(true)
    }

    /// [`ReloadableCert::reload`], with the outcome logged: `why` says what
    /// asked for it (`SIGHUP`, the files changed). A failure is never fatal.
    pub fn reload_logged(&self, why: &str) {
        let Some(files) = &self.files else {
            return;
        };
        match self.reload() {
            Ok(_) => {
                tracing::info!(certificate = %files.cert.display(), reason = why, "TLS certificate reloaded: new connections use it")
            }
            Err(error) => {
                tracing::error!(%error, reason = why, "TLS certificate not reloaded: the previous one stays in use")
            }
        }
    }

    /// Reloads when the files change (looked at every `interval`), until `stop`
    /// completes. Errors are logged, never fatal.
    pub async fn watch(self: Arc<Self>, interval: Duration, stop: impl Future<Output = ()>) {
        let Some(files) = self.files.clone() else {
            return;
        };
        tokio::pin!(stop);
        let mut poll = tokio::time::interval(interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = poll.tick() => {}
            }
            let seen = *self.stamp.lock().unwrap_or_else(|p| p.into_inner());
            if stamp(&files) != seen {
                self.reload_logged("the files changed");
            }
        }
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Reads and checks a certificate and its key.
fn load(files: &Files) -> Result<CertifiedKey, TlsError> {
    let chain = pem::chain("certificate", &files.cert)?;
    let key = pem::key(&files.key)?;
    warn_if_expiring(&chain[0], &files.cert.display().to_string());
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        problem: e.to_string(),
    })
}

fn stamp(files: &Files) -> Stamp {
    let one = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    };
    [one(&files.cert), one(&files.key)]
}
