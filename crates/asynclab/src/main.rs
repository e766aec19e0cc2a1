//! The `asynclab` command: a thin binary over the library crates.
//!
//! `main` parses the command line, loads the configuration (exit 2 when it is bad),
//! installs tracing, builds the runtime and hands over to a library. Run it with
//!
//! ```text
//! cargo run --release              # asynclab serve: HTTP on :8080, echo on :7000
//! cargo run --release -- --help    # every subcommand and flag
//! ```

mod check;
mod cli;
mod control;
mod reload;
mod runtime;
mod serve;
mod validate;

use std::future::Future;
use std::process::ExitCode;

use asynclab_core::config::{Loaded, LogConfig, RuntimeConfig};
use asynclab_core::{Config, ConfigError, Overrides, telemetry};
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::serve::Servers;

/// Exit status for a configuration that cannot be used.
pub(crate) const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        file: cli.global.config.clone(),
        set: cli.global.set.clone(),
        log_level: cli.global.log_level.clone(),
        log_format: cli.global.log_format.clone(),
        skip_env: false,
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => servers(&overrides, Servers::ALL),
        Command::Echo => servers(&overrides, Servers::ECHO),
        Command::Http => servers(&overrides, Servers::HTTP),
        Command::Config { check, show_origin } => config(&overrides, check, show_origin),
        // The load generator builds its own runtime: its thread count is a flag.
        Command::Load(args) => match log_only(&overrides) {
            Ok(()) => asynclab_load::command::main(*args),
            Err(code) => code,
        },
        Command::Check {
            target,
            timeout,
            tls,
        } => match (log_only(&overrides), check::tls(&target, &tls)) {
            // A probe needs one worker thread, whatever the servers are given.
            (Ok(()), Ok(tls)) => block_on(&RuntimeConfig { workers: 1 }, async move {
                check::run(&target, timeout, tls.as_ref()).await
            }),
            (Err(code), _) => code,
            // A TLS flag that cannot work (a missing --cacert file) is a usage error.
            (_, Err(e)) => {
                eprintln!("asynclab: {e}");
                ExitCode::from(EXIT_BAD_CONFIG)
            }
        },
        Command::Control {
            server,
            token,
            timeout,
            action,
        } => match log_only(&overrides) {
            Ok(()) => block_on(&RuntimeConfig { workers: 1 }, async move {
                control::run(&server, token, &action, timeout).await
            }),
            Err(code) => code,
        },
    }
}

/// `serve`, `echo`, `http`: the whole configuration, checked as `config --check`
/// checks it, before anything binds.
fn servers(overrides: &Overrides, servers: Servers) -> ExitCode {
    let loaded = match load(overrides, servers.http) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    start_logging(&loaded.config.log, &loaded.ignored);
    // After logging starts, so an expiry warning is seen; before anything binds.
    let tls = match validate::tls(&loaded, servers.http, servers.echo) {
        Ok(tls) => tls,
        Err(e) => return bad_config(e),
    };
    let runtime = loaded.config.runtime.clone();
    block_on(
        &runtime,
        serve::run(loaded, overrides.clone(), servers, tls),
    )
}

/// `asynclab config`: print the merged configuration (or each key's origin), or
/// with `--check` only validate it, exactly as `serve` would.
fn config(overrides: &Overrides, check: bool, show_origin: bool) -> ExitCode {
    let loaded = match load(overrides, Servers::ALL.http) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    // `--check` accepts exactly what `serve` accepts: the TLS files too.
    if let Err(e) = validate::tls(&loaded, true, true) {
        return bad_config(e);
    }
    if show_origin {
        print!("{}", loaded.show_origin());
    } else if !check {
        print!("{}{}", loaded.ignored_note(), loaded.config.to_toml());
    }
    ExitCode::SUCCESS
}

/// Loads and checks every section; with `http`, also what only the file system
/// can confirm (see `validate`). Errors are reported before anything binds or logs.
fn load(overrides: &Overrides, http: bool) -> Result<Loaded, ExitCode> {
    load_checked(overrides, http).map_err(bad_config)
}

/// [`load`]'s checks, for `SIGHUP` too (`reload.rs`): a reload accepts exactly
/// what a start accepts, with the same error messages.
pub(crate) fn load_checked(overrides: &Overrides, http: bool) -> Result<Loaded, ConfigError> {
    Config::load(overrides).and_then(|loaded| {
        if http {
            validate::files_root(&loaded)?;
        }
        Ok(loaded)
    })
}

/// `load` and `check` run no server: they read only `[log]`, so a server setting
/// they never use cannot stop them.
fn log_only(overrides: &Overrides) -> Result<(), ExitCode> {
    let (log, ignored) = Config::load_log(overrides).map_err(bad_config)?;
    start_logging(&log, &ignored);
    Ok(())
}

fn bad_config(e: ConfigError) -> ExitCode {
    eprintln!("asynclab: {e}");
    ExitCode::from(EXIT_BAD_CONFIG)
}

/// Installs tracing, then mentions the `ASYNCLAB_*` variables that are not
/// settings (a deployment's own, such as `ASYNCLAB_IMAGE`): not an error, but
/// worth a line when someone is looking for a typo.
fn start_logging(log: &LogConfig, ignored: &[String]) {
    telemetry::init(log);
    for name in ignored {
        tracing::debug!(
            variable = %name,
            "ignored: not a setting (settings are ASYNCLAB_<SECTION>__<KEY>)"
        );
    }
}

/// Runs `work` on the process's runtime (`runtime.rs`) and turns its outcome
/// into the exit code.
fn block_on(
    config: &RuntimeConfig,
    work: impl Future<Output = anyhow::Result<ExitCode>>,
) -> ExitCode {
    let runtime = match runtime::build(config) {
        Ok(rt) => rt,
        // A worker count that is not one (`TOKIO_WORKER_THREADS=many`).
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!("asynclab: {e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
        Err(e) => {
            eprintln!("asynclab: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` prints the whole anyhow context chain on one line.
            eprintln!("asynclab: {e:#}");
            ExitCode::FAILURE
        }
    }
}
