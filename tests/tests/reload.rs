//! `SIGHUP` on a real process: a good file's run-time settings applied at once
//! and a restart-only change named in a warning; a bad file refused with the
//! start-up's own message while the running settings stay.

mod common;

use std::time::Duration;

use common::{Server, command, get, run, temp_dir};

const STEP: Duration = Duration::from_secs(10);

/// The first JSON log line containing `needle`, parsed.
fn event(server: &Server, needle: &str) -> serde_json::Value {
    assert!(server.wait_for_log(needle, STEP), "{}", server.logs());
    let logs = server.logs();
    let line = logs
        .lines()
        .find(|l| l.contains(needle))
        .expect("the line just seen");
    serde_json::from_str(line).expect("a JSON log line")
}

#[test]
fn sighup_applies_a_good_file_and_refuses_a_bad_one() {
    let dir = temp_dir("reload");
    let file = dir.join("asynclab.toml");
    std::fs::write(&file, "[http.limited]\npermits = 2\n").expect("write config");
    let server = Server::start(&["http", "--config", file.to_str().expect("utf-8 path")]);
    let addr = server.http.expect("http address");
    assert_eq!(get(addr, "/fast").0, 200);

    let good = "[http.limited]\npermits = 3\n\n[http.faults]\nerrors = \"418:100\"\n\n\
                [http]\nmax_body = \"1MiB\"\n";
    std::fs::write(&file, good).expect("rewrite config");
    server.signal("HUP");
    let reloaded = event(&server, "SIGHUP: configuration reloaded");
    assert_eq!(
        reloaded["applied"],
        "http.faults.errors, http.limited.permits"
    );
    let warning = event(&server, "need a restart");
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["keys"], "http.max_body");
    assert_eq!(get(addr, "/fast").0, 418);

    // The same message `asynclab` prints when it refuses to start with the file.
    let bad = "[http]\nmax_in_flight = 0\n";
    std::fs::write(&file, bad).expect("rewrite config");
    let refused = run(
        command(&[
            "config",
            "--check",
            "--config",
            file.to_str().expect("utf-8 path"),
        ]),
        STEP,
    );
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr)
        .trim()
        .trim_start_matches("asynclab: ")
        .to_string();
    assert!(message.contains("http.max_in_flight"), "{message}");
    server.signal("HUP");
    let error = event(&server, "SIGHUP: configuration refused");
    assert_eq!(error["error"], message.as_str());
    // The running settings stay, and the server goes on.
    assert_eq!(get(addr, "/fast").0, 418);
    assert_eq!(get(addr, "/healthz").0, 200);
}
