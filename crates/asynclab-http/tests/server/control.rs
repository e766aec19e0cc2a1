//! `/control`: off without a token, 401/403 without the right one, and the
//! changes it makes seen by the routes they change.

use super::*;

const TOKEN: &str = "test-token-0123456789";

async fn with_token() -> TestServer {
    spawn(|c| c.control.token = TOKEN.into()).await
}

/// A control request: `auth` is the whole Authorization header, if any.
async fn control(
    addr: std::net::SocketAddr,
    method: &str,
    auth: Option<&str>,
    form: &str,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}/control"))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let req = req
        .body(Full::new(Bytes::from(form.to_string())))
        .expect("valid request");
    send(&client(), req).await
}

fn bearer() -> Option<&'static str> {
    Some("Bearer test-token-0123456789")
}

#[tokio::test]
async fn without_a_token_configured_the_api_does_not_exist() {
    let s = spawn(|_| {}).await;
    let res = control(s.addr, "GET", Some("Bearer anything-at-all-0000"), "").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_missing_token_is_401_a_wrong_one_403_the_right_one_200() {
    let s = with_token().await;
    let res = control(s.addr, "GET", None, "").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(
        res.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let res = control(s.addr, "GET", Some("Basic dXNlcjpwYXNz"), "").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = control(s.addr, "GET", Some("Bearer test-token-0123456780"), "").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = control(s.addr, "GET", bearer(), "").await;
    assert_eq!(res.status, StatusCode::OK);
    let state = res.json();
    assert_eq!(state["now"]["readiness"], "auto");
    assert_eq!(state["configured"]["http.limited.permits"], 2);
    let res = control(s.addr, "PUT", bearer(), "").await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.header("allow"), Some("GET, HEAD, POST, DELETE"));
}

#[tokio::test]
async fn changes_reach_the_probes_the_faults_and_the_permits_and_reset_undoes_them() {
    let s = with_token().await;
    let form =
        "readiness=not-ready&liveness=fail&http.faults.errors=418:100&http.limited.permits=5";
    let res = control(s.addr, "POST", bearer(), form).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["now"]["http.faults.errors"], "418:100");
    assert_eq!(
        get(s.addr, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        get(s.addr, "/healthz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(s.addr, "/fast").await.status, StatusCode::IM_A_TEAPOT);
    // The operator's views report the faults instead of suffering them.
    assert_eq!(get(s.addr, "/stats").await.status, StatusCode::OK);
    assert_eq!(get(s.addr, "/metrics").await.status, StatusCode::OK);
    // The control API itself is never faulted: the way back stays open.
    let res = control(s.addr, "DELETE", bearer(), "").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["now"]["http.limited.permits"], 2);
    assert_eq!(get(s.addr, "/readyz").await.status, StatusCode::OK);
    assert_eq!(get(s.addr, "/healthz").await.status, StatusCode::OK);
    assert_eq!(get(s.addr, "/fast").await.status, StatusCode::OK);
    assert_eq!(get(s.addr, "/stats").await.json()["limited"]["permits"], 2);
}

#[tokio::test]
async fn a_bad_change_is_refused_whole_and_names_the_key() {
    let s = with_token().await;
    for (form, why) in [
        (
            "readiness=not-ready&http.faults.errors=503:500",
            "http.faults.errors=503:500",
        ),
        (
            "readiness=not-ready&http.faults.delays=1h:1",
            "longer than http.slow.max_delay",
        ),
        (
            "readiness=not-ready&http.limited.permits=0",
            "http.limited.permits=0",
        ),
        ("readiness=not-ready&log.level=loud", "not a log level"),
        ("readiness=not-ready&colour=blue", "unknown key `colour`"),
        ("readiness=sleepy", "use auto, ready or not-ready"),
        ("", "nothing to change"),
    ] {
        let res = control(s.addr, "POST", bearer(), form).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{form}");
        assert!(res.body.contains(why), "{form}: {}", res.body);
    }
    // Nothing of the refused changes was applied.
    assert_eq!(get(s.addr, "/readyz").await.status, StatusCode::OK);
    let big = "x".repeat(20_000);
    let res = control(s.addr, "POST", bearer(), &big).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn forced_ready_holds_through_a_shutdowns_readiness_delay() {
    let s = with_token().await;
    let res = control(s.addr, "POST", bearer(), "readiness=ready").await;
    assert_eq!(res.status, StatusCode::OK);
    s.shut_down(Duration::from_secs(5));
    wait_until(|| s.shutdown.is_requested()).await;
    assert_eq!(get(s.addr, "/readyz").await.status, StatusCode::OK);
    control(s.addr, "POST", bearer(), "readiness=auto").await;
    assert_eq!(
        get(s.addr, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

async fn wait_until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + STEP;
    while !done() {
        assert!(Instant::now() < deadline, "never happened");
        tokio::time::sleep(MS(10)).await;
    }
}
