//! `/metrics` and `/stats`: parseable, and moving as requests are served.

use super::*;

/// A small Prometheus text parser: every sample line is `name{labels} value`.
fn samples(text: &str) -> Vec<(String, f64)> {
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line}"));
            let name_end = series.find('{').unwrap_or(series.len());
            let name = &series[..name_end];
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "bad metric name in {line}"
            );
            if name_end < series.len() {
                assert!(series.ends_with('}'), "unterminated labels in {line}");
            }
            (
                series.to_string(),
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line}")),
            )
        })
        .collect()
}

#[tokio::test]
async fn metrics_parse_and_move() {
    let s = spawn(|_| {}).await;
    let series = "asynclab_http_requests_total{route=\"/fast\",method=\"GET\",status=\"200\"}";
    let value = |text: &str| {
        samples(text)
            .into_iter()
            .find(|(s, _)| s == series)
            .map_or(0.0, |(_, v)| v)
    };
    let m = get(s.addr, "/metrics").await;
    assert!(
        m.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let before = value(&m.body);
    for _ in 0..3 {
        get(s.addr, "/fast").await;
    }
    let after = get(s.addr, "/metrics").await.body;
    assert_eq!(value(&after), before + 3.0, "{after}");
    for name in [
        "asynclab_http_request_duration_seconds_count{route=\"/fast\"}",
        "asynclab_http_requests_in_flight",
        "asynclab_http_connections_open",
        "asynclab_http_limited_permits_in_use",
        "asynclab_http_limited_waiters",
    ] {
        assert!(after.contains(name), "{name} missing:\n{after}");
    }
    // Labelled by template, never by raw path.
    get(s.addr, "/no/such/path").await;
    let after = get(s.addr, "/metrics").await.body;
    assert!(after.contains("route=\"unmatched\"") && !after.contains("/no/such/path"));
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
    metrics.echo().active.inc();
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
    assert!(
        metrics
            .encode()
            .contains("asynclab_echo_connections_active 1")
    );
}
