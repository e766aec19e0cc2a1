//! The HTML report: one self-contained page (no script, nothing fetched), and
//! rendered for real in headless Chromium with no console error.

mod servers;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use asynclab_load::Report;
use support::*;

/// Two short runs with timelines: a fast route and a slower one.
async fn two_runs() -> (Report, Report) {
    let (addr, _) = servers::http().await;
    let mut fast = paced(addr, "/", 4, 100.0, 1500);
    fast.interval = Duration::from_millis(500);
    let mut mixed = fast.clone();
    if let asynclab_load::Target::Http(h) = &mut mixed.target {
        h.uri = format!("http://{addr}/mixed").parse().expect("valid URL");
    }
    tokio::join!(load(&fast), load(&mixed))
}

fn page(runs: &[(String, &Report)], name: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.html"));
    asynclab_load::write_html(runs, &path).expect("the report is written");
    let html = std::fs::read_to_string(&path).expect("readable");
    (path, html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_one_self_contained_page() {
    let (a, b) = two_runs().await;
    let (_, one) = page(&[("a&b <1>".into(), &a)], "single");
    assert!(one.starts_with("<!DOCTYPE html>"));
    // Latency by percentile, rate, p99, p50 and errors over time.
    assert_eq!(one.matches("<svg").count(), 5, "charts");
    assert!(
        one.contains("a&amp;b &lt;1&gt;") && !one.contains("a&b <1>"),
        "names escaped"
    );
    let (_, both) = page(&[("a".into(), &a), ("b".into(), &b)], "compare");
    assert_eq!(both.matches("<svg").count(), 4, "charts");
    assert!(both.contains("<th>a</th><th>b</th>"));
    for html in [&one, &both] {
        for external in ["<script", "src=", "href=", "@import", "url("] {
            assert!(
                !html.contains(external),
                "`{external}` in a self-contained page"
            );
        }
    }
}

/// Renders `path` in headless Chromium: a screenshot (kept next to the page, as
/// this test's output) and the browser's log, which must hold no console error
/// and no failed load.
fn render(path: &Path) -> PathBuf {
    let shot = path.with_extension("png");
    let out = Command::new("chromium")
        .args([
            "--headless",
            // Tests may run as root (containers), where Chromium's sandbox refuses.
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1100,2400",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("chromium runs (Debian: apt-get install chromium; .ci/run installs it)");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    for line in log.lines() {
        assert!(
            !(line.contains("CONSOLE")
                || line.contains("Failed to load")
                || line.contains("Uncaught")),
            "{line}"
        );
    }
    shot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_renders_in_headless_chromium() {
    let (a, b) = two_runs().await;
    let (path, _) = page(&[("a".into(), &a), ("b".into(), &b)], "rendered");
    let shot = render(&path);
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    println!("screenshot: {}", shot.display());
}
