//! A WebSocket's life around the protocol: its clocks, its place under the
//! connection limit, a client that does not read, the live event feed, and
//! the shutdown.

use super::*;
use support::ws::*;

#[tokio::test]
async fn a_silent_websocket_is_pinged_then_closed_with_1001() {
    let s = spawn(|c| {
        c.http.ws.idle_timeout = MS(200);
        c.http.ws.ping_timeout = MS(200);
    })
    .await;
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    let ping = ws.read().await.expect("a ping");
    assert_eq!(ping.opcode, PING);
    assert_eq!(ws.read_close().await, Some(1001), "no pong: closed");
    // The client's answer completes the handshake; then the server closes TCP.
    ws.send(Out::new(CLOSE, &1001u16.to_be_bytes())).await;
    ws.expect_eof().await;
}

#[tokio::test]
async fn a_pong_keeps_a_websocket_open_and_the_http_clocks_leave_it_alone() {
    // HTTP's idle and header clocks are far shorter than the WebSocket's.
    let s = spawn(|c| {
        c.http.idle_timeout = MS(100);
        c.http.header_read_timeout = MS(100);
        c.http.demo.heartbeat = MS(50);
        c.http.ws.idle_timeout = MS(300);
        c.http.ws.ping_timeout = MS(300);
    })
    .await;
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    let started = Instant::now();
    // Three pings answered: well past every HTTP clock and each ping timeout.
    for _ in 0..3 {
        let ping = ws.read().await.expect("a ping");
        assert_eq!(ping.opcode, PING);
        ws.send(Out::new(PONG, &ping.payload)).await;
    }
    assert!(started.elapsed() >= MS(900));
    ws.send(Out::new(TEXT, b"still here")).await;
    let echo = ws.read().await.expect("the echo");
    assert_eq!(echo.payload, b"still here");
}

#[tokio::test]
async fn websockets_hold_their_connection_slot() {
    let s = spawn(|c| c.http.max_connections = 2).await;
    let mut first = RawWs::connect(s.addr, "/ws/echo").await;
    let _second = RawWs::connect(s.addr, "/ws/echo").await;
    // A third connection waits in the kernel's queue: no answer while both
    // WebSockets are open...
    let mut third = TcpStream::connect(s.addr).await.unwrap();
    third
        .write_all(b"GET /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(MS(300), third.read(&mut byte)).await;
    assert!(early.is_err(), "answered while both slots were taken");
    // ...and is served once one of them closes.
    first.send(Out::new(CLOSE, &1000u16.to_be_bytes())).await;
    first.expect_eof().await;
    let answer = read_to_close(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_client_that_sends_without_reading_is_slowed_down_not_buffered() {
    let s = spawn(|_| {}).await;
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    const MESSAGE: usize = 64 * 1024;
    const MESSAGES: usize = 1024; // 64 MiB, far more than any socket buffers
    let payload = vec![b'z'; MESSAGE];
    let sending = async {
        for _ in 0..MESSAGES {
            ws.send(Out::new(BINARY, &payload)).await;
        }
    };
    let sent_all = tokio::time::timeout(Duration::from_secs(3), sending).await;
    assert!(
        sent_all.is_err(),
        "the server took 64 MiB from a client that reads nothing"
    );
    let received = s.state.ws.messages("in", "binary") as usize;
    assert!(
        received * MESSAGE < 32 << 20,
        "the server read {received} messages while none of its echoes were taken"
    );
    // The echoes that were written wait intact for the client.
    let echo = ws.read().await.expect("an echo");
    assert_eq!((echo.opcode, echo.payload.len()), (BINARY, MESSAGE));
}

#[tokio::test]
async fn ws_events_sends_live_events_as_json_text() {
    let s = spawn(|c| c.http.demo.max_subscribers = 1).await;
    let mut ws = RawWs::connect(s.addr, "/ws/events").await;
    // The one subscriber place is taken: a second stream gets 503, no socket.
    let request =
        handshake_request("/ws/events").replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    let refused = raw(s.addr, request.as_bytes()).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");

    assert_eq!(get(s.addr, "/fast").await.status, StatusCode::OK);
    let event = loop {
        let frame = ws.read().await.expect("an event");
        assert_eq!(frame.opcode, TEXT);
        let event: serde_json::Value = serde_json::from_slice(&frame.payload).unwrap();
        if event["route"] == "/fast" {
            break event;
        }
    };
    assert_eq!(event["type"], "request");
    assert_eq!(event["status"], 200);
}

#[tokio::test]
async fn shutdown_sends_1001_and_waits_for_the_close_handshake() {
    let s = spawn(|c| c.shutdown.grace = Duration::from_secs(5)).await;
    let mut echo = RawWs::connect(s.addr, "/ws/echo").await;
    let mut events = RawWs::connect(s.addr, "/ws/events").await;
    s.shut_down(Duration::ZERO);
    for ws in [&mut echo, &mut events] {
        assert_eq!(ws.read_close().await, Some(1001));
    }
    // The drain waits for the answers.
    tokio::time::sleep(MS(200)).await;
    assert!(
        !s.run.is_finished(),
        "the drain did not wait for the close handshakes"
    );
    for ws in [&mut echo, &mut events] {
        ws.send(Out::new(CLOSE, &1001u16.to_be_bytes())).await;
        ws.expect_eof().await;
    }
    let report = tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    assert_eq!(report.cut, 0, "{report:?}");
    let at_shutdown = s.state.websockets_at_shutdown();
    assert_eq!((at_shutdown.closed, at_shutdown.cut), (2, 0));
}

#[tokio::test]
async fn a_close_handshake_unanswered_at_the_end_of_the_grace_is_cut_and_counted() {
    let s = spawn(|c| {
        c.shutdown.grace = MS(300);
        c.http.ws.close_timeout = Duration::from_secs(30);
    })
    .await;
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    s.shut_down(Duration::ZERO);
    assert_eq!(ws.read_close().await, Some(1001));
    // No answer from the client: the cut ends it.
    ws.expect_eof().await;
    tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    let at_shutdown = s.state.websockets_at_shutdown();
    assert_eq!((at_shutdown.closed, at_shutdown.cut), (0, 1));
}

#[tokio::test]
async fn ws_events_lasts_its_time_then_closes_with_1000_like_events() {
    let s = spawn(|c| c.http.demo.max_events_for = Duration::from_secs(60)).await;
    let started = Instant::now();
    let mut ws = RawWs::connect(s.addr, "/ws/events?for=300ms").await;
    assert_eq!(ws.read_close().await, Some(1000), "the feed's time is up");
    assert!(started.elapsed() >= MS(300));
    ws.send(Out::new(CLOSE, &1000u16.to_be_bytes())).await;
    ws.expect_eof().await;
    // Longer than `http.demo.max_events_for`, or not a duration: 400, no socket.
    for (query, says) in [("2m", "http.demo.max_events_for"), ("soon", "for")] {
        let request = handshake_request(&format!("/ws/events?for={query}"))
            .replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
        let refused = raw(s.addr, request.as_bytes()).await;
        assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
        assert!(refused.contains(says), "{refused}");
    }
    assert_eq!(s.state.ws.opened.get(), 1);
}
