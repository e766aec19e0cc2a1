//! `--stage DURATION:TARGET`: a load that changes during the run, as k6's stages.
//!
//! With `--rate` the target is a request rate, without it a number of connections.
//! Each stage moves the target linearly from where the previous stage left it (the
//! start: `--rate`, or no connection) to its own target over its duration; a target
//! of 0 ramps down.
//!
//! Pattern: **a schedule as a function of time, inverted**. In the open model request
//! *k* is due when the number of requests the schedule holds so far, the integral of
//! the rate, reaches *k*. For a constant rate that is `k / rate`; for a linear ramp the
//! integral is a quadratic, solved exactly per request, so the due times follow the
//! ramp with no drift and coordinated-omission correction works as before: latency
//! still counts from when each request was due.

use std::time::Duration;

use asynclab_core::config::units::duration;
use serde::{Deserialize, Serialize};

use crate::Error;

/// One stage: reach `target` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Seconds the stage lasts.
    pub duration_s: f64,
    /// Requests per second (open model) or connections (closed model) at its end.
    pub target: f64,
}

/// A run's stages and the value they start from.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages {
    /// The value at the start of the first stage.
    pub start: f64,
    pub stages: Vec<Stage>,
}

impl Stages {
    /// Parses `--stage` values: each `DURATION:TARGET`, or several separated by commas.
    pub fn parse(values: &[String], start: f64) -> Result<Stages, Error> {
        let mut stages = Vec::new();
        for item in values.iter().flat_map(|v| v.split(',')) {
            let bad = |why: &str| Error::Usage(format!("--stage `{item}`: {why}"));
            let (time, target) = item
                .trim()
                .split_once(':')
                .ok_or_else(|| bad("use DURATION:TARGET, as in 30s:1000"))?;
            let time = duration::parse(time.trim()).map_err(|e| bad(&e.to_string()))?;
            if time.is_zero() {
                return Err(bad("a stage lasts more than 0s"));
            }
            let target: f64 = target
                .trim()
                .parse()
                .ok()
                .filter(|t: &f64| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| bad("the target is a number, 0 or more"))?;
            stages.push(Stage {
                duration_s: time.as_secs_f64(),
                target,
            });
        }
        if stages.is_empty() {
            return Err(Error::Usage("--stage: no stage given".into()));
        }
        Ok(Stages { start, stages })
    }

    /// The whole schedule's length.
    pub fn total(&self) -> Duration {
        Duration::from_secs_f64(self.stages.iter().map(|s| s.duration_s).sum())
    }

    /// The highest value the schedule reaches.
    pub fn peak(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.target)
            .fold(self.start, f64::max)
    }

    /// Each stage as (start second, length, value at its start, value at its end).
    fn segments(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        let (mut t0, mut from) = (0.0, self.start);
        self.stages.iter().map(move |s| {
            let segment = (t0, s.duration_s, from, s.target);
            (t0, from) = (t0 + s.duration_s, s.target);
            segment
        })
    }

    /// The value `t` seconds in (the last target after the end).
    pub fn value_at(&self, t: f64) -> f64 {
        for (t0, len, a, b) in self.segments() {
            if t < t0 + len {
                return a + (b - a) * ((t - t0).max(0.0) / len);
            }
        }
        self.stages.last().map_or(self.start, |s| s.target)
    }

    /// How many requests the schedule holds in its first `t` seconds: the
    /// integral of the rate.
    pub fn expected(&self, t: f64) -> f64 {
        let mut total = 0.0;
        for (t0, len, a, b) in self.segments() {
            let tau = (t - t0).clamp(0.0, len);
            total += a * tau + (b - a) * tau * tau / (2.0 * len);
        }
        total
    }

    /// When, in seconds from the start, the schedule's `n`-th request (from 0) is
    /// due: the first `t` with `expected(t) = n`; `None` past the schedule's end.
    pub fn time_of(&self, n: f64) -> Option<f64> {
        let mut before = 0.0;
        for (t0, len, a, b) in self.segments() {
            let within = (a + b) / 2.0 * len;
            let m = n - before;
            if m <= within && within > 0.0 {
                // a·τ + q·τ² = m with q = (b − a) / 2len, in the form that stays
                // exact when q is near 0 and for either sign of q.
                let q = (b - a) / (2.0 * len);
                let root = (a * a + 4.0 * q * m).max(0.0).sqrt();
                let tau = if a + root > 0.0 {
                    2.0 * m / (a + root)
                } else {
                    0.0
                };
                return Some(t0 + tau.clamp(0.0, len));
            }
            before += within;
        }
        None
    }

    /// The first moment at or after `from` when the value reaches `level`; `None`
    /// when it never does again. (Closed model: connection *i* works while the
    /// target is at least *i + 1*.)
    pub fn reaches(&self, level: f64, from: f64) -> Option<f64> {
        for (t0, len, a, b) in self.segments() {
            let end = t0 + len;
            if end <= from {
                continue;
            }
            let start = from.max(t0);
            if self.value_at(start) >= level {
                return Some(start);
            }
            if b >= level && b > a {
                // Rising through `level` inside this stage.
                return Some(t0 + (level - a) / (b - a) * len);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(spec: &str, start: f64) -> Stages {
        Stages::parse(&[spec.to_string()], start).expect("valid stages")
    }

    #[test]
    fn a_ramp_holds_the_area_under_its_rate() {
        // 0 → 100/s over 10 s, 100/s for 10 s, down to 0 over 10 s.
        let s = stages("10s:100,10s:100,10s:0", 0.0);
        assert_eq!(s.total(), Duration::from_secs(30));
        assert_eq!(s.value_at(5.0), 50.0);
        assert_eq!(s.expected(10.0), 500.0);
        assert_eq!(s.expected(30.0), 2000.0);
        // Request 125 is due when 0.5·10·t² = 125: t = 5 s.
        assert!((s.time_of(125.0).expect("in the schedule") - 5.0).abs() < 1e-9);
        assert!((s.time_of(1000.0).expect("in the schedule") - 15.0).abs() < 1e-9);
        assert!(s.time_of(2000.5).is_none());
        // Connection 49 works once the target reaches 50.
        assert_eq!(s.reaches(50.0, 0.0), Some(5.0));
        assert_eq!(s.reaches(50.0, 12.0), Some(12.0));
        assert_eq!(s.reaches(150.0, 0.0), None);
    }

    #[test]
    fn bad_stages_are_refused_with_the_flag() {
        for (spec, why) in [
            ("10s", "DURATION:TARGET"),
            ("0s:10", "more than 0s"),
            ("10s:-1", "0 or more"),
            ("ten:10", "--stage `ten:10`"),
        ] {
            let err = Stages::parse(&[spec.into()], 0.0)
                .expect_err(spec)
                .to_string();
            assert!(err.contains(why), "{spec}: {err}");
        }
    }
}
