//! `[shutdown]`: how a graceful shutdown is paced. See `crate::shutdown`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Check, nonzero, units};

/// The `[shutdown]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// How long in-flight work may take to finish once accepting has stopped.
    #[serde(with = "units::duration")]
    pub grace: Duration,
    /// How long to keep serving (with `/readyz` at 503) before the listeners close,
    /// so load balancers notice and stop sending traffic.
    #[serde(with = "units::duration")]
    pub readiness_delay: Duration,
}

impl ShutdownConfig {
    pub(super) fn check(&self) -> Check {
        nonzero("shutdown.grace", self.grace)
    }
}
