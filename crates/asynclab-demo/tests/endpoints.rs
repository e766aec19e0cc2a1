//! Each demo route's claim, called directly through `Demo::handle` with a
//! hand-built request. Timer-based claims run on paused time (`start_paused`): the
//! clock jumps straight to the next timer when every task is waiting, so a 100 ms
//! wait takes no real time and the measured totals are exact, not flaky.

mod common;

use std::time::Duration;

use asynclab_core::{Event, Events, Shutdown};
use asynclab_demo::{ROUTES, count_primes};
use common::{call, demo, demo_with, json, text};
use http::StatusCode;
use http_body_util::BodyExt;

fn ms(value: &serde_json::Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` in {value}"))
}

#[tokio::test(start_paused = true)]
async fn sequential_fanout_takes_n_delays_join_and_spawn_take_one() {
    let demo = demo();
    let (status, seq) =
        json(call(&demo, "GET", "/fanout?n=5&delay=100ms&mode=sequential").await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ms(&seq, "total_ms") >= 500.0, "{seq}");
    // Each wait starts after the previous one ended.
    let waits = seq["waits"].as_array().expect("waits");
    assert_eq!(waits.len(), 5);
    for pair in waits.windows(2) {
        assert!(ms(&pair[1], "start_ms") >= ms(&pair[0], "end_ms"), "{seq}");
    }

    for mode in ["join", "spawn"] {
        let uri = format!("/fanout?n=5&delay=100ms&mode={mode}");
        let (status, con) = json(call(&demo, "GET", &uri).await).await;
        assert_eq!(status, StatusCode::OK);
        let total = ms(&con, "total_ms");
        assert!((100.0..250.0).contains(&total), "{mode}: {con}");
        // Every wait started before the first one ended: they overlapped.
        let waits = con["waits"].as_array().expect("waits");
        assert_eq!(waits.len(), 5);
        assert!(
            waits.iter().all(|w| ms(w, "start_ms") < 100.0),
            "{mode}: {con}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn select_returns_the_faster_branch_and_drops_the_other() {
    let demo = demo();
    for (uri, winner, loser) in [
        ("/race?a=300ms&b=50ms", "b", "a"),
        ("/race?a=40ms&b=1s", "a", "b"),
    ] {
        let (status, race) = json(call(&demo, "GET", uri).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(race["winner"], winner, "{race}");
        assert_eq!(race["loser"], loser, "{race}");
        assert_eq!(race["loser_dropped"], true, "the drop guard ran: {race}");
        let fastest = ms(&race, "a_ms").min(ms(&race, "b_ms"));
        assert!(ms(&race, "elapsed_ms") < fastest + 100.0, "{race}");
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_answers_504_when_the_work_is_too_slow_and_200_otherwise() {
    let demo = demo();
    let (status, late) = json(call(&demo, "GET", "/timeout?work=2s&limit=500ms").await).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{late}");
    assert_eq!(late["work_dropped"], true, "{late}");
    assert!(
        ms(&late, "elapsed_ms") < 1000.0,
        "gave up at the limit: {late}"
    );

    let (status, done) = json(call(&demo, "GET", "/timeout?work=100ms&limit=1s").await).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["result"], "the work finished");
}

#[tokio::test]
async fn compute_counts_primes_on_the_blocking_pool() {
    assert_eq!(count_primes(100), 25);
    assert_eq!(count_primes(1_000), 168);
    let demo = demo();
    let (status, res) = json(call(&demo, "GET", "/compute?n=100000").await).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["primes_below_n"], 9592);
    // tokio names its blocking-pool threads `tokio-runtime-worker` too; what proves
    // the pool is that the test runtime's only thread is this test's own.
    assert_ne!(
        res["thread"].as_str(),
        std::thread::current().name(),
        "ran off the async thread"
    );

    let over = demo_with(Events::default(), Shutdown::new(), |c| c.max_compute = 1000);
    let res = call(&over, "GET", "/compute?n=1001").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(text(res).await.contains("http.demo.max_compute"));
}

#[tokio::test]
async fn block_is_off_by_default_and_says_how_to_turn_it_on() {
    let res = call(&demo(), "GET", "/block?ms=10").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        text(res)
            .await
            .contains("--set http.demo.allow_blocking=true")
    );

    let on = demo_with(Events::default(), Shutdown::new(), |c| {
        c.allow_blocking = true
    });
    let (status, res) = json(call(&on, "GET", "/block?ms=20").await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ms(&res, "blocked_ms") >= 20.0, "{res}");
    let res = call(&on, "GET", "/block?ms=2001").await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "over http.demo.max_block"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_all_count() {
    let demo = demo();
    let posts: Vec<_> = (0..50)
        .map(|_| {
            let demo = demo.clone();
            tokio::spawn(async move { call(&demo, "POST", "/counter").await.status() })
        })
        .collect();
    for post in posts {
        assert_eq!(post.await.expect("no panic"), StatusCode::OK);
    }
    let (_, counter) = json(call(&demo, "GET", "/counter").await).await;
    assert_eq!(counter["value"], 50, "{counter}");
    let (_, counter) = json(call(&demo, "POST", "/counter?by=10").await).await;
    assert_eq!(counter["value"], 60, "{counter}");
    assert_eq!(counter["increments"], 51, "{counter}");
    assert!(
        counter["lock"]
            .as_str()
            .expect("lock")
            .contains("std::sync::Mutex")
    );
}

#[tokio::test]
async fn bad_values_unknown_keys_and_wrong_methods_are_refused() {
    let demo = demo();
    for (uri, says) in [
        ("/fanout?delay=soon", "not a duration"),
        ("/fanout?delay=6s", "http.demo.max_delay"),
        ("/fanout?mode=parallel", "sequential, join or spawn"),
        ("/fanout?n=0", "below 1"),
        ("/race?a=1s&c=2s", "unknown parameter `c`"),
        ("/timeout?work=1h", "http.demo.max_delay"),
        ("/retry?attempts=11", "http.demo.max_attempts"),
        ("/retry?attempts=0", "below 1"),
        ("/retry?chance=101", "100 percent"),
        ("/retry?jitter=2", "the whole backoff"),
        ("/retry?base=3s&max_backoff=1s", "at most `max_backoff`"),
        ("/retry?base=1h", "http.demo.max_delay"),
        ("/retry?tries=3", "unknown parameter `tries`"),
        ("/events?for=2h", "http.demo.max_events_for"),
    ] {
        let res = call(&demo, "GET", uri).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{uri}");
        let body = text(res).await;
        assert!(body.contains(says), "{uri}: {body}");
    }
    let res = call(&demo, "DELETE", "/counter").await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET, HEAD, POST");

    let not_ours = http::Request::get("/fast").body(()).expect("request");
    assert!(
        demo.handle(not_ours).await.is_none(),
        "other paths are left to the caller"
    );
    assert!(ROUTES.iter().all(|r| r.allows(&http::Method::GET)));
}

#[tokio::test(start_paused = true)]
async fn retry_answers_every_attempt_as_json() {
    let res = call(&demo(), "GET", "/retry?fail=1&attempts=3&base=50ms").await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["stopped"], "succeeded");
    assert_eq!(body["attempts"].as_array().map(Vec::len), Some(2));
    let res = call(&demo(), "GET", "/retry?fail=5&attempts=2").await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
}

/// The next chunk of an event stream, as text (bounded: a stalled stream fails).
async fn next_chunk(body: &mut asynclab_demo::Body) -> Option<String> {
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the stream produced something within 5s")?
        .expect("an event stream never fails");
    let data = frame.into_data().expect("data frames only");
    Some(String::from_utf8(data.to_vec()).expect("utf-8"))
}

fn request_event(route: &str) -> Event {
    Event::Request {
        method: "GET".into(),
        route: route.into(),
        status: 200,
        latency_ms: 1.5,
    }
}

#[tokio::test]
async fn events_stream_what_happens_after_subscribing_and_end_on_shutdown() {
    let (events, shutdown) = (Events::default(), Shutdown::new());
    let demo = demo_with(events.clone(), shutdown.clone(), |_| {});
    events.publish(request_event("/before"));

    let res = call(&demo, "GET", "/events").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    events.publish(request_event("/after"));
    events.publish(Event::EchoOpen {
        peer: "127.0.0.1:5555".into(),
    });

    let greeting = next_chunk(&mut body).await.expect("greeting");
    assert!(greeting.starts_with(':'), "a comment first: {greeting}");
    let first = next_chunk(&mut body).await.expect("first event");
    assert!(first.starts_with("event: request\ndata: {"), "{first}");
    assert!(
        first.contains("\"route\":\"/after\""),
        "only events after subscribing: {first}"
    );
    let second = next_chunk(&mut body).await.expect("second event");
    assert!(second.starts_with("event: echo_open\n"), "{second}");

    shutdown.request();
    let last = next_chunk(&mut body).await.expect("the shutdown event");
    assert!(last.starts_with("event: shutdown\n"), "{last}");
    assert_eq!(
        next_chunk(&mut body).await,
        None,
        "the stream ends after it"
    );
}

#[tokio::test]
async fn a_slow_subscriber_is_told_how_many_it_missed() {
    let events = Events::new(4);
    let demo = demo_with(events.clone(), Shutdown::new(), |_| {});
    let mut body = call(&demo, "GET", "/events").await.into_body();
    next_chunk(&mut body).await.expect("greeting");
    // The client reads nothing while 10 events are published into a channel of 4.
    for i in 0..10 {
        events.publish(request_event(&format!("/r{i}")));
    }
    let lagged = next_chunk(&mut body).await.expect("lagged");
    assert_eq!(lagged, "event: lagged\ndata: {\"missed\":6}\n\n");
    // ... and carries on with the oldest event still held.
    let next = next_chunk(&mut body).await.expect("carries on");
    assert!(next.contains("\"route\":\"/r6\""), "{next}");
}

#[tokio::test]
async fn subscribers_beyond_the_limit_get_503_until_one_leaves() {
    let demo = demo_with(Events::default(), Shutdown::new(), |c| {
        c.max_subscribers = 2
    });
    let first = call(&demo, "GET", "/events").await;
    let second = call(&demo, "GET", "/events").await;
    let third = call(&demo, "GET", "/events").await;
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(third.headers().contains_key("retry-after"));
    assert!(text(third).await.contains("http.demo.max_subscribers"));
    drop(first);
    assert_eq!(call(&demo, "GET", "/events").await.status(), StatusCode::OK);
    drop(second);
}

#[tokio::test(start_paused = true)]
async fn events_stream_sends_heartbeats_and_ends_when_asked() {
    let demo = demo_with(Events::default(), Shutdown::new(), |c| {
        c.heartbeat = Duration::from_secs(1)
    });
    let mut body = call(&demo, "GET", "/events?for=2500ms").await.into_body();
    next_chunk(&mut body).await.expect("greeting");
    assert_eq!(
        next_chunk(&mut body).await.as_deref(),
        Some(": heartbeat\n\n")
    );
    assert_eq!(
        next_chunk(&mut body).await.as_deref(),
        Some(": heartbeat\n\n")
    );
    let end = next_chunk(&mut body).await.expect("end");
    assert!(end.starts_with("event: end\n"), "{end}");
    assert_eq!(next_chunk(&mut body).await, None);
}

#[tokio::test(start_paused = true)]
async fn events_stream_without_for_ends_after_events_for() {
    let demo = demo_with(Events::default(), Shutdown::new(), |c| {
        c.heartbeat = Duration::from_secs(3);
        c.events_for = Duration::from_secs(4);
    });
    let started = tokio::time::Instant::now();
    let mut body = call(&demo, "GET", "/events").await.into_body();
    next_chunk(&mut body).await.expect("greeting");
    assert_eq!(
        next_chunk(&mut body).await.as_deref(),
        Some(": heartbeat\n\n")
    );
    let end = next_chunk(&mut body).await.expect("end");
    assert!(end.starts_with("event: end\n"), "{end}");
    assert!(end.contains("http.demo.events_for"), "{end}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(next_chunk(&mut body).await, None);
}
