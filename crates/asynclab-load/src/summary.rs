//! The text summary printed at the end of a run: what a person reads.

use std::fmt::{self, Write};

use crate::report::Report;

/// The widest histogram bar, in characters.
const BAR_WIDTH: u64 = 40;

/// Shows a latency in microseconds with a unit that keeps three or four digits.
pub fn show_us(us: f64) -> String {
    show_us_to(us, 2)
}

/// [`show_us`] with `decimals` digits after the point for milliseconds and seconds.
fn show_us_to(us: f64, decimals: usize) -> String {
    if us < 1_000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.decimals$}ms", us / 1e3)
    } else {
        format!("{:.decimals$}s", us / 1e6)
    }
}

/// Labels for the histogram's bar edges, with as many decimals as it takes for
/// neighbours to differ: clustered latencies (1.001 s to 1.012 s) would otherwise
/// all read `≤1.01s`.
fn edge_labels(edges: &[u64]) -> Vec<String> {
    let label = |decimals| -> Vec<String> {
        edges
            .iter()
            .map(|&us| format!("≤{}", show_us_to(us as f64, decimals)))
            .collect()
    };
    (2..6)
        .map(label)
        .find(|labels| labels.windows(2).all(|w| w[0] != w[1]))
        .unwrap_or_else(|| label(6))
}

/// `1 connection`, `50 connections`.
pub(crate) fn connections(n: usize) -> String {
    if n == 1 {
        "1 connection".into()
    } else {
        format!("{n} connections")
    }
}

/// Shows a byte count in binary units (`1.5 MiB`).
pub fn show_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out)?;
        f.write_str(&out)
    }
}

impl Report {
    /// The advice for missed requests, as wrk2 and vegeta give it: each connection
    /// carried `rate / c` requests a second, so carrying the schedule takes about
    /// `c × scheduled / achieved` of them.
    fn more_connections(&self) -> String {
        match self.target_rate {
            Some(target) if self.rate > 0.0 => {
                let needed = (self.connections as f64 * target / self.rate).ceil();
                format!(
                    "raise -c (about {needed:.0} would carry {target:.1} req/s at this latency)"
                )
            }
            _ => "raise -c".into(),
        }
    }

    fn write(&self, out: &mut String) -> fmt::Result {
        let r = &self.requests;
        write!(
            out,
            "{} ({}), {}",
            self.target,
            self.protocol,
            connections(self.connections)
        )?;
        if self.warmup_s > 0.0 {
            write!(out, ", after a {:.1}s warmup", self.warmup_s)?;
        }
        if self.interrupted {
            out.push_str(", stopped by ctrl-c");
        }
        out.push('\n');
        if !self.stages.is_empty() {
            let stages: Vec<String> = self
                .stages
                .iter()
                .map(|s| format!("{}s:{}", s.duration_s, s.target))
                .collect();
            writeln!(out, "  stages     {}", stages.join(", "))?;
        }
        writeln!(
            out,
            "  requests   {} in {:.2}s: {} answered ({} ok), {} errors{}",
            r.started,
            self.duration_s,
            r.responses,
            r.ok,
            r.errors,
            if r.cut > 0 {
                format!(", {} cut by a second ctrl-c", r.cut)
            } else {
                String::new()
            }
        )?;
        match self.target_rate {
            Some(target) => writeln!(
                out,
                "  rate       {:.1} req/s achieved, {target:.1} req/s scheduled",
                self.rate
            )?,
            None => writeln!(out, "  rate       {:.1} req/s", self.rate)?,
        }
        if r.missed > 0 {
            writeln!(
                out,
                "  missed     {} requests fell due but were never sent: all {} were busy; {}",
                r.missed,
                connections(self.connections),
                self.more_connections()
            )?;
        }
        writeln!(
            out,
            "  transfer   {} received, {}/s; {} sent",
            show_bytes(self.bytes.received as f64),
            show_bytes(self.bytes.received_per_s),
            show_bytes(self.bytes.sent as f64)
        )?;
        if let Some(l) = &self.latency_us {
            writeln!(
                out,
                "latency{}",
                if l.from_schedule {
                    " (from when each request was due: coordinated omission corrected)"
                } else {
                    ""
                }
            )?;
            writeln!(
                out,
                "  min {}  mean {}  stdev {}  max {}",
                show_us(l.min as f64),
                show_us(l.mean),
                show_us(l.stdev),
                show_us(l.max as f64)
            )?;
            writeln!(
                out,
                "  p50 {}  p90 {}  p99 {}  p99.9 {}",
                show_us(l.p50 as f64),
                show_us(l.p90 as f64),
                show_us(l.p99 as f64),
                show_us(l.p99_9 as f64)
            )?;
        }
        if let Some(ws) = &self.websocket {
            // The handshakes are timed apart: the latency above is the echoes'.
            writeln!(
                out,
                "websocket\n  handshakes {}: p50 {}  p99 {}  max {}\n  closes     {} clean, {} failed",
                ws.handshakes,
                show_us(ws.handshake_p50_us as f64),
                show_us(ws.handshake_p99_us as f64),
                show_us(ws.handshake_max_us as f64),
                ws.clean_closes,
                ws.failed_closes
            )?;
        }
        if let Some(tls) = &self.tls {
            // Timed apart, like the WebSocket handshakes.
            writeln!(
                out,
                "tls\n  handshakes {} ({} resumed, {} failed): p50 {}  p99 {}  max {}",
                tls.handshakes,
                tls.resumed,
                tls.failed,
                show_us(tls.handshake_p50_us as f64),
                show_us(tls.handshake_p99_us as f64),
                show_us(tls.handshake_max_us as f64),
            )?;
        }
        if !self.by_name.is_empty() {
            out.push_str("by request\n");
            let width = self
                .by_name
                .iter()
                .map(|n| n.name.chars().count())
                .max()
                .unwrap_or(0);
            for n in &self.by_name {
                let show = |v: Option<u64>| v.map_or("-".into(), |us| show_us(us as f64));
                writeln!(
                    out,
                    "  {:<width$}  weight {}  {} requests, {} ok, {} errors  p50 {}  p99 {}",
                    n.name,
                    n.weight,
                    n.requests,
                    n.ok,
                    n.errors.values().sum::<u64>(),
                    show(n.p50_us),
                    show(n.p99_us)
                )?;
            }
        }
        if !self.status.is_empty() {
            out.push_str("status codes\n");
            for (status, n) in &self.status {
                writeln!(out, "  {status}  {n}")?;
            }
        }
        if r.errors > 0 {
            out.push_str("errors\n");
            for (kind, n) in self.errors.iter().filter(|(_, n)| **n > 0) {
                writeln!(out, "  {:<16} {n}", kind.label())?;
            }
        }
        let tallest = self.histogram.iter().map(|b| b.count).max().unwrap_or(0);
        if tallest > 0 {
            out.push_str("histogram\n");
            let edges: Vec<u64> = self.histogram.iter().map(|b| b.to_us).collect();
            let labels = edge_labels(&edges);
            let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            for (bucket, label) in self.histogram.iter().zip(labels) {
                let width = (bucket.count * BAR_WIDTH).div_ceil(tallest);
                writeln!(
                    out,
                    "  {label:>label_width$} {:<width$} {}",
                    "■".repeat(width as usize),
                    bucket.count,
                    width = BAR_WIDTH as usize
                )?;
            }
        }
        // Last, where a CI log's reader looks first.
        if !self.thresholds.is_empty() {
            out.push_str("thresholds\n");
            let width = self
                .thresholds
                .iter()
                .map(|t| t.condition.len())
                .max()
                .unwrap_or(0);
            for checked in &self.thresholds {
                writeln!(
                    out,
                    "  {:<width$}  {}  ({})",
                    checked.condition,
                    if checked.failed { "FAILED" } else { "passed" },
                    crate::Threshold::show(checked)
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clustered_edges_get_labels_that_differ() {
        let edges = [1_001_471, 1_002_495, 1_003_519, 1_012_223];
        assert_eq!(
            edge_labels(&edges),
            ["≤1.001s", "≤1.002s", "≤1.004s", "≤1.012s"]
        );
        // Spread latencies keep the short form.
        assert_eq!(
            edge_labels(&[950, 12_500, 1_500_000]),
            ["≤950µs", "≤12.50ms", "≤1.50s"]
        );
        assert_eq!(
            (connections(1), connections(2)),
            ("1 connection".into(), "2 connections".into())
        );
    }
}
