//! The servers raise their own open-files limit toward what their connection
//! limits allow (every connection is a descriptor), as far as the hard limit
//! permits, and say so when that is not enough. Started under `prlimit`
//! (util-linux) with a low soft limit, as in a desktop shell.

#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::{Server, command_with_open_files};

/// The soft "Max open files" of a running process.
fn soft_limit(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("an open files line");
    line["Max open files".len()..]
        .split_whitespace()
        .next()
        .and_then(|soft| soft.parse().ok())
        .expect("a number")
}

const LIMITS: [&str; 4] = [
    "--set",
    "http.max_connections=1000",
    "--set",
    "echo.max_connections=1000",
];

#[test]
fn serve_raises_its_soft_limit_to_what_its_connections_need() {
    let args = [&["serve"][..], &LIMITS[..]].concat();
    let server = Server::start_with(command_with_open_files("100:3000", &args));
    // 1,000 HTTP and 1,000 echo connections, and 256 to spare.
    assert_eq!(soft_limit(server.pid()), 2_256);
    assert!(
        server.wait_for_log("asynclab started", Duration::from_secs(10)),
        "{}",
        server.logs()
    );
    assert!(
        !server.logs().contains("free descriptor"),
        "{}",
        server.logs()
    );
}

#[test]
fn below_the_connection_limits_it_takes_the_hard_limit_and_says_so() {
    let args = [&["serve"][..], &LIMITS[..]].concat();
    let server = Server::start_with(command_with_open_files("100:800", &args));
    assert_eq!(soft_limit(server.pid()), 800);
    for key in ["http.max_connections", "echo.max_connections"] {
        let said = format!("{key} is 1000, but this process may open only 800 files");
        assert!(
            server.wait_for_log(&said, Duration::from_secs(10)),
            "{}",
            server.logs()
        );
    }
}
