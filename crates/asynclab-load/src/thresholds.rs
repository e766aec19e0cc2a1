//! `--fail-if 'p99>200ms'`: conditions checked at the end of a run (or of a merge),
//! each printed as passed or failed; any failure gives the command its own exit
//! status, [`EXIT_THRESHOLDS`], so a CI job can gate on a run as k6's thresholds do.
//!
//! The grammar is `METRIC OP VALUE` with OP one of `>`, `>=`, `<`, `<=`:
//! latencies (`p50`, `p99`, `p99.9`, any `pN`, `mean`, `min`, `max`) against a
//! duration (`200ms`, `1.5s`), `errors` against a count or a percentage of the
//! requests started (`0.5%`), `rate` against requests per second, `missed` against a
//! count. The condition says when the run *fails*.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::report::Report;

/// The exit status when a threshold fails: k6's, so CI scripts written for it work.
pub const EXIT_THRESHOLDS: u8 = 99;

/// What a threshold looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    /// The latency at this percentile (above 0, at most 100), in microseconds.
    Percentile(f64),
    Mean,
    Min,
    Max,
    /// Failed requests, as a count or as a percentage of the requests started.
    Errors {
        percent: bool,
    },
    Rate,
    Missed,
}

/// One parsed `--fail-if`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// As the user wrote it.
    text: String,
    metric: Metric,
    /// `>` or `>=` (fails above) or `<` or `<=` (fails below); `inclusive` for `=`.
    above: bool,
    inclusive: bool,
    /// In the metric's unit: microseconds, requests, percent, requests per second.
    limit: f64,
}

/// A threshold, checked: in the report's `thresholds` and in the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    /// The condition, as given (`p99>200ms`).
    pub condition: String,
    /// What the run measured, in the metric's unit (µs, requests, %, req/s);
    /// `null` when there was nothing to measure (no answer for a latency).
    pub value: Option<f64>,
    pub failed: bool,
}

impl Threshold {
    /// Parses one `--fail-if` value.
    pub fn parse(text: &str) -> Result<Threshold, Error> {
        let bad = |why: &str| Error::Usage(format!("--fail-if `{text}`: {why}"));
        let spec: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let at = spec
            .find(['<', '>'])
            .ok_or_else(|| bad("use METRIC>VALUE or METRIC<VALUE, as in p99>200ms"))?;
        let (name, rest) = spec.split_at(at);
        let above = rest.starts_with('>');
        let (inclusive, value) = match rest[1..].strip_prefix('=') {
            Some(value) => (true, value),
            None => (false, &rest[1..]),
        };
        if value.is_empty() || value.starts_with(['<', '>', '=']) {
            return Err(bad("one comparison, then a value"));
        }
        let duration = || -> Result<f64, Error> {
            let d = asynclab_core::config::units::duration::parse(value).map_err(|e| bad(&e))?;
            Ok(d.as_secs_f64() * 1e6)
        };
        let number = |v: &str| -> Result<f64, Error> {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| bad("the value is a number, 0 or more"))
        };
        let (metric, limit) = match name {
            "mean" => (Metric::Mean, duration()?),
            "min" => (Metric::Min, duration()?),
            "max" => (Metric::Max, duration()?),
            "rate" => (Metric::Rate, number(value)?),
            "missed" => (Metric::Missed, number(value)?),
            "errors" => match value.strip_suffix('%') {
                Some(percent) => (Metric::Errors { percent: true }, number(percent)?),
                None => (Metric::Errors { percent: false }, number(value)?),
            },
            _ => {
                let percentile = name
                    .strip_prefix('p')
                    .and_then(|p| p.parse::<f64>().ok())
                    .filter(|p| *p > 0.0 && *p <= 100.0)
                    .ok_or_else(|| {
                        bad("the metric is p50, p99, p99.9 (any pN), mean, min, max, errors, rate or missed")
                    })?;
                (Metric::Percentile(percentile), duration()?)
            }
        };
        Ok(Threshold {
            text: text.trim().to_string(),
            metric,
            above,
            inclusive,
            limit,
        })
    }

    /// Checks the threshold against a finished report.
    pub fn check(&self, report: &Report) -> Checked {
        let r = &report.requests;
        let latency = |value: u64| (!report.hdr.is_empty()).then_some(value as f64);
        let value = match self.metric {
            Metric::Percentile(p) => latency(report.hdr.value_at_quantile(p / 100.0)),
            Metric::Mean => (!report.hdr.is_empty()).then(|| report.hdr.mean()),
            Metric::Min => latency(report.hdr.min()),
            Metric::Max => latency(report.hdr.max()),
            Metric::Errors { percent: false } => Some(r.errors as f64),
            Metric::Errors { percent: true } if r.started == 0 => Some(0.0),
            Metric::Errors { percent: true } => Some(100.0 * r.errors as f64 / r.started as f64),
            Metric::Rate => Some(report.rate),
            Metric::Missed => Some(r.missed as f64),
        };
        let failed = match value {
            // Nothing to compare (no answer had a latency): the condition cannot be
            // shown to hold, so it does not pass.
            None => true,
            Some(v) => match (self.above, self.inclusive) {
                (true, false) => v > self.limit,
                (true, true) => v >= self.limit,
                (false, false) => v < self.limit,
                (false, true) => v <= self.limit,
            },
        };
        Checked {
            condition: self.text.clone(),
            value,
            failed,
        }
    }

    /// The metric's measured value as the summary shows it (`p99 12.30ms`).
    pub(crate) fn show(checked: &Checked) -> String {
        let Some(value) = checked.value else {
            return "nothing measured".into();
        };
        let name: String = checked
            .condition
            .chars()
            .take_while(|c| !matches!(c, '<' | '>'))
            .filter(|c| !c.is_whitespace())
            .collect();
        match name.as_str() {
            "errors" if checked.condition.ends_with('%') => format!("errors {value:.2}%"),
            "errors" | "missed" => format!("{name} {value:.0}"),
            "rate" => format!("rate {value:.1} req/s"),
            _ => format!("{name} {}", crate::show_us(value)),
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Checks every threshold and keeps the results in the report.
pub fn apply(thresholds: &[Threshold], report: &mut Report) {
    report.thresholds = thresholds.iter().map(|t| t.check(report)).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_with_their_units() {
        let t = Threshold::parse("p99 > 200ms").expect("valid");
        assert_eq!(
            (t.metric, t.above, t.limit),
            (Metric::Percentile(99.0), true, 200_000.0)
        );
        let t = Threshold::parse("p99.9>=1s").expect("valid");
        assert_eq!(
            (t.metric, t.inclusive, t.limit),
            (Metric::Percentile(99.9), true, 1e6)
        );
        let t = Threshold::parse("errors>0.5%").expect("valid");
        assert_eq!((t.metric, t.limit), (Metric::Errors { percent: true }, 0.5));
        let t = Threshold::parse("rate<1000").expect("valid");
        assert_eq!((t.metric, t.above, t.limit), (Metric::Rate, false, 1000.0));
    }

    #[test]
    fn malformed_conditions_name_the_flag() {
        for bad in [
            "p99",
            "p99>>2ms",
            "p99>fast",
            "p101>1s",
            "speed>3",
            "errors>x%",
            "rate<-1",
        ] {
            let err = Threshold::parse(bad).expect_err(bad).to_string();
            assert!(err.starts_with(&format!("--fail-if `{bad}`")), "{err}");
        }
    }
}
