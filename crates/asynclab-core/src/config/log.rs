//! `[log]`: how the process logs. See `telemetry` for how it is applied.

use serde::{Deserialize, Serialize};

use super::{Check, invalid};

/// The `[log]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A level (`info`) or a full filter (`info,asynclab_http=debug`). `RUST_LOG` wins.
    pub level: String,
    /// `auto` (pretty on a terminal, JSON lines otherwise), `pretty` or `json`.
    pub format: LogFormat,
    /// Log every HTTP request at info (by default only errors are, successes at debug).
    pub access: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty when stderr is a terminal, JSON lines otherwise.
    Auto,
    /// Human-readable, coloured on a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogConfig {
    pub(super) fn check(&self) -> Check {
        tracing_subscriber::EnvFilter::try_new(&self.level)
            .map(drop)
            .map_err(|e| invalid("log.level", &self.level, format!("not a log filter: {e}")))
    }
}
