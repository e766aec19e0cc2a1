//! `/metrics` and `/stats`: parseable, and moving as requests are served.

use super::metrics_format::parse_prometheus;
use super::*;

/// The value of one sample (`name` and its labels, as `/metrics` prints them), or 0.
fn value(text: &str, series: &str) -> f64 {
    parse_prometheus(text)
        .into_values()
        .flat_map(|f| f.samples)
        .find(|(name, labels, _)| {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{name}{{{}}}", labels.join(",")) == series
                || (labels.is_empty() && name == series)
        })
        .map_or(0.0, |(_, _, v)| v)
}

#[tokio::test]
async fn metrics_parse_and_move() {
    let s = spawn(|_| {}).await;
    let series = "asynclab_http_requests_total{method=GET,route=/fast,status=200}";
    let latency = "asynclab_http_request_duration_seconds_count{class=2xx,method=GET,route=/fast}";
    let m = get(s.addr, "/metrics").await;
    let before = value(&m.body, series);
    for _ in 0..3 {
        get(s.addr, "/fast").await;
    }
    let after = get(s.addr, "/metrics").await.body;
    assert_eq!(value(&after, series), before + 3.0, "{after}");
    assert_eq!(value(&after, latency), 3.0, "{after}");
    for name in [
        "asynclab_http_requests_in_flight",
        "asynclab_http_connections_open",
        "asynclab_http_limited_permits_in_use",
        "asynclab_http_limited_waiters",
    ] {
        assert!(after.contains(name), "{name} missing:\n{after}");
    }
    // Labelled by template, never by raw path; the duration by method and class.
    get(s.addr, "/no/such/path").await;
    send(&client(), request("DELETE", s.addr, "/fast")).await;
    let after = get(s.addr, "/metrics").await.body;
    assert!(!after.contains("/no/such/path"));
    for series in [
        "asynclab_http_requests_total{method=GET,route=unmatched,status=404}",
        "asynclab_http_request_duration_seconds_count{class=4xx,method=GET,route=unmatched}",
        "asynclab_http_request_duration_seconds_count{class=4xx,method=DELETE,route=/fast}",
    ] {
        assert_eq!(value(&after, series), 1.0, "{series}:\n{after}");
    }
}

#[tokio::test]
async fn no_series_is_made_before_it_moves() {
    let s = spawn(|_| {}).await;
    // /stats reads the /limited rejections: reading must not make their series.
    get(s.addr, "/stats").await;
    let m = get(s.addr, "/metrics").await.body;
    let families = parse_prometheus(&m);
    let labelled: Vec<_> = families
        .values()
        .flat_map(|f| &f.samples)
        .filter(|(name, labels, _)| !labels.is_empty() && !name.starts_with("asynclab_build"))
        .filter(|(_, labels, _)| labels.get("route").map(String::as_str) != Some("/stats"))
        .collect();
    assert!(labelled.is_empty(), "series nothing moved: {labelled:?}");
}

#[tokio::test]
async fn process_build_and_runtime_metrics_are_read_at_scrape_time() {
    let s = spawn(|_| {}).await;
    let m = get(s.addr, "/metrics").await.body;
    let one = |name: &str| value(&m, name);
    assert!(one("process_resident_memory_bytes") > 1e6, "{m}");
    assert!(one("process_virtual_memory_bytes") >= one("process_resident_memory_bytes"));
    assert!(one("process_open_fds") >= 3.0);
    assert!(one("process_max_fds") >= one("process_open_fds"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let start = one("process_start_time_seconds");
    assert!(
        start <= now + 1.0 && start > now - 3600.0,
        "started {start}, now {now}"
    );
    let cpu = one("process_cpu_seconds_total");
    assert!(cpu >= 0.0 && cpu < now - start + 60.0 * 64.0, "{cpu}");
    let version = concat!(
        "asynclab_build_info{version=",
        env!("CARGO_PKG_VERSION"),
        "}"
    );
    assert_eq!(one(version), 1.0, "{m}");
    assert!(one("asynclab_runtime_workers") >= 1.0);
    // The connection serving this scrape is a task, at least.
    assert!(one("asynclab_runtime_alive_tasks") >= 1.0, "{m}");
    assert!(m.contains("asynclab_runtime_global_queue_depth "));
}

#[tokio::test]
async fn echo_counters_appear_when_the_echo_server_runs_here() {
    let metrics = asynclab_core::Metrics::new();
    let mut config = asynclab_core::Config::builtin();
    config.http.addr = "127.0.0.1:0".parse().unwrap();
    let loaded = asynclab_core::config::Loaded::from_config(config);
    let shutdown = asynclab_core::Shutdown::new();
    let server = asynclab_http::Server::new(&loaded, metrics.clone(), shutdown).unwrap();
    let app = asynclab_http::app(server.state().clone());
    metrics.echo().open.inc();
    use tower::ServiceExt;
    let res = app
        .oneshot(
            Request::get("/stats")
                .header("host", "x")
                .body(asynclab_http::body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    use http_body_util::BodyExt;
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(stats["echo"]["connections_open"], 1, "{stats:#}");
    let text = metrics.encode(asynclab_core::metrics::Format::Prometheus);
    assert!(text.contains("asynclab_echo_connections_open 1"), "{text}");
}
