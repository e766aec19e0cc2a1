//! The two text formats `/metrics` speaks: OpenMetrics 1.0 and the Prometheus
//! text format 0.0.4.
//!
//! prometheus-client writes OpenMetrics only. Most scrapers read both, but not
//! all: the 0.0.4 format is what Prometheus's own client libraries serve by
//! default, what a scraper gets when it does not ask for OpenMetrics, and what
//! many tools (older Prometheus, some agents, ad-hoc `grep`s) expect. The two
//! differ in a few exact ways, and [`to_prometheus`] rewrites one into the
//! other:
//!
//! | OpenMetrics | 0.0.4 |
//! |---|---|
//! | `# TYPE x counter`, samples `x_total` | `# TYPE x_total counter` (the family is named as its samples) |
//! | `# TYPE x info`, sample `x_info{...} 1` | `# TYPE x_info gauge` |
//! | `# TYPE x unknown` | `# TYPE x untyped` |
//! | `# UNIT x seconds` | (no such line) |
//! | `# EOF` at the end | (no such line) |
//!
//! Histograms and gauges are the same in both. The registry holds no metric
//! types beyond these (no exemplars, no `_created` samples), which the unit
//! tests below check for the registry as built.

use std::fmt::Write as _;

/// Which text format to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4: the default.
    Prometheus,
    /// OpenMetrics 1.0, for a scraper that asks for it.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// OpenMetrics text (as prometheus-client writes it) → Prometheus text 0.0.4.
pub fn to_prometheus(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // prometheus-client writes `# HELP` just before `# TYPE`; the HELP line is
    // held until the TYPE line says what the family's name becomes.
    let mut help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let (suffix, kind) = match kind {
                "counter" => ("_total", "counter"),
                "info" => ("_info", "gauge"),
                "gauge" | "histogram" | "summary" => ("", kind),
                _ => ("", "untyped"),
            };
            if let Some((_, text)) = help.take().filter(|(n, _)| *n == name) {
                writeln!(out, "# HELP {name}{suffix} {text}").expect("a String takes any write");
            }
            writeln!(out, "# TYPE {name}{suffix} {kind}").expect("a String takes any write");
        } else if line.starts_with("# UNIT ") || line == "# EOF" {
            // OpenMetrics only.
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_info_units_and_eof_are_rewritten() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\n\
                  a_requests_total{route=\"/\"} 3\n\
                  # HELP a_wait_seconds Waits.\n# TYPE a_wait_seconds histogram\n# UNIT a_wait_seconds seconds\n\
                  a_wait_seconds_sum 1.5\na_wait_seconds_count 2\na_wait_seconds_bucket{le=\"+Inf\"} 2\n\
                  # HELP a_build Build.\n# TYPE a_build info\na_build_info{version=\"1\"} 1\n\
                  # HELP a_open Open.\n# TYPE a_open gauge\na_open 4\n# EOF\n";
        assert_eq!(
            to_prometheus(om),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\n\
             a_requests_total{route=\"/\"} 3\n\
             # HELP a_wait_seconds Waits.\n# TYPE a_wait_seconds histogram\n\
             a_wait_seconds_sum 1.5\na_wait_seconds_count 2\na_wait_seconds_bucket{le=\"+Inf\"} 2\n\
             # HELP a_build_info Build.\n# TYPE a_build_info gauge\na_build_info{version=\"1\"} 1\n\
             # HELP a_open Open.\n# TYPE a_open gauge\na_open 4\n"
        );
    }
}
