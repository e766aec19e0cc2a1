//! The httpbin routes over real sockets, continued: redirects (bounded, and no
//! open redirect), cookies, credentials, caching, the fixed documents, and the
//! metric labels (templates, never raw paths).

use std::io::Read;

use super::httpbin::call;
use super::*;

#[tokio::test]
async fn redirect_chains_are_bounded_and_end_at_get() {
    let server = spawn(|c| c.http.httpbin.max_redirects = 5).await;
    let host = server.addr.to_string();
    let location = |res: Answer| (res.status, res.header("location").map(str::to_owned));
    let cases = [
        ("/redirect/3", "/relative-redirect/2".to_owned()),
        ("/relative-redirect/1", "/get".to_owned()),
        (
            "/absolute-redirect/2",
            format!("http://{host}/absolute-redirect/1"),
        ),
        (
            "/redirect/2?absolute=true",
            format!("http://{host}/absolute-redirect/1"),
        ),
        ("/absolute-redirect/1", format!("http://{host}/get")),
    ];
    for (path, expected) in cases {
        assert_eq!(
            location(get(server.addr, path).await),
            (StatusCode::FOUND, Some(expected)),
            "{path}"
        );
    }
    for (path, expected) in [
        ("/redirect/6", "6 is above 5 (http.httpbin.max_redirects)"),
        ("/redirect/0", "at least 1 hop"),
    ] {
        let res = get(server.addr, path).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(res.body.contains(expected), "{path}: {}", res.body);
    }
}

#[tokio::test]
async fn redirect_to_is_not_an_open_redirect() {
    let server =
        spawn(|c| c.http.httpbin.allowed_redirect_hosts = vec!["example.org".into()]).await;
    let own = format!("http://{}/get", server.addr);
    let allowed: &[(&str, StatusCode)] = &[
        ("/redirect-to?url=/get", StatusCode::FOUND),
        (
            "/redirect-to?url=/get&status_code=307",
            StatusCode::TEMPORARY_REDIRECT,
        ),
        ("/redirect-to?url=https://example.org/x", StatusCode::FOUND),
    ];
    for (path, status) in allowed {
        assert_eq!(get(server.addr, path).await.status, *status, "{path}");
    }
    let res = get(server.addr, &format!("/redirect-to?url={own}")).await;
    assert_eq!(
        res.header("location"),
        Some(own.as_str()),
        "this server's own host"
    );
    for url in [
        "https://evil.example/",
        "//evil.example/",
        "/%5Cevil.example/",
    ] {
        let res = get(server.addr, &format!("/redirect-to?url={url}")).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{url}");
        assert!(
            res.body.contains("evil.example is not allowed"),
            "{}",
            res.body
        );
        assert_eq!(res.header("location"), None);
    }
    for (path, name) in [
        ("/redirect-to", "`url`"),
        ("/redirect-to?url=javascript:alert(1)", "`url`"),
        ("/redirect-to?url=/get&status_code=200", "`status_code`"),
    ] {
        let res = get(server.addr, path).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(res.body.contains(name), "{path}: {}", res.body);
    }
}

#[tokio::test]
async fn cookies_are_read_set_and_deleted() {
    let server = spawn(|_| {}).await;
    let doc = call(
        server.addr,
        "GET",
        "/cookies",
        &[("cookie", "a=1; b=two")],
        b"",
    )
    .await
    .json();
    assert_eq!(doc, serde_json::json!({"cookies": {"a": "1", "b": "two"}}));
    let set = get(server.addr, "/cookies/set?a=1&b=2").await;
    assert_eq!(
        (set.status, set.header("location")),
        (StatusCode::FOUND, Some("/cookies"))
    );
    let cookies: Vec<_> = set.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);
    let deleted = get(server.addr, "/cookies/delete?a").await;
    let cookie = deleted.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("a=; Expires=Thu, 01 Jan 1970") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    let bad = get(server.addr, "/cookies/set?a=1%3B%20Domain%3Devil").await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "a ; would add attributes"
    );
}

#[tokio::test]
async fn basic_and_bearer_credentials() {
    let server = spawn(|_| {}).await;
    let good = [("authorization", "Basic dXNlcjpwYXNz")]; // user:pass
    let doc = call(server.addr, "GET", "/basic-auth/user/pass", &good, b"")
        .await
        .json();
    assert_eq!(
        doc,
        serde_json::json!({"authenticated": true, "user": "user"})
    );
    let res = get(server.addr, "/basic-auth/user/other").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.header("www-authenticate"),
        Some("Basic realm=\"Fake Realm\"")
    );
    let wrong = call(server.addr, "GET", "/basic-auth/user/other", &good, b"").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(server.addr, "/hidden-basic-auth/user/pass")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let hidden = call(
        server.addr,
        "GET",
        "/hidden-basic-auth/user/pass",
        &good,
        b"",
    )
    .await;
    assert_eq!(hidden.status, StatusCode::OK);

    let doc = call(
        server.addr,
        "GET",
        "/bearer",
        &[("authorization", "Bearer abc")],
        b"",
    )
    .await
    .json();
    assert_eq!(
        doc,
        serde_json::json!({"authenticated": true, "token": "abc"})
    );
    let res = get(server.addr, "/bearer").await;
    assert_eq!(
        (res.status, res.header("www-authenticate")),
        (StatusCode::UNAUTHORIZED, Some("Bearer"))
    );
}

#[tokio::test]
async fn caching_headers_and_conditional_requests() {
    let server = spawn(|_| {}).await;
    let fresh = get(server.addr, "/cache").await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert!(fresh.header("etag").is_some() && fresh.header("last-modified").is_some());
    let again = call(
        server.addr,
        "GET",
        "/cache",
        &[("if-none-match", "\"x\"")],
        b"",
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let res = get(server.addr, "/cache/60").await;
    assert_eq!(res.header("cache-control"), Some("public, max-age=60"));

    let res = get(server.addr, "/etag/abc").await;
    assert_eq!(
        (res.status, res.header("etag")),
        (StatusCode::OK, Some("\"abc\""))
    );
    let same = call(
        server.addr,
        "GET",
        "/etag/abc",
        &[("if-none-match", "W/\"abc\", \"z\"")],
        b"",
    )
    .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    let other = call(
        server.addr,
        "GET",
        "/etag/abc",
        &[("if-match", "\"z\"")],
        b"",
    )
    .await;
    assert_eq!(other.status, StatusCode::PRECONDITION_FAILED);

    let res = get(
        server.addr,
        "/response-headers?X-A=1&X-A=2&Content-Type=text/plain",
    )
    .await;
    let xa: Vec<_> = res.headers.get_all("x-a").iter().collect();
    assert_eq!(xa, ["1", "2"]);
    assert_eq!(res.header("content-type"), Some("text/plain"));
    assert_eq!(res.json()["X-A"], serde_json::json!(["1", "2"]));
    let framing = get(server.addr, "/response-headers?Content-Length=5").await;
    assert_eq!(framing.status, StatusCode::BAD_REQUEST, "{}", framing.body);
}

fn gunzip(bytes: &[u8], gzip: bool) -> String {
    let mut out = String::new();
    match gzip {
        true => flate2::read::GzDecoder::new(bytes).read_to_string(&mut out),
        false => flate2::read::ZlibDecoder::new(bytes).read_to_string(&mut out),
    }
    .expect("a valid compressed stream");
    out
}

#[tokio::test]
async fn documents_and_compressed_bodies() {
    use http_body_util::BodyExt;
    let server = spawn(|_| {}).await;
    for (path, encoding, flag) in [
        ("/gzip", "gzip", "gzipped"),
        ("/deflate", "deflate", "deflated"),
    ] {
        let res = client()
            .request(request("GET", server.addr, path))
            .await
            .unwrap();
        assert_eq!(res.headers()["content-encoding"], encoding);
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let doc: serde_json::Value =
            serde_json::from_str(&gunzip(&bytes, encoding == "gzip")).unwrap();
        assert_eq!(doc[flag], true, "{doc}");
        assert_eq!(doc["method"], "GET");
    }
    let pages = [
        ("/json", "application/json", "Sample Slide Show"),
        ("/html", "text/html; charset=utf-8", "Moby-Dick"),
        ("/xml", "application/xml", "<slideshow"),
        ("/robots.txt", "text/plain", "Disallow: /deny"),
        ("/deny", "text/plain", "YOU SHOULDN'T BE HERE"),
        ("/encoding/utf8", "text/html; charset=utf-8", "∮ E⋅da = Q"),
        (
            "/base64/SFRUUEJJTiBpcyBhd2Vzb21l",
            "text/plain; charset=utf-8",
            "HTTPBIN is awesome",
        ),
    ];
    for (path, content_type, text) in pages {
        let res = get(server.addr, path).await;
        assert_eq!(res.header("content-type"), Some(content_type), "{path}");
        assert!(res.body.contains(text), "{path}: {}", res.body);
    }
    serde_json::from_str::<serde_json::Value>(&get(server.addr, "/json").await.body).unwrap();
    assert_eq!(
        get(server.addr, "/base64/%%%").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn metrics_label_httpbin_routes_by_template() {
    let server = spawn(|_| {}).await;
    for path in [
        "/status/503",
        "/status/200",
        "/anything/a/b",
        "/basic-auth/a/b",
    ] {
        get(server.addr, path).await;
    }
    let metrics = get(server.addr, "/metrics").await.body;
    for label in [
        "route=\"/status/{codes}\"",
        "route=\"/anything/{path}\"",
        "route=\"/basic-auth/{user}/{passwd}\"",
    ] {
        assert!(metrics.contains(label), "{label} missing");
    }
    assert!(
        !metrics.contains("route=\"/status/503\""),
        "no raw paths as labels"
    );
    let index = get(server.addr, "/").await.body;
    assert!(
        index.contains("/status/{codes}") && index.contains("/redirect-to"),
        "{index}"
    );
}
