//! Weighted choices written as text: `503:5,429:1`, `150ms:10,2s:1`, `200:90,503:10`.
//!
//! One parser for every place a client or an operator writes "this value, this
//! often": `/echo?status=&delay=&size=` (fortio's syntax, percentages with a
//! default for the rest), `/status/{codes}` (httpbin's syntax, relative weights),
//! and any server-wide fault setting that wants the same text. Nothing async here:
//! it is the "validate before you start waiting" step, and choosing is a plain
//! function of a random number the caller supplies, so tests pass fixed numbers (or
//! a seeded generator) and the choice is reproducible.
//!
//! Two readings of the same text:
//! - [`Weighted::percent`] (fortio): each weight is a percentage of requests; they
//!   may add up to at most 100, and the rest get the caller's default. A bare value
//!   (`delay=250ms`) means 100%.
//! - [`Weighted::relative`] (httpbin): weights are shares of their sum; a bare value
//!   weighs 1, so `/status/200,503` is a fair coin. Something is always chosen.
//!
//! In configuration (`[http.faults]`, the control API) a list is a string in the
//! percent reading: a value type that knows how to read and write itself
//! ([`Choice`]) gets `FromStr`, `Display` and serde for free, the empty string
//! meaning "never" ([`Weighted::default`]).

use std::fmt::{self, Display};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::config::units::duration;

/// A list that could not be read; the message is meant for the client (the
/// caller adds which parameter or key it came from).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeightError(pub String);

/// The most entries one list may have: a list is typed by a person, and a bound
/// keeps a long query string from becoming a long scan per request.
pub const MAX_CHOICES: usize = 32;

/// Values with the share of requests each gets (each share in `0.0..=1.0`).
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted<T> {
    choices: Vec<(T, f64)>,
    /// A relative list always chooses (its shares add up to 1).
    always: bool,
}

impl<T> Weighted<T> {
    /// fortio's reading: `value:percent,...`, percentages adding up to at most 100;
    /// a lone bare value is 100%. `value` parses one value (its error is shown as is).
    pub fn percent<E: Display>(
        text: &str,
        value: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Self, WeightError> {
        let entries = split(text, value, 100.0)?;
        let mut choices = Vec::with_capacity(entries.len());
        let mut total = 0.0;
        for (v, weight) in entries {
            let percent = weight.unwrap_or(100.0);
            total += percent;
            choices.push((v, percent / 100.0));
        }
        // A little slack for decimal fractions such as 33.3+33.3+33.4.
        if total > 100.0 + 1e-9 {
            return Err(WeightError(format!(
                "the percentages add up to {total}%, more than 100%"
            )));
        }
        Ok(Self {
            choices,
            always: false,
        })
    }

    /// httpbin's reading: `value:weight,...`, each share its weight over the sum; a
    /// bare value weighs 1. The weights must not all be zero.
    pub fn relative<E: Display>(
        text: &str,
        value: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Self, WeightError> {
        let entries = split(text, value, f64::MAX)?;
        let total: f64 = entries.iter().map(|(_, w)| w.unwrap_or(1.0)).sum();
        if total <= 0.0 || !total.is_finite() {
            return Err(WeightError(
                "the weights add up to zero: nothing can be chosen".into(),
            ));
        }
        let choices = entries
            .into_iter()
            .map(|(v, w)| (v, w.unwrap_or(1.0) / total))
            .collect();
        Ok(Self {
            choices,
            always: true,
        })
    }

    /// The value for `roll`, a uniform random number in `0.0..1.0`: the first
    /// whose cumulative share passes it. `None` when the roll falls past every
    /// share (a percent list adding up to less than 100%): the caller's default.
    pub fn pick(&self, roll: f64) -> Option<&T> {
        let mut cumulative = 0.0;
        for (value, share) in &self.choices {
            cumulative += share;
            if roll < cumulative {
                return Some(value);
            }
        }
        // Rounding can leave a relative list's shares a hair under 1.
        match self.always {
            true => self.choices.last().map(|(value, _)| value),
            false => None,
        }
    }

    /// The values and their shares, in the order written.
    pub fn choices(&self) -> &[(T, f64)] {
        &self.choices
    }

    /// True when every request gets one value (`delay=250ms`, `status=503:100`).
    pub fn is_certain(&self) -> bool {
        self.choices.len() == 1 && self.choices[0].1 >= 1.0
    }

    /// The largest value, for checking a list against a cap at parse time.
    pub fn max_by_key<K: Ord>(&self, key: impl Fn(&T) -> K) -> Option<&T> {
        self.choices.iter().map(|(v, _)| v).max_by_key(|v| key(v))
    }

    /// True when nothing is ever picked (the empty list, or every share zero).
    pub fn is_empty(&self) -> bool {
        !self.always && self.choices.iter().all(|(_, share)| *share == 0.0)
    }
}

/// The empty percent list: nothing is ever picked (a fault that is off).
impl<T> Default for Weighted<T> {
    fn default() -> Self {
        Self {
            choices: Vec::new(),
            always: false,
        }
    }
}

/// A status code a route or an injected fault may answer with: 200 to 599 (a 1xx
/// is not a final answer, hyper would not end the exchange with it).
pub fn final_status(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(n) if (200..=599).contains(&n) => Ok(n),
        Ok(n) if (100..200).contains(&n) => Err(format!(
            "`{text}` is informational: a 1xx cannot be a final answer"
        )),
        _ => Err(format!("`{text}` is not a status code (200 to 599)")),
    }
}

/// A value a weighted list in configuration can hold: it reads and writes itself,
/// so the list can be a string in a TOML file or a control API request.
pub trait Choice: Sized {
    /// Reads one value (`503`, `150ms`); the error says what is expected.
    fn parse(text: &str) -> Result<Self, String>;
    /// Writes it back in the form [`Choice::parse`] reads.
    fn show(&self) -> String;
}

/// A final HTTP status code ([`final_status`]).
impl Choice for u16 {
    fn parse(text: &str) -> Result<Self, String> {
        final_status(text)
    }

    fn show(&self) -> String {
        self.to_string()
    }
}

/// A duration (`250ms`, `2s`).
impl Choice for Duration {
    fn parse(text: &str) -> Result<Self, String> {
        duration::parse(text)
    }

    fn show(&self) -> String {
        duration::show(*self)
    }
}

/// The percent reading; `""` is the empty list.
impl<T: Choice> FromStr for Weighted<T> {
    type Err = WeightError;

    fn from_str(text: &str) -> Result<Self, WeightError> {
        match text.trim() {
            "" => Ok(Self::default()),
            text => Self::percent(text, T::parse),
        }
    }
}

/// `value:percent,...`, which [`FromStr`] reads back to the same list.
impl<T: Choice> Display for Weighted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (value, share)) in self.choices.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            // Rounded so that `5` comes back as `5`, not `5.000000000000001`.
            let percent = (share * 100.0 * 1e9).round() / 1e9;
            write!(f, "{}:{percent}", value.show())?;
        }
        Ok(())
    }
}

impl<T: Choice> Serialize for Weighted<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T: Choice> Deserialize<'de> for Weighted<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// `a:w,b,c:w` into values and optional weights, each weight a finite number in
/// `0..=max`.
fn split<T, E: Display>(
    text: &str,
    value: impl Fn(&str) -> Result<T, E>,
    max: f64,
) -> Result<Vec<(T, Option<f64>)>, WeightError> {
    if text.trim().is_empty() {
        return Err(WeightError("empty: expected value or value:weight".into()));
    }
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() > MAX_CHOICES {
        return Err(WeightError(format!(
            "{} entries: at most {MAX_CHOICES}",
            parts.len()
        )));
    }
    parts
        .into_iter()
        .map(|part| {
            let (raw, weight) = match part.rsplit_once(':') {
                Some((raw, weight)) => (raw, Some(number(weight, max)?)),
                None => (part, None),
            };
            let v = value(raw.trim()).map_err(|e| WeightError(e.to_string()))?;
            Ok((v, weight))
        })
        .collect()
}

fn number(text: &str, max: f64) -> Result<f64, WeightError> {
    match text.trim().parse::<f64>() {
        Ok(w) if w.is_finite() && (0.0..=max).contains(&w) => Ok(w),
        _ => Err(WeightError(format!(
            "`{text}` is not a weight (a number from 0 to {})",
            if max == f64::MAX {
                "any".into()
            } else {
                max.to_string()
            }
        ))),
    }
}

#[cfg(test)]
#[path = "weighted_tests.rs"]
mod tests;
