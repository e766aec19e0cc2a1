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
mod runtime;
mod serve;

use std::process::ExitCode;

use asynclab_core::{Config, Overrides, telemetry};
use clap::Parser;

use crate::cli::{Cli, Command};

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
    // Configuration errors are reported before anything binds or logs.
    let loaded = match Config::load(&overrides) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("asynclab: {e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };

    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Config { check } = command {
        if !check {
            print!("{}", loaded.config.to_toml());
        }
        return ExitCode::SUCCESS;
    }

    telemetry::init(&loaded.config.log);
    // The load generator builds its own runtime: its thread count is a flag.
    if let Command::Load(args) = command {
        return asynclab_load::command::main(*args);
    }
    let runtime = match runtime::build(&loaded.config.runtime) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("asynclab: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => serve::run(loaded, serve::Servers::ALL).await,
            Command::Echo => serve::run(loaded, serve::Servers::ECHO).await,
            Command::Http => serve::run(loaded, serve::Servers::HTTP).await,
            Command::Check { target, timeout } => check::run(&target, timeout).await,
            Command::Config { .. } | Command::Load(_) => {
                unreachable!("handled before the runtime starts")
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` prints the whole anyhow context chain on one line.
            eprintln!("asynclab: {e:#}");
            ExitCode::FAILURE
        }
    }
}
