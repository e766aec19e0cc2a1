//! What a file, a folder and a missing path answer: headers, methods, conditional requests, ranges, precompressed siblings, listings.

use super::*;

// ---- behaviour ---------------------------------------------------------------

#[tokio::test]
async fn a_file_gets_every_header() {
    let fx = fixture(|_| {});
    let a = get(&fx.files, "data.txt").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text(), "hello, files\n");
    assert_eq!(a.header("content-length"), "13");
    assert_eq!(a.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(a.header("accept-ranges"), "bytes");
    assert_eq!(a.header("cache-control"), "public, max-age=60");
    let etag = a.header("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    assert!(httpdate::parse_http_date(a.header("last-modified")).is_ok());
    assert_eq!(
        get(&fx.files, "sub/b.json").await.header("content-type"),
        "application/json"
    );
}

#[tokio::test]
async fn head_sends_the_headers_without_a_body() {
    let fx = fixture(|_| {});
    let a = send(&fx.files, Method::HEAD, "data.txt", &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-length"), "13");
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn a_missing_file_is_404_file_not_found() {
    let fx = fixture(|_| {});
    for path in ["nope.txt", "sub/nope", "data.txt/", "data.txt/x"] {
        let a = get(&fx.files, path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(a.text(), "file not found\n");
    }
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let fx = fixture(|_| {});
    for method in [Method::POST, Method::DELETE, Method::PUT, Method::PATCH] {
        let a = send(&fx.files, method.clone(), "data.txt", &[]).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(a.header("allow"), "GET, HEAD");
    }
    let fx = fixture(|c| c.upload = true);
    let a = send(&fx.files, Method::DELETE, "data.txt", &[]).await;
    assert_eq!(a.header("allow"), "GET, HEAD, PUT");
}

#[tokio::test]
async fn conditional_requests_give_304_and_412_in_rfc_order() {
    let fx = fixture(|_| {});
    let first = get(&fx.files, "data.txt").await;
    let etag = first.header("etag").to_owned();
    let lm = first.header("last-modified").to_owned();
    let cond = |h: Vec<(&'static str, String)>| {
        let files = fx.files.clone();
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(&files, Method::GET, "data.txt", &h).await
        }
    };
    let a = cond(vec![("if-none-match", etag.clone())]).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert_eq!(a.header("etag"), etag, "304 carries the validators");
    assert_eq!(a.header("last-modified"), lm);
    assert!(a.body.is_empty());
    assert_eq!(
        cond(vec![("if-modified-since", lm.clone())]).await.status,
        StatusCode::NOT_MODIFIED
    );
    // If-None-Match that does not match wins over a matching If-Modified-Since.
    let a = cond(vec![
        ("if-none-match", "\"x\"".into()),
        ("if-modified-since", lm.clone()),
    ])
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        cond(vec![("if-match", "\"x\"".into())]).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        cond(vec![("if-match", etag.clone())]).await.status,
        StatusCode::OK
    );
    let old = "Sat, 01 Jan 2000 00:00:00 GMT".to_string();
    assert_eq!(
        cond(vec![("if-unmodified-since", old)]).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    // 412 is decided before 304.
    let a = cond(vec![
        ("if-match", "\"x\"".into()),
        ("if-none-match", etag.clone()),
    ])
    .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);
    // A 304 for HEAD too.
    let a = send(
        &fx.files,
        Method::HEAD,
        "data.txt",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn ranges_give_206_416_and_honour_if_range() {
    let fx = fixture(|_| {});
    let r =
        |h: &'static [(&'static str, &'static str)]| send(&fx.files, Method::GET, "data.txt", h);
    let a = r(&[("range", "bytes=0-4")]).await;
    assert_eq!(a.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(a.text(), "hello");
    assert_eq!(a.header("content-range"), "bytes 0-4/13");
    assert_eq!(a.header("content-length"), "5");
    let a = r(&[("range", "bytes=-6")]).await;
    assert_eq!(
        (a.status, a.text().as_str()),
        (StatusCode::PARTIAL_CONTENT, "files\n")
    );
    let a = r(&[("range", "bytes=7-")]).await;
    assert_eq!(a.header("content-range"), "bytes 7-12/13");
    let a = r(&[("range", "bytes=13-")]).await;
    assert_eq!(a.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(a.header("content-range"), "bytes */13");
    // Several ranges: the whole file.
    let a = r(&[("range", "bytes=0-1,3-4")]).await;
    assert_eq!((a.status, a.body.len()), (StatusCode::OK, 13));
    // If-Range with a stale validator: the whole (new) file.
    let a = r(&[("range", "bytes=0-4"), ("if-range", "\"stale\"")]).await;
    assert_eq!(a.status, StatusCode::OK);
    let etag = get(&fx.files, "data.txt").await.header("etag").to_owned();
    let a = send(
        &fx.files,
        Method::GET,
        "data.txt",
        &[("range", "bytes=0-4"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(a.status, StatusCode::PARTIAL_CONTENT);
    // Range is for GET only.
    let a = send(
        &fx.files,
        Method::HEAD,
        "data.txt",
        &[("range", "bytes=0-4")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn precompressed_siblings_follow_accept_encoding() {
    let fx = fixture(|_| {});
    let css = |ae: &'static str| {
        let files = fx.files.clone();
        async move {
            let headers = if ae.is_empty() {
                vec![]
            } else {
                vec![("accept-encoding", ae)]
            };
            send(&files, Method::GET, "style.css", &headers).await
        }
    };
    let a = css("gzip, deflate, br").await;
    assert_eq!(
        (a.text().as_str(), a.header("content-encoding")),
        ("BR", "br")
    );
    assert_eq!(a.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(a.header("vary"), "accept-encoding");
    let a = css("gzip").await;
    assert_eq!(
        (a.text().as_str(), a.header("content-encoding")),
        ("GZ", "gzip")
    );
    let a = css("br;q=0, gzip;q=0").await;
    assert_eq!(
        (a.text().as_str(), a.header("content-encoding")),
        ("body{}", "")
    );
    let a = css("").await;
    assert_eq!(a.text(), "body{}");
    assert_eq!(a.header("vary"), "accept-encoding");
    let plain_tag = a.header("etag").to_owned();
    assert_ne!(
        css("br").await.header("etag"),
        plain_tag,
        "each encoding has its own ETag"
    );
}

#[tokio::test]
async fn a_folder_serves_its_index_and_gets_a_slash() {
    let fx = fixture(|_| {});
    let a = get(&fx.files, "sub/").await;
    assert_eq!(
        (a.status, a.text().as_str()),
        (StatusCode::OK, "<h1>sub</h1>\n")
    );
    assert_eq!(a.header("content-type"), "text/html; charset=utf-8");
    let a = get(&fx.files, "sub").await;
    assert_eq!(a.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(a.header("location"), "./sub/");
    assert_eq!(get(&fx.files, "empty/").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn listing_is_off_by_default_and_escapes_names() {
    let fx = fixture(|_| {});
    assert_eq!(get(&fx.files, "").await.status, StatusCode::NOT_FOUND);
    let fx = fixture(|c| c.listing = true);
    std::fs::write(fx.root.join("<b>&.txt"), "x").unwrap();
    let a = get(&fx.files, "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-type"), "text/html; charset=utf-8");
    let html = a.text();
    assert!(html.contains("data.txt") && html.contains("sub/"), "{html}");
    assert!(
        html.contains("&lt;b&gt;&amp;.txt") && html.contains("%3Cb%3E%26.txt"),
        "{html}"
    );
    assert!(
        !html.contains(".env") && !html.contains(".git"),
        "hidden names listed: {html}"
    );
    assert!(!html.contains(&fx.root.display().to_string()));
    // A folder with an index still serves the index.
    assert_eq!(get(&fx.files, "sub/").await.text(), "<h1>sub</h1>\n");
}
