//! `[http.faults]`: faults the HTTP server injects on purpose (off by default).
//! See `asynclab-http`'s `layers/faults.rs`, which applies them, and the
//! control API, which changes them while the server runs.
//!
//! The lists use the weighted syntax of fortio's echo server
//! (`crate::weighted`): `errors = "503:5,429:1"` answers 503 to 5% of the
//! requests and 429 to 1%; `delays = "150ms:10,2s:1"` adds 150 ms to 10% of
//! them and 2 s to 1%.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::units::duration;
use super::{Check, invalid};
use crate::weighted::Weighted;

/// The `[http.faults]` section. Every field empty or zero: no fault at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
// `default`: a partial section (tests, the control API) leaves the rest off.
#[serde(deny_unknown_fields, default)]
pub struct FaultsConfig {
    /// Status codes answered instead of the route's, with percentages (`503:5,429:1`).
    pub errors: Weighted<u16>,
    /// Delays added before the route runs, with percentages (`150ms:10,2s:1`).
    pub delays: Weighted<Duration>,
    /// A random delay added to every request: `uniform:50ms` (0 to 50 ms) or
    /// `lognormal:20ms` (median 20 ms, a long tail); `""` for none.
    pub jitter: Jitter,
    /// Percent of requests whose connection is closed without an answer.
    pub abort: f64,
}

/// A random delay for every request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Jitter {
    #[default]
    None,
    /// Uniform between zero and this.
    Uniform(Duration),
    /// Log-normal with this median and a shape (sigma) of 1: most requests
    /// close to the median, a few far above it (capped by `http.slow.max_delay`).
    LogNormal(Duration),
}

impl FaultsConfig {
    /// True when no fault is ever injected.
    pub fn is_off(&self) -> bool {
        self.errors.is_empty()
            && self.delays.is_empty()
            && self.jitter == Jitter::None
            && self.abort == 0.0
    }

    /// [`FaultsConfig::check`] for settings that come from elsewhere than the
    /// configuration (the control API): the message names the key.
    pub fn validate(&self, max_delay: Duration) -> Result<(), String> {
        self.check(max_delay)
            .map_err(|bad| format!("{}={}: {}", bad.key, bad.value, bad.reason))
    }

    /// `max_delay` is `http.slow.max_delay`: no injected delay may be longer.
    pub(super) fn check(&self, max_delay: Duration) -> Check {
        let longest = self.delays.max_by_key(|d| *d).copied().unwrap_or_default();
        if longest > max_delay {
            return Err(invalid(
                "http.faults.delays",
                &self.delays,
                format!(
                    "holds {}, longer than http.slow.max_delay ({})",
                    duration::show(longest),
                    duration::show(max_delay)
                ),
            ));
        }
        let scale = match self.jitter {
            Jitter::None => Duration::ZERO,
            Jitter::Uniform(d) | Jitter::LogNormal(d) => d,
        };
        if scale > max_delay {
            return Err(invalid(
                "http.faults.jitter",
                self.jitter,
                "is longer than http.slow.max_delay",
            ));
        }
        if !(0.0..=100.0).contains(&self.abort) {
            return Err(invalid(
                "http.faults.abort",
                self.abort,
                "must be a percent, 0 to 100",
            ));
        }
        Ok(())
    }
}

impl FromStr for Jitter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        const HOW: &str = "use uniform:50ms, lognormal:20ms or \"\" for none";
        let text = text.trim();
        if text.is_empty() || text == "none" {
            return Ok(Self::None);
        }
        match text.split_once(':') {
            Some(("uniform", d)) => Ok(Self::Uniform(duration::parse(d)?)),
            Some(("lognormal", d)) => Ok(Self::LogNormal(duration::parse(d)?)),
            _ => Err(format!("`{text}` is not a jitter: {HOW}")),
        }
    }
}

impl fmt::Display for Jitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => Ok(()),
            Self::Uniform(d) => write!(f, "uniform:{}", duration::show(*d)),
            Self::LogNormal(d) => write!(f, "lognormal:{}", duration::show(*d)),
        }
    }
}

impl Serialize for Jitter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Jitter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_parses_and_prints_in_the_same_form() {
        for text in ["", "uniform:50ms", "lognormal:20ms"] {
            let jitter: Jitter = text.parse().expect(text);
            assert_eq!(jitter.to_string(), text);
        }
        assert!("gaussian:5ms".parse::<Jitter>().is_err());
        assert!("uniform:soon".parse::<Jitter>().is_err());
    }

    #[test]
    fn delays_longer_than_the_cap_are_refused() {
        let faults = FaultsConfig {
            delays: "40s:1".parse().expect("valid list"),
            ..FaultsConfig::default()
        };
        let bad = faults.check(Duration::from_secs(30)).expect_err("over cap");
        assert_eq!(bad.key, "http.faults.delays");
        assert!(FaultsConfig::default().is_off());
        // A 1xx is refused when read (`weighted::final_status`): it cannot end
        // an exchange.
        let err = "101:5".parse::<Weighted<u16>>().expect_err("1xx");
        assert!(err.to_string().contains("1xx"), "{err}");
        assert!(!faults.is_off());
    }
}
