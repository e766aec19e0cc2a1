//! The one runtime every server runs on, as a real process shows it: the
//! worker count follows `runtime.workers` and `TOKIO_WORKER_THREADS`, `/info`
//! reports it truthfully, and the threads carry the runtime's names.

mod common;

use common::{Server, command, get};

fn info(server: &Server) -> serde_json::Value {
    let (status, body) = get(server.http.expect("http address"), "/info");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON")
}

#[test]
fn tokio_worker_threads_sets_the_worker_count_and_info_says_so() {
    let mut cmd = command(&["http"]);
    cmd.env("TOKIO_WORKER_THREADS", "1");
    let server = Server::start_with(cmd);
    let info = info(&server);
    assert_eq!(info["workers"], 1, "{info}");
    let thread = info["thread"].as_str().expect("a thread name");
    assert!(thread.starts_with("asynclab-"), "{info}");
}

#[test]
fn runtime_workers_wins_over_the_environment() {
    let mut cmd = command(&["http", "--set", "runtime.workers=3"]);
    cmd.env("TOKIO_WORKER_THREADS", "1");
    let server = Server::start_with(cmd);
    assert_eq!(info(&server)["workers"], 3);
}

#[test]
fn a_bad_tokio_worker_threads_is_refused_with_its_name() {
    let mut cmd = command(&["http"]);
    cmd.env("TOKIO_WORKER_THREADS", "many");
    let out = common::run(cmd, std::time::Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "a bad setting, as any other");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TOKIO_WORKER_THREADS"), "{stderr}");
}
