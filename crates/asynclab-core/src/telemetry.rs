//! The one tracing setup every subcommand installs.
//!
//! Two small functions, as in zero-to-production's `telemetry.rs`: build a filter
//! from `RUST_LOG` or the configured level, then install a subscriber that writes
//! pretty lines to a terminal and JSON lines everywhere else (containers, files,
//! log collectors). Logs go to stderr so stdout stays free for what the command
//! prints on purpose (the startup banner, `asynclab config`, load results).
//!
//! The filter sits in a [`reload`] layer, so the control API and `SIGHUP` can
//! change it while the process runs ([`set_filter`]): tracing-subscriber swaps
//! it under a lock that only a change takes for writing.

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, fmt, reload};

use crate::config::{LogConfig, LogFormat, check_filter};

/// The handle that changes the installed filter (set by [`init`]).
static RELOAD: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// `RUST_LOG` when set (and valid), otherwise `log.level`.
pub fn filter(log: &LogConfig) -> EnvFilter {
    match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(spec) if !spec.trim().is_empty() => {
            EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new(&log.level))
        }
        _ => EnvFilter::new(&log.level),
    }
}

/// True when log lines are JSON: `json`, or `auto` with stderr not a terminal.
pub fn is_json(log: &LogConfig) -> bool {
    match log.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    }
}

/// Installs the global subscriber. Call once, early in `main`.
///
/// Calling it again (as tests that start several servers in one process do) is
/// harmless: the first subscriber stays.
pub fn init(log: &LogConfig) {
    let (filter, handle) = reload::Layer::new(filter(log));
    let lines = fmt::layer()
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    // Boxed: the JSON and the pretty formatter are different types.
    let lines = if is_json(log) {
        lines
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    } else {
        lines.with_ansi(std::io::stderr().is_terminal()).boxed()
    };
    if tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .try_init()
        .is_ok()
    {
        let _ = RELOAD.set(handle);
    }
}

/// The filter in force, if this process installed the subscriber.
pub fn current_filter() -> Option<String> {
    RELOAD.get()?.with_current(|f| f.to_string()).ok()
}

/// Replaces the filter (`warn`, `info,asynclab_http=debug`), checked as
/// `log.level` is checked at start-up.
pub fn set_filter(spec: &str) -> Result<(), String> {
    check_filter(spec)?;
    let handle = RELOAD
        .get()
        .ok_or("this process did not install the log subscriber")?;
    handle
        .reload(EnvFilter::new(spec))
        .map_err(|e| format!("the log filter could not be changed: {e}"))
}
