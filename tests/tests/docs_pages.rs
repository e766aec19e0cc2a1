//! `docs/http.md`, `docs/metrics.md`, `docs/files.md`, `docs/httpbin.md`, `docs/tls.md`, `docs/websocket.md`, `docs/load.md`, `docs/containers.md`, `docs/control.md` and `docs/dashboard.md`, checked against the program: every
//! `curl` and `asynclab` command on each page runs against the real binary (as
//! `patterns_guide.rs` runs the patterns guide; the runner is `common/guide.rs`),
//! and the shutdown sequence the containers page describes, with the log lines it
//! quotes, is played against the binary with `config/container.toml`.

mod common;

use std::thread::JoinHandle;
use std::time::Duration;

use common::get;
use common::guide::{Guide, repo_root, with_public_copy};

const HTTP: &str = include_str!("../../docs/http.md");
const METRICS: &str = include_str!("../../docs/metrics.md");
const FILES: &str = include_str!("../../docs/files.md");
const CONTAINERS: &str = include_str!("../../docs/containers.md");
const CONTROL: &str = include_str!("../../docs/control.md");
const DASHBOARD: &str = include_str!("../../docs/dashboard.md");
const HTTPBIN: &str = include_str!("../../docs/httpbin.md");
const TLS: &str = include_str!("../../docs/tls.md");
const WEBSOCKET: &str = include_str!("../../docs/websocket.md");
const LOAD: &str = include_str!("../../docs/load.md");

#[test]
fn every_command_on_the_http_page_works() {
    Guide::new(HTTP).run_and_check(3);
}

#[test]
fn every_command_on_the_metrics_page_works() {
    Guide::new(METRICS).run_and_check(2);
}

#[test]
fn every_command_on_the_files_page_works() {
    // Uploads write into `public/`: run the page on a copy, not the repository.
    let guide = Guide {
        dir: with_public_copy("files-page"),
        ..Guide::new(FILES)
    };
    guide.run_and_check(15);
}

#[test]
fn every_command_on_the_httpbin_page_works() {
    // Run from the repository: a command uploads `Cargo.toml` as a multipart file.
    Guide::new(HTTPBIN).run_and_check(50);
}

#[test]
fn every_command_on_the_tls_page_works() {
    Guide::new(TLS).run_and_check(11);
}

#[test]
fn every_command_on_the_websocket_page_works() {
    // The handshake (over TLS too), its refusals, `load ws://` and the metrics.
    Guide::new(WEBSOCKET).run_and_check(8);
}

#[test]
fn every_command_on_the_load_page_works() {
    // Its runs write reports (`--json > a.json`, `--report run.html`) and read
    // the scenario and URL files the page shows: all in a scratch folder.
    let guide = Guide {
        dir: with_public_copy("load-page"),
        ..Guide::new(LOAD)
    }
    .with_shown_files();
    let names: Vec<&str> = guide.files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["shop.toml", "urls.txt"], "the files the page shows");
    // Stages, breakpoint, --fail-if (exit 99), scenario and URL files, the HTML
    // report, --json and merge.
    guide.run_and_check(20);
}

#[test]
fn every_command_on_the_containers_page_works_against_the_container_config() {
    // The image runs `serve` with `ASYNCLAB_CONFIG=config/container.toml`.
    let guide = Guide {
        server: ["serve", "--config", "config/container.toml"]
            .map(String::from)
            .to_vec(),
        ..Guide::new(CONTAINERS)
    };
    guide.run_and_check(3);
}

#[test]
fn every_command_on_the_dashboard_page_works() {
    // The page's `export` gives its server the control token, as a reader's would.
    Guide::new(DASHBOARD).run_and_check(6);
}

#[test]
fn every_command_on_the_control_page_works_with_its_token() {
    // The page's `export` gives the server and every command the token.
    let guide = Guide::new(CONTROL);
    assert!(
        guide
            .env
            .iter()
            .any(|(k, _)| k == "ASYNCLAB_CONTROL__TOKEN"),
        "the page exports the token"
    );
    guide.run_and_check(15);
}

/// The texts the page quotes from the logs: the backticked spans starting with `"`
/// in the paragraph after its shutdown commands.
fn quoted_log_texts() -> Vec<&'static str> {
    let paragraph = CONTAINERS
        .split("\n\n")
        .find(|p| p.starts_with("Every `/slow` prints 200."))
        .expect("the paragraph about the shutdown's logs");
    paragraph
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with('"'))
        .collect()
}

#[test]
fn the_containers_page_shutdown_sequence_and_its_log_lines_are_real() {
    let quoted = quoted_log_texts();
    assert!(quoted.len() >= 3, "{quoted:?}");

    // The image's configuration, with a shorter readiness delay than its 5s to
    // keep the test short: the slow requests must outlast the delay.
    let mut cmd = common::command(&[
        "serve",
        "--config",
        "config/container.toml",
        "--set",
        "shutdown.readiness_delay=2s",
    ]);
    cmd.current_dir(repo_root());
    let mut server = common::Server::start_with(cmd);
    let http = server.http.expect("http address");

    // Five slow requests in flight, as on the page (shorter, the same sequence).
    let slow: Vec<JoinHandle<(u16, String)>> = (0..5)
        .map(|_| std::thread::spawn(move || get(http, "/slow?delay=3s")))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    server.signal("TERM");
    assert!(
        server.wait_for_log("shutdown requested", Duration::from_secs(10)),
        "{}",
        server.logs()
    );
    // During the readiness delay.
    assert_eq!(get(http, "/readyz").0, 503, "readiness is off");
    assert_eq!(get(http, "/fast").0, 200, "traffic is still served");

    for request in slow {
        let (status, answer) = request.join().expect("slow request thread");
        assert_eq!(status, 200, "{answer}");
    }
    let status = server.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", server.logs());
    let logs = server.logs();
    let first = |text: &str| logs.find(text);
    for text in &quoted {
        assert!(first(text).is_some(), "the log has no {text}:\n{logs}");
    }
    assert!(
        first(quoted[0]) < first(quoted[quoted.len() - 2]),
        "the page's order:\n{logs}"
    );
}
