//! The command line: one `asynclab` command with subcommands, parsed by clap.
//!
//! Global flags (`--config`, `--set`, `--log-level`, `--log-format`) work on every
//! subcommand and become the top layers of the configuration.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::check::Target;
// The client's TLS flags: declared in `asynclab-tls`, shared with `load`.
pub use asynclab_tls::TlsArgs;

/// Async network servers you can run, curl, load-test and deploy.
///
/// With no subcommand, runs `serve`: the HTTP server and the TCP echo server
/// in one process.
#[derive(Debug, Parser)]
#[command(name = "asynclab", version, about, long_about = None)]
#[command(propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub global: Global,
}

/// Flags every subcommand accepts.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// A TOML config file layered over the built-in defaults.
    #[arg(long, global = true, env = "ASYNCLAB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override one setting, e.g. `--set echo.mode=raw` (repeatable; wins over
    /// the file and ASYNCLAB_* variables).
    #[arg(long = "set", global = true, value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,

    /// Log level or filter (`debug`, `info,asynclab_http=debug`); RUST_LOG wins.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// Log format: `auto` (pretty on a terminal, JSON otherwise), `pretty`, `json`.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every server in one process (the default).
    Serve,
    /// Run the TCP echo server alone.
    Echo,
    /// Run the HTTP server alone.
    Http,
    /// Probe a server: exit 0 when it answers correctly in time, 1 otherwise
    /// (2 for a target or timeout that cannot be used). Prints one line.
    ///
    /// `tcp://HOST:PORT` sends a line and expects it echoed back;
    /// `http://HOST:PORT/PATH` expects a 2xx response. `tls://` and `https://`
    /// do the same over TLS (see `--cacert`, `--insecure`, `--cert`/`--key`).
    Check {
        /// What to probe: `tcp://127.0.0.1:7000` or `http://127.0.0.1:8080/readyz`.
        #[arg(value_parser = Target::parse)]
        target: Target,
        /// Give up after this long (`500ms`, `2s`; more than zero).
        #[arg(long, default_value = "2s", value_parser = crate::check::timeout)]
        timeout: Duration,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Change a running HTTP server through its control API (needs its
    /// control.token): exit 0 when applied, 1 when refused or unreachable,
    /// 2 for a command that cannot be sent.
    ///
    /// `show` prints the settings; `set KEY=VALUE ...` changes them
    /// (`readiness=not-ready`, `http.faults.errors=503:5`); `reset` returns to
    /// the configured values.
    Control {
        /// The server: `http://127.0.0.1:8080`.
        #[arg(value_parser = crate::control::server)]
        server: hyper::Uri,
        /// The control token; by default ASYNCLAB_CONTROL__TOKEN.
        #[arg(long, env = crate::control::TOKEN_ENV, hide_env_values = true)]
        token: Option<String>,
        /// Give up after this long.
        #[arg(long, default_value = "5s", value_parser = crate::check::timeout)]
        timeout: Duration,
        #[command(subcommand)]
        action: crate::control::Action,
    },
    /// Load-test an HTTP server (`http://...`) or a TCP echo server (`tcp://...`, `tls://...`).
    // Boxed: the load options are far larger than any other variant.
    Load(Box<asynclab_load::LoadArgs>),
    /// Print the effective configuration (every layer merged) as TOML.
    Config {
        /// Only validate, as `serve` would: print nothing and exit 0 when the
        /// configuration is valid, 2 when it is not.
        #[arg(long)]
        check: bool,
        /// Print each key with the layer that set it (built-in defaults, a file
        /// and line, an environment variable, a flag), like `git config --show-origin`.
        #[arg(long, conflicts_with = "check")]
        show_origin: bool,
    },
}
