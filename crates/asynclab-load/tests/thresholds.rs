//! `--fail-if`: each kind of condition, checked against a real run.

mod servers;
mod support;

use asynclab_load::{EchoMode, Report, Threshold};
use support::*;

/// Which of `conditions` fail for `report`.
fn failing(report: &Report, conditions: &[&str]) -> Vec<String> {
    conditions
        .iter()
        .map(|c| Threshold::parse(c).expect("valid condition").check(report))
        .filter(|checked| checked.failed)
        .map(|checked| checked.condition)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_rate_and_error_conditions_fail_when_they_hold() {
    let (addr, _) = servers::http().await;
    // Every answer takes at least 50 ms.
    let report = load(&count(http(addr, "/slow"), 20, 2)).await;
    let conditions = [
        "p50>40ms", "p99>=10s", "min<50ms", "max>=1h", "rate>1", "rate<1", "errors>0", "missed>0",
    ];
    assert_eq!(failing(&report, &conditions), ["p50>40ms", "rate>1"]);

    // One echo in five comes back wrong: 20% errors.
    let (addr, _) = servers::echo(true, Some(5)).await;
    let report = load(&count(echo(addr, EchoMode::Line), 50, 1)).await;
    assert_eq!(
        failing(
            &report,
            &["errors>0.5%", "errors>25%", "errors>=10", "errors<10"]
        ),
        ["errors>0.5%", "errors>=10"]
    );
}

/// A latency condition with no answer to measure does not pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_condition_without_answers_fails() {
    let addr = servers::refused().await;
    let mut settings = http(addr, "/");
    (settings.connections, settings.duration) = (1, Some(std::time::Duration::from_millis(100)));
    let report = load(&settings).await;
    assert_eq!(failing(&report, &["p99>1h"]), ["p99>1h"]);
}
