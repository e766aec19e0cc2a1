//! What the binary takes from its environment, through the real process: only
//! `ASYNCLAB_<SECTION>__<KEY>` variables are settings (a deployment's own
//! `ASYNCLAB_IMAGE` stops nothing), `load` and `check` read only `[log]`, and a
//! log level that is not one is refused wherever it was written.

mod common;

use std::process::Output;
use std::time::Duration;

use common::{Server, command, run, temp_dir};

const T: Duration = Duration::from_secs(30);

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The variables `deploy/compose.yaml` tells users to set for compose itself.
const STRAY: [(&str, &str); 3] = [
    ("ASYNCLAB_IMAGE", "asynclab:test"),
    ("ASYNCLAB_HTTP_PORT", "9090"),
    ("ASYNCLAB_ECHO_PORT", "9070"),
];

#[test]
fn variables_without_a_double_underscore_stop_no_subcommand() {
    let mut cmd = command(&["http", "--log-level", "debug"]);
    cmd.envs(STRAY);
    let server = Server::start_with(cmd);
    let http = server.http.expect("the server started");
    assert!(
        server.wait_for_log("ASYNCLAB_HTTP_PORT", Duration::from_secs(10)),
        "an ignored variable is mentioned at debug level:\n{}",
        server.logs()
    );

    let mut config = command(&["config"]);
    config.envs(STRAY);
    let out = run(config, T);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("# ignored: ASYNCLAB_HTTP_PORT is not a setting"),
        "{text}"
    );

    let mut check = command(&["check", &format!("http://{http}/readyz")]);
    check.envs(STRAY);
    let out = run(check, T);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let mut load = command(&["load", &format!("http://{http}/fast"), "-n", "3", "-c", "1"]);
    load.envs(STRAY);
    let out = run(load, T);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn load_and_check_do_not_fail_on_server_settings() {
    let server = Server::start(&["http"]);
    let http = server.http.expect("http address");
    // Both invalid for a server: a typo and a value out of range.
    let bad = [
        ("ASYNCLAB_HTTP__IDLE_TIMOUT", "5s"),
        ("ASYNCLAB_HTTP__WORKERS", "99999"),
    ];
    let mut check = command(&["check", &format!("http://{http}/readyz")]);
    check.envs(bad);
    let out = run(check, T);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut load = command(&["load", &format!("http://{http}/fast"), "-n", "3", "-c", "1"]);
    load.envs(bad);
    let out = run(load, T);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // What they do use is still checked.
    let mut load = command(&["load", &format!("http://{http}/fast"), "-n", "1"]);
    load.env("ASYNCLAB_LOG__LEVEL", "verbose");
    let out = run(load, T);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ASYNCLAB_LOG__LEVEL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_misspelt_setting_variable_still_gets_a_suggestion() {
    let mut cmd = command(&["config", "--check"]);
    cmd.env("ASYNCLAB_HTTP__IDLE_TIMOUT", "5s");
    let out = run(cmd, T);
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr(&out);
    assert!(
        msg.contains("environment variable ASYNCLAB_HTTP__IDLE_TIMOUT")
            && msg.contains("did you mean `http.idle_timeout`"),
        "{msg}"
    );
}

/// Runs the command and checks it exits 2 with one line naming `names`.
fn refused_naming(mut cmd: std::process::Command, env: &[(&str, &str)], names: &[&str]) {
    cmd.envs(env.iter().copied());
    let out = run(cmd, T);
    let msg = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    assert_eq!(msg.trim().lines().count(), 1, "{msg}");
    for name in names {
        assert!(msg.contains(name), "names {name}: {msg}");
    }
}

#[test]
fn a_log_level_that_is_not_one_is_refused_wherever_it_was_written() {
    refused_naming(
        command(&["config", "--check", "--log-level", "warning"]),
        &[],
        &["--log-level warning", "did you mean `warn`"],
    );
    refused_naming(
        command(&["config", "--check", "--log-level", "verbose"]),
        &[],
        &["--log-level verbose", "not a log level"],
    );
    // A server refuses it before it binds, not by logging nothing.
    refused_naming(
        command(&[
            "http",
            "--log-level",
            "verbose",
            "--set",
            "http.addr=127.0.0.1:0",
        ]),
        &[],
        &["log.level", "--log-level verbose"],
    );
    refused_naming(
        command(&["config", "--check"]),
        &[("ASYNCLAB_LOG__LEVEL", "log.level")],
        &["environment variable ASYNCLAB_LOG__LEVEL"],
    );
    refused_naming(
        command(&["config", "--check"]),
        &[("RUST_LOG", "info,asynclab_http=loud")],
        &["RUST_LOG", "`loud` is not a log level"],
    );
    let dir = temp_dir("loglevel");
    let file = dir.join("log.toml");
    std::fs::write(&file, "[log]\nlevel = \"verbose\"\n").expect("write config");
    refused_naming(
        command(&[
            "config",
            "--check",
            "--config",
            file.to_str().expect("utf-8"),
        ]),
        &[],
        &["log.toml line 2"],
    );
}
