//! The load generator (placeholder: being written).

/// `asynclab load` arguments.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// `http://host:port/path` or `tcp://host:port`.
    pub target: String,
}
