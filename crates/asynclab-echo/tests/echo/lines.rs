//! Line mode: every line back with the prefix, whatever its bytes and however it arrives.

use super::*;

#[tokio::test]
async fn each_line_comes_back_with_the_prefix_and_its_own_line_ending() {
    let server = start(config()).await;
    let mut client = server.connect().await;
    assert_eq!(client.round_trip(b"hello\n").await, b"Echo: hello\n");
    assert_eq!(client.round_trip(b"dos\r\n").await, b"Echo: dos\r\n");
    assert_eq!(client.round_trip(b"\n").await, b"Echo: \n");
    assert_eq!(client.round_trip(b"\r\n").await, b"Echo: \r\n");
}

#[tokio::test]
async fn lines_are_bytes_not_text() {
    let server = start(config()).await;
    let mut client = server.connect().await;
    let binary = b"\0nul \xff\xfe invalid utf-8 \xc3\x28 \r lone cr \x1b[31m\n";
    let mut expected = b"Echo: ".to_vec();
    expected.extend_from_slice(binary);
    assert_eq!(client.round_trip(binary).await, expected);
}

#[tokio::test]
async fn pipelined_lines_are_answered_in_order() {
    let server = start(config()).await;
    let client = server.connect().await;
    // 2,000 lines of varying length in one write: many lines per read, and lines
    // cut in two by read boundaries.
    let mut sent = Vec::new();
    let mut expected = Vec::new();
    for i in 0..2000 {
        let line = format!("line {i} {}\n", "x".repeat(i % 97));
        sent.extend_from_slice(line.as_bytes());
        expected.extend_from_slice(format!("Echo: {line}").as_bytes());
    }
    let (mut read, mut write) = client.stream.into_inner().into_split();
    // Written from another task: the answers must be read while we still send,
    // or both sides could wait on full buffers.
    let writer = tokio::spawn(async move { write.write_all(&sent).await });
    let mut got = vec![0; expected.len()];
    within(PATIENCE, read.read_exact(&mut got))
        .await
        .expect("all answers");
    assert!(got == expected, "answers out of order or altered");
    writer.await.expect("writer").expect("sent");
}

#[tokio::test]
async fn a_line_sent_one_byte_at_a_time_is_answered_once_whole() {
    let server = start(config()).await;
    let mut client = server.connect().await;
    for &byte in b"hello\r\nwor" {
        client.send(&[byte]).await;
        // Separate reads on the server's side, most of the time.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(client.line().await, b"Echo: hello\r\n");
    client.send(b"ld\n").await;
    assert_eq!(client.line().await, b"Echo: world\n");
}

#[tokio::test]
async fn a_last_line_without_newline_is_answered_when_the_client_half_closes() {
    let server = start(config()).await;
    let mut client = server.connect().await;
    client.send(b"first\nno newline").await;
    client.half_close().await;
    assert_eq!(
        client.rest().await,
        b"Echo: first\nEcho: no newline\n",
        "everything answered, then the server closes"
    );
}

#[tokio::test]
async fn a_too_long_line_is_refused_and_the_connection_closed() {
    let server = start(common::EchoConfig {
        max_line: asynclab_core::config::Size(16),
        ..config()
    })
    .await;
    let mut client = server.connect().await;
    // Exactly 16 bytes is fine, whatever the line ending.
    assert_eq!(
        client.round_trip(b"0123456789abcdef\r\n").await,
        b"Echo: 0123456789abcdef\r\n"
    );
    // A line before the long one is still answered, in order.
    client.send(b"short\n0123456789abcdefg\nnever read\n").await;
    assert_eq!(
        client.rest().await,
        b"Echo: short\nerror: line too long (max 16 bytes)\n"
    );

    // A long line with no newline at all is refused as soon as it is too long,
    // without waiting for its end.
    let mut client = server.connect().await;
    client.send(&[b'y'; 100]).await;
    assert_eq!(
        client.line().await,
        b"error: line too long (max 16 bytes)\n"
    );
}
