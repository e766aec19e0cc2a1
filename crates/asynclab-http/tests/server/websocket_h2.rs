//! WebSockets over HTTP/2 (RFC 8441): an extended CONNECT opens one on a
//! stream of an h2c connection, beside that connection's other requests, with
//! the same protocol, clocks and shutdown as over HTTP/1.1. The client is
//! hyper's HTTP/2 client with tokio-tungstenite on the switched stream.

use super::*;
use futures_util::{SinkExt, StreamExt};
use support::ws::{H2, H2Socket, h2_server_settings};
use tokio_tungstenite::tungstenite::Message;

/// The next message, within STEP; panics if the socket ends or fails.
async fn next(ws: &mut H2Socket) -> Message {
    tokio::time::timeout(STEP, ws.next())
        .await
        .expect("a message within STEP")
        .expect("the socket is open")
        .expect("a valid message")
}

/// Reads until the server's close frame; returns its code.
async fn read_close(ws: &mut H2Socket) -> Option<u16> {
    for _ in 0..100 {
        if let Message::Close(frame) = next(ws).await {
            return frame.map(|f| u16::from(f.code));
        }
    }
    panic!("no close frame within 100 messages");
}

/// Drives the socket to its end (tungstenite sends the answer to a close on
/// the next read); true if it ended within STEP.
async fn ends(ws: &mut H2Socket) -> bool {
    tokio::time::timeout(STEP, async { while let Some(Ok(_)) = ws.next().await {} })
        .await
        .is_ok()
}

#[tokio::test]
async fn an_extended_connect_opens_echoes_beside_ordinary_requests() {
    let s = spawn(|_| {}).await;
    // SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8) = 1: clients may ask (RFC 8441 §3).
    let settings = h2_server_settings(s.addr).await;
    assert!(settings.contains(&(0x8, 1)), "{settings:?}");
    let mut h2 = H2::connect(s.addr).await;
    let mut first = h2.websocket("/ws/echo").await;
    let mut second = h2.websocket("/ws/echo").await;
    first.send(Message::text("over h2")).await.unwrap();
    let bytes = vec![0u8, 1, 2, 255];
    second.send(Message::binary(bytes.clone())).await.unwrap();
    assert_eq!(next(&mut first).await, Message::text("over h2"));
    assert_eq!(next(&mut second).await, Message::binary(bytes));
    // The connection still serves ordinary requests while both are open.
    assert_eq!(h2.get("/fast").await, StatusCode::OK);
    assert_eq!(s.state.ws.open.get(), 2);

    // A close handshake ends one stream, not the connection.
    first.close(None).await.unwrap();
    assert!(ends(&mut first).await, "the close handshake completed");
    second.send(Message::text("still here")).await.unwrap();
    assert_eq!(next(&mut second).await, Message::text("still here"));
    assert_eq!(h2.get("/fast").await, StatusCode::OK);
}

#[tokio::test]
async fn the_connections_idle_clock_leaves_an_open_websocket_alone() {
    let s = spawn(|c| c.http.idle_timeout = MS(100)).await;
    let mut h2 = H2::connect(s.addr).await;
    let mut ws = h2.websocket("/ws/echo").await;
    // Several idle timeouts with no HTTP request on the connection.
    tokio::time::sleep(MS(500)).await;
    ws.send(Message::text("after the idle timeout"))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await, Message::text("after the idle timeout"));
}

#[tokio::test]
async fn shutdown_sends_1001_on_each_stream_and_waits_for_the_close_handshakes() {
    let s = spawn(|c| c.shutdown.grace = Duration::from_secs(5)).await;
    let mut h2 = H2::connect(s.addr).await;
    let mut echo = h2.websocket("/ws/echo").await;
    let mut events = h2.websocket("/ws/events").await;
    s.shut_down(Duration::ZERO);
    for ws in [&mut echo, &mut events] {
        assert_eq!(read_close(ws).await, Some(1001));
    }
    // Close frames read, not yet answered: the drain waits for the answers.
    tokio::time::sleep(MS(200)).await;
    assert!(
        !s.run.is_finished(),
        "the drain did not wait for the close handshakes"
    );
    for ws in [&mut echo, &mut events] {
        assert!(ends(ws).await, "the close handshake completed");
    }
    let report = tokio::time::timeout(STEP, s.run).await.unwrap().unwrap();
    assert_eq!(report.cut, 0, "{report:?}");
    let at_shutdown = s.state.websockets_at_shutdown();
    assert_eq!((at_shutdown.closed, at_shutdown.cut), (2, 0));
}

#[tokio::test]
async fn a_connect_that_is_not_a_websocket_handshake_gets_a_4xx() {
    let s = spawn(|_| {}).await;
    let mut h2 = H2::connect(s.addr).await;
    let version = [("sec-websocket-version", "13")];
    let old = [("sec-websocket-version", "8")];
    // A plain CONNECT names a host to tunnel to, not a path: none here.
    let res = h2.connect_request("/ws/echo", None, &version).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no :protocol");
    let res = h2.connect_request("/ws/echo", Some("chat"), &version).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "another protocol");
    for (what, headers) in [("no version", &[][..]), ("an old version", &old[..])] {
        let res = h2
            .connect_request("/ws/echo", Some("websocket"), headers)
            .await;
        assert_eq!(res.status(), StatusCode::UPGRADE_REQUIRED, "{what}");
        let version = res.headers().get("sec-websocket-version");
        assert_eq!(version.and_then(|v| v.to_str().ok()), Some("13"), "{what}");
    }
    // Refused requests leave the connection as it was.
    assert_eq!(h2.get("/fast").await, StatusCode::OK);
    assert_eq!(s.state.ws.opened.get(), 0);
}

#[tokio::test]
async fn a_stream_that_takes_no_echo_within_the_write_timeout_is_let_go() {
    let s = spawn(|c| c.http.write_timeout = MS(300)).await;
    let mut h2 = H2::connect(s.addr).await;
    let mut ws = h2.websocket("/ws/echo").await;
    // Far more than the stream's flow-control window, and no echo read: the
    // server's writes stall on this stream while the connection's are fine,
    // so only the per-message bound can see it.
    let payload = vec![7u8; 64 * 1024];
    let sending = async {
        for _ in 0..256 {
            if ws.send(Message::binary(payload.clone())).await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), sending).await;
    let mut open = s.state.ws.open.get();
    for _ in 0..200 {
        if open == 0 {
            break;
        }
        tokio::time::sleep(MS(50)).await;
        open = s.state.ws.open.get();
    }
    assert_eq!(open, 0, "the stalled WebSocket was let go");
    // The connection and its other streams go on.
    assert_eq!(h2.get("/fast").await, StatusCode::OK);
}
