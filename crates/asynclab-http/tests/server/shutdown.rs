//! The shutdown's phases as a client sees them.

use super::*;

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
    // Not an empty reply: a 503 that says why and that a retry may work.
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer}"
    );
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(answer.contains("retry-after: 1\r\n"), "{answer}");
    assert_eq!(s.state.http.slow_cancelled.get(), 1);
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

/// A connection that has sent half a request head (or nothing) has nothing in
/// progress to finish: the shutdown closes it at once, instead of waiting for
/// its header timeout while the process stays up.
#[tokio::test]
async fn connections_without_a_complete_head_are_closed_at_once_on_shutdown() {
    let s = spawn(|c| c.http.header_read_timeout = Duration::from_secs(30)).await;
    let mut half = TcpStream::connect(s.addr).await.unwrap();
    half.write_all(b"GET /fast HTTP/1.1\r\nHo").await.unwrap();
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    let slow = slow_in_flight(s.addr, "800ms").await;
    wait_stats(s.addr, |st| st["connections_open"] == 4).await;

    let started = Instant::now();
    s.shut_down(Duration::ZERO);
    for stream in [&mut half, &mut silent] {
        let rest = tokio::time::timeout(Duration::from_secs(2), read_to_close(stream))
            .await
            .expect("closed within a second or so of the shutdown");
        assert_eq!(rest, "");
    }
    let report = tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    assert_eq!(report.cut, 0, "{report:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the drain waited for the in-flight request only: {:?}",
        started.elapsed()
    );
    drop(slow);
}
