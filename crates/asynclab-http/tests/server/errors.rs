//! One error format everywhere: whichever layer or crate made an error answer
//! (the router, the file server, the demos, a query check), it is one line of
//! plain text ending in a newline, or JSON for a client that prefers it, and it
//! carries an `x-request-id`.

use super::*;

/// Error answers from every place that makes them: the router (404, 405),
/// a query check (400), the file server (404, 405), the demos (400, 405).
const ERRORS: [(&str, &str, StatusCode); 7] = [
    ("GET", "/nope", StatusCode::NOT_FOUND),
    ("DELETE", "/fast", StatusCode::METHOD_NOT_ALLOWED),
    ("GET", "/slow?delay=soon", StatusCode::BAD_REQUEST),
    ("GET", "/files/missing.txt", StatusCode::NOT_FOUND),
    ("DELETE", "/files/data.txt", StatusCode::METHOD_NOT_ALLOWED),
    ("GET", "/fanout?n=0", StatusCode::BAD_REQUEST),
    ("DELETE", "/counter", StatusCode::METHOD_NOT_ALLOWED),
];

/// A server that serves the repository's `public/` folder under `/files/`.
async fn with_files() -> TestServer {
    let public = concat!(env!("CARGO_MANIFEST_DIR"), "/../../public");
    spawn(|c| c.files.root = public.into()).await
}

async fn ask(addr: std::net::SocketAddr, method: &str, path: &str, accept: Option<&str>) -> Answer {
    let mut req = request(method, addr, path);
    if let Some(accept) = accept {
        req.headers_mut()
            .insert("accept", accept.parse().expect("a header value"));
    }
    send(&client(), req).await
}

#[tokio::test]
async fn every_error_is_one_line_of_text_with_a_request_id() {
    let s = with_files().await;
    for (method, path, status) in ERRORS {
        for accept in [None, Some("*/*"), Some("text/plain, application/json")] {
            let a = ask(s.addr, method, path, accept).await;
            let what = format!("{method} {path} (Accept: {accept:?})");
            assert_eq!(a.status, status, "{what}");
            assert_eq!(
                a.header("content-type"),
                Some("text/plain; charset=utf-8"),
                "{what}"
            );
            assert!(
                a.body.ends_with('\n') && a.body.lines().count() == 1,
                "{what}: {:?}",
                a.body
            );
            // One style: lowercase, the reason after a colon or in parentheses.
            let first = a.body.chars().next().expect("a message");
            assert!(!first.is_ascii_uppercase(), "{what}: {:?}", a.body);
            assert!(a.header("x-request-id").is_some(), "{what}");
        }
    }
    let wrong = ask(s.addr, "DELETE", "/files/data.txt", None).await;
    assert_eq!(wrong.body, "method not allowed (allowed: GET, HEAD)\n");
    assert_eq!(wrong.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn a_client_that_prefers_json_gets_errors_as_json() {
    let s = with_files().await;
    for (method, path, status) in ERRORS {
        let text = ask(s.addr, method, path, None).await;
        for accept in ["application/json", "text/plain;q=0.5, application/json"] {
            let a = ask(s.addr, method, path, Some(accept)).await;
            let what = format!("{method} {path} (Accept: {accept})");
            assert_eq!(a.status, status, "{what}");
            assert_eq!(a.header("content-type"), Some("application/json"), "{what}");
            assert!(a.body.ends_with('\n'), "{what}");
            assert_eq!(
                a.json(),
                serde_json::json!({
                    "status": status.as_u16(),
                    "error": text.body.trim_end(),
                }),
                "{what}"
            );
            assert!(a.header("x-request-id").is_some(), "{what}");
        }
    }
    // The headers the status calls for stay.
    let wrong = ask(s.addr, "DELETE", "/counter", Some("application/json")).await;
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, POST"));
    // Successes are not touched.
    let fast = ask(s.addr, "GET", "/fast", Some("application/json")).await;
    assert_eq!(
        (fast.status, fast.body.as_str()),
        (StatusCode::OK, "Fast response\n")
    );
}

#[tokio::test]
async fn errors_of_the_layers_get_the_format_and_an_id_too() {
    // The request timeout's 503 comes from a layer outside the router.
    let s = spawn(|c| c.http.request_timeout = MS(100)).await;
    let late = ask(s.addr, "GET", "/slow?delay=5s", Some("application/json")).await;
    assert_eq!(late.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(late.json()["status"], 503);
    let message = late.json()["error"].as_str().unwrap().to_string();
    assert!(message.contains("http.request_timeout"), "{message}");
    assert_eq!(late.header("retry-after"), Some("1"));
    assert!(late.header("x-request-id").is_some());
    let late = ask(s.addr, "GET", "/slow?delay=5s", None).await;
    assert_eq!(late.body, format!("{message}\n"));
}
