//! `/metrics` speaks Prometheus text 0.0.4 by default and OpenMetrics to a
//! scraper that prefers it; the 0.0.4 answer is checked by parsing it as
//! strictly as Prometheus would.

use std::collections::BTreeMap;

use super::*;

/// One metric family of a 0.0.4 exposition.
#[derive(Debug, Default)]
pub struct Family {
    pub kind: String,
    /// Every sample: (sample name, labels, value).
    pub samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

/// Parses Prometheus text format 0.0.4, failing on what a scraper would
/// reject: a sample without a `# TYPE` for its family, a family split in two,
/// a TYPE or HELP given twice or after the samples, an unknown type, a counter
/// not named `_total`, a histogram without its `+Inf` bucket, `_sum` and
/// `_count`, OpenMetrics-only lines (`# EOF`, `# UNIT`), a bad label or value.
pub fn parse_prometheus(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut helped = std::collections::HashSet::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        assert!(!line.is_empty(), "an empty line in:\n{text}");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(!families.contains_key(name), "HELP after TYPE: {line}");
            assert!(helped.insert(name.to_string()), "HELP twice: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "not a 0.0.4 type: {line}"
            );
            assert!(
                kind != "counter" || name.ends_with("_total"),
                "a counter named as its samples: {line}"
            );
            assert!(!families.contains_key(name), "TYPE twice: {line}");
            families.insert(
                name.to_string(),
                Family {
                    kind: kind.into(),
                    samples: vec![],
                },
            );
            current = Some(name.to_string());
            continue;
        }
        assert!(!line.starts_with('#'), "not a 0.0.4 line: {line}");
        let (name, labels, value) = sample(line);
        let family = current
            .as_deref()
            .unwrap_or_else(|| panic!("no TYPE before {line}"));
        let kind = &families[family].kind;
        let fits = name == family
            || (kind == "histogram"
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(family)));
        assert!(
            fits,
            "{line} is not of the family above it ({family}: split, or untyped)"
        );
        families
            .get_mut(family)
            .unwrap()
            .samples
            .push((name, labels, value));
    }
    for (name, family) in &families {
        if family.kind == "histogram" && !family.samples.is_empty() {
            for part in ["_sum", "_count"] {
                assert!(
                    family
                        .samples
                        .iter()
                        .any(|s| s.0 == format!("{name}{part}")),
                    "{name}{part}"
                );
            }
            assert!(
                family
                    .samples
                    .iter()
                    .any(|s| s.1.get("le").map(String::as_str) == Some("+Inf")),
                "{name}: no +Inf bucket"
            );
        }
    }
    families
}

/// `name{a="x",b="y"} 1.5` → its parts.
fn sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let (series, value) = line
        .rsplit_once(' ')
        .unwrap_or_else(|| panic!("bad line {line}"));
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (
            name,
            rest.strip_suffix('}')
                .unwrap_or_else(|| panic!("unterminated labels: {line}")),
        ),
        None => (series, ""),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    assert!(valid(name), "bad metric name in {line}");
    let mut map = BTreeMap::new();
    // Our label values hold no `",` (route templates, methods, codes, versions).
    for pair in labels.split("\",").filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad label in {line}"));
        assert!(valid(key) && !key.contains(':'), "bad label name in {line}");
        assert!(
            map.insert(key.to_string(), value.trim_end_matches('"').to_string())
                .is_none(),
            "label twice: {line}"
        );
    }
    (name.to_string(), map, value)
}

async fn scrape(addr: std::net::SocketAddr, accept: Option<&str>) -> Answer {
    let mut req = request("GET", addr, "/metrics");
    if let Some(accept) = accept {
        req.headers_mut().insert("accept", accept.parse().unwrap());
    }
    send(&client(), req).await
}

/// What Prometheus 2 and 3 send by default.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[tokio::test]
async fn metrics_are_prometheus_text_unless_openmetrics_is_preferred() {
    let s = spawn(|_| {}).await;
    s.state.metrics.echo().open.inc();
    get(s.addr, "/fast").await;
    get(s.addr, "/nope").await;
    for accept in [
        None,
        Some("*/*"),
        Some("text/plain;version=0.0.4"),
        Some("text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.5"),
    ] {
        let m = scrape(s.addr, accept).await;
        assert_eq!(m.status, StatusCode::OK);
        assert_eq!(
            m.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8"),
            "{accept:?}"
        );
        let families = parse_prometheus(&m.body);
        for name in [
            "asynclab_http_requests_total",
            "asynclab_build_info",
            "asynclab_echo_connections_open",
            "process_cpu_seconds_total",
        ] {
            assert!(
                families.contains_key(name),
                "{name} in {accept:?}:\n{}",
                m.body
            );
        }
        assert_eq!(families["asynclab_build_info"].kind, "gauge");
    }
    for accept in [PROMETHEUS_ACCEPT, "application/openmetrics-text"] {
        let m = scrape(s.addr, Some(accept)).await;
        assert_eq!(
            m.header("content-type"),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
        assert!(m.body.ends_with("# EOF\n"), "{}", m.body);
        assert!(
            m.body.contains("# TYPE asynclab_http_requests counter\n"),
            "{}",
            m.body
        );
        assert!(
            m.body.contains("# TYPE asynclab_build info\n"),
            "{}",
            m.body
        );
    }
}
