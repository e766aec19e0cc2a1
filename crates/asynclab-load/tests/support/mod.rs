//! The load tests' one set of helpers: settings for a run against a test server,
//! running it with every request accounted for, and stopping it early.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::time::Duration;

use asynclab_load::{Control, EchoMode, ErrorKind, HttpTarget, Report, Settings, Target, run};
use tokio::time::Instant;

pub fn http(addr: SocketAddr, path: &str) -> Settings {
    let target = format!("http://{addr}{path}").parse().expect("valid URL");
    Settings::new(target)
}

/// An HTTP target with one request setting changed.
pub fn http_tuned(addr: SocketAddr, tune: impl FnOnce(&mut HttpTarget)) -> Settings {
    let mut settings = http(addr, "/");
    if let Target::Http(h) = &mut settings.target {
        tune(h);
    }
    settings
}

pub fn echo(addr: SocketAddr, mode: EchoMode) -> Settings {
    let mut target: Target = format!("tcp://{addr}").parse().expect("valid target");
    if let Target::Echo(echo) = &mut target {
        echo.mode = mode;
    }
    Settings::new(target)
}

/// `-n requests -c connections`, no duration.
pub fn count(mut settings: Settings, requests: u64, connections: usize) -> Settings {
    settings.requests = Some(requests);
    settings.duration = None;
    settings.connections = connections;
    settings
}

/// `--rate rate -c connections -d duration` against `path`.
pub fn paced(addr: SocketAddr, path: &str, connections: usize, rate: f64, ms: u64) -> Settings {
    let mut settings = http(addr, path);
    settings.connections = connections;
    settings.rate = Some(rate);
    settings.duration = Some(Duration::from_millis(ms));
    settings
}

/// Runs to the end; every run must account for every request it started.
pub async fn load(settings: &Settings) -> Report {
    load_with(settings, &Control::default()).await
}

pub async fn load_with(settings: &Settings, control: &Control) -> Report {
    let report = run(settings, control).await.expect("the run starts");
    assert_accounted(&report);
    report
}

/// Like [`load`], and the run must end within `bound` (a generous one).
pub async fn load_within(settings: &Settings, control: &Control, bound: Duration) -> Report {
    let began = Instant::now();
    let report = load_with(settings, control).await;
    assert!(began.elapsed() < bound, "took {:?}", began.elapsed());
    report
}

/// The run must count as a failure, for the reason given.
pub fn assert_fails(report: &Report, reason: &str) {
    let verdict = report.verdict().expect_err("nothing succeeded");
    assert!(verdict.contains(reason), "{verdict}");
}

/// The keys of a JSON object, sorted.
pub fn keys_of(value: &serde_json::Value) -> Vec<&str> {
    let object = value.as_object().expect("a JSON object");
    object.keys().map(String::as_str).collect()
}

/// Sets `stop` (and `cut`, when asked) after `delay`.
pub fn stop_after(control: &Control, delay: Duration, cut: bool) {
    let (stop, cut_flag) = (control.stop.clone(), control.cut.clone());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        stop.stop();
        if cut {
            cut_flag.stop();
        }
    });
}

pub fn errors(report: &Report, kind: ErrorKind) -> u64 {
    report.errors[&kind]
}

/// `started = responses + errors + cut`, whatever happened.
pub fn assert_accounted(report: &Report) {
    let r = &report.requests;
    assert_eq!(r.started, r.responses + r.errors + r.cut, "{r:?}");
    assert_eq!(r.errors, report.errors.values().sum::<u64>());
}
