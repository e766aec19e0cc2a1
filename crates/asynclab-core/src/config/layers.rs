//! Reading the layers, in order: the built-in defaults, then a config file (by
//! path, for file-and-line messages), then one layer per environment variable or
//! command-line flag (by name, so an error can say exactly which variable or flag
//! to fix). Each is a figment `Provider` that remembers where it came from.

use std::path::PathBuf;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::{CONFIG_ENV, ConfigError, ENV_PREFIX, Overrides, RUST_LOG, builtin_layer, error, log};

/// Every layer merged, before anything is extracted from it.
pub(super) struct Layers {
    pub figment: Figment,
    /// For the startup log line: `built-in defaults + my.toml + ...`.
    pub sources: Vec<String>,
    /// `ASYNCLAB_*` variables that are not `ASYNCLAB_<SECTION>__<KEY>`.
    pub ignored: Vec<String>,
}

impl Layers {
    pub fn read(overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(builtin_layer());
        let mut sources = vec![error::BUILTIN.to_string()];
        let mut ignored = Vec::new();

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
            check_rust_log()?;
            // One layer per variable, named after it, so an error can say exactly
            // which variable to fix. (figment's own `Env` provider would also trim
            // the value, losing the trailing space of a prefix like `"Echo: "`.)
            let (vars, others) = env_settings();
            for (name, key, value) in &vars {
                figment = figment.merge(Flag::new(
                    format!("environment variable {name}"),
                    key,
                    value,
                ));
            }
            if !vars.is_empty() {
                sources.push(format!("{} {ENV_PREFIX}* variable(s)", vars.len()));
            }
            ignored = others;
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
        let log_flags = [
            ("--log-level", "log.level", &overrides.log_level),
            ("--log-format", "log.format", &overrides.log_format),
        ];
        for (flag, key, value) in log_flags {
            if let Some(value) = value {
                figment = figment.merge(Flag::new(format!("{flag} {value}"), key, value));
                flags += 1;
            }
        }
        if flags > 0 {
            sources.push(format!("{flags} flag(s)"));
        }
        Ok(Self {
            figment,
            sources,
            ignored,
        })
    }
}

/// `RUST_LOG` wins over `log.level` (see `telemetry`), so it is checked as
/// strictly: `RUST_LOG=verbose` would otherwise turn every log line off.
fn check_rust_log() -> Result<(), ConfigError> {
    match std::env::var(RUST_LOG) {
        Ok(spec) if !spec.trim().is_empty() => {
            log::check_filter(&spec).map_err(|reason| ConfigError::Variable {
                name: RUST_LOG.into(),
                value: spec,
                reason,
            })
        }
        _ => Ok(()),
    }
}

/// A config file, read up front, that remembers its path for error messages.
pub(super) struct FileLayer {
    pub path: PathBuf,
    pub text: String,
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
pub(super) struct Flag {
    name: String,
    data: Dict,
}

impl Flag {
    pub fn new(name: String, key: &str, value: &str) -> Self {
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

/// The process's `ASYNCLAB_*` variables, sorted, split into settings
/// (`ASYNCLAB_<SECTION>__<KEY>`, as `(variable, dotted key, value)`) and the
/// names of the others, which are not configuration and are ignored.
///
/// Only the double underscore makes a setting: deployments put their own
/// `ASYNCLAB_*` names beside ours (`deploy/compose.yaml` reads
/// `ASYNCLAB_HTTP_PORT` and `ASYNCLAB_IMAGE`), and those must not stop the
/// process. `ASYNCLAB_CONFIG` names the config file (clap reads it as `--config`).
pub(super) fn env_settings() -> (Vec<(String, String, String)>, Vec<String>) {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX) && name != CONFIG_ENV)
        .collect();
    vars.sort();
    let mut settings = Vec::new();
    let mut others = Vec::new();
    for (name, value) in vars {
        let rest = &name[ENV_PREFIX.len()..];
        if rest.contains("__") {
            let key = rest
                .split("__")
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(".");
            settings.push((name, key, value));
        } else {
            others.push(name);
        }
    }
    (settings, others)
}
