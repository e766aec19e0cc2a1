//! Unit tests of the fault draws: seeded generators, so every run draws the
//! same numbers and the bounds below cannot flake.

use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::*;

const CAP: Duration = Duration::from_secs(30);

fn settings(text: &str) -> FaultsConfig {
    toml::from_str(text).expect("valid [http.faults]")
}

/// `n` draws from `settings` with a fixed seed.
fn draws(settings: &FaultsConfig, n: usize) -> Vec<Decision> {
    let mut rng = SmallRng::seed_from_u64(22);
    (0..n).map(|_| decide(settings, CAP, &mut rng)).collect()
}

#[test]
fn no_settings_no_faults() {
    let all = draws(&FaultsConfig::default(), 1000);
    assert!(
        all.iter()
            .all(|d| d.delay.is_zero() && d.outcome == Outcome::Pass)
    );
}

#[test]
fn errors_come_at_their_percentages() {
    let all = draws(&settings(r#"errors = "503:5,429:1""#), 100_000);
    let count = |code: u16| {
        all.iter()
            .filter(|d| d.outcome == Outcome::Error(StatusCode::from_u16(code).expect("code")))
            .count()
    };
    // Expected 5000 and 1000; a fixed seed, and bounds some 7 sigma wide.
    assert!((4500..5500).contains(&count(503)), "{}", count(503));
    assert!((800..1200).contains(&count(429)), "{}", count(429));
    assert!(all.iter().all(|d| d.delay.is_zero()));
}

#[test]
fn delays_and_aborts_come_at_their_percentages() {
    let all = draws(
        &settings("delays = \"150ms:10,2s:1\"\nabort = 2.0"),
        100_000,
    );
    let delayed = |ms: u64| {
        all.iter()
            .filter(|d| d.delay == Duration::from_millis(ms))
            .count()
    };
    assert!((9000..11000).contains(&delayed(150)), "{}", delayed(150));
    assert!((800..1200).contains(&delayed(2000)), "{}", delayed(2000));
    let aborted = all.iter().filter(|d| d.outcome == Outcome::Abort).count();
    assert!((1700..2300).contains(&aborted), "{aborted}");
}

#[test]
fn uniform_jitter_stays_in_its_range_and_spreads_over_it() {
    let all = draws(&settings(r#"jitter = "uniform:50ms""#), 10_000);
    let max = Duration::from_millis(50);
    assert!(all.iter().all(|d| d.delay <= max));
    let low = all.iter().filter(|d| d.delay < max / 2).count();
    assert!((4500..5500).contains(&low), "{low}");
}

#[test]
fn lognormal_jitter_has_its_median_and_a_capped_tail() {
    let all = draws(&settings(r#"jitter = "lognormal:20ms""#), 10_000);
    let below = all
        .iter()
        .filter(|d| d.delay < Duration::from_millis(20))
        .count();
    assert!((4500..5500).contains(&below), "{below}");
    // Sigma 1: about 1% beyond e^2.33 (10x) the median.
    let tail = all
        .iter()
        .filter(|d| d.delay > Duration::from_millis(200))
        .count();
    assert!((30..300).contains(&tail), "{tail}");
    let capped = decide(
        &settings(r#"jitter = "lognormal:20s""#),
        Duration::from_secs(1),
        &mut SmallRng::seed_from_u64(1),
    );
    assert!(capped.delay <= Duration::from_secs(1));
}

#[test]
fn probes_metrics_and_control_are_exempt() {
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/stats",
        "/control/state",
    ] {
        assert!(exempt(path), "{path}");
    }
    for path in [
        "/",
        "/fast",
        "/files/x",
        "/readyz2",
        "/controls",
        "/stats/x",
    ] {
        assert!(!exempt(path), "{path}");
    }
}

/// The whole stack in-process on paused time: an injected 2 s delay is waited
/// for (the clock jumps; no real time passes), and an abort reaches the
/// caller as the error hyper closes the connection on.
#[tokio::test(start_paused = true)]
async fn the_stack_waits_the_injected_delay_and_lets_an_abort_through() {
    use asynclab_core::{Config, Metrics, Shutdown};
    use tower::ServiceExt;

    let mut config = Config::builtin();
    config.http.faults = settings(r#"delays = "2s""#);
    let state = crate::AppState::new(config.http, false, Metrics::new(), None, Shutdown::new());
    let request = || {
        Request::get("/fast")
            .header("host", "x")
            .body(crate::body::empty())
            .expect("request")
    };
    let started = tokio::time::Instant::now();
    let res = crate::app(state.clone())
        .oneshot(request())
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(started.elapsed(), Duration::from_secs(2));

    state.faults.set(settings("abort = 100.0"));
    let Err(err) = crate::app(state.clone()).oneshot(request()).await else {
        panic!("an abort is an error, not an answer");
    };
    assert!(err.is::<Aborted>(), "{err}");
    let res = crate::app(state)
        .oneshot(
            Request::get("/healthz")
                .header("host", "x")
                .body(crate::body::empty())
                .expect("request"),
        )
        .await
        .expect("probes are exempt");
    assert_eq!(res.status(), StatusCode::OK);
}
