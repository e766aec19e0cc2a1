//! What the protocol layer takes and refuses: malformed input, head limits,
//! HTTP/2 prior knowledge, pipelining, connection slots.

use super::*;

#[tokio::test]
async fn bad_input_gets_the_documented_answer_and_the_server_carries_on() {
    let s = spawn(|c| {
        c.http.max_body = asynclab_core::config::Size(1024);
        c.http.max_header_bytes = asynclab_core::config::Size(16 * 1024);
        c.http.max_headers = 20;
    })
    .await;
    let a = s.addr;
    let status_line = |text: &str| text.lines().next().unwrap_or("").to_string();

    let garbage = raw(a, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_eq!(
        status_line(&garbage),
        "HTTP/1.1 400 Bad Request",
        "{garbage}"
    );

    let no_host = raw(a, b"GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(
        status_line(&no_host),
        "HTTP/1.1 400 Bad Request",
        "{no_host}"
    );
    assert!(no_host.contains("without a Host header"));

    let two_hosts = raw(
        a,
        b"GET /fast HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        status_line(&two_hosts),
        "HTTP/1.1 400 Bad Request",
        "{two_hosts}"
    );
    assert!(two_hosts.contains("more than one Host header"));

    for host in ["a b", "a/b", "user@a"] {
        let req = format!("GET /fast HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let bad_host = raw(a, req.as_bytes()).await;
        assert_eq!(
            status_line(&bad_host),
            "HTTP/1.1 400 Bad Request",
            "{host}: {bad_host}"
        );
        assert!(bad_host.contains("invalid Host header"), "{bad_host}");
    }
    for host in ["example.com:8080", "[::1]:8080", "127.0.0.1", ""] {
        let req = format!("GET /fast HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let good = raw(a, req.as_bytes()).await;
        assert_eq!(status_line(&good), "HTTP/1.1 200 OK", "{host}: {good}");
    }

    let big = format!(
        "GET /fast HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let big = raw(a, big.as_bytes()).await;
    assert_eq!(
        status_line(&big),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{big}"
    );

    let many: String = (0..30).map(|i| format!("X-H{i}: 1\r\n")).collect();
    let many = raw(
        a,
        format!("GET /fast HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    )
    .await;
    assert_eq!(
        status_line(&many),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{many}"
    );

    // Too large by Content-Length: refused before a byte of the body is read.
    let declared = raw(
        a,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        status_line(&declared),
        "HTTP/1.1 413 Payload Too Large",
        "{declared}"
    );

    // Too large, chunked (no Content-Length): the body is collected first, so the
    // answer is still a clean 413, and nothing of it is echoed.
    let mut chunked =
        String::from("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..4 {
        chunked.push_str(&format!("200\r\n{}\r\n", "y".repeat(512)));
    }
    chunked.push_str("0\r\n\r\n");
    let refused = raw(a, chunked.as_bytes()).await;
    assert_eq!(
        status_line(&refused),
        "HTTP/1.1 413 Payload Too Large",
        "{refused}"
    );
    assert!(!refused.contains("yyyy"), "nothing echoed: {refused}");

    // Chunked within the limit is echoed whole.
    let small = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let echoed = raw(a, small.as_bytes()).await;
    assert!(echoed.starts_with("HTTP/1.1 200 OK"), "{echoed}");
    assert!(echoed.ends_with("hello world"), "{echoed}");

    assert_eq!(get(a, "/fast").await.status, StatusCode::OK);
}

/// `http.max_header_bytes` is exact: a head of exactly the limit is served, one
/// byte more is refused. At 64 KiB hyper's read buffer alone let heads of up to
/// about twice that through (a read may fill the buffer past its limit).
#[tokio::test]
async fn the_request_head_limit_is_exact() {
    let limit: usize = 64 * 1024;
    let s = spawn(|c| c.http.max_header_bytes = asynclab_core::config::Size(limit as u64)).await;
    // Request line and headers, padded so the whole head, blank line included,
    // is `len` bytes.
    let head = |len: usize| {
        let start = "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ";
        let end = "\r\n\r\n";
        format!("{start}{}{end}", "a".repeat(len - start.len() - end.len()))
    };
    for (len, expected) in [
        (limit, "HTTP/1.1 200 OK"),
        (limit + 1, "HTTP/1.1 431 Request Header Fields Too Large"),
        (100_000, "HTTP/1.1 431 Request Header Fields Too Large"),
    ] {
        let request = head(len);
        assert_eq!(request.len(), len);
        let answer = raw(s.addr, request.as_bytes()).await;
        let status = answer.lines().next().unwrap_or("");
        assert_eq!(status, expected, "a head of {len} bytes");
    }
}

#[tokio::test]
async fn http2_prior_knowledge_works() {
    let s = spawn(|_| {}).await;
    let a = get_h2(s.addr, "/fast").await;
    assert_eq!((a.status, a.version), (StatusCode::OK, Version::HTTP_2));
    assert_eq!(a.body, "Fast response\n");
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let s = spawn(|_| {}).await;
    let two = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let text = raw(s.addr, two).await;
    let fast = text.find("Fast response\n").expect("first answer");
    let ok = text.find("\r\n\r\nok\n").expect("second answer");
    assert!(fast < ok, "{text}");
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
}

/// Thousands of pipelined requests from a client that starts reading late: the
/// server's writes (small answers joined into one `send`, see `TimedIo` in
/// `conn.rs`) meet a full socket again and again, and every answer still
/// arrives whole.
#[tokio::test]
async fn pipelined_answers_cut_short_by_a_full_socket_arrive_whole() {
    const N: usize = 20_000;
    let s = spawn(|_| {}).await;
    let stream = TcpStream::connect(s.addr).await.unwrap();
    let mut requests = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n".repeat(N - 1);
    requests.extend_from_slice(b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        wr.write_all(&requests).await.unwrap();
        wr
    });
    // The server answers into its socket while nobody reads: it fills up.
    tokio::time::sleep(MS(300)).await;
    let mut text = Vec::new();
    rd.read_to_end(&mut text).await.unwrap();
    drop(writer.await.unwrap());
    let text = String::from_utf8(text).unwrap();
    let answers: Vec<&str> = text.split("HTTP/1.1 200 OK\r\n").skip(1).collect();
    assert_eq!(answers.len(), N);
    for answer in answers {
        assert!(answer.ends_with("\r\n\r\nFast response\n"), "{answer:?}");
    }
}

#[tokio::test]
async fn a_first_packet_too_short_to_tell_the_protocol_still_works() {
    // `P` could start `PRI * HTTP/2.0` or `POST`: the server must wait and see.
    let s = spawn(|_| {}).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(b"P").await.unwrap();
    tokio::time::sleep(MS(100)).await;
    stream
        .write_all(
            b"OST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        )
        .await
        .unwrap();
    let text = read_to_close(&mut stream).await;
    assert!(
        text.starts_with("HTTP/1.1 200 OK") && text.ends_with("\r\n\r\nhi"),
        "{text}"
    );
}

#[tokio::test]
async fn connections_beyond_max_connections_wait_for_a_slot() {
    let s = spawn(|c| c.http.max_connections = 1).await;
    // Holds the only slot: connected, sending nothing (the header timeout is 10 s).
    let holder = TcpStream::connect(s.addr).await.unwrap();
    tokio::time::sleep(MS(100)).await;
    let addr = s.addr;
    let waiting = tokio::spawn(async move { get(addr, "/fast").await });
    tokio::time::sleep(MS(300)).await;
    assert!(
        !waiting.is_finished(),
        "a second connection was served beside the first"
    );
    drop(holder);
    assert_eq!(waiting.await.unwrap().status, StatusCode::OK);
}
