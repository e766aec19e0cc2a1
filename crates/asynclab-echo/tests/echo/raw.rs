//! Raw mode: bytes echoed as they arrive, in order, whatever the client reads.

use super::*;

#[tokio::test]
async fn raw_mode_echoes_bytes_as_they_arrive() {
    let server = start(raw_config()).await;
    let mut client = server.connect().await;
    // No newline needed: the bytes come straight back.
    client.send(b"abc").await;
    assert_eq!(client.exact(3).await, b"abc");
    let every_byte: Vec<u8> = (0..=255).collect();
    client.send(&every_byte).await;
    assert_eq!(client.exact(256).await, every_byte);
    client.half_close().await;
    assert_eq!(client.rest().await, b"", "closed once the client is done");
}

#[tokio::test]
async fn raw_mode_echoes_everything_before_closing_after_a_half_close() {
    let server = start(raw_config()).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let sent: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    let expected = sent.clone();
    let writer = tokio::spawn(async move {
        write.write_all(&sent).await?;
        write.shutdown().await
    });
    let mut got = Vec::new();
    within(PATIENCE, read.read_to_end(&mut got))
        .await
        .expect("echoed to the end");
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "bytes altered");
    writer.await.expect("writer").expect("sent");
}

/// A client that reads late fills the kernel's buffers, so the server's
/// write-back that never waits takes only part of a chunk: the rest must be kept
/// and sent, in order, once the client reads.
#[tokio::test]
async fn raw_mode_keeps_every_byte_in_order_when_the_client_reads_late() {
    let server = start(raw_config()).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let sent: Vec<u8> = (0..32 << 20).map(|i: u32| (i % 253) as u8).collect();
    let expected = sent.clone();
    let writer = tokio::spawn(async move {
        write.write_all(&sent).await?;
        write.shutdown().await
    });
    // Long enough for both directions' buffers to fill and the writer to block.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !writer.is_finished(),
        "32 MiB cannot all be in flight unread"
    );
    let mut got = Vec::new();
    within(PATIENCE, read.read_to_end(&mut got))
        .await
        .expect("echoed to the end");
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "bytes altered or reordered");
    writer.await.expect("writer").expect("sent");
}
