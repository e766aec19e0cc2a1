//! The demo served for real: a hyper server on `127.0.0.1:0` whose runtime has a
//! single worker thread (`current_thread`), and raw HTTP/1.1 clients on the test's
//! own runtime. These are the claims that need a real event loop: blocking the
//! worker stalls an unrelated request, `spawn_blocking` does not, and an event
//! stream over a socket ends cleanly on shutdown.

mod common;

use std::time::Duration;

use asynclab_core::{Events, Shutdown};
use common::{Client, TestServer, demo_with, fetch};

/// How long after the slow request the `/fast` probe is sent.
const HEAD_START: Duration = Duration::from_millis(100);

#[tokio::test]
async fn block_stalls_a_concurrent_request_but_compute_does_not() {
    let events = Events::default();
    let demo = demo_with(events.clone(), Shutdown::new(), |c| {
        c.allow_blocking = true;
        c.max_compute = 10_000_000;
    });
    let server = TestServer::start(demo, events);
    let addr = server.addr;

    // Warm up the connection path so the first measurement is not the odd one out.
    let (warm, _) = fetch(addr, "/fast").await;
    assert!(warm.starts_with("HTTP/1.1 200"), "{warm}");

    // 1. /block holds the only worker for 800 ms: /fast, sent 100 ms in, waits.
    let blocker = tokio::spawn(fetch(addr, "/block?ms=800"));
    tokio::time::sleep(HEAD_START).await;
    let (fast, stalled) = fetch(addr, "/fast").await;
    assert!(fast.contains("Fast response"), "{fast}");
    let (blocked, _) = blocker.await.expect("no panic");
    assert!(blocked.contains("\"blocked_ms\""), "{blocked}");
    assert!(
        stalled >= Duration::from_millis(400),
        "/fast should wait for the blocked worker, took {stalled:?}"
    );

    // 2. /compute on the blocking pool: /fast, sent 100 ms in, answers at once
    //    and long before the computation ends (3,000,000 takes ~0.7 s).
    let computing = tokio::spawn(async move {
        let (body, took) = fetch(addr, "/compute?n=3000000").await;
        (body, took, tokio::time::Instant::now())
    });
    tokio::time::sleep(HEAD_START).await;
    let (fast, quick) = fetch(addr, "/fast").await;
    let fast_done = tokio::time::Instant::now();
    assert!(fast.contains("Fast response"), "{fast}");
    let (computed, compute_took, compute_done) = computing.await.expect("no panic");
    assert!(
        computed.contains("\"primes_below_n\": 216816"),
        "{computed}"
    );
    assert!(
        fast_done < compute_done,
        "/fast ({quick:?}) finished after /compute ({compute_took:?})"
    );
    assert!(
        quick < Duration::from_millis(250),
        "/fast should not wait for /compute, took {quick:?}"
    );
}

#[tokio::test]
async fn event_stream_over_a_socket_sees_requests_and_ends_on_shutdown() {
    let (events, shutdown) = (Events::default(), Shutdown::new());
    let demo = demo_with(events.clone(), shutdown.clone(), |_| {});
    let server = TestServer::start(demo, events);

    let mut stream = Client::get(server.addr, "/events").await;
    stream.expect("asynclab events").await;
    assert!(stream.received.contains("content-type: text/event-stream"));

    let (counter, _) = fetch(server.addr, "/counter").await;
    assert!(counter.starts_with("HTTP/1.1 200"), "{counter}");
    // The request shows up on the stream.
    stream.expect("\"route\":\"/counter\"").await;

    shutdown.request();
    assert!(
        stream.read_to_end(Duration::from_secs(5)).await,
        "the stream ends at once when a shutdown is requested (not after the readiness delay)"
    );
    assert!(
        stream.received.contains("event: shutdown\n"),
        "{}",
        stream.received
    );
}
