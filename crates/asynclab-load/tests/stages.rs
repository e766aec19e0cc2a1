//! `--stage`: a rate that ramps (the due times follow the ramp, so the server sees
//! it) and connections that come and go.

mod servers;
mod support;

use std::time::Duration;

use asynclab_load::Stages;
use support::*;
use tokio::time::Instant;

/// Counts of `times` in consecutive windows of `width` seconds, from 0 to `until`.
fn per_window(times: &[f64], width: f64, until: f64) -> Vec<usize> {
    let windows = (until / width).round() as usize;
    let mut counts = vec![0; windows];
    for &t in times {
        if let Some(n) = counts.get_mut((t / width) as usize) {
            *n += 1;
        }
    }
    counts
}

/// 0 → 200/s over 1 s, 200/s for 1 s, down to 0 over 1 s: 400 requests, and the
/// server sees them arrive at the ramp's pace, half-second by half-second (25,
/// 75, 100, 100, 75, 25; the slack below is far smaller than the ramp's steps).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_ramp_is_followed_by_the_arrivals() {
    let (addr, seen) = servers::http().await;
    let stages = Stages::parse(&["1s:200,1s:200,1s:0".into()], 0.0).expect("valid stages");
    let mut settings = paced(addr, "/", 10, 0.0, 3000);
    settings.stages = Some(stages.clone());
    let report = load(&settings).await;
    assert_eq!(report.requests.ok, 400, "{:?}", report.requests);
    assert_eq!(report.requests.missed, 0);
    assert_eq!(report.stages, stages.stages);
    // Request 0 is due at 0 s: its arrival is the schedule's origin.
    let origin = seen.arrivals.lock().expect("not poisoned")[0];
    let arrivals = seen.arrivals_since(origin);
    let got = per_window(&arrivals, 0.5, 3.0);
    let want: Vec<f64> = (0..6)
        .map(|i| stages.expected((i + 1) as f64 * 0.5) - stages.expected(i as f64 * 0.5))
        .collect();
    assert_eq!(want, [25.0, 75.0, 100.0, 100.0, 75.0, 25.0]);
    for (i, (&got, want)) in got.iter().zip(&want).enumerate() {
        // A request due at a window's edge may land on either side of it, and a
        // busy test machine can hold the generator back for a few tens of
        // milliseconds: a fifth of the window's count (at least 6) of slack.
        assert!(
            (got as f64 - want).abs() <= (want * 0.2).max(6.0),
            "window {i}: {got} arrivals, {want} due ({got:?} vs {want:?})"
        );
    }
}

/// Without `--rate` the targets are connections: 0 → 4 over 0.5 s, 4 for 0.5 s,
/// down to 0 over 0.5 s. Connection *i* starts once the target reaches *i + 1*
/// and stops (closing its socket) once it falls below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_ramp_up_and_down() {
    let (addr, seen) = servers::http().await;
    let mut settings = http(addr, "/");
    settings.stages = Some(Stages::parse(&["500ms:4,500ms:4,500ms:0".into()], 0.0).expect("valid"));
    (settings.connections, settings.duration) = (4, Some(Duration::from_millis(1500)));
    let began = Instant::now();
    let report = load(&settings).await;
    assert!(report.requests.ok > 0);
    // Each connection opened once: none was wanted again after it stopped.
    assert_eq!(seen.connections(), 4);
    let arrivals = seen.arrivals_since(began);
    let first = arrivals.first().copied().unwrap_or_default();
    let last = arrivals.last().copied().unwrap_or_default();
    // The first connection is wanted from 0.125 s, the last one until 1.375 s.
    assert!(first >= 0.1, "first request at {first} s");
    assert!((1.2..1.5).contains(&last), "last request at {last} s");
}
