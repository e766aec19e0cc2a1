//! `asynclab load` as a user runs it: against the real servers, an unreachable
//! target, and stopped early with ctrl-c. (The generator's accounting and timing
//! are tested in process in `asynclab-load`.)

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Server, command, command_with_open_files, run, wait_timeout};

const T: Duration = Duration::from_secs(60);

/// Runs `asynclab load TARGET -c 4 -n N --json`, expects exit 0, returns the report.
fn load_json(target: &str, requests: u32) -> serde_json::Value {
    let n = requests.to_string();
    let args = [
        "load",
        target,
        "-c",
        "4",
        "-n",
        &n,
        "--json",
        "--no-progress",
    ];
    let out = run(command(&args), T);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        let stdout = String::from_utf8_lossy(&out.stdout);
        panic!("--json prints one JSON document ({e}):\n{stdout}")
    })
}

#[test]
fn http_and_echo_runs_count_every_request_and_exit_zero() {
    let server = Server::start(&["serve"]);
    let http = format!("http://{}/fast", server.http.expect("http address"));
    let report = load_json(&http, 300);
    assert_eq!(report["requests"]["started"], 300);
    assert_eq!(report["requests"]["ok"], 300);
    assert_eq!(report["status"]["200"], 300, "{report}");

    let echo = format!("tcp://{}", server.echo.expect("echo address"));
    let report = load_json(&echo, 200);
    assert_eq!(report["requests"]["ok"], 200, "{report}");
    assert_eq!(report["requests"]["errors"], 0, "{report}");
}

#[test]
fn an_unreachable_target_fails_on_time_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let started = Instant::now();
    let out = run(
        command(&["load", &url, "-c", "2", "-d", "1s", "--no-progress"]),
        T,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run ended on time"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let reason: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("asynclab load:"))
        .collect();
    assert_eq!(reason.len(), 1, "{err}");
    assert!(
        reason[0].contains("could not be reached") && reason[0].contains("connect refused"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_early_and_still_prints_the_summary() {
    let server = Server::start(&["http"]);
    let url = format!("http://{}/fast", server.http.expect("http address"));
    let mut cmd = command(&["load", &url, "-c", "2", "-d", "60s", "--no-progress"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn load");
    std::thread::sleep(Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status =
        wait_timeout(&mut child, Duration::from_secs(20)).expect("stops soon after ctrl-c");
    assert_eq!(status.code(), Some(130), "interrupted runs say so");
    let mut summary = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut summary)
        .expect("read");
    assert!(
        summary.contains("requests") && summary.contains("latency"),
        "{summary}"
    );
    assert!(summary.contains("200"), "{summary}");
}

/// A second ctrl-c cuts the requests in flight: nothing finished, yet the target was
/// reachable. The summary says so and the exit status is 130, as for one ctrl-c
/// (it was 1, with "could not be reached: echo mismatch" for an HTTP target).
#[test]
fn a_second_ctrl_c_cuts_and_still_exits_130_with_the_summary() {
    let server = Server::start(&["http"]);
    let url = format!(
        "http://{}/slow?delay=3s",
        server.http.expect("http address")
    );
    let mut cmd = command(&["load", &url, "-c", "3", "-d", "60s", "--no-progress"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn load");
    std::thread::sleep(Duration::from_millis(1000));
    let pid = child.id().to_string();
    for _ in 0..2 {
        let kill = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status();
        assert!(kill.expect("kill").success());
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = wait_timeout(&mut child, Duration::from_secs(20)).expect("stops at once");
    let read = |pipe: &mut dyn std::io::Read| {
        let mut text = String::new();
        pipe.read_to_string(&mut text).expect("read");
        text
    };
    let summary = read(&mut child.stdout.take().expect("stdout"));
    let stderr = read(&mut child.stderr.take().expect("stderr"));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("could not be reached"), "{stderr}");
    assert!(summary.contains("3 cut by a second ctrl-c"), "{summary}");
}

/// `--fail-if`: 0 when every condition passes, 99 (k6's code) when one fails, with
/// each printed as passed or FAILED; 2 for a malformed one, before any request.
/// `load merge` checks them on the merged runs alike.
#[test]
fn thresholds_set_the_exit_status() {
    let server = Server::start(&["http"]);
    let url = format!("http://{}/fast", server.http.expect("http address"));
    let load = |conditions: &[&str]| {
        let mut args = vec!["load", &url, "-c", "2", "-n", "200", "--no-progress"];
        for c in conditions {
            args.extend(["--fail-if", c]);
        }
        run(command(&args), T)
    };
    let passed = load(&["p99>1h", "errors>0.5%", "rate<1"]);
    assert_eq!(passed.status.code(), Some(0));
    let text = String::from_utf8_lossy(&passed.stdout);
    assert!(text.contains("p99>1h") && text.contains("passed"), "{text}");
    let failed = load(&["p99>1h", "rate>1"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr),
    );
    assert_eq!(failed.status.code(), Some(99), "{stderr}");
    assert!(
        stdout.contains("FAILED") && stderr.contains("failed: rate>1"),
        "{stdout}{stderr}"
    );
    let malformed = load(&["p99>>1ms"]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("--fail-if `p99>>1ms`"));

    let saved = std::env::temp_dir().join(format!("asynclab-cli-{}.json", std::process::id()));
    let out = run(
        command(&["load", &url, "-c", "2", "-n", "100", "--json"]),
        T,
    );
    std::fs::write(&saved, &out.stdout).expect("saved");
    let path = saved.to_string_lossy().to_string();
    let merge = |condition: &str| {
        run(
            command(&["load", "merge", &path, &path, "--fail-if", condition]),
            T,
        )
    };
    assert_eq!(merge("p99>1h").status.code(), Some(0));
    let doubled = merge("errors>0");
    assert_eq!(doubled.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&doubled.stdout).contains("200 in"));
    assert_eq!(merge("rate>1").status.code(), Some(99));
    let _ = std::fs::remove_file(saved);
}

/// `-c` beyond what the process may open is refused before any connection is
/// tried, with the numbers; within the hard limit, the soft one is raised and the
/// run goes ahead. (Past the limit every connect would fail at once with EMFILE.)
#[test]
fn connections_beyond_the_open_files_limit_are_refused_up_front() {
    let refused = run(
        command_with_open_files(
            "100:100",
            &[
                "load",
                "http://127.0.0.1:9/",
                "-c",
                "500",
                "-d",
                "1s",
                "--no-progress",
            ],
        ),
        T,
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("-c 500: 564 open files are needed")
            && stderr.contains("at most 100 (`ulimit -Hn`)"),
        "{stderr}"
    );

    let server = Server::start(&["serve"]);
    let http = format!("http://{}/fast", server.http.expect("http address"));
    let args = [
        "load",
        &http,
        "-c",
        "500",
        "-n",
        "1000",
        "--json",
        "--no-progress",
    ];
    let raised = run(command_with_open_files("100:4096", &args), T);
    let stderr = String::from_utf8_lossy(&raised.stderr);
    assert_eq!(raised.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&raised.stdout).expect("JSON");
    assert_eq!(report["connections"], 500, "{report}");
    assert_eq!(report["requests"]["ok"], 1000, "{report}");
}
