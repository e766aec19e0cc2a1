//! `--latency-plot FILE.svg`: latency by percentile, drawn the way HdrHistogram's
//! plotter draws it.
//!
//! The x axis counts "nines": 0 is the median's left end (0%), 1 is 90%, 2 is 99%,
//! 3 is 99.9%. Each step to the right zooms ten times further into the tail, which is
//! where a stalled server or a GC pause shows, and where a linear axis shows nothing.
//! plotters is built with its SVG backend only: no system fonts or image codecs.

use std::path::Path;

use plotters::prelude::*;

use crate::Error;
use crate::report::Report;

/// Chart size in SVG pixels.
const SIZE: (u32, u32) = (960, 540);

/// Where `percentile` falls on the "nines" axis.
fn nines(percentile: f64) -> f64 {
    -(1.0 - percentile / 100.0).log10()
}

/// Axis label for a position on the "nines" axis: 0 → `0%`, 2 → `99%`.
fn label(x: f64) -> String {
    let percentile = 100.0 * (1.0 - 10f64.powf(-x));
    let digits = (x.round() as usize).saturating_sub(2);
    format!("{percentile:.digits$}%")
}

/// Writes the chart for `report` to `path`.
pub fn write_svg(report: &Report, path: &Path) -> Result<(), Error> {
    let fail = |reason: String| Error::Plot {
        path: path.display().to_string(),
        reason,
    };
    if report.percentiles.is_empty() {
        return Err(fail(
            "no request was answered, so there is no latency to plot".into(),
        ));
    }
    // The last percentile is 100%, infinitely far right: end the axis at the finest
    // percentile the number of samples can show (1000 answers: 99.9%).
    let samples = report.hdr.len().max(10) as f64;
    let x_max = samples.log10().floor();
    let points: Vec<(f64, f64)> = report
        .percentiles
        .iter()
        .map(|p| (nines(p.percentile).min(x_max), p.latency_us as f64 / 1e3))
        .collect();
    let y_max = points.iter().map(|p| p.1).fold(0.0, f64::max) * 1.1;

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
        root.fill(&WHITE)?;
        let caption = format!(
            "{} ({}, {}{})",
            report.target,
            report.protocol,
            crate::summary::connections(report.connections),
            report
                .target_rate
                .map(|r| format!(", {r} req/s"))
                .unwrap_or_default()
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max.max(0.001))?;
        chart
            .configure_mesh()
            // Only the labelled grid lines: the minor ones crowd a log-like axis.
            .light_line_style(WHITE)
            .x_labels(x_max as usize + 1)
            .x_label_formatter(&|x| label(*x))
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .draw()?;
        chart.draw_series(LineSeries::new(
            points.iter().copied(),
            BLUE.stroke_width(2),
        ))?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_counts_nines() {
        assert_eq!(label(0.0), "0%");
        assert_eq!(label(1.0), "90%");
        assert_eq!(label(2.0), "99%");
        assert_eq!(label(3.0), "99.9%");
        assert_eq!(label(4.0), "99.99%");
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
    }
}
