//! The echo server in process, over real sockets on `127.0.0.1:0`: every
//! behaviour a client can notice, in line and raw mode, under limits and during
//! a shutdown. Timeouts are configured short instead of waiting on long ones.
//!
//! (The 100 MiB line and the file-descriptor exhaustion each run in their own
//! test binary, `memory.rs` and `accept_errors.rs`: they measure or change the
//! whole process.)

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{PATIENCE, config, raw_config, start, start_with_grace, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;

// ----- line mode -----

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

// ----- raw mode -----

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

// ----- limits -----

#[tokio::test]
async fn beyond_max_connections_a_client_is_told_busy_and_the_others_are_served() {
    let server = start(common::EchoConfig {
        max_connections: 2,
        ..config()
    })
    .await;
    let mut first = server.connect().await;
    let mut second = server.connect().await;
    // A round trip each makes sure both hold their place.
    assert_eq!(first.round_trip(b"1\n").await, b"Echo: 1\n");
    assert_eq!(second.round_trip(b"2\n").await, b"Echo: 2\n");

    let mut third = server.connect().await;
    assert_eq!(third.rest().await, b"error: server busy\n");
    assert_eq!(server.metrics.rejected.get(), 1);

    assert_eq!(
        first.round_trip(b"still here\n").await,
        b"Echo: still here\n"
    );
    assert_eq!(second.round_trip(b"me too\n").await, b"Echo: me too\n");

    // A place freed is a place for the next client.
    drop(first);
    server
        .wait_for("the first connection to end", |m| m.open.get() == 1)
        .await;
    let mut fourth = server.connect().await;
    assert_eq!(fourth.round_trip(b"4\n").await, b"Echo: 4\n");
}

#[tokio::test]
async fn a_silent_connection_is_told_bye_and_closed() {
    let server = start(common::EchoConfig {
        idle_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut client = server.connect().await;
    assert_eq!(client.round_trip(b"hi\n").await, b"Echo: hi\n");
    assert_eq!(client.line().await, b"bye: idle timeout\n");
    assert_eq!(client.rest().await, b"");
}

#[tokio::test]
async fn traffic_keeps_a_connection_from_timing_out() {
    let idle_timeout = Duration::from_millis(1500);
    let server = start(common::EchoConfig {
        idle_timeout,
        ..config()
    })
    .await;
    let mut client = server.connect().await;
    // Six lines 300 ms apart: 1.8 s in all, longer than the idle timeout, but
    // never 1.5 s of silence.
    for i in 0..6 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let line = format!("{i}\n");
        let answer = client.round_trip(line.as_bytes()).await;
        assert_eq!(answer, format!("Echo: {line}").as_bytes());
    }
    assert_eq!(client.line().await, b"bye: idle timeout\n");
}

/// Sends `line` over and over (up to `FLOOD_CAP` bytes) without ever reading,
/// counting what the kernel accepted.
fn flood(mut write: OwnedWriteHalf, line: &'static [u8]) -> (JoinHandle<()>, Arc<AtomicU64>) {
    let written = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&written);
    let chunk = line.repeat(64 * 1024 / line.len());
    let task = tokio::spawn(async move {
        while count.load(Ordering::Relaxed) < FLOOD_CAP {
            if write.write_all(&chunk).await.is_err() {
                return;
            }
            count.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    });
    (task, written)
}

/// Far more than all the kernel buffers between a client and the server.
const FLOOD_CAP: u64 = 256 << 20;

/// Waits until the flood's writes stop making progress, and returns how much got
/// through.
async fn until_stalled(written: &AtomicU64) -> u64 {
    within(PATIENCE * 3, async {
        let mut before = u64::MAX;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = written.load(Ordering::Relaxed);
            if now == before {
                return now;
            }
            before = now;
        }
    })
    .await
}

async fn a_client_that_stops_reading_stalls_only_itself(config: common::EchoConfig) {
    let held_at_most = config.read_buffer.bytes() + config.max_line.bytes() + 1;
    let server = start(config).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (_read, write) = stream.into_split();
    let (flood, written) = flood(write, b"a line that nobody will ever read\n");

    let through = until_stalled(&written).await;
    assert!(
        through < FLOOD_CAP,
        "the server stopped reading, so the client's writes block ({through} bytes went through)"
    );
    // The server holds at most one read and a partial line; everything else
    // waits in the kernel's buffers. (Answers are the input itself here: the
    // prefix is empty, so bytes in minus bytes out is what the server holds.)
    let m = &server.metrics;
    let held = m.bytes_in.get() - m.bytes_out.get();
    assert!(
        held <= held_at_most,
        "server holds {held} bytes, more than {held_at_most}"
    );

    // Everyone else is served as usual.
    let mut other = server.connect().await;
    assert_eq!(other.round_trip(b"hello\n").await, b"hello\n");
    flood.abort();
}

#[tokio::test]
async fn a_client_that_stops_reading_stalls_only_itself_in_line_mode() {
    a_client_that_stops_reading_stalls_only_itself(common::EchoConfig {
        prefix: String::new(),
        ..config()
    })
    .await;
}

#[tokio::test]
async fn a_client_that_stops_reading_stalls_only_itself_in_raw_mode() {
    a_client_that_stops_reading_stalls_only_itself(raw_config()).await;
}

#[tokio::test]
async fn a_client_that_resets_does_not_disturb_the_others() {
    let server = start(config()).await;
    let mut other = server.connect().await;
    assert_eq!(other.round_trip(b"before\n").await, b"Echo: before\n");

    let rude = TcpStream::connect(server.addr).await.expect("connect");
    // Deprecated because a non-zero linger blocks the thread on drop; zero
    // never blocks, and it is the way to make the kernel send a reset.
    #[allow(deprecated)]
    rude.set_linger(Some(Duration::ZERO)).expect("linger 0");
    rude.try_write(b"half a line")
        .expect("an empty send buffer takes it");
    server
        .wait_for("the rude client to be served", |m| m.open.get() == 2)
        .await;
    drop(rude); // Linger 0: the kernel sends a reset instead of a clean close.
    server
        .wait_for("the reset connection to end", |m| m.open.get() == 1)
        .await;

    assert_eq!(other.round_trip(b"after\n").await, b"Echo: after\n");
}

// ----- shutdown -----

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

// ----- metrics -----

#[tokio::test]
async fn counters_follow_connections_bytes_and_lines() {
    let server = start(common::EchoConfig {
        max_connections: 1,
        ..config()
    })
    .await;
    let m = server.metrics.clone();
    let mut client = server.connect().await;
    client.send(b"a\nbb\r\n").await;
    assert_eq!(client.line().await, b"Echo: a\n");
    assert_eq!(client.line().await, b"Echo: bb\r\n");
    assert_eq!((m.accepted.get(), m.open.get()), (1, 1));

    let mut busy = server.connect().await;
    assert_eq!(busy.rest().await, b"error: server busy\n");
    assert_eq!(m.rejected.get(), 1);

    drop(client);
    server
        .wait_for("the connection to end", |m| m.open.get() == 0)
        .await;
    assert_eq!(m.lines.get(), 2);
    assert_eq!(m.bytes_in.get(), 6);
    let answered = "Echo: a\nEcho: bb\r\n".len() + "error: server busy\n".len();
    assert_eq!(m.bytes_out.get(), answered as u64);
}
