//! The one runtime every server runs on, as a real process shows it: the
//! worker count follows `runtime.workers` and `TOKIO_WORKER_THREADS`, `/info`
//! reports it truthfully, and blocking work runs on threads named apart from
//! the request workers.

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
    assert_eq!(thread, "asynclab-worker-0", "{info}");
}

#[test]
fn runtime_workers_wins_over_the_environment() {
    let mut cmd = command(&["http", "--set", "runtime.workers=3"]);
    cmd.env("TOKIO_WORKER_THREADS", "1");
    let server = Server::start_with(cmd);
    assert_eq!(info(&server)["workers"], 3);
}

/// Tokio names a thread once, when it starts, and may reuse a thread that began
/// as a worker for blocking work later on (after a worker hands its core over):
/// so a few counts are asked for, and one on a `asynclab-blocking-` thread shows
/// that the pool's threads are named apart.
#[test]
fn compute_runs_on_a_blocking_pool_thread_not_a_request_worker() {
    let server = Server::start(&["http"]);
    let threads: Vec<String> = (0..5)
        .map(|_| {
            let (status, body) = get(server.http.expect("http"), "/compute?n=10000");
            assert_eq!(status, 200, "{body}");
            let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            answer["thread"]
                .as_str()
                .expect("a thread name")
                .to_string()
        })
        .collect();
    assert!(
        threads.iter().any(|t| t.starts_with("asynclab-blocking-")),
        "{threads:?}"
    );
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
