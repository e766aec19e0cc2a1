//! One typed configuration for the whole process, loaded in layers.
//!
//! Later layers win:
//!
//! 1. built-in defaults: `config/default.toml`, compiled into the binary, so
//!    `asynclab` runs from any directory with no file present;
//! 2. a config file: `--config FILE` or `ASYNCLAB_CONFIG`;
//! 3. environment variables `ASYNCLAB_<SECTION>__<KEY>` (`ASYNCLAB_HTTP__SLOW__DELAY=1s`);
//! 4. command-line flags: `--set section.key=value`, `--log-level`, `--log-format`.
//!
//! [figment] does the merging and remembers which layer every value came from, so a
//! bad value is reported with its key, the value and its origin (file and line, the
//! environment variable, or the flag). Each section is a plain struct in its own file;
//! `deny_unknown_fields` turns a typo into an error instead of a silently ignored key.

mod control;
mod dashboard;
mod demo;
mod diff;
mod echo;
mod error;
mod faults;
mod files;
mod http;
mod httpbin;
mod layers;
mod log;
mod runtime;
mod show;
mod shutdown;
mod tls;
pub mod units;
mod ws;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::{Deserialize, Serialize};

use layers::Layers;

pub use control::ControlConfig;
pub use dashboard::DashboardConfig;
pub use demo::DemoConfig;
pub use echo::{EchoConfig, EchoMode};
pub use error::ConfigError;
pub use faults::{FaultsConfig, Jitter};
pub use files::FilesConfig;
pub use http::{HttpConfig, LimitedConfig, SlowConfig};
pub use httpbin::HttpbinConfig;
pub use log::{LogConfig, LogFormat, check_filter};
pub use runtime::{RuntimeConfig, TOKIO_WORKER_THREADS};
pub use shutdown::ShutdownConfig;
pub use tls::{ClientAuth, TlsConfig};
pub use units::Size;
pub use ws::WsConfig;

/// The built-in defaults: the same file users read to learn every setting.
const DEFAULTS: &str = include_str!("../../../../config/default.toml");

/// Environment variables with this prefix set configuration keys.
pub const ENV_PREFIX: &str = "ASYNCLAB_";

/// The environment variable naming the config file (like `--config`).
pub const CONFIG_ENV: &str = "ASYNCLAB_CONFIG";

/// The environment variable that, when set, replaces `log.level` (see `telemetry`).
pub const RUST_LOG: &str = "RUST_LOG";

/// The whole configuration: one struct per section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    pub runtime: RuntimeConfig,
    pub echo: EchoConfig,
    pub http: HttpConfig,
    pub files: FilesConfig,
    pub control: ControlConfig,
    pub tls: TlsConfig,
}

/// What the command line adds on top of the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE` (or `ASYNCLAB_CONFIG`, which clap folds into the same flag).
    pub file: Option<PathBuf>,
    /// `--set section.key=value`, in the order given.
    pub set: Vec<String>,
    /// `--log-level LEVEL`.
    pub log_level: Option<String>,
    /// `--log-format auto|pretty|json`.
    pub log_format: Option<String>,
    /// Read `ASYNCLAB_*` environment variables (tests turn this off).
    pub skip_env: bool,
}

/// A loaded configuration and a short description of the layers it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// For the startup log line: `built-in defaults + config/container.toml + ...`.
    pub sources: String,
    /// The config file, if one was read (relative paths in it resolve against its folder).
    pub file: Option<PathBuf>,
    /// `ASYNCLAB_*` variables that are not settings (no `__`): ignored, and
    /// mentioned by `asynclab config` and in a debug log line.
    pub ignored: Vec<String>,
    /// Every layer, kept to answer "where did this value come from?".
    figment: Figment,
}

impl Loaded {
    /// The built-in defaults alone, as if no file, variable or flag were given.
    pub fn builtin() -> Self {
        Self {
            config: Config::builtin(),
            sources: error::BUILTIN.into(),
            file: None,
            ignored: Vec::new(),
            figment: Figment::from(builtin_layer()),
        }
    }

    /// A configuration built in code (tests, embedding). Origins are not tracked:
    /// every key reports the built-in defaults as its origin.
    pub fn from_config(config: Config) -> Self {
        Self {
            config,
            ..Self::builtin()
        }
    }

    /// Where the value of `key` (dotted) came from: `built-in defaults`, a file
    /// and line, an environment variable or a flag.
    pub fn origin(&self, key: &str) -> String {
        origin(&self.figment, key)
    }

    /// True when nobody set `key`: its value is the built-in default.
    pub fn is_default(&self, key: &str) -> bool {
        self.origin(key) == error::BUILTIN
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Config {
    /// The built-in defaults alone.
    pub fn builtin() -> Self {
        Figment::from(builtin_layer())
            .extract()
            .expect("the built-in defaults are valid (checked by a unit test)")
    }

    /// Loads every layer, validates the result, and says where it came from.
    pub fn load(overrides: &Overrides) -> Result<Loaded, ConfigError> {
        let Layers {
            figment,
            sources,
            ignored,
        } = Layers::read(overrides)?;
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::from_figment(e, &figment))?;
        config
            .check()
            .map_err(|bad| ConfigError::from_invalid(bad, &figment))?;
        Ok(Loaded {
            config,
            sources: sources.join(" + "),
            file: overrides.file.clone(),
            ignored,
            figment,
        })
    }

    /// Loads the same layers but reads and checks only `[log]`: for the
    /// subcommands that run no server (`load`, `check`), which must not fail on
    /// a server setting they never use.
    /// Returns the section and the ignored `ASYNCLAB_*` variables (see [`Loaded::ignored`]).
    pub fn load_log(overrides: &Overrides) -> Result<(LogConfig, Vec<String>), ConfigError> {
        let Layers {
            figment, ignored, ..
        } = Layers::read(overrides)?;
        let log: LogConfig = figment
            .extract_inner("log")
            .map_err(|e| ConfigError::from_figment(e, &figment))?;
        log.check()
            .map_err(|bad| ConfigError::from_invalid(bad, &figment))?;
        Ok((log, ignored))
    }

    /// The configuration as TOML, in the same form the files use.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("every config value has a TOML form")
    }

    fn check(&self) -> Check {
        self.log.check()?;
        self.shutdown.check()?;
        self.runtime.check()?;
        self.echo.check()?;
        self.http.check()?;
        self.files.check()?;
        self.control.check()?;
        self.tls.check()
    }
}

/// A value that parsed but is out of range, before we know where it came from.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub key: &'static str,
    pub value: String,
    pub reason: String,
    /// For a rule between two keys (`heartbeat` below `idle_timeout`), the same
    /// rule seen from the other key, so the error can blame whichever of the two
    /// the user set rather than a default they never touched.
    pub other: Option<Box<Invalid>>,
}

impl Invalid {
    /// This rule, as `other` states it from the other key's side.
    pub(crate) fn or_from(mut self, other: Invalid) -> Self {
        self.other = Some(Box::new(other));
        self
    }
}

pub(crate) type Check = Result<(), Invalid>;

pub(crate) fn invalid(key: &'static str, value: impl ToString, reason: impl ToString) -> Invalid {
    Invalid {
        key,
        value: value.to_string(),
        reason: reason.to_string(),
        other: None,
    }
}

/// The rule "`short` is shorter than `long`" (or no longer, with `or_equal`)
/// between two durations, stated from both sides and saying what to change.
/// `why` ends the reason (`" (a silent stream is closed as idle)"`).
pub(crate) fn shorter(
    short: (&'static str, std::time::Duration),
    long: (&'static str, std::time::Duration),
    or_equal: bool,
    why: &str,
) -> Check {
    let fine = if or_equal {
        short.1 <= long.1
    } else {
        short.1 < long.1
    };
    if fine {
        return Ok(());
    }
    let (below, above) = match or_equal {
        true => ("no longer than", "at least as long as"),
        false => ("shorter than", "longer than"),
    };
    let (s, l) = (short.0, long.0);
    let short_side = invalid(
        s,
        units::duration::show(short.1),
        format!("must be {below} `{l}`{why}: lower it, or raise `{l}`"),
    );
    let long_side = invalid(
        l,
        units::duration::show(long.1),
        format!("must be {above} `{s}`{why}: raise it, or lower `{s}`"),
    );
    Err(short_side.or_from(long_side))
}

pub(crate) fn at_least<T: PartialOrd + std::fmt::Display>(
    key: &'static str,
    v: T,
    min: T,
) -> Check {
    if v < min {
        Err(invalid(key, &v, format!("must be at least {min}")))
    } else {
        Ok(())
    }
}

pub(crate) fn nonzero(key: &'static str, d: std::time::Duration) -> Check {
    if d.is_zero() {
        Err(invalid(
            key,
            units::duration::show(d),
            "must be longer than zero",
        ))
    } else {
        Ok(())
    }
}

fn builtin_layer() -> figment::providers::Data<Toml> {
    Toml::string(DEFAULTS)
}

/// Where a value in `figment` came from, for error messages.
fn origin(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key) {
        Some(meta) => error::describe(meta, key),
        None => "unknown source".into(),
    }
}

/// The folder relative paths in the config resolve against.
pub fn base_dir(loaded: &Loaded) -> PathBuf {
    loaded
        .file
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests;
