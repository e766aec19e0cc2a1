//! The timeline in the report: one tick per interval, counts that add up to the
//! run's, errors by kind, percentiles, and timelines that merge.

mod servers;
mod support;

use std::time::Duration;

use asynclab_load::ErrorKind;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_interval_has_its_rate_errors_and_percentiles() {
    let (addr, _) = servers::http().await;
    let mut settings = paced(addr, "/", 4, 200.0, 2000);
    settings.interval = Duration::from_millis(500);
    let report = load(&settings).await;
    let ticks = &report.timeline;
    // Four half-seconds; the last answers (a few ms after 2 s) join the last one.
    assert_eq!(ticks.len(), 4, "{ticks:#?}");
    assert_eq!(
        ticks.iter().map(|t| t.requests).sum::<u64>(),
        report.requests.started
    );
    for (i, tick) in ticks.iter().enumerate() {
        assert!((tick.t_s - 0.5 * (i + 1) as f64).abs() < 0.1, "{tick:?}");
        // 100 requests are due in each half-second; a request due at an edge may
        // finish on the other side of it.
        assert!((95..=105).contains(&tick.requests), "{tick:?}");
        assert!(
            tick.errors.is_empty() && tick.ok == tick.requests,
            "{tick:?}"
        );
        let (p50, p90, p99) = (
            tick.p50_us.expect("p50"),
            tick.p90_us.expect("p90"),
            tick.p99_us.expect("p99"),
        );
        assert!(p50 <= p90 && p90 <= p99, "{tick:?}");
    }

    // Failures are counted by kind, in the interval they happened in.
    let refused = servers::refused().await;
    let mut settings = http(refused, "/");
    (settings.connections, settings.duration) = (2, Some(Duration::from_millis(600)));
    settings.interval = Duration::from_millis(200);
    let report = load(&settings).await;
    let failed: u64 = report
        .timeline
        .iter()
        .map(|t| {
            t.errors
                .get(&ErrorKind::ConnectRefused)
                .copied()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(failed, report.requests.errors);
    assert!(
        report
            .timeline
            .iter()
            .all(|t| t.p50_us.is_none() && t.ok == 0)
    );

    // A timeline merged with itself: the same intervals, twice the requests.
    let path = std::env::temp_dir().join(format!("asynclab-timeline-{}.json", std::process::id()));
    let first = load(&paced(addr, "/", 2, 100.0, 1000)).await;
    std::fs::write(&path, serde_json::to_vec(&first).expect("JSON")).expect("written");
    let runs = [
        asynclab_load::read(&path).expect("reads"),
        asynclab_load::read(&path).expect("reads"),
    ];
    let merged = asynclab_load::merge(&runs, false).expect("merges");
    let _ = std::fs::remove_file(&path);
    assert_eq!(merged.timeline.len(), first.timeline.len());
    for (m, f) in merged.timeline.iter().zip(&first.timeline) {
        assert_eq!((m.requests, m.p99_us), (2 * f.requests, f.p99_us));
    }
}
