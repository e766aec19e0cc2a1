//! The HTTP server (placeholder: being written).

use asynclab_core::config::Loaded;
use asynclab_core::{DrainReport, Metrics, Shutdown};
use tokio::net::TcpListener;

#[derive(Debug)]
pub struct Server {
    _metrics: Metrics,
}

#[derive(Debug, thiserror::Error)]
#[error("http server setup failed")]
pub struct Error;

impl Server {
    pub fn new(_loaded: &Loaded, metrics: Metrics) -> Result<Self, Error> {
        Ok(Self { _metrics: metrics })
    }

    pub async fn run(self, listener: TcpListener, shutdown: Shutdown) -> DrainReport {
        drop(listener);
        shutdown.stopping().await;
        DrainReport::default()
    }
}
