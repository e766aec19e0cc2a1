//! The access log, read from the binary's stderr: client errors (4xx) are the
//! client's news and stay out of the default (info) log however many come;
//! at debug, their line names the path, cut to a bounded length and with
//! characters a terminal would not show as they are escaped.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{Server, get};

/// The `request` lines of JSON logs.
fn request_lines(logs: &str) -> Vec<serde_json::Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|event| event["message"] == "request")
        .collect()
}

/// A GET of raw path bytes (UTF-8 that curl would percent-encode); the status.
fn get_raw(addr: SocketAddr, path: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(path);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(&req).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {answer:?}"))
}

#[test]
fn client_errors_stay_out_of_the_default_log() {
    let server = Server::start(&["http", "--set", "http.request_timeout=200ms"]);
    let http = server.http.expect("http address");
    for _ in 0..200 {
        assert_eq!(get(http, "/nope").0, 404);
    }
    // A server error is logged at info: once its line is there, the 404s'
    // would be too, had they been written.
    assert_eq!(get(http, "/slow?delay=5s").0, 503);
    assert!(
        server.wait_for_log("\"status\":503", Duration::from_secs(10)),
        "{}",
        server.logs()
    );
    let lines = request_lines(&server.logs());
    assert_eq!(lines.len(), 1, "only the 503 is logged: {lines:#?}");
    assert_eq!(lines[0]["route"], "/slow");
}

#[test]
fn at_debug_a_client_errors_line_names_its_path_bounded_and_escaped() {
    let server = Server::start(&["http", "--log-level", "debug"]);
    let http = server.http.expect("http address");
    assert_eq!(get(http, "/nope").0, 404);
    let long = format!("/nope-{}", "a".repeat(1000));
    assert_eq!(get(http, &long).0, 404);
    // A right-to-left override, as a path may carry to disguise a log line.
    assert_eq!(get_raw(http, "/nope-\u{202e}é\"x".as_bytes()), 404);
    let done = |logs: &str| {
        request_lines(logs)
            .iter()
            .filter(|l| l["status"] == 404)
            .count()
            == 3
    };
    for _ in 0..500 {
        if done(&server.logs()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let lines = request_lines(&server.logs());
    let paths: Vec<&str> = lines
        .iter()
        .filter(|l| l["status"] == 404)
        .map(|l| l["path"].as_str().expect("a 404 line names its path"))
        .collect();
    assert_eq!(paths.len(), 3, "{lines:#?}");
    assert_eq!(paths[0], "/nope");
    assert_eq!(paths[1].chars().count(), 256 + 1, "{}", paths[1]);
    assert!(paths[1].starts_with("/nope-aaa") && paths[1].ends_with("a…"));
    assert_eq!(paths[2], "/nope-\\u{202e}é\"x");
    assert!(
        lines.iter().all(|l| l["route"] != "/nope"),
        "routes are templates"
    );
}
