//! Weighted lists: `503:5,429:1` (503 five percent of the time, 429 one
//! percent, otherwise nothing) and `150ms:10,2s:1`, the syntax fortio's echo
//! server reads, used by the fault injection of `[http.faults]` and the control
//! API.
//!
//! Nothing async here: a parser, a printer that writes the same syntax back,
//! and [`Weighted::pick`], which turns one random roll in `[0, 100)` into a
//! choice. The roll comes from the caller, so a test passes a seeded generator
//! and the same seed always gives the same choices.
//!
//! Rules: each entry is `value:percent` (percent a decimal, `0.5` allowed); the
//! percentages add up to at most 100, and the rest is "none of them". A list of
//! one entry may leave the percent out (`250ms` alone means always). The empty
//! list (`""`) never picks anything.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::config::units::duration;

/// A value a weighted list can hold: it knows how to read and write itself.
pub trait Choice: Sized + Clone + PartialEq {
    /// Reads one value (`503`, `150ms`); the error says what is expected.
    fn parse(text: &str) -> Result<Self, String>;
    /// Writes it back in the form [`Choice::parse`] reads.
    fn show(&self) -> String;
}

/// An HTTP status code (100 to 599).
impl Choice for u16 {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim().parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => Ok(code),
            _ => Err(format!("`{text}` is not an HTTP status code (100 to 599)")),
        }
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

/// A list of values, each with the percent of the time it is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted<T> {
    entries: Vec<(T, f64)>,
}

impl<T> Default for Weighted<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<T: Choice> Weighted<T> {
    /// True when nothing is ever picked.
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|(_, pct)| *pct == 0.0)
    }

    /// The entries, in the order written.
    pub fn entries(&self) -> &[(T, f64)] {
        &self.entries
    }

    /// The entry `roll` falls on, `roll` being uniform in `[0, 100)`: the first
    /// entry takes `[0, p1)`, the next `[p1, p1 + p2)`, and so on; past the
    /// last, `None`.
    pub fn pick(&self, roll: f64) -> Option<&T> {
        let mut upper = 0.0;
        for (value, pct) in &self.entries {
            upper += pct;
            if roll < upper {
                return Some(value);
            }
        }
        None
    }
}

impl<T: Choice> FromStr for Weighted<T> {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let alone = parts.len() == 1;
        let mut entries = Vec::with_capacity(parts.len());
        for part in parts {
            let (value, pct) = match part.rsplit_once(':') {
                Some((value, pct)) => (value, percent(pct)?),
                // `250ms` alone: always.
                None if alone => (part, 100.0),
                None => {
                    return Err(format!(
                        "`{part}` has no percent: write value:percent, as in 503:5,429:1"
                    ));
                }
            };
            entries.push((T::parse(value)?, pct));
        }
        let total: f64 = entries.iter().map(|(_, pct)| pct).sum();
        if total > 100.0 + 1e-9 {
            return Err(format!("the percentages add up to {total}, more than 100"));
        }
        Ok(Self { entries })
    }
}

/// A percent between 0 and 100.
fn percent(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("`{text}` is not a percent (0 to 100)")),
    }
}

impl<T: Choice> fmt::Display for Weighted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (value, pct) in &self.entries {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{}:{pct}", value.show())?;
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
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Result<Weighted<u16>, String> {
        text.parse()
    }

    #[test]
    fn lists_parse_and_print_in_the_same_form() {
        let w = codes("503:5, 429:1").expect("valid");
        assert_eq!(w.entries(), &[(503, 5.0), (429, 1.0)]);
        assert_eq!(w.to_string(), "503:5,429:1");
        assert_eq!(codes(&w.to_string()), Ok(w));
        let delays: Weighted<Duration> = "150ms:10,2s:0.5".parse().expect("valid");
        assert_eq!(delays.to_string(), "150ms:10,2s:0.5");
        let always: Weighted<Duration> = "250ms".parse().expect("valid");
        assert_eq!(always.entries(), &[(Duration::from_millis(250), 100.0)]);
        assert!(codes("").expect("empty is valid").is_empty());
    }

    #[test]
    fn bad_lists_say_what_is_wrong() {
        for (text, why) in [
            ("503:5,429", "has no percent"),
            ("503:150", "not a percent"),
            ("503:-1", "not a percent"),
            ("700:5", "not an HTTP status code"),
            ("abc:5", "not an HTTP status code"),
            ("503:60,500:50", "more than 100"),
        ] {
            let err = codes(text).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
        let err = "soon:5".parse::<Weighted<Duration>>().expect_err("bad");
        assert!(err.contains("not a duration"), "{err}");
    }

    #[test]
    fn a_roll_falls_on_the_entry_whose_share_covers_it() {
        let w = codes("503:5,429:1").expect("valid");
        assert_eq!(w.pick(0.0), Some(&503));
        assert_eq!(w.pick(4.99), Some(&503));
        assert_eq!(w.pick(5.0), Some(&429));
        assert_eq!(w.pick(5.99), Some(&429));
        assert_eq!(w.pick(6.0), None);
        assert_eq!(w.pick(99.99), None);
        assert_eq!(codes("").expect("empty").pick(0.0), None);
    }
}
