//! `--scenario` and `--urls`: requests picked by weight or in turn, templated per
//! request, and counted per name.

mod servers;
mod support;

use std::path::PathBuf;

use asynclab_load::{Order, Scenario, Settings};
use support::*;

/// Writes `text` to a file of its own for this test.
fn file(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("written");
    path
}

/// A run of `-n requests -c 2` with `scenario`.
fn with(scenario: Scenario, requests: u64) -> Settings {
    let url = format!("{}/", scenario.base);
    let mut settings = count(Settings::new(url.parse().expect("valid URL")), requests, 2);
    settings.scenario = Some(std::sync::Arc::new(scenario));
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_requests_are_templated_and_counted_by_name() {
    let (addr, seen) = servers::http().await;
    let toml = format!(
        r#"
[[request]]
name = "read"
weight = 3
url = "http://{addr}/record?n={{{{seq}}}}"

[[request]]
name = "write"
method = "POST"
url = "http://{addr}/record"
headers = {{ "x-id" = "{{{{uuid}}}}" }}
body = "{{{{rand_choice red blue}}}}-{{{{rand_int 1 9}}}}"
"#
    );
    let scenario = Scenario::read(&file("weights.toml", &toml)).expect("a valid scenario");
    let report = load(&with(scenario, 800)).await;
    assert_eq!(report.requests.ok, 800);
    let [read, write] = &report.by_name[..] else {
        panic!("two names: {:?}", report.by_name)
    };
    assert_eq!((read.name.as_str(), write.name.as_str()), ("read", "write"));
    assert_eq!(read.requests + write.requests, 800);
    // 3 to 1: 600 and 200 expected; 800 draws stay within ±60 of it but for
    // odds of about one in a million.
    assert!((540..=660).contains(&read.requests), "{read:?}");
    assert!(read.p50_us.is_some() && write.p99_us.is_some());

    let recorded = seen.recorded.lock().expect("not poisoned").clone();
    assert_eq!(recorded.len(), 800);
    // `{{seq}}` counts over the whole run, every number once.
    let mut seqs: Vec<u64> = recorded
        .iter()
        .filter_map(|r| r.strip_prefix("GET /record?n="))
        .map(|r| {
            r.split(' ')
                .next()
                .expect("a number")
                .parse()
                .expect("a number")
        })
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len() as u64, read.requests);
    for post in recorded.iter().filter(|r| r.starts_with("POST")) {
        let parts: Vec<&str> = post.split(' ').collect();
        let (id, body) = (parts[2].trim_start_matches("x-id:"), parts[3]);
        assert_eq!((id.len(), &id[14..15]), (36, "4"), "a UUID v4: {post}");
        let (color, n) = body.split_once('-').expect("color-number");
        assert!(
            ["red", "blue"].contains(&color) && (1..=9).contains(&n.parse::<u32>().expect("n")),
            "{post}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_sent_in_turn() {
    let (addr, seen) = servers::http().await;
    let list = format!("# two URLs\nhttp://{addr}/record?a\n\nhttp://{addr}/record?b\n");
    let scenario = Scenario::read_urls(&file("urls.txt", &list), Order::RoundRobin).expect("valid");
    let report = load(&with(scenario, 10)).await;
    let counts: Vec<u64> = report.by_name.iter().map(|n| n.requests).collect();
    assert_eq!(counts, [5, 5]);
    let recorded = seen.recorded.lock().expect("not poisoned");
    assert_eq!(recorded.iter().filter(|r| r.contains("?a")).count(), 5);
}

#[test]
fn bad_scenarios_name_the_file_and_line() {
    for (name, text, want) in [
        (
            "typo.toml",
            "[[request]]\nurl = \"http://h:1/\"\nwieght = 2\n",
            "typo.toml:3",
        ),
        (
            "hosts.toml",
            "[[request]]\nurl = \"http://a:1/\"\n\n[[request]]\nurl = \"http://b:1/\"\n",
            "hosts.toml:4",
        ),
        (
            "tmpl.toml",
            "[[request]]\nurl = \"http://a:1/{{nope}}\"\n",
            "unknown placeholder",
        ),
        ("empty.toml", "request = []\n", "no request"),
    ] {
        let err = Scenario::read(&file(name, text))
            .expect_err(name)
            .to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
    let err = Scenario::read_urls(
        &file("bad-urls.txt", "http://a:1/\nftp://b/\n"),
        Order::RoundRobin,
    )
    .expect_err("ftp")
    .to_string();
    assert!(err.contains("bad-urls.txt:2"), "{err}");
}
