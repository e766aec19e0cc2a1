//! The report's three views (text, JSON, SVG), and what they show as the
//! number of answers changes.

mod servers;
mod support;

use support::*;

/// The latency plot's axis stops at the finest percentile the answers can show,
/// as `docs/load.md` says: 6,000 answers show 99.9% (six beyond it), not 99.99%.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plot_axis_ends_where_the_sample_does() {
    let (addr, _) = servers::http().await;
    for (requests, last, beyond) in [(6000, "99.9%", "99.99%"), (500, "99%", "99.9%")] {
        let report = load(&count(http(addr, "/"), requests, 4)).await;
        let path = std::env::temp_dir().join(format!(
            "asynclab-load-axis-{}-{requests}.svg",
            std::process::id()
        ));
        asynclab_load::write_svg(&report, &path).expect("the chart is written");
        let svg = std::fs::read_to_string(&path).expect("the chart is readable");
        let _ = std::fs::remove_file(&path);
        // plotters writes each label's text on a line of its own.
        let labels: Vec<&str> = svg.lines().map(str::trim).collect();
        assert!(labels.contains(&last), "{requests}: no {last} label");
        assert!(!labels.contains(&beyond), "{requests}: {beyond} shown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_reads_as_text_json_and_svg() {
    let (addr, _) = servers::http().await;
    let report = load(&count(http(addr, "/alternate"), 200, 4)).await;

    let text = report.to_string();
    for needle in [
        "200 answered (100 ok)",
        "p99.9",
        "status codes",
        "500  100",
        "histogram",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }

    // The documented, stable JSON schema (docs/load.md).
    let json = serde_json::to_value(&report).expect("serialises");
    let keys = keys_of(&json);
    assert_eq!(
        keys,
        [
            "by_name",
            "bytes",
            "connections",
            "duration_s",
            "errors",
            "hdr_histogram",
            "histogram",
            "interrupted",
            "latency_us",
            "percentiles",
            "protocol",
            "rate",
            "requests",
            "runs",
            "schema",
            "stages",
            "started_at",
            "status",
            "target",
            "target_rate",
            "thresholds",
            "timeline",
            "warmup_s"
        ]
    );
    assert_eq!(json["schema"], 2);
    assert_eq!(json["requests"]["started"], 200);
    assert_eq!(json["status"]["500"], 100);
    let kinds = keys_of(&json["errors"]);
    assert_eq!(
        kinds,
        [
            "closed",
            "connect_failed",
            "connect_refused",
            "echo_mismatch",
            "protocol",
            "reset",
            "timeout",
            "tls"
        ]
    );
    for key in [
        "min",
        "mean",
        "stdev",
        "p50",
        "p90",
        "p99",
        "p99_9",
        "max",
        "from_schedule",
    ] {
        assert!(json["latency_us"].get(key).is_some(), "latency_us.{key}");
    }

    let path = std::env::temp_dir().join(format!("asynclab-load-{}.svg", std::process::id()));
    asynclab_load::write_svg(&report, &path).expect("the chart is written");
    let svg = std::fs::read_to_string(&path).expect("the chart is readable");
    let _ = std::fs::remove_file(&path);
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(100)]);
    assert!(svg.contains("99%") && svg.contains("latency (ms)"));
}
