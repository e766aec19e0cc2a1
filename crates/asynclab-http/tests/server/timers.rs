//! The connection and request clocks: header, idle, write, and a request
//! body's minimum rate.

use super::*;

#[tokio::test]
async fn silent_and_slow_header_senders_are_disconnected() {
    let s = spawn(|c| c.http.header_read_timeout = MS(300)).await;
    // Never sends a byte.
    let started = Instant::now();
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(read_to_close(&mut silent).await, "");
    assert!(
        started.elapsed() >= MS(250),
        "closed too early: {:?}",
        started.elapsed()
    );

    // Sends half a request head, then stalls (a slowloris).
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET /fast HTTP/1.1\r\nHo").await.unwrap();
    assert_eq!(read_to_close(&mut slow).await, "");

    assert_eq!(get(s.addr, "/fast").await.status, StatusCode::OK);
}

/// `POST /echo` answers before its body has all arrived: body bytes that come
/// in slowly while the echo streams back are progress, not the start of a new
/// request head, so the (short) header timeout must not cut the exchange.
/// (`curl --limit-rate 1M --data-binary @15MB /echo` was cut after 10 s.)
#[tokio::test]
async fn a_slow_body_streamed_back_outlives_the_header_timeout() {
    let s = spawn(|c| {
        c.http.header_read_timeout = MS(300);
        c.http.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
        .await
        .unwrap();
    // 8 bytes over about 1.6 s: five header timeouts.
    for _ in 0..8 {
        tokio::time::sleep(MS(200)).await;
        stream.write_all(b"z").await.unwrap();
    }
    let answer = read_until(&mut stream, "zzzzzzzz").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nzzzzzzzz"), "{answer}");

    // Then the connection is an ordinary keep-alive one again.
    stream
        .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let next = read_until(&mut stream, "Fast response\n").await;
    assert!(next.starts_with("HTTP/1.1 200 OK\r\n"), "{next}");
}

/// ... but a streamed exchange in which nothing moves is still closed: after
/// `http.idle_timeout` without a byte either way (and, since the response has
/// started, a second one for the graceful close that cannot finish it).
#[tokio::test]
async fn a_streamed_exchange_that_stalls_is_closed() {
    let s = spawn(|c| {
        c.http.header_read_timeout = Duration::from_secs(30);
        c.http.body_rate_window = MS(300);
    })
    .await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nzz")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        started.elapsed() >= MS(300),
        "closed too early: {:?}",
        started.elapsed()
    );
}

/// `http.request_timeout` is the server's time to answer a request that has
/// arrived: a body that keeps arriving for longer is waited for (a slow
/// upload), and the handler's clock starts when it ends.
#[tokio::test]
async fn a_body_that_keeps_arriving_is_waited_for_past_the_request_timeout() {
    let s = spawn(|c| {
        c.http.request_timeout = MS(400);
        c.http.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // Chunked: `/echo` collects the whole body before answering.
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    // Six chunks over about 1.2 s: three request timeouts.
    for _ in 0..6 {
        tokio::time::sleep(MS(200)).await;
        stream.write_all(b"2\r\nab\r\n").await.unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_until(&mut stream, "abababababab").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}

/// ... and a body that stops arriving gets 408 after `http.idle_timeout`: the
/// client's fault, said as such (not the server's 503), and the connection
/// closes, since the rest of the body may still come.
#[tokio::test]
async fn a_body_that_stops_arriving_gets_408() {
    let s = spawn(|c| {
        c.http.request_timeout = Duration::from_secs(30);
        c.http.body_rate_window = MS(300);
    })
    .await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(answer.contains("arrived too slowly"), "{answer}");
    assert!(
        started.elapsed() >= MS(300),
        "answered too early: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    // The head timeout is long, so only the idle timeout can close it.
    let s = spawn(|c| {
        c.http.idle_timeout = MS(300);
        c.http.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let text = read_to_close(&mut stream).await;
    assert!(
        text.starts_with("HTTP/1.1 200 OK") && text.ends_with("Fast response\n"),
        "{text}"
    );
    assert!(
        started.elapsed() >= MS(250),
        "closed too early: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let s = spawn(|c| c.http.write_timeout = MS(300)).await;
    // Upload 16 MiB to /echo and never read the echo: the server's writes stall,
    // then its reads (TCP flow control), until the write timeout ends it.
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let len = 16 * 1024 * 1024 - 1;
    let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let upload = tokio::spawn(async move {
        let chunk = vec![b'z'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            if stream.write_all(&chunk[..n]).await.is_err() {
                return Err(sent);
            }
            sent += n;
        }
        Ok(stream)
    });
    // Only the /stats connection polling is left open once the stuck one is gone.
    wait_stats(s.addr, |st| {
        st["requests_in_flight"] == 1 && st["connections_open"] == 1
    })
    .await;
    let result = tokio::time::timeout(STEP, upload).await.unwrap().unwrap();
    assert!(
        result.is_err(),
        "the server should have closed the stuck connection"
    );
}

/// The idle clock counts from the end of the last answer, and only from there:
/// writing that answer is no reason to keep the connection longer (it used to
/// close after up to twice `http.idle_timeout`).
#[tokio::test]
async fn an_idle_connection_closes_at_the_idle_timeout_not_twice_that() {
    let s = spawn(|c| {
        c.http.idle_timeout = MS(1500);
        c.http.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut stream, "Fast response\n").await;
    let answered = Instant::now();
    assert_eq!(read_to_close(&mut stream).await, "");
    let idle = answered.elapsed();
    assert!(
        idle >= MS(1400) && idle < MS(2500),
        "closed {idle:?} after the answer, for an idle timeout of 1.5 s"
    );
}

/// A body sent a byte at a time (the slow-POST attack) is refused with 408 and
/// its connection closed, whatever the between-bytes gap.
#[tokio::test]
async fn a_body_that_trickles_below_the_minimum_rate_gets_408() {
    let s = spawn(|c| {
        c.http.body_rate_window = MS(500);
        c.http.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let trickle = async {
        // One byte every 50 ms: far more often than any gap timeout, far below
        // the 1 KiB/s minimum. At most 10 s, so a server that never refuses
        // fails the test rather than hanging it.
        for _ in 0..200 {
            if stream.write_all(b"1\r\nx\r\n").await.is_err() {
                break;
            }
            tokio::time::sleep(MS(50)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// ... while an honest slow upload, 64 KiB a second, is served, for as many
/// windows as it takes.
#[tokio::test]
async fn an_upload_at_64_kib_a_second_succeeds() {
    let s = spawn(|c| {
        c.http.body_rate_window = MS(300);
        c.http.request_timeout = MS(500);
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    // 4 KiB every 62.5 ms for 1.5 s: five windows, three request timeouts.
    let chunk = format!("1000\r\n{}\r\n", "u".repeat(4096));
    for _ in 0..24 {
        stream.write_all(chunk.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_micros(62_500)).await;
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_until(&mut stream, &"u".repeat(64)).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains(&format!("content-length: {}\r\n", 24 * 4096)),
        "{answer}"
    );
}
