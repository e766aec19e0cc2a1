//! The report's views that depend on how many answers there were.

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
