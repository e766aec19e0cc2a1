//! The one tracing setup every subcommand installs.
//!
//! Two small functions, as in zero-to-production's `telemetry.rs`: build a filter
//! from `RUST_LOG` or the configured level, then install a subscriber that writes
//! pretty lines to a terminal and JSON lines everywhere else (containers, files,
//! log collectors). Logs go to stderr so stdout stays free for what the command
//! prints on purpose (the startup banner, `asynclab config`, load results).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{LogConfig, LogFormat};

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
    let json = is_json(log);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(log))
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}
