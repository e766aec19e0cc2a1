//! The configuration layers and their errors, through the real binary:
//! `asynclab config` prints the merged result, and a bad value exits 2 before
//! anything binds, naming the key, the value and where it came from.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{command, run, temp_dir};

const T: Duration = Duration::from_secs(30);

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn config_prints_the_built_in_defaults_with_no_file_present() {
    let mut cmd = command(&["config"]);
    cmd.current_dir(temp_dir("nofile"));
    let out = run(cmd, T);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("[echo]") && text.contains("addr = \"127.0.0.1:7000\""),
        "{text}"
    );
    assert!(
        text.contains("[http]") && text.contains("addr = \"127.0.0.1:8080\""),
        "{text}"
    );
    assert!(text.contains("max_line = \"64KiB\""), "{text}");
}

#[test]
fn layers_apply_in_order_file_then_env_then_flags() {
    let dir = temp_dir("layers");
    let file = dir.join("my.toml");
    std::fs::write(
        &file,
        "[echo]\nprefix = \"from file: \"\nmode = \"raw\"\nmax_connections = 7\n",
    )
    .expect("write config");

    let mut cmd = command(&["config", "--config", file.to_str().expect("utf-8 path")]);
    cmd.env("ASYNCLAB_ECHO__PREFIX", "from env: ");
    cmd.env("ASYNCLAB_ECHO__MAX_CONNECTIONS", "8");
    cmd.args(["--set", "echo.max_connections=9"]);
    let out = run(cmd, T);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("mode = \"raw\""),
        "file layer applies: {text}"
    );
    assert!(
        text.contains("prefix = \"from env: \""),
        "env wins over file: {text}"
    );
    assert!(
        text.contains("max_connections = 9"),
        "--set wins over env: {text}"
    );
}

#[test]
fn config_file_can_come_from_the_environment() {
    let dir = temp_dir("envfile");
    let file = dir.join("c.toml");
    std::fs::write(&file, "[http.slow]\ndelay = \"250ms\"\n").expect("write config");
    let mut cmd = command(&["config"]);
    cmd.env("ASYNCLAB_CONFIG", &file);
    let out = run(cmd, T);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("delay = \"250ms\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn config_check_validates_silently() {
    let out = run(command(&["config", "--check"]), T);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());

    let out = run(
        command(&["config", "--check", "--set", "echo.max_line=0"]),
        T,
    );
    assert_eq!(out.status.code(), Some(2));
}

/// Runs `asynclab config --check` with a bad value and returns stderr after
/// checking the exit code is 2.
fn refused(cmd: std::process::Command) -> String {
    let out = run(cmd, T);
    assert_eq!(out.status.code(), Some(2), "stdout: {}", stdout(&out));
    let msg = stderr(&out);
    assert_eq!(msg.trim().lines().count(), 1, "one message: {msg}");
    msg
}

#[test]
fn bad_environment_value_names_the_variable() {
    let mut cmd = command(&["config", "--check"]);
    cmd.env("ASYNCLAB_ECHO__MAX_CONNECTIONS", "0");
    let msg = refused(cmd);
    assert!(msg.contains("echo.max_connections"), "{msg}");
    assert!(msg.contains("ASYNCLAB_ECHO__MAX_CONNECTIONS"), "{msg}");
    assert!(msg.contains("at least 1"), "{msg}");
}

#[test]
fn bad_file_value_names_file_and_line_and_unknown_keys_get_a_suggestion() {
    let dir = temp_dir("badfile");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[http]\nmax_body = \"16MiB\"\nidle_timout = \"5s\"\n",
    )
    .expect("write");
    let msg = refused(command(&[
        "config",
        "--config",
        file.to_str().expect("utf-8"),
    ]));
    assert!(msg.contains("http.idle_timout"), "{msg}");
    assert!(msg.contains("did you mean `http.idle_timeout`"), "{msg}");
    assert!(msg.contains("bad.toml"), "{msg}");

    std::fs::write(&file, "[shutdown]\n\ngrace = \"0s\"\n").expect("write");
    let msg = refused(command(&[
        "config",
        "--config",
        file.to_str().expect("utf-8"),
    ]));
    assert!(
        msg.contains("shutdown.grace") && msg.contains("line 3"),
        "{msg}"
    );
}

#[test]
fn bad_flag_values_are_named_with_the_flag() {
    let msg = refused(command(&["config", "--set", "http.addr=0.0.0.0:70000"]));
    assert!(
        msg.contains("http.addr") && msg.contains("above 65535"),
        "{msg}"
    );
    assert!(msg.contains("--set http.addr=0.0.0.0:70000"), "{msg}");

    let msg = refused(command(&["config", "--set", "http.slow.delay=fast"]));
    assert!(
        msg.contains("http.slow.delay") && msg.contains("not a duration"),
        "{msg}"
    );

    // Values as written and what to write instead in words, not serde's type
    // names (`unsigned int \`99999999999\`: expected u32`).
    let msg = refused(command(&["config", "--set", "http.backlog=99999999999"]));
    assert!(
        msg.ends_with(
            "http.backlog=99999999999: 99999999999: expected a whole number from 0 to 4294967295\n"
        ),
        "{msg}"
    );
    let msg = refused(command(&["config", "--set", "http.max_connections=1.5"]));
    assert!(
        msg.ends_with(": 1.5: expected a whole number, 0 or more\n"),
        "{msg}"
    );

    let msg = refused(command(&["config", "--log-format", "xml"]));
    assert!(
        msg.contains("log.format") && msg.contains("--log-format"),
        "{msg}"
    );
}

#[test]
fn unreadable_file_is_an_error() {
    let msg = refused(command(&[
        "config",
        "--config",
        "/nonexistent/asynclab.toml",
    ]));
    assert!(msg.contains("/nonexistent/asynclab.toml"), "{msg}");
}

#[test]
fn bad_config_is_refused_before_anything_binds() {
    // Find a free port, release it, and ask the server to use it with a bad value
    // elsewhere: the server must exit 2 without ever binding.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("echo.addr=127.0.0.1:{port}");
    let out = run(
        command(&["echo", "--set", &addr, "--set", "echo.idle_timeout=0s"]),
        T,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("echo.idle_timeout"));
    TcpListener::bind(("127.0.0.1", port)).expect("port still free: nothing was bound");
}

#[test]
fn a_configured_files_root_that_does_not_exist_is_a_config_error() {
    let out = run(
        command(&[
            "http",
            "--set",
            "files.root=/nonexistent/public",
            "--set",
            "http.addr=127.0.0.1:0",
        ]),
        T,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(
        msg.contains("files.root") && msg.contains("--set files.root=/nonexistent/public"),
        "{msg}"
    );
}

#[test]
fn the_default_files_root_may_be_missing_and_the_server_still_runs() {
    // From an empty folder there is no `public/`: the server starts, says so in
    // its log, and /files/ answers 404.
    let mut cmd = command(&["http"]);
    cmd.current_dir(temp_dir("nopublic"));
    let server = common::Server::start_with(cmd);
    assert!(server.http.is_some());
    assert!(
        server.wait_for_log("file serving is off", Duration::from_secs(10)),
        "{}",
        server.logs()
    );
}

#[test]
fn config_check_refuses_a_missing_files_root_exactly_as_serve_does() {
    let flag = ["--set", "files.root=/nonexistent/public"];
    let check = run(command(&["config", "--check", flag[0], flag[1]]), T);
    let serve = run(
        command(&["serve", flag[0], flag[1], "--set", "http.addr=127.0.0.1:0"]),
        T,
    );
    assert_eq!(check.status.code(), Some(2), "{}", stderr(&check));
    assert_eq!(serve.status.code(), Some(2), "{}", stderr(&serve));
    assert_eq!(stderr(&check), stderr(&serve), "one check, one message");
    assert!(
        stderr(&check).starts_with(
            "asynclab: invalid value for `files.root` in --set files.root=/nonexistent/public: "
        ),
        "{}",
        stderr(&check)
    );
    // The built-in default may be missing, for both.
    let mut cmd = command(&["config", "--check"]);
    cmd.current_dir(temp_dir("nopublic-check"));
    assert!(run(cmd, T).status.success());
}

#[test]
fn a_rule_between_two_keys_names_the_key_the_user_set() {
    let msg = refused(command(&["config", "--set", "http.idle_timeout=2s"]));
    assert!(
        msg.starts_with(
            "asynclab: invalid value for `http.idle_timeout` in --set http.idle_timeout=2s: 2s: \
             must be longer than `http.demo.heartbeat`"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("raise it, or lower `http.demo.heartbeat`")
            && msg.contains("`http.demo.heartbeat` is 5s, from built-in defaults"),
        "{msg}"
    );
}

#[test]
fn show_origin_names_the_layer_of_every_key() {
    let dir = temp_dir("origin");
    let file = dir.join("my.toml");
    std::fs::write(
        &file,
        "[echo]\nmode = \"raw\"\n\n[http.slow]\ndelay = \"1s\"\n",
    )
    .expect("write config");
    let mut cmd = command(&[
        "config",
        "--show-origin",
        "--config",
        file.to_str().expect("utf-8 path"),
        "--set",
        "http.slow.delay=250ms",
        "--log-level",
        "debug",
    ]);
    cmd.env("ASYNCLAB_ECHO__PREFIX", "> ");
    let out = run(cmd, T);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = |key: &str| {
        text.lines()
            .find(|l| {
                l.split('\t')
                    .nth(1)
                    .is_some_and(|kv| kv.starts_with(&format!("{key} = ")))
            })
            .unwrap_or_else(|| panic!("no line for {key}:\n{text}"))
            .to_string()
    };
    let file = file.display();
    assert_eq!(
        line("echo.mode"),
        format!("{file} line 2\techo.mode = \"raw\"")
    );
    assert_eq!(
        line("echo.prefix"),
        "environment variable ASYNCLAB_ECHO__PREFIX\techo.prefix = \"> \""
    );
    assert_eq!(
        line("http.slow.delay"),
        "--set http.slow.delay=250ms\thttp.slow.delay = \"250ms\""
    );
    assert_eq!(
        line("log.level"),
        "--log-level debug\tlog.level = \"debug\""
    );
    assert_eq!(
        line("shutdown.grace"),
        "built-in defaults\tshutdown.grace = \"10s\""
    );
}
