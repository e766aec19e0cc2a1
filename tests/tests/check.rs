//! `asynclab check`: the container health probe. Exit 0 when the target answers
//! correctly within `--timeout`, 1 otherwise, with a one-line result either way;
//! 2 for a target or timeout that cannot be used (a usage error, as the README says).
//!
//! The targets here are tiny std servers on 127.0.0.1:0 that answer well, badly or
//! not at all; the probe against the real servers is in `echo_process.rs` and the
//! HTTP tests.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::{command, run};

const T: Duration = Duration::from_secs(30);

/// Serves every connection on a thread with `answer` (bounded to 8 connections).
fn tiny_server(answer: impl Fn(std::net::TcpStream) + Clone + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8).flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || answer(stream));
        }
    });
    addr
}

/// Reads a request head, then writes `response` and closes.
fn http_answer(response: &'static [u8]) -> impl Fn(std::net::TcpStream) + Clone + Send + 'static {
    move |mut s| {
        read_head(&mut s);
        let _ = s.write_all(response);
    }
}

const READY: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nready\n";
const SHUTTING_DOWN: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 14\r\nconnection: close\r\n\r\nshutting down\n";

fn read_head(s: &mut std::net::TcpStream) {
    let mut buf = [0u8; 4096];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

fn check(target: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["check", target];
    args.extend_from_slice(extra);
    let out = run(command(&args), T);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn http_2xx_is_healthy() {
    let addr = tiny_server(http_answer(READY));
    let (code, out) = check(&format!("http://{addr}/readyz"), &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("ok:") && out.contains("200"), "{out}");
}

#[test]
fn http_503_is_unhealthy_with_the_status_in_the_reason() {
    let addr = tiny_server(http_answer(SHUTTING_DOWN));
    let (code, out) = check(&format!("http://{addr}/readyz"), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("503") && out.contains("shutting down"),
        "{out}"
    );
    assert_eq!(out.trim().lines().count(), 1, "one line: {out}");
}

#[test]
fn tcp_echo_is_checked_by_its_answer() {
    let good = tiny_server(|s| {
        let mut line = String::new();
        let mut reader = BufReader::new(s.try_clone().expect("clone"));
        let _ = reader.read_line(&mut line);
        let _ = (&s).write_all(format!("Echo: {line}").as_bytes());
    });
    let (code, out) = check(&format!("tcp://{good}"), &[]);
    assert_eq!(code, Some(0), "{out}");

    let wrong = tiny_server(|s| {
        let _ = (&s).write_all(b"hello, I am not an echo server\n");
    });
    let (code, out) = check(&format!("tcp://{wrong}"), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("unexpected answer"), "{out}");
}

#[test]
fn closed_port_fails_with_a_reason() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let (code, out) = check(&format!("tcp://127.0.0.1:{port}"), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("connect"), "{out}");
}

#[test]
fn silent_target_times_out_on_time() {
    // Accepts and never answers.
    let addr = tiny_server(|s| {
        std::thread::sleep(Duration::from_secs(5));
        drop(s);
    });
    let started = Instant::now();
    let (code, out) = check(&format!("http://{addr}/healthz"), &["--timeout", "300ms"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no answer within 300ms"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "gave up near the timeout"
    );
}

/// Runs `asynclab check ARGS` and returns (exit code, stderr).
fn usage_error(args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let out = run(command(&all), T);
    assert!(out.stdout.is_empty(), "no probe ran");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_target_or_timeout_that_cannot_work_is_a_usage_error() {
    let (code, err) = usage_error(&["ftp://127.0.0.1:21"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unsupported target"), "{err}");

    // No scheme: the README's `check tcp://HOST:PORT` was meant.
    let (code, err) = usage_error(&["127.0.0.1:8080"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("tcp://HOST:PORT"), "{err}");

    // A zero deadline would fail every probe without trying.
    let addr = tiny_server(http_answer(READY));
    let (code, err) = usage_error(&[&format!("http://{addr}/readyz"), "--timeout", "0s"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--timeout") && err.contains("longer than zero"),
        "{err}"
    );
}

#[test]
fn a_body_of_several_lines_is_summed_up_on_one() {
    let addr = tiny_server(http_answer(
        b"HTTP/1.1 200 OK\r\ncontent-length: 29\r\nconnection: close\r\n\r\n\nhello\r\nsecond line\n\x1b[31mred\n",
    ));
    let (code, out) = check(&format!("http://{addr}/"), &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), 1, "one line: {out:?}");
    assert!(out.trim_end().ends_with("200 OK hello ..."), "{out:?}");
}
