//! An accept error never ends the echo server. Here the process runs out of file
//! descriptors (EMFILE, the classic accept error): a client waits in the
//! backlog, unanswered, while the server retries every `echo.accept_retry`; once
//! descriptors are free again it is served.
//!
//! Its own test binary, because lowering the descriptor limit affects the whole
//! process. The limit is lowered with `prlimit` (util-linux), which needs no
//! unsafe code.

#![cfg(target_os = "linux")]

mod common;

use std::fs::File;
use std::time::Duration;

use common::{PATIENCE, config, start};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The highest file descriptor number this process has open.
fn highest_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .max()
        .expect("some descriptor is open")
}

/// Lowers this process's soft limit on open files.
fn limit_open_files(limit: u64) {
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={limit}:"))
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit failed: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_does_not_stop_the_server() {
    let server = start(config()).await;
    let mut early = server.connect().await;
    assert_eq!(early.round_trip(b"before\n").await, b"Echo: before\n");

    // Use up every descriptor but one, which the client then takes: the
    // connection completes in the kernel, but the server cannot accept it.
    limit_open_files(highest_fd() + 32);
    let mut hogs = Vec::new();
    while let Ok(file) = File::open("/dev/null") {
        hogs.push(file);
    }
    drop(hogs.pop());
    let client = TcpStream::connect(server.addr)
        .await
        .expect("the kernel completes the connection");
    let (read, mut write) = client.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"waiting\n").await.expect("send");

    let mut answer = Vec::new();
    let starved = tokio::time::timeout(
        Duration::from_millis(500),
        read.read_until(b'\n', &mut answer),
    )
    .await;
    assert!(starved.is_err(), "no answer while accept fails: {answer:?}");
    assert_eq!(server.metrics.accepted.get(), 1, "only the early client");

    drop(hogs);
    common::within(PATIENCE, read.read_until(b'\n', &mut answer))
        .await
        .expect("answer");
    assert_eq!(
        answer, b"Echo: waiting\n",
        "served once descriptors are free"
    );
    assert_eq!(
        early.round_trip(b"after\n").await,
        b"Echo: after\n",
        "and the others never noticed"
    );
}
