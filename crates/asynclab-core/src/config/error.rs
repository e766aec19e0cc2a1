//! Configuration errors that a user can act on: each names the key, the bad value
//! and where it came from (file and line, environment variable, or flag).

use std::path::PathBuf;

use figment::error::{Actual, Kind};
use figment::{Figment, Metadata, Source};

use super::Invalid;

/// Why the configuration could not be loaded. The binary prints it and exits 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },

    #[error("bad flag `--set {flag}`: expected section.key=value")]
    BadFlag { flag: String },

    #[error("unknown key `{key}` in {origin}{}", did_you_mean(suggestion))]
    Unknown {
        key: String,
        origin: String,
        suggestion: Option<String>,
    },

    #[error("invalid value for `{key}` in {origin}: {value}: {reason}")]
    Invalid {
        key: String,
        value: String,
        origin: String,
        reason: String,
    },

    #[error("invalid value for environment variable {name}: {value:?}: {reason}")]
    Variable {
        name: String,
        value: String,
        reason: String,
    },

    #[error("invalid configuration: {0}")]
    Other(String),
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

impl ConfigError {
    /// Turns figment's first error (a parse or type error) into one of ours.
    pub(super) fn from_figment(err: figment::Error, figment: &Figment) -> Self {
        let err = err
            .into_iter()
            .next()
            .expect("a figment error holds at least one error");
        let path = err.path.join(".");
        let origin_of = |key: &str| match &err.metadata {
            Some(meta) => describe(meta, key),
            None => super::origin(figment, key),
        };
        match &err.kind {
            Kind::UnknownField(field, expected) => {
                // figment's path already ends with the unknown field.
                let parent = path.strip_suffix(field.as_str()).unwrap_or(&path);
                let parent = parent.trim_end_matches('.');
                let key = join(parent, field);
                Self::Unknown {
                    origin: origin_of(&key),
                    suggestion: closest(field, expected).map(|s| join(parent, &s)),
                    key,
                }
            }
            Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
                Self::Invalid {
                    origin: origin_of(&path),
                    value: written(actual),
                    reason: format!("expected {}", in_words(expected)),
                    key: path,
                }
            }
            Kind::UnknownVariant(actual, expected) => Self::Invalid {
                origin: origin_of(&path),
                value: format!("`{actual}`"),
                reason: format!("expected one of {}", expected.join(", ")),
                key: path,
            },
            Kind::Message(msg) if !path.is_empty() => Self::Invalid {
                origin: origin_of(&path),
                value: value_at(figment, &path),
                reason: msg.clone(),
                key: path,
            },
            _ => Self::Other(err.to_string()),
        }
    }

    /// An out-of-range value found by a section's `check`. A rule between two
    /// keys is reported against the one the user set (when only one of them
    /// was), with the other's value and origin: `--set http.idle_timeout=2s`
    /// is told it must be longer than `http.demo.heartbeat`, not the reverse.
    pub(super) fn from_invalid(mut bad: Invalid, figment: &Figment) -> Self {
        let origin = |key: &str| super::origin(figment, key);
        let mut other = bad.other.take().map(|other| *other);
        if let Some(side) =
            other.take_if(|o| origin(bad.key) == BUILTIN && origin(o.key) != BUILTIN)
        {
            other = Some(std::mem::replace(&mut bad, side));
        }
        let reason = match other {
            Some(o) => format!(
                "{} (`{}` is {}, from {})",
                bad.reason,
                o.key,
                o.value,
                origin(o.key)
            ),
            None => bad.reason,
        };
        Self::Invalid {
            key: bad.key.to_string(),
            value: bad.value,
            origin: origin(bad.key),
            reason,
        }
    }
}

/// How the built-in layer is named in messages.
pub(super) const BUILTIN: &str = "built-in defaults";

/// Describes a layer: `config/x.toml line 12`, `built-in defaults`, or the layer's
/// own name (`environment variable ASYNCLAB_X__Y`, `--set x.y=1`).
pub(super) fn describe(meta: &Metadata, key: &str) -> String {
    match &meta.source {
        Some(Source::File(path)) => match line_of(path, key) {
            Some(line) => format!("{} line {line}", path.display()),
            None => path.display().to_string(),
        },
        _ if meta.name.starts_with("TOML source string") => BUILTIN.into(),
        _ => meta.name.to_string(),
    }
}

/// The line of `key` (dotted) in the TOML file at `path`, if it can be found.
fn line_of(path: &std::path::Path, key: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc = toml_edit::Document::parse(text.as_str()).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let (k, item) = table.get_key_value(part)?;
        if parts.peek().is_none() {
            let start = k.span()?.start;
            return Some(text[..start].matches('\n').count() + 1);
        }
        table = item.as_table_like()?;
    }
    None
}

/// The value at `key` as TOML would print it, for messages.
fn value_at(figment: &Figment, key: &str) -> String {
    figment
        .find_value(key)
        .ok()
        .and_then(|v| toml::Value::try_from(v).ok())
        .map(|v| v.to_string())
        .unwrap_or_else(|| "?".into())
}

/// The value as it was written (`5`, `"ten"`), not as serde names its type
/// (`unsigned int \`5\``, `string "ten"`).
fn written(actual: &Actual) -> String {
    match actual {
        Actual::Bool(v) => v.to_string(),
        Actual::Unsigned(v) => v.to_string(),
        Actual::Signed(v) => v.to_string(),
        Actual::Float(v) => v.to_string(),
        Actual::Char(v) => format!("{:?}", v.to_string()),
        Actual::Str(v) => format!("{v:?}"),
        other => other.to_string(),
    }
}

/// What to write instead, in words rather than Rust's type names (`u32`).
fn in_words(expected: &str) -> String {
    let upto = |max: u64| format!("a whole number from 0 to {max}");
    match expected {
        "u8" => upto(u8::MAX.into()),
        "u16" => upto(u16::MAX.into()),
        "u32" => upto(u32::MAX.into()),
        "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        other => other.into(),
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// The expected key closest to what was typed, when it is close enough to be a typo.
fn closest(typed: &str, expected: &[&str]) -> Option<String> {
    expected
        .iter()
        .map(|e| (strsim::damerau_levenshtein(typed, e), e))
        .filter(|(d, e)| *d <= (e.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e.to_string())
}
