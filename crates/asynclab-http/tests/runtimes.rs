//! Where connections run (`http.runtime`): dealt in turn to the per-core worker
//! threads (the default), each keeping its connections, or all on the caller's
//! shared runtime.
//! `/info` says which thread answered; these tests read it over raw connections.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use asynclab_core::config::HttpRuntime;
use http::StatusCode;
use support::*;

/// Two pipelined `GET /info` on one fresh connection (the second closes it);
/// the `thread` each answer names.
async fn threads_of_one_connection(addr: std::net::SocketAddr) -> Vec<String> {
    let text = raw(
        addr,
        b"GET /info HTTP/1.1\r\nHost: t\r\n\r\nGET /info HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    let answers: Vec<&str> = text.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 2, "{text}");
    answers
        .iter()
        .map(|answer| {
            assert!(answer.starts_with("200"), "{answer}");
            let (_, body) = answer.split_once("\r\n\r\n").unwrap();
            let info: serde_json::Value = serde_json::from_str(body).unwrap();
            info["thread"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Shuts `s` down with one `/slow` request in flight: it finishes, nothing is cut.
async fn drains_a_slow_request(s: TestServer) {
    let addr = s.addr;
    let slow = tokio::spawn(async move { get(addr, "/slow?delay=300ms").await });
    wait_stats(addr, |st| st["requests_in_flight"] == 2).await;
    s.shutdown.trigger(Duration::ZERO);
    assert_eq!(slow.await.unwrap().status, StatusCode::OK);
    let report = tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    assert_eq!((report.drained, report.cut), (1, 0), "{report:?}");
}

#[tokio::test]
async fn per_core_deals_connections_in_turn_and_keeps_each_on_its_worker() {
    let s = spawn(|c| {
        c.http.runtime = HttpRuntime::PerCore;
        c.http.workers = 2;
    })
    .await;
    let info = get(s.addr, "/info").await.json();
    assert_eq!(
        (info["runtime"].as_str(), info["workers"].as_u64()),
        (Some("per-core"), Some(2))
    );

    // One connection so far (the `get` above, dealt to worker 0): the next four
    // go to 1, 0, 1, 0, and both requests of each are answered by the same thread.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let threads = threads_of_one_connection(s.addr).await;
        assert_eq!(threads[0], threads[1], "a connection never moves");
        seen.push(threads[0].clone());
    }
    assert_eq!(seen, ["http-1", "http-0", "http-1", "http-0"]);

    // And the drain still sees every connection, wherever it ran.
    drains_a_slow_request(s).await;
}

#[tokio::test]
async fn by_default_one_worker_per_core() {
    let s = spawn(|_| {}).await;
    let info = get(s.addr, "/info").await.json();
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    assert_eq!(info["workers"].as_u64(), Some(cores));
    assert!(
        info["thread"].as_str().unwrap().starts_with("http-"),
        "{info}"
    );
}

#[tokio::test]
async fn shared_serves_on_the_callers_runtime() {
    let s = spawn(|c| c.http.runtime = HttpRuntime::Shared).await;
    let test_thread = std::thread::current().name().map(str::to_owned);
    let threads = threads_of_one_connection(s.addr).await;
    // This test's runtime has one thread, so the server's tasks run on it too.
    assert_eq!(Some(&threads[0]), test_thread.as_ref());
    let info = get(s.addr, "/info").await.json();
    assert_eq!(
        (info["runtime"].as_str(), info["workers"].as_u64()),
        (Some("shared"), Some(1))
    );

    drains_a_slow_request(s).await;
}

/// New connections are taken in while the worker is busy, every one of them
/// served: 200 keep-alive clients keep the one worker's queue full, then 300 new
/// connections arrive at once (plain blocking sockets on another thread), each
/// asking once. They reach the worker through its intake task (see `server.rs`);
/// how much sooner than spawning each from the acceptor's thread is measured,
/// not asserted here (a burst of 2,000 under 1,000 busy connections: answered
/// within 0.16-0.20 s instead of 0.50-0.68 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_new_connections_is_served_while_the_worker_is_busy() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    let s = spawn(|c| {
        c.http.runtime = HttpRuntime::PerCore;
        c.http.workers = 1;
    })
    .await;
    let addr = s.addr;
    let answered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // The busy clients on a thread of their own, away from the acceptor (which
    // runs on this test's runtime).
    let clients = asynclab_load::Runtimes::start(1, "busy").unwrap();
    let mut busy = Vec::new();
    for _ in 0..200 {
        let (answered, stop) = (answered.clone(), stop.clone());
        busy.push(clients.handles()[0].spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            while !stop.load(Ordering::Relaxed) {
                let res = sender.send_request(request("GET", addr, "/fast")).await;
                assert_eq!(res.unwrap().status(), StatusCode::OK);
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Every busy client under way.
    while answered.load(Ordering::Relaxed) < 2_000 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let burst = tokio::task::spawn_blocking(move || {
        let mut streams: Vec<std::net::TcpStream> = (0..300)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        for stream in &mut streams {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .unwrap();
        }
        streams
            .iter_mut()
            .map(|stream| {
                stream.set_read_timeout(Some(STEP)).unwrap();
                let mut answer = String::new();
                stream.read_to_string(&mut answer).unwrap();
                answer
            })
            .collect::<Vec<_>>()
    });
    let answers = burst.await.unwrap();
    stop.store(true, Ordering::Relaxed);
    for client in busy {
        client.await.unwrap();
    }
    clients.stop();
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    }
    // The server counted every request, the busy clients' and the burst's.
    let stats = get(addr, "/stats").await.json();
    let by_route = &stats["requests_by_route"];
    assert_eq!(
        (
            by_route["GET /healthz"].as_u64(),
            by_route["GET /fast"].as_u64()
        ),
        (Some(300), Some(answered.load(Ordering::Relaxed))),
        "{stats}"
    );
}
