//! The layers above the built-in defaults, each a figment `Provider` that
//! remembers where it came from: a config file (by path, for file-and-line
//! messages), and one layer per environment variable or command-line flag (by
//! name, so an error can say exactly which variable or flag to fix).

use std::path::PathBuf;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::{CONFIG_ENV, ENV_PREFIX};

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
