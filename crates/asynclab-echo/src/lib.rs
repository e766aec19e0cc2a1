//! The TCP echo server (placeholder: being written).

use std::time::Duration;

use asynclab_core::config::EchoConfig;
use asynclab_core::{DrainReport, Metrics, Shutdown};
use tokio::net::TcpListener;

#[derive(Debug)]
pub struct Server {
    _config: EchoConfig,
    _grace: Duration,
    _metrics: Metrics,
}

impl Server {
    pub fn new(config: EchoConfig, grace: Duration, metrics: Metrics) -> Self {
        Self {
            _config: config,
            _grace: grace,
            _metrics: metrics,
        }
    }

    pub async fn run(self, listener: TcpListener, shutdown: Shutdown) -> DrainReport {
        drop(listener);
        shutdown.stopping().await;
        DrainReport::default()
    }
}
