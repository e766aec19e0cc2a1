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

mod demo;
mod echo;
mod error;
mod files;
mod http;
mod log;
mod runtime;
mod shutdown;
pub mod units;

use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

pub use demo::DemoConfig;
pub use echo::{EchoConfig, EchoMode};
pub use error::ConfigError;
pub use files::FilesConfig;
pub use http::{HttpConfig, LimitedConfig, SlowConfig};
pub use log::{LogConfig, LogFormat};
pub use runtime::{RuntimeConfig, TOKIO_WORKER_THREADS};
pub use shutdown::ShutdownConfig;
pub use units::Size;

/// The built-in defaults: the same file users read to learn every setting.
const DEFAULTS: &str = include_str!("../../../../config/default.toml");

/// Environment variables with this prefix set configuration keys.
pub const ENV_PREFIX: &str = "ASYNCLAB_";

/// The environment variable naming the config file (like `--config`).
pub const CONFIG_ENV: &str = "ASYNCLAB_CONFIG";

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
    /// Every layer, kept to answer "where did this value come from?".
    figment: Figment,
}

impl Loaded {
    /// The built-in defaults alone, as if no file, variable or flag were given.
    pub fn builtin() -> Self {
        Self {
            config: Config::builtin(),
            sources: "built-in defaults".into(),
            file: None,
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
        let mut figment = Figment::from(builtin_layer());
        let mut sources = vec!["built-in defaults".to_string()];

        if let Some(path) = &overrides.file {
            // Read the file ourselves so an unreadable file is an error, not an
            // empty layer (figment silently skips missing files).
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            figment = figment.merge(FileLayer {
                path: path.clone(),
                text,
            });
            sources.push(path.display().to_string());
        }

        if !overrides.skip_env {
            // One layer per variable, named after it, so an error can say exactly
            // which variable to fix. (figment's own `Env` provider would also trim
            // the value, losing the trailing space of a prefix like `"Echo: "`.)
            let mut vars: Vec<(String, String)> = std::env::vars()
                .filter(|(name, _)| name.starts_with(ENV_PREFIX) && name != CONFIG_ENV)
                .collect();
            vars.sort();
            for (name, value) in &vars {
                let key = name[ENV_PREFIX.len()..]
                    .split("__")
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
                    .join(".");
                figment = figment.merge(Flag::new(
                    format!("environment variable {name}"),
                    &key,
                    value,
                ));
            }
            if !vars.is_empty() {
                sources.push(format!("{} {ENV_PREFIX}* variable(s)", vars.len()));
            }
        }

        let mut flags = 0;
        for raw in &overrides.set {
            let (key, value) = raw
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| ConfigError::BadFlag { flag: raw.clone() })?;
            figment = figment.merge(Flag::new(format!("--set {raw}"), key.trim(), value));
            flags += 1;
        }
        if let Some(level) = &overrides.log_level {
            figment = figment.merge(Flag::new(
                format!("--log-level {level}"),
                "log.level",
                level,
            ));
            flags += 1;
        }
        if let Some(format) = &overrides.log_format {
            figment = figment.merge(Flag::new(
                format!("--log-format {format}"),
                "log.format",
                format,
            ));
            flags += 1;
        }
        if flags > 0 {
            sources.push(format!("{flags} flag(s)"));
        }

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
            figment,
        })
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
        self.files.check()
    }
}

/// A value that parsed but is out of range, before we know where it came from.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub key: &'static str,
    pub value: String,
    pub reason: String,
}

pub(crate) type Check = Result<(), Invalid>;

pub(crate) fn invalid(key: &'static str, value: impl ToString, reason: impl ToString) -> Invalid {
    Invalid {
        key,
        value: value.to_string(),
        reason: reason.to_string(),
    }
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

/// A config file, read up front, that remembers its path for error messages.
struct FileLayer {
    path: PathBuf,
    text: String,
}

impl Provider for FileLayer {
    fn metadata(&self) -> Metadata {
        Metadata::from("config file", figment::Source::File(self.path.clone()))
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        Toml::string(&self.text).data().map_err(|e| {
            // A TOML syntax error: say which file.
            let mut err = figment::Error::from(format!("{}: {}", self.path.display(), e));
            err.metadata = Some(self.metadata());
            err
        })
    }
}

/// One setting from the command line (`--set key=value`, `--log-level`) or the
/// environment (`ASYNCLAB_SECTION__KEY`), as a layer of its own so an error can
/// name the exact flag or variable.
struct Flag {
    name: String,
    data: Dict,
}

impl Flag {
    fn new(name: String, key: &str, value: &str) -> Self {
        // figment parses `10`, `true` and `[1, 2]` as typed values and anything
        // else as a string, the same way it parses environment variables.
        // A string keeps its exact spelling (figment would trim the spaces).
        let value = match value.parse::<Value>() {
            Ok(Value::String(..)) | Err(_) => Value::from(value.to_string()),
            Ok(typed) => typed,
        };
        let data = figment::util::nest(key, value)
            .into_dict()
            .expect("nest always builds a dictionary");
        Self { name, data }
    }
}

impl Provider for Flag {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        Ok(Profile::Default.collect(self.data.clone()))
    }
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
