//! `--breakpoint` against a server that slows down past a known rate.

mod servers;
mod support;

use asynclab_load::{Control, Search, Threshold};
use support::*;

/// Steps of 100 req/s from 100: 100 and 200 are under the server's 250/s and
/// hold; at 300 the server closes connections instead of answering past its limit,
/// and `errors>5%` breaks. (Errors rather than latency: a busy test machine can
/// stall the generator for a fraction of a second, which shows in latency, not in
/// errors.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_finds_the_rate_where_the_server_degrades() {
    let (addr, _) = servers::http().await;
    assert_eq!(servers::DEGRADES_ABOVE, 250);
    let settings = paced(addr, "/degrade", 40, 100.0, 1000);
    let search = Search {
        start: 100.0,
        step: 100.0,
        steps: 8,
        until: vec![Threshold::parse("errors>5%").expect("valid")],
    };
    let runtime = [tokio::runtime::Handle::current()];
    let mut seen = Vec::new();
    let found = asynclab_load::search(&settings, &search, &Control::default(), &runtime, |s| {
        seen.push(s.rate)
    })
    .await
    .expect("the search runs");
    assert_eq!(
        (found.held, found.broke_at),
        (Some(200.0), Some(300.0)),
        "{found}"
    );
    assert_eq!(seen, [100.0, 200.0, 300.0]);
    assert_eq!(found.steps[2].broken, ["errors>5%"]);
    assert!(
        found
            .to_string()
            .contains("held up to 200.0 req/s; broke at 300.0 req/s")
    );
    // Each step ran for its second at its own rate.
    assert_eq!(found.steps[1].requests, 200);
}
