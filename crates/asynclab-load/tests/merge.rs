//! `asynclab load merge`: runs saved as JSON add up exactly, and files that must
//! not be merged are refused by name.

mod servers;
mod support;

use std::path::PathBuf;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use support::*;

/// Saves `report` as `asynclab load --json` would, in a file of its own.
fn save(report: &asynclab_load::Report, name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("asynclab-merge-{}-{name}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(report).expect("serialises")).expect("written");
    path
}

/// The histogram a saved report carries, decoded independently of the crate.
fn histogram(path: &PathBuf) -> Histogram<u64> {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("readable")).expect("JSON");
    let text = json["hdr_histogram"]
        .as_str()
        .expect("hdr_histogram is a string");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64");
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("an HdrHistogram V2 histogram")
}

/// Two runs at once against one server: the merged report's counts are the sums,
/// its percentiles are those of the two histograms added (not an average of
/// percentiles), and its rate is the total over the window both runs span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_runs_have_exact_percentiles_and_summed_counts() {
    let (addr, seen) = servers::http().await;
    let small = count(http(addr, "/mixed"), 40, 2);
    let large = count(http(addr, "/mixed"), 500, 2);
    let (a, b) = tokio::join!(load(&small), load(&large));
    let paths = [save(&a, "a"), save(&b, "b")];
    let runs: Vec<_> = paths
        .iter()
        .map(|p| asynclab_load::read(p).expect("reads back"))
        .collect();
    let merged = asynclab_load::merge(&runs, false).expect("same target and protocol");

    assert_eq!(merged.runs, 2);
    assert_eq!(merged.requests.started, 540);
    assert_eq!(merged.requests.ok, seen.requests());
    assert_eq!(merged.status["200"], 540);
    assert_eq!(merged.connections, 4);
    let mut both = histogram(&paths[0]);
    both.add(histogram(&paths[1])).expect("same bounds");
    let l = merged.latency_us.as_ref().expect("latencies");
    for (q, got) in [(0.5, l.p50), (0.9, l.p90), (0.99, l.p99), (0.999, l.p99_9)] {
        assert_eq!(got, both.value_at_quantile(q), "p{}", q * 100.0);
    }
    assert_eq!((l.min, l.max), (both.min(), both.max()));
    // One request in 13 took 50 ms: the p90 is fast and the p99 slow.
    assert!(l.p90 < 50_000 && l.p99 >= 50_000, "{l:?}");
    let start = a.started_at.min(b.started_at);
    let end = (a.started_at + a.duration_s).max(b.started_at + b.duration_s);
    // Seconds since 1970 in an f64 keep about a microsecond.
    assert!((merged.duration_s - (end - start)).abs() < 1e-5);
    assert!((merged.rate / (540.0 / (end - start)) - 1.0).abs() < 1e-4);
    // The merged report saves and merges again like any other.
    let again = asynclab_load::merge(
        &[asynclab_load::read(&save(&merged, "ab")).expect("reads")],
        false,
    )
    .expect("one report merges into itself");
    assert_eq!(again.latency_us.expect("latencies").p99, l.p99);
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_that_do_not_belong_together_are_refused() {
    let (addr, _) = servers::http().await;
    let a = save(&load(&count(http(addr, "/"), 20, 2)).await, "x");
    let b = save(&load(&count(http(addr, "/alternate"), 20, 2)).await, "y");
    let runs = [
        asynclab_load::read(&a).expect("reads"),
        asynclab_load::read(&b).expect("reads"),
    ];
    let err = asynclab_load::merge(&runs, false)
        .expect_err("different targets")
        .to_string();
    assert!(err.contains("target") && err.contains("--force"), "{err}");
    assert_eq!(
        asynclab_load::merge(&runs, true)
            .expect("forced")
            .requests
            .started,
        40
    );

    // A version-1 report has no histogram to add: refused, naming the file.
    let old = std::env::temp_dir().join(format!("asynclab-merge-{}-v1.json", std::process::id()));
    std::fs::write(&old, r#"{"schema": 1, "target": "http://x/"}"#).expect("written");
    let err = asynclab_load::read(&old).expect_err("schema 1").to_string();
    assert!(
        err.contains(&old.display().to_string()) && err.contains("schema 1"),
        "{err}"
    );
    for path in [a, b, old] {
        let _ = std::fs::remove_file(path);
    }
}
