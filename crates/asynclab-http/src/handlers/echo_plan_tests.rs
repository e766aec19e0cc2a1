//! `/echo`'s parameters: parsing, caps, bad values, and the choices a seeded
//! generator makes (fixed seeds: the counts are the same on every run).

use std::time::Duration;

use asynclab_core::Config;
use http::StatusCode;

use super::*;

fn parse(query: &str) -> Result<Plan, QueryError> {
    Plan::parse(Some(query), &Config::builtin().http)
}

/// How many of `n` choices from a seeded generator satisfy `test`.
fn count(plan: &Plan, n: u32, test: impl Fn(&Choice) -> bool) -> u32 {
    let mut rng = fastrand::Rng::with_seed(22);
    (0..n).filter(|_| test(&plan.choose(&mut rng))).count() as u32
}

#[test]
fn no_parameters_is_a_plain_echo() {
    let plan = Plan::parse(None, &Config::builtin().http).expect("no query");
    let choice = plan.choose(&mut fastrand::Rng::with_seed(1));
    assert_eq!(
        choice,
        Choice {
            status: StatusCode::OK,
            delay: None,
            size: None,
            close: false
        }
    );
    assert!(!plan.gzip);
}

#[test]
fn weighted_lists_are_chosen_in_their_proportions() {
    // 10,000 draws: each count is within 6 standard deviations of its mean.
    let plan = parse("status=503:5,429:1&delay=150ms:10,2s:1&size=1024:50,10000:10&close=5.3")
        .expect("fortio's own examples");
    let n = 10_000;
    let near = |got: u32, percent: f64| {
        let mean = f64::from(n) * percent / 100.0;
        let sd = (mean * (1.0 - percent / 100.0)).sqrt();
        (f64::from(got) - mean).abs() <= 6.0 * sd
    };
    type Test<'a> = &'a dyn Fn(&Choice) -> bool;
    let cases: [(&str, f64, Test); 8] = [
        ("503", 5.0, &|c| c.status == StatusCode::SERVICE_UNAVAILABLE),
        ("429", 1.0, &|c| c.status == StatusCode::TOO_MANY_REQUESTS),
        ("200", 94.0, &|c| c.status == StatusCode::OK),
        ("150ms", 10.0, &|c| {
            c.delay == Some(Duration::from_millis(150))
        }),
        ("2s", 1.0, &|c| c.delay == Some(Duration::from_secs(2))),
        ("1024", 50.0, &|c| c.size == Some(1024)),
        ("10000", 10.0, &|c| c.size == Some(10_000)),
        ("close", 5.3, &|c| c.close),
    ];
    for (what, percent, test) in cases {
        let got = count(&plan, n, test);
        assert!(
            near(got, percent),
            "{what}: {got} of {n}, expected {percent}%"
        );
    }
}

#[test]
fn bare_values_and_true_always_apply() {
    let plan = parse("delay=250ms&size=10&close=true&status=418&gzip=true").expect("valid");
    assert_eq!(
        count(&plan, 100, |c| c.delay == Some(Duration::from_millis(250))),
        100
    );
    assert_eq!(count(&plan, 100, |c| c.size == Some(10) && c.close), 100);
    assert_eq!(count(&plan, 100, |c| c.status.as_u16() == 418), 100);
    assert!(plan.gzip);
    let plan = parse("close=false").expect("valid");
    assert_eq!(count(&plan, 100, |c| c.close), 0);
}

#[test]
fn headers_are_added_and_close_sets_connection_close() {
    let plan =
        parse("header=X-A:1&header=X-A:2&header=Cache-Control:no-store&close=true").expect("valid");
    let choice = plan.choose(&mut fastrand::Rng::with_seed(1));
    let mut headers = HeaderMap::new();
    plan.headers(&choice, &mut headers);
    let xa: Vec<_> = headers.get_all("x-a").iter().collect();
    assert_eq!(xa, ["1", "2"]);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["connection"], "close");
}

#[test]
fn bad_values_and_caps_are_400s_naming_the_parameter() {
    let cases = [
        ("status=abc", "bad value for `status`"),
        (
            "status=503:60,429:50",
            "bad value for `status`: the percentages add up to 110%",
        ),
        (
            "status=100",
            "bad value for `status`: `100` is informational",
        ),
        ("delay=fast", "bad value for `delay`"),
        (
            "delay=1h",
            "bad value for `delay`: 1h is longer than 30s (http.slow.max_delay)",
        ),
        (
            "delay=10ms:5,31s:1",
            "longer than 30s (http.slow.max_delay)",
        ),
        ("size=-1", "bad value for `size`"),
        (
            "size=2000000",
            "bad value for `size`: 2000000 is above 1048576 (http.httpbin.max_bytes)",
        ),
        ("close=101", "bad value for `close`"),
        ("close=maybe", "bad value for `close`"),
        ("header=NoColon", "bad value for `header`"),
        ("header=Bad Name:x", "bad value for `header`"),
        ("gzip=yes", "bad value for `gzip`"),
        ("sttaus=503", "unknown parameter `sttaus`"),
    ];
    for (query, expected) in cases {
        let err = parse(query).expect_err(query).to_string();
        assert!(err.contains(expected), "{query}: {err}");
    }
}
