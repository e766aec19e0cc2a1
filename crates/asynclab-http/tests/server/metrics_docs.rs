//! `docs/metrics.md` lists every metric `/metrics` shows, with its type and
//! labels, and nothing that it does not show.

use std::collections::{BTreeMap, BTreeSet};

use super::metrics_format::parse_prometheus;
use super::*;
use support::ws::{CLOSE, Out, RawWs, TEXT};

const PAGE: &str = include_str!("../../../../docs/metrics.md");

/// The page's table rows: metric name → (type, labels).
fn documented() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    for line in PAGE.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_string();
        let labels = cells[2]
            .split(',')
            .map(|l| l.trim().trim_matches('`').to_string())
            .filter(|l| !l.is_empty())
            .collect();
        assert!(
            out.insert(name.clone(), (cells[1].to_string(), labels))
                .is_none(),
            "{name} is listed twice"
        );
    }
    out
}

#[tokio::test]
async fn every_metric_is_documented_and_every_documented_metric_exists() {
    // A tiny injected delay on every request, so the faults counter shows a series.
    let s = spawn(|c| c.http.faults.delays = "1ms:100".parse().expect("a valid list")).await;
    // The echo server's counters appear once it runs in the process.
    s.state.metrics.echo();
    // Make every labelled family show a series, so its labels can be compared.
    get(s.addr, "/fast").await;
    let limited = spawn(|c| {
        c.http.limited.permits = 1;
        c.http.limited.max_waiters = 0;
    })
    .await;
    let _holds = tokio::spawn(get(limited.addr, "/limited?work=2s"));
    wait_stats(limited.addr, |st| st["limited"]["in_use"] == 1).await;
    assert_eq!(
        get(limited.addr, "/limited").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // A WebSocket message each way and a close, for the WebSocket families.
    let mut ws = RawWs::connect(s.addr, "/ws/echo").await;
    ws.send(Out::new(TEXT, b"hi")).await;
    assert_eq!(ws.read().await.expect("the echo").payload, b"hi");
    ws.send(Out::new(CLOSE, &1000u16.to_be_bytes())).await;
    assert_eq!(ws.read_close().await, Some(1000));
    ws.expect_eof().await;
    assert_eq!(s.state.ws.closes(1000, "client"), 1);

    let docs = documented();
    assert!(docs.len() >= 20, "{docs:?}");
    let mut shown = parse_prometheus(&get(s.addr, "/metrics").await.body);
    shown.extend(parse_prometheus(&get(limited.addr, "/metrics").await.body));
    let shown_names: BTreeSet<&String> = shown.keys().collect();
    let doc_names: BTreeSet<&String> = docs.keys().collect();
    let undocumented: Vec<_> = shown_names.difference(&doc_names).collect();
    let missing: Vec<_> = doc_names.difference(&shown_names).collect();
    assert!(
        undocumented.is_empty(),
        "shown, not in docs/metrics.md: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "in docs/metrics.md, not shown: {missing:?}"
    );

    for (name, family) in &shown {
        let (kind, labels) = &docs[name];
        assert_eq!(&family.kind, kind, "the type of {name}");
        let seen: BTreeSet<String> = family
            .samples
            .iter()
            .flat_map(|(_, l, _)| l.keys().cloned())
            .filter(|l| l != "le")
            .collect();
        assert!(
            !family.samples.is_empty(),
            "{name} shows no sample to compare labels with"
        );
        assert_eq!(&seen, labels, "the labels of {name}");
    }
}
