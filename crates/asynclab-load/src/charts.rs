//! The charts, drawn as SVG text with plotters: latency by percentile (the "nines"
//! axis HdrHistogram's plotter uses) and the timeline's lines over time. One or
//! several runs per chart, so `load report a.json b.json` overlays them.
//!
//! plotters is built with its SVG backend only: no system fonts or image codecs,
//! and the output is text that `--latency-plot` writes to a file and the HTML
//! report embeds as it is.

use plotters::prelude::*;

use crate::report::Report;

/// Chart size in SVG pixels.
pub(crate) const SIZE: (u32, u32) = (960, 480);

/// Where `percentile` falls on the "nines" axis: 0 → 0%, 1 → 90%, 2 → 99%.
pub(crate) fn nines(percentile: f64) -> f64 {
    -(1.0 - percentile / 100.0).log10()
}

/// Axis label for a position on the "nines" axis: 0 → `0%`, 2 → `99%`.
pub(crate) fn label(x: f64) -> String {
    let percentile = 100.0 * (1.0 - 10f64.powf(-x));
    let digits = (x.round() as usize).saturating_sub(2);
    format!("{percentile:.digits$}%")
}

/// One line on a chart.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) points: Vec<(f64, f64)>,
}

/// Latency (ms) by percentile for each run, the x axis in nines. The axis ends at
/// the finest percentile the largest sample can show: floor(log10(answers)) nines
/// (1,000 to 9,999 answers: 99.9%); a finer one is not a measurement.
pub(crate) fn percentiles(caption: &str, runs: &[(String, &Report)]) -> Result<String, String> {
    let samples = runs.iter().map(|(_, r)| r.hdr.len()).max().unwrap_or(0);
    let x_max = (samples.max(10) as f64).log10().floor();
    let series: Vec<Series> = runs
        .iter()
        .map(|(name, report)| Series {
            name: name.clone(),
            points: report
                .percentiles
                .iter()
                .map(|p| (nines(p.percentile).min(x_max), p.latency_us as f64 / 1e3))
                .collect(),
        })
        .collect();
    let x_labels = x_max as usize + 1;
    lines(
        caption,
        "percentile",
        "latency (ms)",
        &series,
        (x_max, x_labels),
        &|x| label(*x),
    )
}

/// Lines over an x axis from 0 to `x_max` (with `x_labels` labels).
pub(crate) fn lines(
    caption: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    (x_max, x_labels): (f64, usize),
    x_label: &dyn Fn(&f64) -> String,
) -> Result<String, String> {
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(caption, ("sans-serif", 20))
                .margin(20)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..x_max.max(1e-9), 0.0..y_max.max(0.001))?;
            chart
                .configure_mesh()
                // Only the labelled grid lines: minor ones crowd a log-like axis.
                .light_line_style(WHITE)
                .x_labels(x_labels)
                .x_label_formatter(x_label)
                .x_desc(x_desc)
                .y_desc(y_desc)
                .draw()?;
            for (i, s) in series.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(
                        s.points.iter().copied(),
                        color.stroke_width(2),
                    ))?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            }
            if series.len() > 1 {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()?;
            }
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The timeline's `value` over time, one line per run (seconds from each run's start).
pub(crate) fn timeline(
    caption: &str,
    y_desc: &str,
    runs: &[(String, &Report)],
    value: &dyn Fn(&crate::Tick) -> Option<f64>,
) -> Result<String, String> {
    let series: Vec<Series> = runs
        .iter()
        .map(|(name, report)| Series {
            name: name.clone(),
            points: report
                .timeline
                .iter()
                .filter_map(|t| value(t).map(|v| (t.t_s, v)))
                .collect(),
        })
        .collect();
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    // A label per second up to ten, then ten labels: whole seconds either way.
    let labels = (x_max.ceil() as usize + 1).min(11);
    lines(
        caption,
        "seconds",
        y_desc,
        &series,
        (x_max.ceil(), labels),
        &|x| format!("{x:.0}"),
    )
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
