//! The httpbin routes over real sockets: inspection, bodies and their bounds,
//! status codes (a weighted choice within binomial bounds), generated bodies and
//! their caps. Redirects, cookies, auth, caching and formats: `httpbin_more.rs`.

use super::*;

/// `method path` with `headers` and `body`, on a fresh client.
pub(crate) async fn call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::new(Bytes::from_static(body))).unwrap();
    send(&client(), req).await
}

/// The head and the body's length in bytes of `GET path` (the bodies are binary).
async fn raw_body(addr: std::net::SocketAddr, path: &str) -> (http::Response<()>, usize) {
    use http_body_util::BodyExt;
    let res = client().request(request("GET", addr, path)).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = tokio::time::timeout(STEP, body.collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    (http::Response::from_parts(parts, ()), bytes.len())
}

#[tokio::test]
async fn get_echoes_args_headers_origin_and_url() {
    let server = spawn(|_| {}).await;
    let res = call(
        server.addr,
        "GET",
        "/get?a=1&a=2&b=x%20y",
        &[("user-agent", "t/1")],
        b"",
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let doc = res.json();
    assert_eq!(doc["args"]["a"], serde_json::json!(["1", "2"]));
    assert_eq!(doc["args"]["b"], "x y");
    assert_eq!(doc["headers"]["User-Agent"], "t/1");
    assert_eq!(doc["origin"], "127.0.0.1");
    assert_eq!(
        doc["url"],
        format!("http://{}/get?a=1&a=2&b=x%20y", server.addr)
    );
    assert!(doc.get("data").is_none(), "/get has no body fields: {doc}");

    let res = call(server.addr, "POST", "/get", &[], b"").await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    // A proxy's X-Forwarded-For is the origin (as go-httpbin reads it).
    let res = call(
        server.addr,
        "GET",
        "/ip",
        &[("x-forwarded-for", "10.1.2.3, 10.0.0.1")],
        b"",
    )
    .await;
    assert_eq!(res.json()["origin"], "10.1.2.3");
}

#[tokio::test]
async fn bodies_are_parsed_as_form_json_multipart_or_data() {
    let server = spawn(|_| {}).await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let doc = call(server.addr, "POST", "/post", &form, b"x=1&y=2&y=3")
        .await
        .json();
    assert_eq!(doc["form"], serde_json::json!({"x": "1", "y": ["2", "3"]}));
    assert_eq!(doc["data"], "");

    let json = [("content-type", "application/json")];
    for method in ["PUT", "PATCH", "DELETE"] {
        let path = format!("/{}", method.to_lowercase());
        let res = call(server.addr, method, &path, &json, b"{\"k\": [1, 2]}").await;
        assert_eq!(res.status, StatusCode::OK, "{method}");
        let doc = res.json();
        assert_eq!(doc["json"], serde_json::json!({"k": [1, 2]}), "{method}");
        assert_eq!(doc["data"], "{\"k\": [1, 2]}");
    }

    let multipart = [("content-type", "multipart/form-data; boundary=XyZ")];
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n--XyZ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile text\r\n--XyZ--\r\n";
    let doc = call(server.addr, "POST", "/anything/some/path", &multipart, body)
        .await
        .json();
    assert_eq!(doc["form"]["field"], "value");
    assert_eq!(doc["files"]["up"], "file text");
    assert_eq!(doc["method"], "POST");
    let broken = call(
        server.addr,
        "POST",
        "/post",
        &multipart,
        b"--XyZ\r\nnonsense",
    )
    .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);

    // Bytes that are not UTF-8 come back as a data: URL; /anything takes any method.
    let doc = call(server.addr, "OPTIONS", "/anything", &[], b"\xff\xfe")
        .await
        .json();
    assert_eq!(doc["data"], "data:application/octet-stream;base64,//4=");
    assert_eq!(doc["method"], "OPTIONS");
}

#[tokio::test]
async fn bodies_are_bounded_by_max_body_and_the_buffer_permits() {
    let server = spawn(|c| {
        c.http.max_body = asynclab_core::config::Size(16);
        c.http.httpbin.max_buffered_bodies = 1;
    })
    .await;
    let res = call(server.addr, "POST", "/post", &[], &[b'x'; 17]).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.body.contains("http.max_body"), "{}", res.body);

    // One body half sent holds the only permit: the next is refused at once.
    let mut holder = TcpStream::connect(server.addr).await.unwrap();
    holder
        .write_all(b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf")
        .await
        .unwrap();
    let mut busy = None;
    for _ in 0..50 {
        let res = call(server.addr, "POST", "/post", &[], b"x").await;
        if res.status == StatusCode::SERVICE_UNAVAILABLE {
            busy = Some(res);
            break;
        }
        tokio::time::sleep(MS(20)).await;
    }
    let busy = busy.expect("a 503 while the permit is held");
    assert!(
        busy.body.contains("http.httpbin.max_buffered_bodies"),
        "{}",
        busy.body
    );
    holder.write_all(b"6bytes").await.unwrap();
    let answer = read_until(&mut holder, "}\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"data\": \"half6bytes\""), "{answer}");
}

#[tokio::test]
async fn headers_ip_user_agent_and_uuid() {
    let server = spawn(|_| {}).await;
    let doc = call(server.addr, "GET", "/headers", &[("x-thing", "a")], b"")
        .await
        .json();
    assert_eq!(doc["headers"]["X-Thing"], "a");
    let doc = call(
        server.addr,
        "GET",
        "/user-agent",
        &[("user-agent", "probe/2")],
        b"",
    )
    .await
    .json();
    assert_eq!(doc["user-agent"], "probe/2");
    assert_eq!(get(server.addr, "/ip").await.json()["origin"], "127.0.0.1");
    let a = get(server.addr, "/uuid").await.json()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = get(server.addr, "/uuid").await.json()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!((a.len(), &a[14..15]), (36, "4"), "a version-4 UUID: {a}");
    assert_ne!(a, b);
}

#[tokio::test]
async fn status_answers_the_code_with_its_headers_or_a_weighted_choice() {
    let server = spawn(|_| {}).await;
    let teapot = get(server.addr, "/status/418").await;
    assert_eq!(teapot.status.as_u16(), 418);
    assert!(teapot.body.contains("teapot"));
    let res = call(server.addr, "PUT", "/status/201", &[], b"").await;
    assert_eq!(res.status, StatusCode::CREATED, "any method");
    assert_eq!(
        get(server.addr, "/status/302").await.header("location"),
        Some("/redirect/1")
    );
    let res = get(server.addr, "/status/401").await;
    assert_eq!(
        res.header("www-authenticate"),
        Some("Basic realm=\"Fake Realm\"")
    );
    for bad in [
        "/status/abc",
        "/status/99",
        "/status/100",
        "/status/200:x",
        "/status/200:0",
    ] {
        let res = get(server.addr, bad).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            res.body.contains("bad value for `codes`"),
            "{bad}: {}",
            res.body
        );
    }
    // 400 fair coin flips: 503 comes up 200 ± 60 times (6 standard deviations).
    let client = client();
    let mut unavailable = 0;
    for _ in 0..400 {
        let res = send(
            &client,
            request("GET", server.addr, "/status/200:50,503:50"),
        )
        .await;
        unavailable += u32::from(res.status == StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!((140..=260).contains(&unavailable), "{unavailable} of 400");
}

#[tokio::test]
async fn generated_bodies_have_their_size_their_seed_and_their_caps() {
    let server = spawn(|c| {
        c.http.httpbin.max_bytes = asynclab_core::config::Size(1000);
        c.http.httpbin.max_stream_lines = 5;
    })
    .await;
    let a = get(server.addr, "/bytes/64?seed=7").await;
    assert_eq!(a.header("content-type"), Some("application/octet-stream"));
    let again = get(server.addr, "/bytes/64?seed=7").await;
    let other = get(server.addr, "/bytes/64?seed=8").await;
    assert_eq!(a.header("content-length"), Some("64"));
    assert_eq!(a.body, again.body, "the same seed, the same bytes");
    assert_ne!(a.body, other.body);
    let (streamed, len) = raw_body(server.addr, "/stream-bytes/1000?chunk_size=300&seed=1").await;
    assert_eq!(
        streamed.headers().get("content-length"),
        None,
        "sent in chunks"
    );
    assert_eq!(streamed.headers()["transfer-encoding"], "chunked");
    assert_eq!(len, 1000);
    assert_eq!(raw_body(server.addr, "/bytes/1000").await.1, 1000);
    let lines = get(server.addr, "/stream/3").await;
    let ids: Vec<u64> = lines
        .body
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [0, 1, 2]);
    let caps = [
        (
            "/bytes/1001",
            "`n`: 1001 is above 1000 (http.httpbin.max_bytes)",
        ),
        ("/stream-bytes/1001", "(http.httpbin.max_bytes)"),
        ("/range/1001", "(http.httpbin.max_bytes)"),
        (
            "/stream/6",
            "`n`: 6 is above 5 (http.httpbin.max_stream_lines)",
        ),
        ("/bytes/x", "`n`: `x` is not a whole number"),
        ("/bytes/1?seed=-1", "`seed`"),
        ("/drip?numbytes=1001", "(http.httpbin.max_bytes)"),
        ("/drip?duration=11", "(http.httpbin.max_drip_duration)"),
        ("/drip?delay=11", "(http.httpbin.max_delay)"),
        ("/drip?code=99", "`code`"),
        (
            "/delay/10.5",
            "`n`: `10.5` is longer than 10s (http.httpbin.max_delay)",
        ),
        ("/delay/soon", "`n`"),
    ];
    for (path, expected) in caps {
        let res = get(server.addr, path).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(res.body.contains(expected), "{path}: {}", res.body);
    }
}

#[tokio::test]
async fn range_drip_and_delay_send_what_they_promise() {
    let server = spawn(|_| {}).await;
    let whole = get(server.addr, "/range/30").await;
    assert_eq!((whole.status, &whole.body[..4]), (StatusCode::OK, "abcd"));
    let part = call(
        server.addr,
        "GET",
        "/range/30",
        &[("range", "bytes=26-")],
        b"",
    )
    .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, "abcd");
    assert_eq!(part.header("content-range"), Some("bytes 26-29/30"));
    let none = call(
        server.addr,
        "GET",
        "/range/30",
        &[("range", "bytes=40-50")],
        b"",
    )
    .await;
    assert_eq!(none.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(none.header("content-range"), Some("bytes */30"));

    let started = Instant::now();
    let drip = get(server.addr, "/drip?numbytes=5&duration=0.3&code=202").await;
    assert_eq!(
        (drip.status, drip.body.as_str()),
        (StatusCode::ACCEPTED, "*****")
    );
    assert!(
        started.elapsed() >= MS(250),
        "dripped over the duration: {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let delayed = get(server.addr, "/delay/150ms").await;
    assert_eq!(delayed.status, StatusCode::OK);
    assert!(started.elapsed() >= MS(150));
    assert!(
        delayed.json()["url"]
            .as_str()
            .unwrap()
            .ends_with("/delay/150ms")
    );
}
