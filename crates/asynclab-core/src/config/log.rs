//! `[log]`: how the process logs. See `telemetry` for how it is applied.
//!
//! A log filter is checked more strictly than `tracing_subscriber::EnvFilter`
//! parses it: `EnvFilter` reads a word it does not know as a *target* name, so
//! `warning` or `verbose` would be accepted and silently turn every log line off.
//! Here each directive must be a level or `target=level`.

use serde::{Deserialize, Serialize};

use super::{Check, invalid};

/// The `[log]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A level (`info`) or a full filter (`info,asynclab_http=debug`). `RUST_LOG` wins.
    pub level: String,
    /// `auto` (pretty on a terminal, JSON lines otherwise), `pretty` or `json`.
    pub format: LogFormat,
    /// Log every HTTP request at info (by default only errors are, successes at debug).
    pub access: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Pretty when stderr is a terminal, JSON lines otherwise.
    Auto,
    /// Human-readable, coloured on a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogConfig {
    pub(super) fn check(&self) -> Check {
        check_filter(&self.level).map_err(|reason| invalid("log.level", &self.level, reason))
    }
}

/// The levels, as `tracing` spells them.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Words people type for a level that `tracing` spells differently.
const ALIASES: [(&str, &str); 10] = [
    ("warning", "warn"),
    ("verbose", "debug"),
    ("information", "info"),
    ("err", "error"),
    ("fatal", "error"),
    ("critical", "error"),
    ("all", "trace"),
    ("none", "off"),
    ("quiet", "off"),
    ("silent", "off"),
];

/// Checks a log filter (`info`, `warn,asynclab_http=debug`, a `RUST_LOG` value):
/// every directive is a level or `target=level`, and `EnvFilter` parses the whole.
/// The error says what is wrong and, for a near miss, which level was meant.
pub fn check_filter(spec: &str) -> Result<(), String> {
    const HOW: &str = "use trace, debug, info, warn, error or off, \
                       or target=level as in info,asynclab_http=debug";
    if spec.trim().is_empty() {
        return Err(format!("names no level: {HOW}"));
    }
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = match directive.rsplit_once('=') {
            Some((target, level)) if !target.is_empty() && !level.contains([']', '}']) => level,
            Some(_) => return Err(format!("`{directive}` names no level: {HOW}")),
            None => directive,
        };
        if level
            .parse::<tracing_subscriber::filter::LevelFilter>()
            .is_err()
            || level.is_empty()
        {
            let meant = match suggest(level) {
                Some(level) => format!(" (did you mean `{level}`?)"),
                None => String::new(),
            };
            return Err(format!("`{level}` is not a log level{meant}: {HOW}"));
        }
    }
    tracing_subscriber::EnvFilter::try_new(spec)
        .map(drop)
        .map_err(|e| format!("not a log filter: {e}"))
}

/// The level a mistyped word most likely meant.
fn suggest(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    if let Some((_, level)) = ALIASES.iter().find(|(alias, _)| *alias == word) {
        return Some(level);
    }
    LEVELS
        .iter()
        .map(|level| (strsim::damerau_levenshtein(&word, level), *level))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, level)| level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_target_filters_pass() {
        for spec in [
            "info",
            "DEBUG",
            "warn,asynclab_http=debug",
            "asynclab_load=trace",
            "off",
            "3",
        ] {
            assert_eq!(check_filter(spec), Ok(()), "{spec}");
        }
    }

    #[test]
    fn words_envfilter_would_read_as_targets_are_refused_with_a_suggestion() {
        let cases = [
            ("warning", "did you mean `warn`?"),
            ("verbose", "did you mean `debug`?"),
            ("log.level", "not a log level"),
            ("info,asynclab_http=loud", "`loud` is not a log level"),
            ("asynclab_http", "not a log level"),
            ("infp", "did you mean `info`?"),
            ("", "names no level"),
            ("=debug", "names no level"),
        ];
        for (spec, why) in cases {
            let err = check_filter(spec).expect_err(spec);
            assert!(err.contains(why), "{spec}: {err}");
        }
    }
}
