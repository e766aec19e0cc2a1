//! The text summary printed at the end of a run: what a person reads.

use std::fmt::{self, Write};

use crate::report::Report;

/// The widest histogram bar, in characters.
const BAR_WIDTH: u64 = 40;

/// Shows a latency in microseconds with a unit that keeps three or four digits.
pub fn show_us(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
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
    fn write(&self, out: &mut String) -> fmt::Result {
        let r = &self.requests;
        write!(
            out,
            "{} ({}), {} connections",
            self.target, self.protocol, self.connections
        )?;
        if self.warmup_s > 0.0 {
            write!(out, ", after a {:.1}s warmup", self.warmup_s)?;
        }
        if self.interrupted {
            out.push_str(", stopped by ctrl-c");
        }
        out.push('\n');
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
            for bucket in &self.histogram {
                let width = (bucket.count * BAR_WIDTH).div_ceil(tallest);
                writeln!(
                    out,
                    "  {:>9} {:<width$} {}",
                    format!("≤{}", show_us(bucket.to_us as f64)),
                    "■".repeat(width as usize),
                    bucket.count,
                    width = BAR_WIDTH as usize
                )?;
            }
        }
        Ok(())
    }
}
