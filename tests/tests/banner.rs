//! What `serve` writes when it starts: for people at a terminal (pretty logs), a
//! plain banner on stdout with the addresses and what to try; with JSON logs (as
//! in `config/container.toml`), nothing but JSON lines, one of them the
//! `asynclab started` event with the same addresses.

mod common;

use std::time::Duration;

use common::Server;

#[test]
fn with_json_logs_every_line_the_process_writes_is_json() {
    let mut server = Server::start(&["serve", "--log-format", "json"]);
    let http = server
        .http
        .expect("the started event names the http address");
    let echo = server
        .echo
        .expect("the started event names the echo address");
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(20)).success());

    let stdout = server.stdout();
    let logs = server.logs();
    for line in stdout.lines().chain(logs.lines()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line:?}\n--- stdout\n{stdout}--- stderr\n{logs}"
        );
    }
    let started = logs
        .lines()
        .find(|l| l.contains("\"asynclab started\""))
        .expect("a started event");
    assert!(
        started.contains(&format!("\"http://{http}\""))
            && started.contains(&format!("\"tcp://{echo}\"")),
        "{started}"
    );
}

#[test]
fn with_pretty_logs_the_banner_says_where_to_connect() {
    let server = Server::start(&["serve", "--log-format", "pretty"]);
    let http = server.http.expect("the banner names the http address");
    let stdout = server.stdout();
    assert!(
        stdout.contains(&format!("http listening on http://{http}"))
            && stdout.contains(&format!("curl http://{http}/")),
        "{stdout}"
    );
}
