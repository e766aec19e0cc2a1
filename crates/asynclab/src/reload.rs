//! `SIGHUP`: read the configuration again and apply what can change while the
//! servers run.
//!
//! Pattern: **a signal as a stream of events.** Unlike SIGTERM, which comes
//! once and ends the process, SIGHUP may come any number of times: one task
//! loops on `recv()` for the life of the process. (Without a handler, SIGHUP
//! would kill the process: the OS default.)
//!
//! On each one the configuration is loaded with the same layers and checks as
//! at start-up (the same file, variables and flags). An invalid file is
//! refused with the start-up's error message, and the running settings stay.
//! A valid one is compared with the running configuration: the settings the
//! HTTP server can change live (`asynclab_http::control::RELOADED`) are
//! applied, and any other changed key is named in a warning: it needs a
//! restart, and keeps its running value until then.
//!
//! The same task reloads the TLS certificate from its files (a rotated
//! certificate is the other thing operators send SIGHUP for): one listener for
//! the signal, so the two can never race or disagree about what a SIGHUP did.

use std::sync::Arc;

use asynclab_core::config::Config;
use asynclab_core::{Overrides, telemetry};
use asynclab_http::AppState;
use asynclab_http::control::RELOADED;
use asynclab_tls::ReloadableCert;

/// Installs the SIGHUP handler now (before the banner, so a SIGHUP sent as soon
/// as the server is up never kills it) and reloads on every SIGHUP: the
/// configuration, then `cert` (the TLS certificate, when one is served).
pub fn on_sighup(
    overrides: Overrides,
    running: Config,
    http: Option<AppState>,
    cert: Option<Arc<ReloadableCert>>,
) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                // Reading a small file on a worker thread is fine for an event
                // this rare; the requests being served are not held up.
                reload(&overrides, &running, http.as_ref());
                if let Some(cert) = &cert {
                    cert.reload_logged("SIGHUP");
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (overrides, running, http, cert);
    Ok(())
}

/// One reload: load, check, compare, apply.
fn reload(overrides: &Overrides, running: &Config, http: Option<&AppState>) {
    let loaded = match crate::load_checked(overrides, http.is_some()) {
        Ok(loaded) => loaded,
        Err(error) => {
            tracing::error!(
                error = %error,
                "SIGHUP: configuration refused; the running settings stay"
            );
            return;
        }
    };
    let new = loaded.config;
    let (applied, restart): (Vec<String>, Vec<String>) =
        running.changed_keys(&new).into_iter().partition(|key| {
            RELOADED
                .iter()
                .any(|r| key == r || key.starts_with(&format!("{r}.")))
        });
    match http {
        Some(state) => state.reload(&new),
        None => {
            let _ = telemetry::set_filter(&telemetry::filter(&new.log).to_string());
        }
    }
    if !restart.is_empty() {
        tracing::warn!(
            keys = %restart.join(", "),
            "SIGHUP: these settings need a restart; they keep their running values until then"
        );
    }
    tracing::info!(
        applied = %applied.join(", "),
        "SIGHUP: configuration reloaded"
    );
}
