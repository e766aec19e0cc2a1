//! `asynclab control` against a real server process: the token from the
//! environment, exit codes 0/1/2, the change seen by `/readyz`, and the WARN
//! line the server logs with the peer and the change.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Server, command, get, run};

const TOKEN: &str = "black-box-token-0123456789";
const STEP: Duration = Duration::from_secs(10);

/// `asynclab control http://addr <args>` with the token in the environment.
fn control(addr: SocketAddr, token: Option<&str>, args: &[&str]) -> (Option<i32>, String) {
    let url = format!("http://{addr}");
    let mut all = vec!["control", url.as_str()];
    all.extend_from_slice(args);
    let mut cmd = command(&all);
    if let Some(token) = token {
        cmd.env("ASYNCLAB_CONTROL__TOKEN", token);
    }
    let out = run(cmd, STEP);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn server_with_token() -> Server {
    let mut cmd = command(&["http"]);
    cmd.env("ASYNCLAB_CONTROL__TOKEN", TOKEN);
    Server::start_with(cmd)
}

#[test]
fn the_cli_changes_a_running_server_and_the_change_is_logged() {
    let server = server_with_token();
    let addr = server.http.expect("http address");

    let (code, out) = control(
        addr,
        Some(TOKEN),
        &["set", "readiness=not-ready", "http.faults.errors=503:5"],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("readiness = not-ready"), "{out}");
    assert!(
        out.contains("http.faults.errors = 503:5  (configured: \"\")"),
        "{out}"
    );
    assert_eq!(get(addr, "/readyz").0, 503);
    assert!(
        server.wait_for_log("control API: settings changed", STEP),
        "{}",
        server.logs()
    );
    let line = server
        .logs()
        .lines()
        .find(|l| l.contains("settings changed"))
        .map(str::to_string)
        .expect("the change's log line");
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(event["level"], "WARN");
    assert_eq!(
        event["change"],
        "readiness=not-ready http.faults.errors=503:5"
    );
    assert!(
        event["peer"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:")),
        "{line}"
    );

    let (code, out) = control(addr, Some(TOKEN), &["reset"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(get(addr, "/readyz").0, 200);
    let (code, out) = control(addr, Some(TOKEN), &["show"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("readiness = auto"), "{out}");
}

#[test]
fn exit_codes_say_refused_or_unusable() {
    let server = server_with_token();
    let addr = server.http.expect("http address");
    let (code, out) = control(addr, Some("a-wrong-token-0123456789"), &["show"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("403"), "{out}");
    let (code, out) = control(addr, Some(TOKEN), &["set", "readiness=sleepy"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("400") && out.contains("use auto, ready or not-ready"),
        "{out}"
    );
    let (code, out) = control(addr, None, &["show"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("ASYNCLAB_CONTROL__TOKEN"), "{out}");
    let (code, out) = control(addr, Some(TOKEN), &["set", "readiness"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(server.logs().contains("wrong token"), "{}", server.logs());
}
