//! The open model's accounting (`--rate`): the achieved rate is measured over the
//! schedule's window, and requests that fell due but could not be sent are counted.

mod servers;
mod support;

use support::*;

/// `-r 4 -d 1s -c 1` and `-r 4 -n 4 -c 1` against a server with headroom: four
/// requests in the schedule's one second, so 4.0 req/s achieved, never more. (The
/// window used to end at the last answer, 0.75 s in: "5.3 req/s achieved".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_achieved_rate_is_the_scheduled_one_on_an_idle_server() {
    let (addr, _) = servers::http().await;
    let by_time = paced(addr, "/", 1, 4.0, 1000);
    let mut by_count = by_time.clone();
    (by_count.duration, by_count.requests) = (None, Some(4));
    for settings in [by_time, by_count] {
        let report = load(&settings).await;
        assert_eq!((report.requests.ok, report.requests.missed), (4, 0));
        assert!(
            report.rate <= 4.0 && report.rate > 3.9,
            "{} req/s achieved over {} s",
            report.rate,
            report.duration_s
        );
    }
}

/// One connection, 50 ms per answer, 200 requests due in one second: it can send
/// about 20. Every request due is either started or missed, and the summary says
/// what to do about it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_due_but_never_sent_are_counted_as_missed() {
    let (addr, seen) = servers::http().await;
    let report = load(&paced(addr, "/slow", 1, 200.0, 1000)).await;
    let r = &report.requests;
    assert_eq!(r.started + r.missed, 200, "{r:?}");
    assert!(r.missed > 150, "{r:?}");
    assert_eq!(seen.requests(), r.started);
    let text = report.to_string();
    assert!(
        text.contains(&format!("missed     {} requests", r.missed)) && text.contains("raise -c"),
        "{text}"
    );
    // A rate the connections can carry misses nothing, and says nothing about it.
    let report = load(&paced(addr, "/", 4, 200.0, 500)).await;
    assert_eq!((report.requests.started, report.requests.missed), (100, 0));
    assert!(!report.to_string().contains("missed"));
}
