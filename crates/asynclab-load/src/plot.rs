//! `--latency-plot FILE.svg`: latency by percentile, drawn the way HdrHistogram's
//! plotter draws it (see `charts.rs` for the axis), written to a file.

use std::path::Path;

use crate::Error;
use crate::report::Report;

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
    let svg = crate::charts::percentiles(&caption(report), &[(report.target.clone(), report)])
        .map_err(fail)?;
    std::fs::write(path, svg).map_err(|e| fail(e.to_string()))
}

/// `http://... (http/1.1, 50 connections, 2000 req/s)`.
pub(crate) fn caption(report: &Report) -> String {
    format!(
        "{} ({}, {}{})",
        report.target,
        report.protocol,
        crate::summary::connections(report.connections),
        report
            .target_rate
            .map(|r| format!(", {r} req/s"))
            .unwrap_or_default()
    )
}
