//! Connection limits, idle timeouts, slow and misbehaving clients, and the counters.

use super::*;

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
