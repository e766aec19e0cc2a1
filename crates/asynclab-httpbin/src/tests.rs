//! The crate in-process: paused time for the waits (`/delay`, `/drip`), fixed
//! random numbers for the weighted `/status`, and the small parsers.

use std::time::Duration;

use asynclab_core::Config;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use tokio::time::Instant;

use super::*;

fn httpbin() -> Httpbin {
    let config = Config::builtin();
    Httpbin::new(&config.http.httpbin, config.http.max_body.bytes())
}

async fn handle(method: Method, path: &str) -> Response<Body> {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "h")
        .body(Empty::<Bytes>::new())
        .expect("request");
    httpbin().handle(req, None).await.expect("an httpbin path")
}

#[tokio::test]
async fn other_paths_are_left_to_the_caller_and_methods_are_checked() {
    let req = Request::get("/fast")
        .body(Empty::<Bytes>::new())
        .expect("request");
    assert!(httpbin().handle(req, None).await.is_none());
    let res = handle(Method::POST, "/get").await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    assert_eq!(
        handle(Method::DELETE, "/anything").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn delay_waits_its_time_on_the_paused_clock() {
    let started = Instant::now();
    let res = handle(Method::GET, "/delay/3").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let res = handle(Method::GET, "/delay/1500ms").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(started.elapsed(), Duration::from_millis(4500));
}

#[tokio::test(start_paused = true)]
async fn drip_spreads_its_bytes_over_the_duration_after_the_delay() {
    let started = Instant::now();
    let res = handle(Method::GET, "/drip?numbytes=4&duration=2&delay=1").await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "the head after the delay"
    );
    assert_eq!(res.headers()["content-length"], "4");
    let mut body = res.into_body();
    let mut arrivals = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = frame.expect("no error").into_data().expect("data");
        arrivals.push((started.elapsed().as_millis(), data.len()));
    }
    assert_eq!(arrivals, [(1500, 1), (2000, 1), (2500, 1), (3000, 1)]);
}

#[test]
fn drip_never_wakes_more_often_than_its_minimum_pause() {
    assert_eq!(
        drip::plan(10, Duration::from_secs(2)),
        (10, Duration::from_millis(200))
    );
    let (pieces, pause) = drip::plan(1 << 20, Duration::from_secs(10));
    assert_eq!((pieces, pause), (1000, drip::MIN_PAUSE));
    assert_eq!(drip::plan(5, Duration::ZERO), (1, Duration::ZERO));
    assert_eq!(drip::plan(0, Duration::from_secs(1)), (0, Duration::ZERO));
}

#[test]
fn weighted_status_follows_the_roll() {
    let code = |roll| {
        status::status("200:90,503:10", roll)
            .expect("valid")
            .status()
            .as_u16()
    };
    assert_eq!(
        (code(0.0), code(0.899), code(0.9), code(0.999)),
        (200, 200, 503, 503)
    );
    // 1,000 draws from a seeded generator: 503 about 10% of the time.
    let mut rng = fastrand::Rng::with_seed(22);
    let unavailable = (0..1000).filter(|_| code(rng.f64()) == 503).count();
    assert!((60..=140).contains(&unavailable), "{unavailable}");
}

#[tokio::test]
async fn uuids_from_a_seed_are_reproducible_version_4() {
    let id = |seed| async move {
        let body = dynamic::uuid(&mut fastrand::Rng::with_seed(seed)).into_body();
        let bytes = body.collect().await.expect("in memory").to_bytes();
        let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        doc["uuid"].as_str().expect("a string").to_owned()
    };
    let (a, again, b) = (id(1).await, id(1).await, id(2).await);
    assert_eq!(a, again);
    assert_ne!(a, b);
    let parsed = uuid::Uuid::parse_str(&a).expect("a UUID");
    assert_eq!(parsed.get_version_num(), 4, "{a}");
}

#[test]
fn byte_ranges() {
    use dynamic::byte_range;
    assert_eq!(byte_range("bytes=0-9", 100), Some((0, 9)));
    assert_eq!(byte_range("bytes=90-", 100), Some((90, 99)));
    assert_eq!(byte_range("bytes=-10", 100), Some((90, 99)));
    assert_eq!(byte_range("bytes=95-200", 100), Some((95, 99)));
    assert_eq!(byte_range("bytes=100-", 100), None);
    assert_eq!(byte_range("bytes=5-1", 100), None);
    assert_eq!(byte_range("bytes=0-1,5-6", 100), None, "one range only");
    assert_eq!(byte_range("items=0-1", 100), None);
    assert_eq!(byte_range("bytes=0-0", 0), None);
}

#[test]
fn every_template_has_an_about_line_and_a_method() {
    for route in ROUTES {
        assert_eq!(about(route.template), route.about);
        assert!(!route.about.is_empty());
        assert!(["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&route.method()));
        assert_eq!(takes_any_method(route.template), route.allow == ANY);
    }
}
