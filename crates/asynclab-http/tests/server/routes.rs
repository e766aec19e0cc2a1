//! Each route answers as documented: the probes, `/slow`, `/limited`, `/echo`.

use super::*;

#[tokio::test]
async fn routes_answer_as_documented() {
    let s = spawn(|_| {}).await;
    let index = get(s.addr, "/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(
        index.body.starts_with("Hello from async Rust!\n"),
        "{}",
        index.body
    );
    assert!(index.body.contains("/limited") && index.body.ends_with('\n'));
    assert!(get(s.addr, "/about").await.body.starts_with("asynclab "));
    assert_eq!(get(s.addr, "/fast").await.body, "Fast response\n");
    assert_eq!(get(s.addr, "/healthz").await.body, "ok\n");
    assert_eq!(get(s.addr, "/readyz").await.body, "ready\n");

    let missing = get(s.addr, "/nope").await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (StatusCode::NOT_FOUND, "not found\n")
    );
    // Reserved for the file server; nothing mounted yet.
    assert_eq!(
        get(s.addr, "/files/data.txt").await.status,
        StatusCode::NOT_FOUND
    );

    let wrong = send(&client(), request("DELETE", s.addr, "/fast")).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    let wrong = send(&client(), request("PUT", s.addr, "/echo")).await;
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, POST"));

    let head = send(&client(), request("HEAD", s.addr, "/fast")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), Some("14"));
    assert_eq!(head.body, "");

    let info = get(s.addr, "/info").await.json();
    assert_eq!(info["name"], "asynclab");
    assert_eq!(info["pid"], std::process::id());
    assert!(info["workers"].as_u64().unwrap() >= 1);
    assert!(info["thread"].as_str().is_some());
    assert!(info["hostname"].as_str().is_some_and(|h| !h.is_empty()));
}

#[tokio::test]
async fn request_ids_are_kept_or_generated() {
    let s = spawn(|_| {}).await;
    let mine = Request::get(format!("http://{}/fast", s.addr))
        .header("x-request-id", "abc-123")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(
        send(&client(), mine).await.header("x-request-id"),
        Some("abc-123")
    );
    let a = get(s.addr, "/fast").await;
    let b = get(s.addr, "/nope").await;
    let (a, b) = (
        a.header("x-request-id").unwrap(),
        b.header("x-request-id").unwrap(),
    );
    assert!(!a.is_empty() && a != b, "{a} {b}");
}

#[tokio::test]
async fn fast_answers_while_200_slow_requests_wait() {
    let s = spawn(|c| c.http.slow.delay = Duration::from_secs(5)).await;
    let addr = s.addr;
    let slow: Vec<_> = (0..200)
        .map(|_| tokio::spawn(async move { get(addr, "/slow").await.status }))
        .collect();
    wait_stats(addr, |st| st["requests_in_flight"].as_u64() >= Some(200)).await;

    let started = Instant::now();
    let fast = get(addr, "/fast").await;
    let took = started.elapsed();
    assert_eq!(fast.status, StatusCode::OK);
    // "Well under" the 5 s the slow ones wait: they block nothing.
    assert!(
        took < Duration::from_secs(1),
        "/fast took {took:?} beside 200 waiting /slow"
    );
    for status in join_all(slow).await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_thousand_slow_requests_wait_together() {
    let s = spawn(|_| {}).await;
    let addr = s.addr;
    let started = Instant::now();
    let all: Vec<_> = (0..1000)
        .map(|_| tokio::spawn(async move { get(addr, "/slow?delay=1s").await }))
        .collect();
    for answer in join_all(all).await {
        let answer = answer.unwrap();
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, "Slow response\n")
        );
    }
    let took = started.elapsed();
    // One at a time this would take 1000 s; concurrently about 1 s.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(took >= Duration::from_secs(1));
}

#[tokio::test]
async fn slow_delay_is_validated() {
    let s = spawn(|_| {}).await;
    let bad = get(s.addr, "/slow?delay=soon").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("not a duration"), "{}", bad.body);
    // Each route's cap is its own key, named in the 400.
    for (uri, key) in [
        ("/slow?delay=31s", "http.slow.max_delay"),
        ("/limited?work=31s", "http.limited.max_work"),
        ("/fanout?delay=31s", "http.demo.max_delay"),
        ("/events?for=2h", "http.demo.max_events_for"),
    ] {
        let long = get(s.addr, uri).await;
        assert_eq!(long.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(long.body.contains(key), "{uri}: {}", long.body);
    }
    // A typo must not fall back to the 2 s default in silence.
    let typo = get(s.addr, "/slow?dealy=10ms").await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    assert!(
        typo.body.contains("unknown parameter `dealy`"),
        "{}",
        typo.body
    );
    assert_eq!(get(s.addr, "/slow?delay=10ms").await.status, StatusCode::OK);
}

#[tokio::test]
async fn limited_lets_two_in_at_a_time() {
    let work = MS(300);
    let s = spawn(|c| {
        c.http.limited.permits = 2;
        c.http.limited.work = work;
    })
    .await;
    let addr = s.addr;
    let started = Instant::now();
    let all: Vec<_> = (0..6)
        .map(|_| tokio::spawn(async move { get(addr, "/limited").await }))
        .collect();
    let answers: Vec<_> = join_all(all)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let took = started.elapsed();
    for a in &answers {
        assert_eq!(
            (a.status, a.body.as_str()),
            (StatusCode::OK, "Response from limited handler\n")
        );
    }
    // Six requests, two at a time: three rounds of work, no more, no fewer.
    assert!(took >= work * 3, "took {took:?}");
    assert!(took < work * 3 + Duration::from_secs(2), "took {took:?}");
    let waits: Vec<u64> = answers
        .iter()
        .map(|a| a.header("x-queue-wait-ms").unwrap().parse().unwrap())
        .collect();
    assert!(
        waits.iter().filter(|w| **w >= 250).count() >= 4,
        "{waits:?}"
    );

    let stats = get(addr, "/stats").await.json();
    assert_eq!(stats["limited"]["in_use_max"], 2, "{stats:#}");
    assert_eq!(stats["limited"]["in_use"], 0);
    assert_eq!(stats["limited"]["waiters"], 0);
}

#[tokio::test]
async fn limited_refuses_beyond_max_waiters() {
    let s = spawn(|c| {
        c.http.limited.permits = 1;
        c.http.limited.max_waiters = 1;
        c.http.limited.work = Duration::from_secs(1);
    })
    .await;
    let addr = s.addr;
    let first = tokio::spawn(async move { get(addr, "/limited").await });
    wait_stats(addr, |st| st["limited"]["in_use"] == 1).await;
    let second = tokio::spawn(async move { get(addr, "/limited").await });
    wait_stats(addr, |st| st["limited"]["waiters"] == 1).await;

    let third = get(addr, "/limited").await;
    assert_eq!(third.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(third.header("retry-after"), Some("1"));
    assert!(third.body.contains("max_waiters"), "{}", third.body);
    assert_eq!(first.await.unwrap().status, StatusCode::OK);
    assert_eq!(second.await.unwrap().status, StatusCode::OK);
    let metrics = get(addr, "/metrics").await.body;
    assert!(
        metrics.contains("asynclab_http_limited_rejected_total{reason=\"queue_full\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn limited_gives_up_after_the_queue_timeout() {
    let s = spawn(|c| {
        c.http.limited.permits = 1;
        c.http.limited.queue_timeout = MS(200);
        c.http.limited.work = Duration::from_secs(2);
    })
    .await;
    let addr = s.addr;
    let first = tokio::spawn(async move { get(addr, "/limited").await });
    wait_stats(addr, |st| st["limited"]["in_use"] == 1).await;
    let started = Instant::now();
    let second = get(addr, "/limited").await;
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(second.header("retry-after"), Some("2"));
    assert!(started.elapsed() >= MS(200));
    assert!(second.body.contains("queue_timeout"), "{}", second.body);
    assert_eq!(first.await.unwrap().status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_leaves_cancels_slow() {
    let s = spawn(|_| {}).await;
    let stream = slow_in_flight(s.addr, "20s").await;
    drop(stream);
    let stats = wait_stats(s.addr, |st| st["slow_cancelled"] == 1).await;
    assert_eq!(
        stats["requests_in_flight"], 1,
        "only /stats itself: {stats:#}"
    );
}

#[tokio::test]
async fn echo_streams_the_body_back() {
    let s = spawn(|_| {}).await;
    let body = "x".repeat(200_000);
    let req = Request::post(format!("http://{}/echo", s.addr))
        .header("content-type", "text/x-test")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let a = send(&client(), req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-type"), Some("text/x-test"));
    assert_eq!(a.body, body);
}

/// A client that sends `Expect: 100-continue` holds its body back until told to
/// go on; the streamed echo must say `100 Continue` before its `200`, or such a
/// client (curl, for bodies over 1 MiB) waits out its own timer first.
#[tokio::test]
async fn echo_says_100_continue_before_reading_the_body() {
    let s = spawn(|_| {}).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
    let interim = read_until(&mut stream, "\r\n\r\n").await;
    assert_eq!(interim, "HTTP/1.1 100 Continue\r\n\r\n");

    stream.write_all(b"hello").await.unwrap();
    let answer = read_until(&mut stream, "hello").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nhello"), "{answer}");
}

#[tokio::test]
async fn chunked_echo_bodies_are_buffered_only_up_to_echo_buffers_at_once() {
    let s = spawn(|c| c.http.echo_buffers = 1).await;
    // One chunked body that never finishes holds the only buffer...
    let mut holder = TcpStream::connect(s.addr).await.expect("connect");
    holder
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        )
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...so the next one is refused at once with 503 and Retry-After, not queued.
    let busy = raw(
        s.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    )
    .await;
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(busy.to_ascii_lowercase().contains("retry-after:"), "{busy}");
    // A body with a Content-Length streams and needs no buffer.
    let streamed = raw(
        s.addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    )
    .await;
    assert!(
        streamed.starts_with("HTTP/1.1 200") && streamed.ends_with("hi"),
        "{streamed}"
    );
    // When the first body completes, its buffer is free again.
    holder.write_all(b"0\r\n\r\n").await.expect("finish");
    let done = read_until(&mut holder, "hello").await;
    assert!(
        done.starts_with("HTTP/1.1 200") && done.ends_with("hello"),
        "{done}"
    );
}
