//! `[runtime]`: the Tokio runtime every server in the process shares.

use serde::{Deserialize, Serialize};

use super::{Check, invalid};

/// The `[runtime]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Worker threads of Tokio's multi-threaded runtime. 0 leaves the choice to
    /// Tokio: `TOKIO_WORKER_THREADS` when it is set, otherwise one per CPU core
    /// the process may use.
    pub workers: usize,
}

/// More threads than this is a typo, not a configuration.
const MAX_WORKERS: usize = 1024;

/// The environment variable Tokio itself reads for its worker count.
pub const TOKIO_WORKER_THREADS: &str = "TOKIO_WORKER_THREADS";

impl RuntimeConfig {
    pub(super) fn check(&self) -> Check {
        if self.workers > MAX_WORKERS {
            return Err(invalid(
                "runtime.workers",
                self.workers,
                format!("must be at most {MAX_WORKERS} (0 = one per CPU core)"),
            ));
        }
        Ok(())
    }

    /// The worker count to ask Tokio for, or `None` to let Tokio decide
    /// (`TOKIO_WORKER_THREADS`, else one per core).
    pub fn workers(&self) -> Option<usize> {
        (self.workers > 0).then_some(self.workers)
    }
}
