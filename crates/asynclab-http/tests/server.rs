//! The HTTP server over real sockets: each test starts a server on
//! `127.0.0.1:0` in this process and talks to it with hyper's clients (or raw
//! bytes for what no proper client would send). Each test proves one claim of the
//! README; timings have wide margins, or come from short configured timeouts.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use http::{Request, StatusCode, Version};
use http_body_util::Full;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

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
        (StatusCode::NOT_FOUND, "Not Found\n")
    );
    // Reserved for the file server; nothing mounted yet.
    assert_eq!(
        get(s.addr, "/files/data.txt").await.status,
        StatusCode::NOT_FOUND
    );

    let wrong = send(&client(), request("DELETE", s.addr, "/fast")).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
    let wrong = send(&client(), request("GET", s.addr, "/echo")).await;
    assert_eq!(wrong.header("allow"), Some("POST"));

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
    let long = get(s.addr, "/slow?delay=31s").await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert!(long.body.contains("http.slow.max_delay"), "{}", long.body);
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
async fn bad_input_gets_the_documented_answer_and_the_server_carries_on() {
    let s = spawn(|c| {
        c.http.max_body = asynclab_core::config::Size(1024);
        c.http.max_header_bytes = asynclab_core::config::Size(16 * 1024);
        c.http.max_headers = 20;
    })
    .await;
    let a = s.addr;
    let status_line = |text: &str| text.lines().next().unwrap_or("").to_string();

    let garbage = raw(a, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_eq!(
        status_line(&garbage),
        "HTTP/1.1 400 Bad Request",
        "{garbage}"
    );

    let no_host = raw(a, b"GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(
        status_line(&no_host),
        "HTTP/1.1 400 Bad Request",
        "{no_host}"
    );
    assert!(no_host.contains("without a Host header"));

    let two_hosts = raw(
        a,
        b"GET /fast HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        status_line(&two_hosts),
        "HTTP/1.1 400 Bad Request",
        "{two_hosts}"
    );
    assert!(two_hosts.contains("more than one Host header"));

    for host in ["a b", "a/b", "user@a"] {
        let req = format!("GET /fast HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let bad_host = raw(a, req.as_bytes()).await;
        assert_eq!(
            status_line(&bad_host),
            "HTTP/1.1 400 Bad Request",
            "{host}: {bad_host}"
        );
        assert!(bad_host.contains("invalid Host header"), "{bad_host}");
    }
    for host in ["example.com:8080", "[::1]:8080", "127.0.0.1", ""] {
        let req = format!("GET /fast HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let good = raw(a, req.as_bytes()).await;
        assert_eq!(status_line(&good), "HTTP/1.1 200 OK", "{host}: {good}");
    }

    let big = format!(
        "GET /fast HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let big = raw(a, big.as_bytes()).await;
    assert_eq!(
        status_line(&big),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{big}"
    );

    let many: String = (0..30).map(|i| format!("X-H{i}: 1\r\n")).collect();
    let many = raw(
        a,
        format!("GET /fast HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    )
    .await;
    assert_eq!(
        status_line(&many),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{many}"
    );

    // Too large by Content-Length: refused before a byte of the body is read.
    let declared = raw(
        a,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        status_line(&declared),
        "HTTP/1.1 413 Payload Too Large",
        "{declared}"
    );

    // Too large, chunked (no Content-Length): the body is collected first, so the
    // answer is still a clean 413, and nothing of it is echoed.
    let mut chunked =
        String::from("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..4 {
        chunked.push_str(&format!("200\r\n{}\r\n", "y".repeat(512)));
    }
    chunked.push_str("0\r\n\r\n");
    let refused = raw(a, chunked.as_bytes()).await;
    assert_eq!(
        status_line(&refused),
        "HTTP/1.1 413 Payload Too Large",
        "{refused}"
    );
    assert!(!refused.contains("yyyy"), "nothing echoed: {refused}");

    // Chunked within the limit is echoed whole.
    let small = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let echoed = raw(a, small.as_bytes()).await;
    assert!(echoed.starts_with("HTTP/1.1 200 OK"), "{echoed}");
    assert!(echoed.ends_with("hello world"), "{echoed}");

    assert_eq!(get(a, "/fast").await.status, StatusCode::OK);
}

/// `http.max_header_bytes` is exact: a head of exactly the limit is served, one
/// byte more is refused. At 64 KiB hyper's read buffer alone let heads of up to
/// about twice that through (a read may fill the buffer past its limit).
#[tokio::test]
async fn the_request_head_limit_is_exact() {
    let limit: usize = 64 * 1024;
    let s = spawn(|c| c.http.max_header_bytes = asynclab_core::config::Size(limit as u64)).await;
    // Request line and headers, padded so the whole head, blank line included,
    // is `len` bytes.
    let head = |len: usize| {
        let start = "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ";
        let end = "\r\n\r\n";
        format!("{start}{}{end}", "a".repeat(len - start.len() - end.len()))
    };
    for (len, expected) in [
        (limit, "HTTP/1.1 200 OK"),
        (limit + 1, "HTTP/1.1 431 Request Header Fields Too Large"),
        (100_000, "HTTP/1.1 431 Request Header Fields Too Large"),
    ] {
        let request = head(len);
        assert_eq!(request.len(), len);
        let answer = raw(s.addr, request.as_bytes()).await;
        let status = answer.lines().next().unwrap_or("");
        assert_eq!(status, expected, "a head of {len} bytes");
    }
}

#[tokio::test]
async fn silent_and_slow_header_senders_are_disconnected() {
    let s = spawn(|c| c.http.header_read_timeout = MS(300)).await;
    // Never sends a byte.
    let started = Instant::now();
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(read_to_close(&mut silent).await, "");
    assert!(
        started.elapsed() >= MS(250),
        "closed too early: {:?}",
        started.elapsed()
    );

    // Sends half a request head, then stalls (a slowloris).
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET /fast HTTP/1.1\r\nHo").await.unwrap();
    assert_eq!(read_to_close(&mut slow).await, "");

    assert_eq!(get(s.addr, "/fast").await.status, StatusCode::OK);
}

/// `POST /echo` answers before its body has all arrived: body bytes that come
/// in slowly while the echo streams back are progress, not the start of a new
/// request head, so the (short) header timeout must not cut the exchange.
/// (`curl --limit-rate 1M --data-binary @15MB /echo` was cut after 10 s.)
#[tokio::test]
async fn a_slow_body_streamed_back_outlives_the_header_timeout() {
    let s = spawn(|c| {
        c.http.header_read_timeout = MS(300);
        c.http.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
        .await
        .unwrap();
    // 8 bytes over about 1.6 s: five header timeouts.
    for _ in 0..8 {
        tokio::time::sleep(MS(200)).await;
        stream.write_all(b"z").await.unwrap();
    }
    let answer = read_until(&mut stream, "zzzzzzzz").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nzzzzzzzz"), "{answer}");

    // Then the connection is an ordinary keep-alive one again.
    stream
        .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let next = read_until(&mut stream, "Fast response\n").await;
    assert!(next.starts_with("HTTP/1.1 200 OK\r\n"), "{next}");
}

/// ... but a streamed exchange in which nothing moves is still closed: after
/// `http.idle_timeout` without a byte either way (and, since the response has
/// started, a second one for the graceful close that cannot finish it).
#[tokio::test]
async fn a_streamed_exchange_that_stalls_is_closed() {
    let s = spawn(|c| {
        c.http.header_read_timeout = Duration::from_secs(30);
        c.http.body_rate_window = MS(300);
    })
    .await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nzz")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        started.elapsed() >= MS(300),
        "closed too early: {:?}",
        started.elapsed()
    );
}

/// `http.request_timeout` is the server's time to answer a request that has
/// arrived: a body that keeps arriving for longer is waited for (a slow
/// upload), and the handler's clock starts when it ends.
#[tokio::test]
async fn a_body_that_keeps_arriving_is_waited_for_past_the_request_timeout() {
    let s = spawn(|c| {
        c.http.request_timeout = MS(400);
        c.http.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // Chunked: `/echo` collects the whole body before answering.
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    // Six chunks over about 1.2 s: three request timeouts.
    for _ in 0..6 {
        tokio::time::sleep(MS(200)).await;
        stream.write_all(b"2\r\nab\r\n").await.unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_until(&mut stream, "abababababab").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}

/// ... and a body that stops arriving gets 408 after `http.idle_timeout`: the
/// client's fault, said as such (not the server's 503), and the connection
/// closes, since the rest of the body may still come.
#[tokio::test]
async fn a_body_that_stops_arriving_gets_408() {
    let s = spawn(|c| {
        c.http.request_timeout = Duration::from_secs(30);
        c.http.body_rate_window = MS(300);
    })
    .await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(answer.contains("arrived too slowly"), "{answer}");
    assert!(
        started.elapsed() >= MS(300),
        "answered too early: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    // The head timeout is long, so only the idle timeout can close it.
    let s = spawn(|c| {
        c.http.idle_timeout = MS(300);
        c.http.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let text = read_to_close(&mut stream).await;
    assert!(
        text.starts_with("HTTP/1.1 200 OK") && text.ends_with("Fast response\n"),
        "{text}"
    );
    assert!(
        started.elapsed() >= MS(250),
        "closed too early: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let s = spawn(|c| c.http.write_timeout = MS(300)).await;
    // Upload 16 MiB to /echo and never read the echo: the server's writes stall,
    // then its reads (TCP flow control), until the write timeout ends it.
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let len = 16 * 1024 * 1024 - 1;
    let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let upload = tokio::spawn(async move {
        let chunk = vec![b'z'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            if stream.write_all(&chunk[..n]).await.is_err() {
                return Err(sent);
            }
            sent += n;
        }
        Ok(stream)
    });
    // Only the /stats connection polling is left open once the stuck one is gone.
    wait_stats(s.addr, |st| {
        st["requests_in_flight"] == 1 && st["connections_open"] == 1
    })
    .await;
    let result = tokio::time::timeout(STEP, upload).await.unwrap().unwrap();
    assert!(
        result.is_err(),
        "the server should have closed the stuck connection"
    );
}

#[tokio::test]
async fn http2_prior_knowledge_works() {
    let s = spawn(|_| {}).await;
    let a = get_h2(s.addr, "/fast").await;
    assert_eq!((a.status, a.version), (StatusCode::OK, Version::HTTP_2));
    assert_eq!(a.body, "Fast response\n");
}

/// A small Prometheus text parser: every sample line is `name{labels} value`.
fn samples(text: &str) -> Vec<(String, f64)> {
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line}"));
            let name_end = series.find('{').unwrap_or(series.len());
            let name = &series[..name_end];
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "bad metric name in {line}"
            );
            if name_end < series.len() {
                assert!(series.ends_with('}'), "unterminated labels in {line}");
            }
            (
                series.to_string(),
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line}")),
            )
        })
        .collect()
}

#[tokio::test]
async fn metrics_parse_and_move() {
    let s = spawn(|_| {}).await;
    let series = "asynclab_http_requests_total{route=\"/fast\",method=\"GET\",status=\"200\"}";
    let value = |text: &str| {
        samples(text)
            .into_iter()
            .find(|(s, _)| s == series)
            .map_or(0.0, |(_, v)| v)
    };
    let m = get(s.addr, "/metrics").await;
    assert!(
        m.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let before = value(&m.body);
    for _ in 0..3 {
        get(s.addr, "/fast").await;
    }
    let after = get(s.addr, "/metrics").await.body;
    assert_eq!(value(&after), before + 3.0, "{after}");
    for name in [
        "asynclab_http_request_duration_seconds_count{route=\"/fast\"}",
        "asynclab_http_requests_in_flight",
        "asynclab_http_connections_open",
        "asynclab_http_limited_permits_in_use",
        "asynclab_http_limited_waiters",
    ] {
        assert!(after.contains(name), "{name} missing:\n{after}");
    }
    // Labelled by template, never by raw path.
    get(s.addr, "/no/such/path").await;
    let after = get(s.addr, "/metrics").await.body;
    assert!(after.contains("route=\"unmatched\"") && !after.contains("/no/such/path"));
}

#[tokio::test]
async fn echo_counters_appear_when_the_echo_server_runs_here() {
    let metrics = asynclab_core::Metrics::new();
    let mut config = asynclab_core::Config::builtin();
    config.http.addr = "127.0.0.1:0".parse().unwrap();
    let loaded = asynclab_core::config::Loaded::from_config(config);
    let shutdown = asynclab_core::Shutdown::new();
    let server = asynclab_http::Server::new(&loaded, metrics.clone(), shutdown).unwrap();
    let app = asynclab_http::app(server.state().clone());
    metrics.echo().active.inc();
    use tower::ServiceExt;
    let res = app
        .oneshot(
            Request::get("/stats")
                .header("host", "x")
                .body(asynclab_http::body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    use http_body_util::BodyExt;
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(stats["echo"]["connections_open"], 1, "{stats:#}");
    assert!(
        metrics
            .encode()
            .contains("asynclab_echo_connections_active 1")
    );
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_refuses_new_connections() {
    let s = spawn(|c| c.shutdown.readiness_delay = MS(400)).await;
    let addr = s.addr;
    let slow = tokio::spawn(async move { get(addr, "/slow?delay=1s").await });
    wait_stats(addr, |st| st["requests_in_flight"] == 2).await;

    s.shut_down(MS(400));
    // Readiness delay: /readyz says 503, everything else still works.
    let ready = get(addr, "/readyz").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    );
    assert_eq!(get(addr, "/fast").await.status, StatusCode::OK);

    let slow = slow.await.unwrap();
    assert_eq!(
        (slow.status, slow.body.as_str()),
        (StatusCode::OK, "Slow response\n")
    );
    let report = tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    assert_eq!(report.cut, 0, "{report:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn draining_responses_say_connection_close() {
    let s = spawn(|_| {}).await;
    let mut stream = slow_in_flight(s.addr, "500ms").await;
    s.shut_down(Duration::ZERO);
    let text = read_to_close(&mut stream).await.to_ascii_lowercase();
    assert!(
        text.starts_with("http/1.1 200 ok") && text.contains("connection: close"),
        "{text}"
    );
}

/// Each connection task registers with the shutdown token once and looks at it
/// again only once a flag says the shutdown has begun (`asynclab_core::stop`): a
/// keep-alive connection that has already served requests, and so has been
/// woken and polled many times, must still hear the listeners close.
#[tokio::test]
async fn idle_keep_alive_connections_close_when_the_listeners_close() {
    let s = spawn(|c| {
        c.http.idle_timeout = Duration::from_secs(60);
        c.http.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let mut answers = String::new();
    for _ in 0..3 {
        stream
            .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        answers += &read_until(&mut stream, "Fast response\n").await;
    }
    assert_eq!(answers.matches("Fast response\n").count(), 3, "{answers}");

    s.shut_down(Duration::ZERO);
    let rest = tokio::time::timeout(STEP, read_to_close(&mut stream))
        .await
        .expect("closed at shutdown, not after the 60 s idle timeout");
    assert_eq!(rest, "", "nothing more was sent before the close");
    let report = tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    assert_eq!(report.cut, 0, "{report:?}");
}

#[tokio::test]
async fn work_still_running_at_the_deadline_is_cut_and_counted() {
    let s = spawn(|c| c.shutdown.grace = MS(300)).await;
    let mut stream = slow_in_flight(s.addr, "20s").await;
    s.shut_down(Duration::ZERO);
    let report = tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    assert_eq!((report.drained, report.cut), (0, 1), "{report:?}");
    assert_eq!(
        read_to_close(&mut stream).await,
        "",
        "cut without an answer"
    );
    assert_eq!(s.state.http.slow_cancelled.get(), 1);
}

#[tokio::test]
async fn connections_beyond_max_connections_wait_for_a_slot() {
    let s = spawn(|c| c.http.max_connections = 1).await;
    // Holds the only slot: connected, sending nothing (the header timeout is 10 s).
    let holder = TcpStream::connect(s.addr).await.unwrap();
    tokio::time::sleep(MS(100)).await;
    let addr = s.addr;
    let waiting = tokio::spawn(async move { get(addr, "/fast").await });
    tokio::time::sleep(MS(300)).await;
    assert!(
        !waiting.is_finished(),
        "a second connection was served beside the first"
    );
    drop(holder);
    assert_eq!(waiting.await.unwrap().status, StatusCode::OK);
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let s = spawn(|_| {}).await;
    let two = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let text = raw(s.addr, two).await;
    let fast = text.find("Fast response\n").expect("first answer");
    let ok = text.find("\r\n\r\nok\n").expect("second answer");
    assert!(fast < ok, "{text}");
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
}

/// Thousands of pipelined requests from a client that starts reading late: the
/// server's writes (small answers joined into one `send`, see `TimedIo` in
/// `conn.rs`) meet a full socket again and again, and every answer still
/// arrives whole.
#[tokio::test]
async fn pipelined_answers_cut_short_by_a_full_socket_arrive_whole() {
    const N: usize = 20_000;
    let s = spawn(|_| {}).await;
    let stream = TcpStream::connect(s.addr).await.unwrap();
    let mut requests = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n".repeat(N - 1);
    requests.extend_from_slice(b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        wr.write_all(&requests).await.unwrap();
        wr
    });
    // The server answers into its socket while nobody reads: it fills up.
    tokio::time::sleep(MS(300)).await;
    let mut text = Vec::new();
    rd.read_to_end(&mut text).await.unwrap();
    drop(writer.await.unwrap());
    let text = String::from_utf8(text).unwrap();
    let answers: Vec<&str> = text.split("HTTP/1.1 200 OK\r\n").skip(1).collect();
    assert_eq!(answers.len(), N);
    for answer in answers {
        assert!(answer.ends_with("\r\n\r\nFast response\n"), "{answer:?}");
    }
}

#[tokio::test]
async fn a_first_packet_too_short_to_tell_the_protocol_still_works() {
    // `P` could start `PRI * HTTP/2.0` or `POST`: the server must wait and see.
    let s = spawn(|_| {}).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(b"P").await.unwrap();
    tokio::time::sleep(MS(100)).await;
    stream
        .write_all(
            b"OST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        )
        .await
        .unwrap();
    let text = read_to_close(&mut stream).await;
    assert!(
        text.starts_with("HTTP/1.1 200 OK") && text.ends_with("\r\n\r\nhi"),
        "{text}"
    );
}

#[tokio::test]
async fn http2_connections_get_goaway_and_finish_their_streams() {
    let s = spawn(|_| {}).await;
    let stream = TcpStream::connect(s.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let req = Request::get(format!("http://{}/slow?delay=500ms", s.addr))
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let answer = tokio::spawn(sender.send_request(req));
    wait_stats(s.addr, |st| st["requests_in_flight"] == 2).await;

    s.shut_down(Duration::ZERO);
    let res = answer.await.unwrap().unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the stream in flight finishes"
    );
    // After GOAWAY and the last stream, the server closes: the client's
    // connection future ends by itself.
    let closed = tokio::time::timeout(STEP, conn).await;
    assert!(closed.is_ok(), "the HTTP/2 connection was not closed");
    let report = tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    assert_eq!(report.cut, 0, "{report:?}");
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

/// Reads one response, the one ending in `end`, from a keep-alive connection
/// (it will not close by itself).
async fn read_until(stream: &mut TcpStream, end: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while !String::from_utf8_lossy(&out).ends_with(end) {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}
