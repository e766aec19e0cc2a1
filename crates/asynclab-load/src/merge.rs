//! `asynclab load merge a.json b.json ... -o all.json`: N runs, from N machines or
//! N pods, added up into the report one generator would have written.
//!
//! Pattern: **merge the data, never the summaries**. Each saved run carries its whole
//! latency histogram (`hdr_histogram`, see `hdr.rs`) and its raw counts; merging adds
//! the histograms bucket by bucket and sums the counts, then computes percentiles
//! and rates from the sums. Averaging percentiles, as several distributed load tools
//! do, gives numbers no request ever had. The rate is the total over the wall-clock
//! window the runs span together (earliest start to latest end), not a sum of rates
//! measured over different windows.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::report::{Report, SCHEMA};

/// A saved run and the file it came from (for messages).
#[derive(Debug)]
pub struct Saved {
    pub path: PathBuf,
    pub report: Report,
}

/// Reads one `--json` report, refusing another schema version by name.
pub fn read(path: &Path) -> Result<Saved, Error> {
    let bad = |reason: String| Error::Input {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let schema = value.get("schema").and_then(|v| v.as_u64());
    if schema != Some(u64::from(SCHEMA)) {
        let found = schema.map_or("none".to_string(), |s| s.to_string());
        return Err(bad(format!(
            "schema {found}, but merging needs schema {SCHEMA} (written by `asynclab load --json` of this version)"
        )));
    }
    let report = serde_json::from_value(value).map_err(|e| bad(format!("not a report: {e}")))?;
    Ok(Saved {
        path: path.to_path_buf(),
        report,
    })
}

/// Adds the runs up. Runs against different targets or protocols are refused
/// unless `force`: their sum would describe no server.
pub fn merge(runs: &[Saved], force: bool) -> Result<Report, Error> {
    let Some((first, rest)) = runs.split_first() else {
        return Err(Error::Usage("merge: give at least one report".into()));
    };
    if !force {
        for run in rest {
            for (what, theirs, ours) in [
                ("target", &run.report.target, &first.report.target),
                ("protocol", &run.report.protocol, &first.report.protocol),
            ] {
                if theirs != ours {
                    return Err(Error::Input {
                        path: run.path.display().to_string(),
                        reason: format!(
                            "its {what} is {theirs}, {}'s is {ours} (add --force to merge anyway)",
                            first.path.display()
                        ),
                    });
                }
            }
        }
    }
    let mut total = first.report.clone();
    let mut end = total.started_at + total.duration_s;
    for run in rest {
        let r = &run.report;
        end = end.max(r.started_at + r.duration_s);
        total.started_at = total.started_at.min(r.started_at);
        total.runs += r.runs;
        total.connections += r.connections;
        total.target_rate = match (total.target_rate, r.target_rate) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        if total.stages != r.stages {
            total.stages.clear();
        }
        total.warmup_s = total.warmup_s.max(r.warmup_s);
        total.interrupted |= r.interrupted;
        let (t, o) = (&mut total.requests, &r.requests);
        t.started += o.started;
        t.responses += o.responses;
        t.ok += o.ok;
        t.errors += o.errors;
        t.cut += o.cut;
        t.missed += o.missed;
        total.bytes.sent += r.bytes.sent;
        total.bytes.received += r.bytes.received;
        for (status, n) in &r.status {
            *total.status.entry(status.clone()).or_default() += n;
        }
        for (kind, n) in &r.errors {
            *total.errors.entry(*kind).or_default() += n;
        }
        total.hdr.add(&r.hdr).map_err(|e| Error::Input {
            path: run.path.display().to_string(),
            reason: format!("its histogram cannot be added: {e:?}"),
        })?;
        match (&mut total.websocket, &r.websocket) {
            (Some(t), Some(o)) => t.add(o).map_err(|reason| Error::Input {
                path: run.path.display().to_string(),
                reason,
            })?,
            (None, Some(o)) => total.websocket = Some(o.clone()),
            (_, None) => {}
        }
        match (&mut total.tls, &r.tls) {
            (Some(t), Some(o)) => t.add(o).map_err(|reason| Error::Input {
                path: run.path.display().to_string(),
                reason,
            })?,
            (None, Some(o)) => total.tls = Some(o.clone()),
            (_, None) => {}
        }
    }
    total.duration_s = end - total.started_at;
    let timelines: Vec<(f64, &[crate::Tick])> = runs
        .iter()
        .map(|run| (run.report.started_at, run.report.timeline.as_slice()))
        .collect();
    total.timeline = crate::timeline::merge(&timelines).map_err(|reason| Error::Input {
        path: first.path.display().to_string(),
        reason: format!("a timeline histogram cannot be read: {reason}"),
    })?;
    let breakdowns: Vec<&[crate::Named]> =
        runs.iter().map(|r| r.report.by_name.as_slice()).collect();
    total.by_name = crate::Named::merge(&breakdowns).map_err(|reason| Error::Input {
        path: first.path.display().to_string(),
        reason: format!("a request's histogram cannot be read: {reason}"),
    })?;
    // The parts' thresholds judged the parts; the merge's own are checked anew.
    total.thresholds.clear();
    let from_schedule = runs.iter().any(|run| {
        run.report
            .latency_us
            .as_ref()
            .is_some_and(|l| l.from_schedule)
    });
    total.derive(from_schedule);
    Ok(total)
}
