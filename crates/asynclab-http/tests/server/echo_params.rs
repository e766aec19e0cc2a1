//! `/echo`'s fortio-style parameters over real sockets: a weighted status within
//! binomial bounds, delays, sizes, headers, gzip, `close`, and 400s naming the
//! parameter. (Seeded, exact proportions: `handlers/echo_plan_tests.rs`.)

use std::io::Read;

use super::httpbin::call;
use super::*;

#[tokio::test]
async fn a_weighted_status_comes_up_in_proportion() {
    let server = spawn(|_| {}).await;
    let client = client();
    // 400 replies at 25%: 100 ± 52 (6 standard deviations of a binomial).
    let (mut unavailable, mut other) = (0, 0);
    for _ in 0..400 {
        let res = send(&client, request("GET", server.addr, "/echo?status=503:25")).await;
        match res.status {
            StatusCode::SERVICE_UNAVAILABLE => unavailable += 1,
            StatusCode::OK => {}
            _ => other += 1,
        }
    }
    assert_eq!(other, 0);
    assert!((48..=152).contains(&unavailable), "{unavailable} of 400");
}

#[tokio::test]
async fn post_still_echoes_with_a_status_headers_and_gzip() {
    use http_body_util::BodyExt;
    let server = spawn(|_| {}).await;
    let res = call(
        server.addr,
        "POST",
        "/echo?status=201&header=X-A:1&header=X-B:%20two",
        &[("content-type", "text/x-mine")],
        b"hello",
    )
    .await;
    assert_eq!(
        (res.status, res.body.as_str()),
        (StatusCode::CREATED, "hello")
    );
    assert_eq!(
        (res.header("x-a"), res.header("x-b")),
        (Some("1"), Some("two"))
    );
    assert_eq!(res.header("content-type"), Some("text/x-mine"));

    let req = Request::post(format!("http://{}/echo?gzip=true", server.addr))
        .body(Full::new(Bytes::from_static(b"squeeze me")))
        .unwrap();
    let res = client().request(req).await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "squeeze me");
}

#[tokio::test]
async fn get_sizes_delays_and_bare_values() {
    let server = spawn(|_| {}).await;
    let res = get(server.addr, "/echo").await;
    assert_eq!((res.status, res.body.as_str()), (StatusCode::OK, ""));
    let res = get(server.addr, "/echo?size=100").await;
    assert_eq!(res.body.len(), 100);
    assert!(res.body.starts_with("abcdefghij"));
    let started = Instant::now();
    let res = get(server.addr, "/echo?delay=200ms&status=418").await;
    assert_eq!(res.status.as_u16(), 418);
    assert!(started.elapsed() >= MS(200), "{:?}", started.elapsed());
}

#[tokio::test]
async fn close_ends_the_connection_after_the_reply() {
    let server = spawn(|_| {}).await;
    let answer = raw(
        server.addr,
        b"GET /echo?close=true&size=3 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.ends_with("abc"), "{answer}");
    // Without close the connection stays open for the next request.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /echo?size=2 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let first = read_until(&mut stream, "ab").await;
    assert!(
        !first.to_ascii_lowercase().contains("connection: close"),
        "{first}"
    );
    stream
        .write_all(b"GET /echo?size=2 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_until(&mut stream, "ab")
            .await
            .starts_with("HTTP/1.1 200")
    );
}

#[tokio::test]
async fn bad_values_are_400s_naming_the_parameter() {
    let server = spawn(|c| c.http.slow.max_delay = Duration::from_secs(1)).await;
    for (path, expected) in [
        ("/echo?status=503:200", "`status`"),
        (
            "/echo?delay=2s",
            "`delay`: 2s is longer than 1s (http.slow.max_delay)",
        ),
        ("/echo?size=x", "`size`"),
        ("/echo?close=200", "`close`"),
        ("/echo?header=nocolon", "`header`"),
        ("/echo?gzip=1", "`gzip`"),
        ("/echo?bogus=1", "unknown parameter `bogus`"),
    ] {
        let res = get(server.addr, path).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(res.body.contains(expected), "{path}: {}", res.body);
    }
}
