//! The shutdown as echo clients see it: farewells after whole lines, a clean drain, the cut.

use super::*;

#[tokio::test]
async fn on_shutdown_line_clients_are_told_and_the_drain_is_clean() {
    let server = start(config()).await;
    let mut talking = server.connect().await;
    let mut silent = server.connect().await;
    assert_eq!(talking.round_trip(b"hi\n").await, b"Echo: hi\n");
    server
        .wait_for("both connections served", |m| m.open.get() == 2)
        .await;

    server.stop();
    for client in [&mut talking, &mut silent] {
        assert_eq!(client.line().await, b"server shutting down\n");
        assert_eq!(client.rest().await, b"", "then the connection closes");
    }
    drop((talking, silent));
    let addr = server.addr;
    let report = server.report().await;
    assert_eq!((report.drained, report.cut), (2, 0), "{report:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn the_shutdown_farewell_comes_after_whole_answered_lines() {
    let server = start(config()).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut read, write) = stream.into_split();
    let line: &[u8] = b"0123456789 pipelined 0123456789\n";
    let (flood, written) = flood(write, line);
    // The server is now stuck in the middle of writing answers nobody reads.
    until_stalled(&written).await;
    flood.abort(); // Our end of the stream follows the bytes already sent.
    server.stop();

    let mut got = Vec::new();
    within(PATIENCE, read.read_to_end(&mut got))
        .await
        .expect("read to the end");
    let answers = got
        .strip_suffix(b"server shutting down\n")
        .expect("the farewell comes last");
    let answer = [&b"Echo: "[..], line].concat();
    assert!(!answers.is_empty(), "the lines read were answered first");
    assert!(
        answers.chunks(answer.len()).all(|a| a == answer),
        "only whole answers before the farewell"
    );
    let report = server.report().await;
    assert_eq!((report.drained, report.cut), (1, 0), "{report:?}");
}

#[tokio::test]
async fn on_shutdown_raw_clients_are_closed_without_a_message() {
    let server = start(raw_config()).await;
    let mut client = server.connect().await;
    client.send(b"bytes").await;
    assert_eq!(client.exact(5).await, b"bytes");
    server.stop();
    assert_eq!(client.rest().await, b"", "no text mixed into raw bytes");
    drop(client);
    let report = server.report().await;
    assert_eq!((report.drained, report.cut), (1, 0), "{report:?}");
}

/// A client that sends and reads without pause keeps the socket (nearly) always
/// readable: the server must still notice the shutdown between two reads, not
/// only when the grace period ends.
#[tokio::test]
async fn a_client_that_never_pauses_still_sees_the_shutdown() {
    let grace = Duration::from_secs(60);
    let server = start_with_grace(raw_config(), grace).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let chunk = vec![b'x'; 256 * 1024];
        // Bounded: 4 GiB at most, far more than the test needs.
        for _ in 0..16 * 1024 {
            if write.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    server
        .wait_for("bytes flowing", |m| m.bytes_out.get() > 1 << 20)
        .await;
    server.stop();
    // The server closes its side once it notices: the echo then ends.
    let mut buf = vec![0; 64 * 1024];
    within(PATIENCE, async {
        while read.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    writer.abort();
    let report = server.report().await;
    assert_eq!((report.drained, report.cut), (1, 0), "{report:?}");
    assert!(report.elapsed < grace, "{report:?}");
}

#[tokio::test]
async fn a_connection_still_busy_after_the_grace_period_is_cut() {
    let grace = Duration::from_secs(3);
    let server = start_with_grace(config(), grace).await;
    let mut polite = server.connect().await;
    assert_eq!(polite.round_trip(b"hi\n").await, b"Echo: hi\n");
    let stuck = TcpStream::connect(server.addr).await.expect("connect");
    let (_stuck_read, write) = stuck.into_split();
    let (flood, written) = flood(write, b"never read\n");
    until_stalled(&written).await;

    server.stop();
    // The listener closes at once, long before the drain ends.
    within(PATIENCE, async {
        while TcpStream::connect(server.addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(server.is_running(), "still draining");

    assert_eq!(polite.line().await, b"server shutting down\n");
    assert_eq!(polite.rest().await, b"");
    drop(polite);
    let report = server.report().await;
    assert_eq!((report.drained, report.cut), (1, 1), "{report:?}");
    assert!(report.elapsed >= grace, "{report:?}");
    flood.abort();
}
