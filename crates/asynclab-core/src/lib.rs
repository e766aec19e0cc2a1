//! The plumbing every asynclab server shares, and nothing HTTP-specific.
//!
//! - [`config`]: one typed configuration, loaded in layers (built-in defaults, a TOML
//!   file, `ASYNCLAB_*` environment variables, `--set` flags), with errors that name
//!   the key, the bad value and where it came from.
//! - [`telemetry`]: the one tracing subscriber the process installs.
//! - [`shutdown`]: turning ctrl-c and SIGTERM into a [`Shutdown`] handle that servers
//!   take as an argument, and the bounded drain they run when it fires.
//! - [`stop`]: the flag-then-wake-up signal connection tasks watch for "finish" and
//!   "cut", checked with a plain load on every wake-up instead of a lock.
//! - [`metrics`]: the shared Prometheus registry, so one `/metrics` endpoint can show
//!   the counters of every server running in the process, and the live [`events`]
//!   feed (a broadcast channel) that `/events` streams.
//! - [`listen`]: a listening socket with the configured backlog.
//! - [`query`]: one reader of query strings for every route, with caps and 400-ready errors.
//! - [`weighted`]: weighted choices written as text (`503:5,429:1`), parsed once and
//!   chosen from with a random number the caller supplies (`/echo`, `/status/{codes}`,
//!   `[http.faults]`).
//! - [`template`]: route templates (`/status/{codes}`) matched against paths.
//! - [`open_files`]: the open-files limit, raised (up to the hard limit) to what a
//!   run needs.

pub mod config;
pub mod events;
pub mod listen;
pub mod metrics;
pub mod open_files;
pub mod query;
pub mod sharded;
pub mod shutdown;
pub mod stop;
pub mod telemetry;
pub mod template;
pub mod weighted;

pub use config::{Config, ConfigError, Overrides};
pub use events::{Event, Events};
pub use metrics::Metrics;
pub use shutdown::{DrainReport, Shutdown};
