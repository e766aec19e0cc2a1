//! `GET /ws/echo`: the handshake and RFC 6455's rules, the way the Autobahn
//! suite checks them, with a client that writes its frames by hand
//! (`support/ws.rs`) and, for the happy path, tungstenite's own client.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::*;
use support::ws::*;

#[tokio::test]
async fn text_and_binary_messages_come_back_as_the_same_type_and_are_counted() {
    let s = spawn(|_| {}).await;
    let stream = TcpStream::connect(s.addr).await.unwrap();
    let url = format!("ws://{}/ws/echo", s.addr);
    let (mut ws, res) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("handshake");
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send(Message::text("héllo")).await.unwrap();
    ws.send(Message::binary(vec![0u8, 255, 7])).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("héllo"));
    assert_eq!(next(&mut ws).await, Message::binary(vec![0u8, 255, 7]));
    ws.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(STEP, ws.next()).await {}

    let ws_metrics = &s.state.ws;
    assert_eq!(ws_metrics.messages("in", "text"), 1);
    assert_eq!(ws_metrics.messages("in", "binary"), 1);
    assert_eq!(ws_metrics.message_bytes("out"), "héllo".len() as u64 + 3);
    assert_eq!(
        ws_metrics.closes(1005, "client"),
        1,
        "a close without a code"
    );
    let metrics = get(s.addr, "/metrics").await.body;
    assert!(
        metrics.contains(r#"http_websocket_messages_total{direction="in",kind="text"} 1"#),
        "{metrics}"
    );
}

/// The next message, within [`STEP`].
async fn next(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> Message {
    let next = tokio::time::timeout(STEP, ws.next()).await;
    next.expect("a message within STEP")
        .expect("open")
        .expect("a message")
}

#[tokio::test]
async fn a_close_is_answered_with_the_same_code_and_then_the_server_closes_tcp() {
    let s = spawn(|_| {}).await;
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    let mut close = 4321u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"bye");
    ws.send(Out::new(CLOSE, &close)).await;
    assert_eq!(ws.read_close().await, Some(4321));
    ws.expect_eof().await;
    assert_eq!(s.state.ws.closes(4321, "client"), 1);
}

#[tokio::test]
async fn pings_get_pongs_with_the_same_payload_even_between_fragments() {
    let s = spawn(|_| {}).await;
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    ws.send(Out::new(TEXT, b"hello, ").fin(false)).await;
    ws.send(Out::new(PING, b"are you there?")).await;
    let pong = ws.read().await.expect("a pong");
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (PONG, &b"are you there?"[..])
    );
    ws.send(Out::new(CONTINUATION, b"fragmented ").fin(false))
        .await;
    ws.send(Out::new(CONTINUATION, b"world")).await;
    let echo = ws.read().await.expect("the echo");
    assert_eq!(
        (echo.fin, echo.opcode, echo.payload.as_slice()),
        (true, TEXT, &b"hello, fragmented world"[..]),
        "reassembled into one message"
    );
}

/// Each case is one way to break RFC 6455; each must end in close 1002 and
/// the server closing the socket.
#[tokio::test]
async fn protocol_errors_close_with_1002() {
    let big = [b'x'; 126];
    let cases: Vec<(&str, Vec<Out<'static>>)> = vec![
        (
            "an unmasked client frame",
            vec![Out {
                masked: false,
                ..Out::new(TEXT, b"hi")
            }],
        ),
        (
            "a reserved bit",
            vec![Out {
                rsv: 4,
                ..Out::new(TEXT, b"hi")
            }],
        ),
        ("a reserved data opcode", vec![Out::new(0x3, b"hi")]),
        ("a reserved control opcode", vec![Out::new(0xB, b"")]),
        (
            "a continuation with nothing to continue",
            vec![Out::new(CONTINUATION, b"hi")],
        ),
        (
            "a new message inside a fragmented one",
            vec![Out::new(TEXT, b"a").fin(false), Out::new(BINARY, b"b")],
        ),
        ("a fragmented ping", vec![Out::new(PING, b"p").fin(false)]),
        (
            "a close code no one may send (1005)",
            vec![Out::new(CLOSE, &[0x03, 0xED])],
        ),
        (
            "a close code out of range (999)",
            vec![Out::new(CLOSE, &[0x03, 0xE7])],
        ),
        (
            "a close payload of one byte",
            vec![Out::new(CLOSE, &[0x03])],
        ),
    ];
    let s = spawn(|_| {}).await;
    for (what, frames) in cases {
        let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
        for frame in frames {
            ws.send(frame).await;
        }
        assert_eq!(ws.read_close().await, Some(1002), "{what}");
        ws.expect_eof().await;
    }
    // A control frame over 125 bytes (its length needs the 16-bit form).
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    ws.send(Out::new(PING, &big)).await;
    assert_eq!(ws.read_close().await, Some(1002), "a 126-byte ping");
    ws.expect_eof().await;
    // A close with a code no one may send is answered with 1002 by the close
    // handshake the client started: counted as a close by the client.
    let ws = &s.state.ws;
    assert_eq!(
        (ws.closes(1002, "server"), ws.closes(1002, "client")),
        (9, 2)
    );
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007_even_split_across_fragments() {
    let s = spawn(|_| {}).await;
    let cases: [(&str, &[&[u8]]); 3] = [
        ("in one frame", &[b"ok \xff"]),
        // A valid start of a 4-byte sequence, then a byte that cannot continue it.
        ("across two fragments", &[b"\xce\xba\xf0\x9f", b"\x28 oops"]),
        // A text that ends halfway through a character.
        ("cut short at the end", &[b"caf\xc3"]),
    ];
    for (what, fragments) in cases {
        let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
        for (i, fragment) in fragments.iter().enumerate() {
            let opcode = if i == 0 { TEXT } else { CONTINUATION };
            let last = i + 1 == fragments.len();
            ws.send(Out::new(opcode, fragment).fin(last)).await;
        }
        assert_eq!(ws.read_close().await, Some(1007), "{what}");
        ws.expect_eof().await;
    }
    // Fail fast: an invalid byte in a first fragment is refused at once,
    // before the message is complete.
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    ws.send(Out::new(TEXT, b"\xff").fin(false)).await;
    assert_eq!(
        ws.read_close().await,
        Some(1007),
        "the first fragment alone"
    );
}

#[tokio::test]
async fn a_message_over_the_limit_closes_with_1009_from_its_header() {
    let s = spawn(|c| c.http.ws.max_message = "1KiB".parse().unwrap()).await;
    // A header announcing 64 MiB and not one byte of payload: the answer can
    // only come from the header.
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    ws.send_raw(&header(true, 0, BINARY, 64 << 20, Some([1, 2, 3, 4])))
        .await;
    assert_eq!(ws.read_close().await, Some(1009));
    ws.expect_eof().await;

    // Fragments each under the limit, together over it.
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    let part = [b'a'; 600];
    ws.send(Out::new(TEXT, &part).fin(false)).await;
    ws.send(Out::new(CONTINUATION, &part)).await;
    assert_eq!(ws.read_close().await, Some(1009));
    ws.expect_eof().await;

    // Exactly at the limit is fine.
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    ws.send(Out::new(BINARY, &[7u8; 1024])).await;
    assert_eq!(ws.read().await.unwrap().payload.len(), 1024);
    assert_eq!(s.state.ws.closes(1009, "server"), 2);
}

#[tokio::test]
async fn bad_handshakes_get_a_4xx_never_101_or_5xx() {
    let s = spawn(|_| {}).await;
    let good = handshake_request("/ws/echo");
    let cases = [
        (
            "no upgrade at all",
            "GET /ws/echo HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
            "426",
        ),
        (
            "no key",
            good.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            "400",
        ),
        (
            "a short key",
            good.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),
            "400",
        ),
        (
            "version 8",
            good.replace("Version: 13", "Version: 8"),
            "426",
        ),
        ("a POST", good.replace("GET", "POST"), "405"),
        ("a HEAD", good.replace("GET", "HEAD"), "400"),
        ("HTTP/1.0", good.replace("HTTP/1.1", "HTTP/1.0"), "400"),
    ];
    for (what, request, status) in cases {
        let request = request.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
        let answer = raw(s.addr, request.as_bytes()).await;
        let status_line = answer.lines().next().unwrap_or_default();
        assert!(
            status_line.ends_with(&format!(" {status}"))
                || status_line.contains(&format!(" {status} ")),
            "{what}: {answer}"
        );
        if status == "426" {
            let lower = answer.to_ascii_lowercase();
            assert!(
                lower.contains("sec-websocket-version: 13"),
                "{what}: {answer}"
            );
            assert!(lower.contains("upgrade: websocket"), "{what}: {answer}");
        }
    }
    // Over HTTP/2 there is no Upgrade: a WebSocket is an extended CONNECT
    // (`websocket_h2.rs`), and a GET is refused.
    assert_eq!(
        get_h2(s.addr, "/ws/echo").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(s.state.ws.opened.get(), 0);
}
