//! `[http.dashboard]`: the live dashboard page (`GET /dashboard`) and its
//! stream. See the `asynclab-http` crate's `dashboard/` module.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units;
use super::{Check, at_least, nonzero, shorter};

/// The `[http.dashboard]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    /// Serves `GET /dashboard` and its stream; off, they answer 404.
    pub enabled: bool,
    /// How often the counters are read and sent to every open dashboard.
    /// A stream sends nothing else, so it must stay below `http.idle_timeout`.
    #[serde(with = "units::duration")]
    pub interval: Duration,
    /// Dashboard streams open at once; one more gets 503.
    pub max_viewers: usize,
}

impl DashboardConfig {
    /// `idle_timeout` is `http.idle_timeout`: a stream silent that long is closed.
    pub(super) fn check(&self, idle_timeout: Duration) -> Check {
        nonzero("http.dashboard.interval", self.interval)?;
        shorter(
            ("http.dashboard.interval", self.interval),
            ("http.idle_timeout", idle_timeout),
            false,
            " (a silent stream is closed as idle)",
        )?;
        at_least("http.dashboard.max_viewers", self.max_viewers, 1)
    }
}
