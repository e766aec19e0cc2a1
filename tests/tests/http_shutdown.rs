//! The HTTP server as a real process, stopped the way Kubernetes stops it.
//!
//! On SIGTERM (or ctrl-c): `/readyz` turns 503 at once while everything else keeps
//! working for `shutdown.readiness_delay`; then the listener closes (new
//! connections are refused) while requests already in flight finish with 200;
//! the process exits 0 when nothing was cut. A second signal exits at once.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Server, command, get, run};

const EXIT: Duration = Duration::from_secs(20);

fn in_background(addr: SocketAddr, path: &'static str) -> JoinHandle<(u16, String)> {
    std::thread::spawn(move || get(addr, path))
}

/// Polls `/stats` until at least `n` requests are in flight (itself included).
fn wait_in_flight(addr: SocketAddr, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, stats) = get(addr, "/stats");
        let now: u64 = stats
            .split("\"requests_in_flight\":")
            .nth(1)
            .and_then(|rest| {
                rest.trim_start()
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
            })
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(0);
        if now >= n {
            return;
        }
        assert!(Instant::now() < deadline, "never {n} in flight: {stats}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn drains_on(signal: &str) {
    let mut server = Server::start(&[
        "http",
        "--set",
        "shutdown.readiness_delay=1s",
        "--set",
        "shutdown.grace=10s",
    ]);
    let addr = server.http.expect("http address in the banner");
    let slow: Vec<_> = (0..3)
        .map(|_| in_background(addr, "/slow?delay=4s"))
        .collect();
    wait_in_flight(addr, 4);

    server.signal(signal);
    assert!(
        server.wait_for_log("shutdown requested", Duration::from_secs(10)),
        "{}",
        server.logs()
    );
    // Step 1 and 2: not ready any more, but still serving.
    assert_eq!(get(addr, "/readyz"), (503, "shutting down\n".into()));
    assert_eq!(get(addr, "/fast"), (200, "Fast response\n".into()));
    let check = run(
        command(&["check", &format!("http://{addr}/readyz")]),
        Duration::from_secs(10),
    );
    assert_eq!(check.status.code(), Some(1), "check fails during the drain");

    // Step 3: after the readiness delay the listener is closed, while the slow
    // requests (4 s) are still running, so the process is still up.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "the listener never closed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        slow.iter().all(|t| !t.is_finished()),
        "the refusal was seen while requests were still in flight"
    );

    // Step 4 and 5: they finish with 200; the process exits 0.
    for t in slow {
        assert_eq!(
            t.join().expect("client thread"),
            (200, "Slow response\n".into())
        );
    }
    let status = server.wait(EXIT);
    assert_eq!(status.code(), Some(0), "logs:\n{}", server.logs());
    let logs = server.logs();
    assert!(logs.contains("asynclab stopped"), "{logs}");
    assert!(logs.contains("\"http_requests_cut\":0"), "{logs}");
}

#[test]
fn sigterm_drains_http_and_exits_zero() {
    drains_on("TERM");
}

#[test]
fn ctrl_c_drains_http_and_exits_zero() {
    drains_on("INT");
}

#[test]
fn second_signal_exits_at_once_even_with_requests_in_flight() {
    let mut server = Server::start(&["http", "--set", "shutdown.readiness_delay=60s"]);
    let addr = server.http.expect("http address");
    let _slow = in_background(addr, "/slow?delay=30s");
    wait_in_flight(addr, 2);
    server.signal("TERM");
    assert!(
        server.wait_for_log("shutdown requested", Duration::from_secs(10)),
        "{}",
        server.logs()
    );
    let started = Instant::now();
    server.signal("TERM");
    let status = server.wait(Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "logs:\n{}", server.logs());
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Work still running when the grace period ends is cut: its client gets a 503
/// (not an empty reply), the stop summary is a WARN that counts it, and the
/// process exits 1.
#[test]
fn work_cut_at_the_deadline_gets_503_and_a_warning() {
    let mut server = Server::start(&["http", "--set", "shutdown.grace=500ms"]);
    let addr = server.http.expect("http address");
    let slow = in_background(addr, "/slow?delay=20s");
    wait_in_flight(addr, 2);
    server.signal("TERM");
    let (status, body) = slow.join().expect("client thread");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("shutting down"), "{body}");
    let exit = server.wait(EXIT);
    assert_eq!(exit.code(), Some(1), "logs:\n{}", server.logs());
    let logs = server.logs();
    let summary = logs
        .lines()
        .find(|l| l.contains("asynclab stopped"))
        .unwrap_or_else(|| panic!("no summary in:\n{logs}"));
    assert!(summary.contains("\"level\":\"WARN\""), "{summary}");
    assert!(summary.contains("\"http_requests_cut\":1"), "{summary}");
}

/// A WebSocket that never answers the server's 1001 is cut at the end of the
/// grace period: the stop summary counts it and the process exits 1.
#[test]
fn a_websocket_cut_at_the_deadline_is_in_the_stop_summary() {
    use std::io::{Read, Write};
    let mut server = Server::start(&["http", "--set", "shutdown.grace=500ms"]);
    let addr = server.http.expect("http address");
    let mut ws = std::net::TcpStream::connect(addr).expect("connect");
    ws.write_all(
        b"GET /ws/echo HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .expect("handshake");
    ws.set_read_timeout(Some(EXIT)).expect("read timeout");
    let mut head = [0u8; 12];
    ws.read_exact(&mut head).expect("the answer");
    assert_eq!(&head, b"HTTP/1.1 101");
    server.signal("TERM");
    let exit = server.wait(EXIT);
    assert_eq!(exit.code(), Some(1), "logs:\n{}", server.logs());
    let logs = server.logs();
    let summary = logs
        .lines()
        .find(|l| l.contains("asynclab stopped"))
        .unwrap_or_else(|| panic!("no summary in:\n{logs}"));
    assert!(summary.contains("\"level\":\"WARN\""), "{summary}");
    assert!(summary.contains("\"http_websockets_cut\":1"), "{summary}");
    assert!(summary.contains("\"http_requests_cut\":0"), "{summary}");
}
