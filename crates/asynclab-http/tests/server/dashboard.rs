//! `GET /dashboard` and its stream: the page comes from the binary, the stream
//! carries the counters as rates, is bounded in viewers, ends at shutdown
//! without holding up the drain, and the faults never touch it.

use std::net::SocketAddr;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use super::*;

/// The page, its script and its style together stay well under this.
const PAGE_BUDGET: usize = 200 * 1024;

const TOKEN: &str = "a-dashboard-test-token";

/// A server whose dashboard samples every 100 ms, so a test sees rates soon.
async fn fast_dashboard(tweak: impl FnOnce(&mut asynclab_core::Config)) -> TestServer {
    spawn(|c| {
        c.http.dashboard.interval = MS(100);
        c.control.token = TOKEN.into();
        tweak(c);
    })
    .await
}

/// An open stream: its body, and what has been read of it.
struct Stream {
    body: Incoming,
    text: String,
}

impl Stream {
    async fn open(addr: SocketAddr) -> Self {
        let res = client()
            .request(request("GET", addr, "/dashboard/stream"))
            .await
            .expect("the stream's head");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Self {
            body: res.into_body(),
            text: String::new(),
        }
    }

    /// The next event: its name and its data (bounded by `STEP`); `None` at
    /// the end of the body.
    async fn next(&mut self) -> Option<(String, String)> {
        tokio::time::timeout(STEP, async {
            loop {
                if let Some(end) = self.text.find("\n\n") {
                    let block: String = self.text.drain(..end + 2).collect();
                    let field = |name: &str| {
                        block
                            .lines()
                            .find_map(|l| l.strip_prefix(name).map(str::to_string))
                    };
                    if let Some(event) = field("event: ") {
                        return Some((event, field("data: ").unwrap_or_default()));
                    }
                    continue; // the greeting: comments and `retry:`
                }
                let frame = self.body.frame().await?.expect("a frame");
                if let Ok(data) = frame.into_data() {
                    self.text.push_str(&String::from_utf8_lossy(&data));
                }
            }
        })
        .await
        .expect("an event within STEP")
    }

    /// The next snapshot for which `pred` holds (bounded by `STEP`).
    async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            let (name, data) = self.next().await.expect("the stream goes on");
            assert_eq!(name, "snapshot");
            assert!(!data.contains(TOKEN), "a frame never shows the token");
            let frame: Value = serde_json::from_str(&data).expect("JSON data");
            if pred(&frame) {
                return frame;
            }
            assert!(Instant::now() < deadline, "no such frame: {frame:#}");
        }
    }
}

#[tokio::test]
async fn the_page_and_its_assets_come_from_the_binary() {
    let s = spawn(|_| {}).await;
    let page = get(s.addr, "/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(page.body.contains("dashboard/dashboard.js"));
    let mut size = page.body.len();
    for (path, kind) in [
        ("/dashboard/dashboard.js", "text/javascript"),
        ("/dashboard/dashboard.css", "text/css"),
    ] {
        let asset = get(s.addr, path).await;
        assert_eq!(asset.status, StatusCode::OK, "{path}");
        assert!(asset.header("content-type").unwrap().starts_with(kind));
        size += asset.body.len();
    }
    assert!(size < PAGE_BUDGET, "the page weighs {size} bytes");
    // Nothing fetched from anywhere else.
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_shows_rates_by_class_and_latency() {
    let s = fast_dashboard(|_| {}).await;
    let mut stream = Stream::open(s.addr).await;
    // Requests all along, some of them answered 503.
    let addr = s.addr;
    let traffic = tokio::spawn(async move {
        let client = client();
        for i in 0..2000 {
            let path = if i % 4 == 0 { "/status/503" } else { "/fast" };
            send(&client, request("GET", addr, path)).await;
            tokio::time::sleep(MS(5)).await;
        }
    });
    let frame = stream
        .until(|f| f["requests"]["by_class"]["5xx"].as_f64() > Some(0.0))
        .await;
    traffic.abort();
    assert!(
        frame["requests"]["per_sec"].as_f64() > Some(0.0),
        "{frame:#}"
    );
    assert!(frame["requests"]["by_class"]["2xx"].as_f64() > Some(0.0));
    assert!(frame["latency_ms"]["p99"].as_f64().is_some(), "{frame:#}");
    let routes = frame["requests"]["by_route"].as_array().unwrap();
    assert!(
        routes.iter().any(|r| r["route"] == "GET /fast"),
        "{routes:?}"
    );
    assert_eq!(frame["identity"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(frame["connections"]["dashboards"], 1);
    assert_eq!(frame["health"]["ready"], true);
    assert_eq!(frame["control"], true, "the control API is on");
    assert_eq!(frame["limited"]["permits"], 2);
}

#[tokio::test]
async fn one_viewer_too_many_is_refused_and_a_closed_page_frees_its_place() {
    let s = fast_dashboard(|c| c.http.dashboard.max_viewers = 1).await;
    let mut first = Stream::open(s.addr).await;
    first.until(|_| true).await;
    let refused = get(s.addr, "/dashboard/stream").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        refused.body.contains("http.dashboard.max_viewers"),
        "{}",
        refused.body
    );
    drop(first);
    // The place is free once the server sees the client gone.
    let deadline = Instant::now() + STEP;
    loop {
        let res = client()
            .request(request("GET", s.addr, "/dashboard/stream"))
            .await
            .expect("an answer");
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the place was never freed");
        tokio::time::sleep(MS(50)).await;
    }
}

#[tokio::test]
async fn an_open_dashboard_ends_at_shutdown_and_does_not_hold_up_the_drain() {
    let s = fast_dashboard(|_| {}).await;
    let mut stream = Stream::open(s.addr).await;
    stream.until(|_| true).await;
    s.shut_down(Duration::ZERO);
    loop {
        match stream.next().await {
            Some((name, _)) if name == "shutdown" => break,
            Some(_) => continue,
            None => panic!("the stream ended without a shutdown event"),
        }
    }
    assert!(
        stream.next().await.is_none(),
        "nothing after the shutdown event"
    );
    let report = tokio::time::timeout(STEP, s.run)
        .await
        .expect("the drain ends within STEP")
        .expect("the server task");
    assert_eq!(report.cut, 0, "{report:?}");
}

#[tokio::test]
async fn switched_off_the_dashboard_does_not_exist() {
    let s = spawn(|c| c.http.dashboard.enabled = false).await;
    for path in [
        "/dashboard",
        "/dashboard/dashboard.js",
        "/dashboard/dashboard.css",
        "/dashboard/stream",
    ] {
        assert_eq!(
            get(s.addr, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn faults_never_touch_the_dashboard() {
    let s = fast_dashboard(|c| c.http.faults.errors = "503:100".parse().unwrap()).await;
    assert_eq!(
        get(s.addr, "/fast").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(s.addr, "/dashboard").await.status, StatusCode::OK);
    let mut stream = Stream::open(s.addr).await;
    let frame = stream
        .until(|f| f["faults"]["injected"]["error"].as_u64() > Some(0))
        .await;
    assert_eq!(frame["faults"]["settings"]["errors"], "503:100");
}
