//! `--report run.html` and `asynclab load report a.json b.json -o compare.html`:
//! one self-contained HTML file per run or comparison.
//!
//! Self-contained means it opens from a CI artifact or an e-mail with no network:
//! the charts are SVG text drawn here (see `charts.rs`) and embedded as they are, the
//! style is inline, and there is no script at all, so nothing can fail to load and
//! nothing runs. Several runs are overlaid on each chart and set side by side in
//! the tables, which is how runs are compared. A run over TLS (`https://`,
//! `wss://`, `tls://`) adds a table of its handshakes, kept apart from the request
//! latency as in the text summary.

use std::fmt::Write;
use std::path::Path;

use crate::report::Report;
use crate::summary::show_us;
use crate::tls::TlsReport;
use crate::{Error, charts, show_bytes};

/// The page's style: readable, printable, no external font.
const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}\
th:first-child,td:first-child{text-align:left}.failed{color:#b00;font-weight:bold}.passed{color:#070}\
figure{margin:1em 0}svg{max-width:100%;height:auto}";

/// Writes the report of `runs` (name, report) to `path`.
pub fn write_html(runs: &[(String, &Report)], path: &Path) -> Result<(), Error> {
    let fail = |reason: String| Error::Plot {
        path: path.display().to_string(),
        reason,
    };
    let page = page(runs).map_err(fail)?;
    std::fs::write(path, page).map_err(|e| fail(e.to_string()))
}

/// The whole page as text.
pub(crate) fn page(runs: &[(String, &Report)]) -> Result<String, String> {
    let mut out = String::new();
    let title = match runs {
        [(_, one)] => crate::plot::caption(one),
        _ => format!("{} runs compared", runs.len()),
    };
    let w = |e: std::fmt::Error| e.to_string();
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>asynclab load: {}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    )
    .map_err(w)?;
    summary(&mut out, runs).map_err(w)?;
    tls(&mut out, runs).map_err(w)?;
    let answered: Vec<(String, &Report)> = runs
        .iter()
        .filter(|(_, r)| !r.percentiles.is_empty())
        .cloned()
        .collect();
    let mut figures = Vec::new();
    if !answered.is_empty() {
        figures.push(charts::percentiles("latency by percentile", &answered)?);
    }
    if runs.iter().any(|(_, r)| !r.timeline.is_empty()) {
        figures.push(charts::timeline("rate", "requests/s", runs, &|t| {
            Some(t.rate)
        })?);
        let p99 = |t: &crate::Tick| t.p99_us.map(|us| us as f64 / 1e3);
        figures.push(charts::timeline("p99 latency", "ms", runs, &p99)?);
        if let [(name, one)] = runs {
            let p50 = |t: &crate::Tick| t.p50_us.map(|us| us as f64 / 1e3);
            let single = [(format!("{name} p50"), *one)];
            figures.push(charts::timeline("p50 latency", "ms", &single, &p50)?);
        }
        let errors = |t: &crate::Tick| Some(t.errors.values().sum::<u64>() as f64);
        figures.push(charts::timeline(
            "errors",
            "errors per interval",
            runs,
            &errors,
        )?);
    }
    for svg in figures {
        // The SVG's own XML declaration is not wanted inside HTML.
        let svg = svg.trim_start_matches(|c| c != '<');
        let svg = svg.strip_prefix("<?xml").map_or(svg, |rest| {
            rest.split_once("?>").map_or(rest, |(_, body)| body)
        });
        writeln!(out, "<figure>{svg}</figure>").map_err(w)?;
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

/// How one row of the summary shows a run.
type Cell<'a> = &'a dyn Fn(&Report) -> String;

/// The tables: one column per run.
fn summary(out: &mut String, runs: &[(String, &Report)]) -> std::fmt::Result {
    out.push_str("<h2>summary</h2>\n<table><tr><th></th>");
    for (name, _) in runs {
        write!(out, "<th>{}</th>", escape(name))?;
    }
    out.push_str("</tr>\n");
    let latency = |r: &Report, f: fn(&crate::Latency) -> f64| {
        r.latency_us.as_ref().map_or("-".into(), |l| show_us(f(l)))
    };
    let rows: [(&str, Cell); 14] = [
        ("target", &|r| escape(&r.target)),
        ("connections", &|r| r.connections.to_string()),
        ("duration", &|r| format!("{:.2}s", r.duration_s)),
        ("requests", &|r| r.requests.started.to_string()),
        ("ok", &|r| r.requests.ok.to_string()),
        ("errors", &|r| r.requests.errors.to_string()),
        ("missed", &|r| r.requests.missed.to_string()),
        ("rate", &|r| format!("{:.1} req/s", r.rate)),
        ("received", &|r| show_bytes(r.bytes.received as f64)),
        ("p50", &|r| latency(r, |l| l.p50 as f64)),
        ("p90", &|r| latency(r, |l| l.p90 as f64)),
        ("p99", &|r| latency(r, |l| l.p99 as f64)),
        ("p99.9", &|r| latency(r, |l| l.p99_9 as f64)),
        ("max", &|r| latency(r, |l| l.max as f64)),
    ];
    for (label, cell) in rows {
        write!(out, "<tr><td>{label}</td>")?;
        for (_, report) in runs {
            write!(out, "<td>{}</td>", cell(report))?;
        }
        out.push_str("</tr>\n");
    }
    let mut statuses: Vec<&String> = runs.iter().flat_map(|(_, r)| r.status.keys()).collect();
    statuses.sort();
    statuses.dedup();
    for status in statuses {
        write!(out, "<tr><td>status {}</td>", escape(status))?;
        for (_, report) in runs {
            write!(
                out,
                "<td>{}</td>",
                report.status.get(status).copied().unwrap_or(0)
            )?;
        }
        out.push_str("</tr>\n");
    }
    for kind in crate::ErrorKind::ALL {
        if runs
            .iter()
            .all(|(_, r)| r.errors.get(&kind).copied().unwrap_or(0) == 0)
        {
            continue;
        }
        write!(out, "<tr><td>{}</td>", kind.label())?;
        for (_, report) in runs {
            write!(
                out,
                "<td>{}</td>",
                report.errors.get(&kind).copied().unwrap_or(0)
            )?;
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    for (name, report) in runs.iter().filter(|(_, r)| !r.by_name.is_empty()) {
        write!(
            out,
            "<h2>by request: {}</h2>\n<table><tr><th>request</th><th>weight</th><th>requests</th>\
             <th>ok</th><th>errors</th><th>p50</th><th>p90</th><th>p99</th></tr>",
            escape(name)
        )?;
        let show = |v: Option<u64>| v.map_or("-".into(), |us| show_us(us as f64));
        for n in &report.by_name {
            write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&n.name),
                n.weight,
                n.requests,
                n.ok,
                n.errors.values().sum::<u64>(),
                show(n.p50_us),
                show(n.p90_us),
                show(n.p99_us)
            )?;
        }
        out.push_str("</table>\n");
    }
    for (name, report) in runs.iter().filter(|(_, r)| !r.thresholds.is_empty()) {
        write!(out, "<h2>thresholds: {}</h2>\n<table>", escape(name))?;
        for t in &report.thresholds {
            let (class, word) = if t.failed {
                ("failed", "FAILED")
            } else {
                ("passed", "passed")
            };
            write!(
                out,
                "<tr><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td></tr>",
                escape(&t.condition),
                escape(&crate::Threshold::show(t))
            )?;
        }
        out.push_str("</table>\n");
    }
    Ok(())
}

/// How one row of the `tls` table shows a run's handshakes.
type TlsCell = fn(&TlsReport) -> String;

/// The `tls` table, when a run had handshakes: one column per run, `-` for a
/// run without TLS (compared with one over TLS).
fn tls(out: &mut String, runs: &[(String, &Report)]) -> std::fmt::Result {
    if runs.iter().all(|(_, r)| r.tls.is_none()) {
        return Ok(());
    }
    out.push_str("<h2>tls</h2>\n<table><tr><th></th>");
    for (name, _) in runs {
        write!(out, "<th>{}</th>", escape(name))?;
    }
    out.push_str("</tr>\n");
    let rows: [(&str, TlsCell); 6] = [
        ("handshakes", |t| t.handshakes.to_string()),
        ("resumed", |t| t.resumed.to_string()),
        ("failed", |t| t.failed.to_string()),
        ("handshake p50", |t| show_us(t.handshake_p50_us as f64)),
        ("handshake p99", |t| show_us(t.handshake_p99_us as f64)),
        ("handshake max", |t| show_us(t.handshake_max_us as f64)),
    ];
    for (label, cell) in rows {
        write!(out, "<tr><td>{label}</td>")?;
        for (_, report) in runs {
            let shown = report.tls.as_ref().map_or("-".into(), cell);
            write!(out, "<td>{shown}</td>")?;
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    Ok(())
}

/// Text made safe for HTML: a target URL may hold `<`, `&` or quotes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
