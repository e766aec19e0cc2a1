//! `docs/patterns.md`, run for real: every `curl` and `asynclab` command in the
//! guide's ```sh blocks is run against a live `asynclab serve` with the default
//! configuration, and must succeed (how a page is read: `common/guide.rs`); plus
//! an end-to-end test of the `/events` feed the guide describes (HTTP and echo
//! events, and the end on SIGTERM), and the documented `/limited` run.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::guide::{DEFAULT_HTTP, Guide, Step, blocks, prepare, repo_root, start_server};

const GUIDE: &str = include_str!("../../docs/patterns.md");

#[test]
fn every_command_in_the_patterns_guide_works_against_a_default_server() {
    Guide::new(GUIDE).run_and_check(20);
}

#[test]
fn the_guide_reader_finds_servers_backgrounds_and_expected_statuses() {
    let steps = blocks(
        "text\n```sh\nTOKIO_WORKER_THREADS=1 asynclab serve --set http.addr=127.0.0.1:8081 &\n\
         curl -i 'http://127.0.0.1:8081/block?ms=1' # 403 forbidden\nasynclab load http://x/ -d 10s &\n\
         kill %1\nwait %2\n```\n```text\ncurl not-a-command\n```\n",
    );
    assert_eq!(steps.len(), 1, "only sh blocks: {steps:?}");
    let steps = &steps[0];
    assert!(
        matches!(&steps[0], Step::Serve { env, args } if env == &[("TOKIO_WORKER_THREADS".to_string(), "1".to_string())] && args[0] == "serve")
    );
    assert!(
        matches!(&steps[1], Step::Run(r) if r.expect == [403] && r.expect_text.as_deref() == Some("forbidden") && !r.background)
    );
    assert!(matches!(&steps[2], Step::Run(r) if r.background && r.expect.is_empty()));
    assert!(matches!(steps[3], Step::Wait), "kill is skipped: {steps:?}");
    let prepared = prepare(
        "asynclab load http://127.0.0.1:8080/fast -d 10s -c 10",
        &[(DEFAULT_HTTP.into(), "127.0.0.1:4321".into())],
    );
    assert!(
        prepared.ends_with(" load http://127.0.0.1:4321/fast -d 1s -c 10"),
        "{prepared}"
    );
}

#[test]
fn the_guide_reader_finds_expected_exit_statuses_and_the_files_a_page_shows() {
    let page = "```sh\nasynclab load http://x/ --fail-if 'p50>1ms' # exit 99\n\
                asynclab load http://x/ # 200 ok\n```\n\
                ```toml\n# shop.toml: a scenario\n[[request]]\n```\n\
                ```text\n# not a file name: just a comment\n```\n";
    let steps = blocks(page);
    assert!(matches!(&steps[0][0], Step::Run(r) if r.exit == 99 && r.expect.is_empty()));
    assert!(matches!(&steps[0][1], Step::Run(r) if r.exit == 0 && r.expect == [200]));
    assert_eq!(
        Guide::new(page).with_shown_files().files,
        [(
            "shop.toml".to_string(),
            "# shop.toml: a scenario\n[[request]]\n".to_string()
        )]
    );
}

/// The guide's **Code.** and **Test.** paragraphs name files and, after each, the
/// functions, types and tests in it; they must exist, so the guide cannot point at
/// code that was renamed or moved.
#[test]
fn every_file_function_and_test_the_guide_names_exists() {
    let root = repo_root();
    let mut checked = 0;
    let mut paragraph = String::new();
    let mut missing = Vec::new();
    for line in GUIDE.lines().chain([""]) {
        if !line.trim().is_empty() {
            paragraph.push_str(line);
            paragraph.push(' ');
            continue;
        }
        for part in ["**Code.**", "**Test.**"] {
            let Some(start) = paragraph.find(part) else {
                continue;
            };
            let text = &paragraph[start + part.len()..];
            let text = text.split("**").next().unwrap_or(text);
            let mut file: Option<PathBuf> = None;
            // Backticked names are at the odd positions of a split on '`'.
            for name in text.split('`').skip(1).step_by(2) {
                if name.ends_with(".rs") {
                    // `guard.rs` alone means the folder of the file named before it.
                    let path = match (name.contains('/'), &file) {
                        (false, Some(previous)) => previous.with_file_name(name),
                        _ => root.join(name),
                    };
                    if !path.is_file() {
                        missing.push(format!("file {name}"));
                    }
                    file = Some(path);
                    continue;
                }
                let item = name.trim_end_matches("()");
                let item = item.rsplit("::").next().unwrap_or(item);
                let Some(path) = &file else {
                    missing.push(format!("`{name}` names no file before it"));
                    continue;
                };
                let source = std::fs::read_to_string(path).unwrap_or_default();
                let defined = ["fn ", "struct ", "enum ", "type "]
                    .iter()
                    .any(|kind| source.contains(&format!("{kind}{item}")));
                if !defined {
                    missing.push(format!("`{name}` in {}", path.display()));
                }
                checked += 1;
            }
        }
        paragraph.clear();
    }
    assert!(checked >= 40, "only {checked} names found in the guide");
    assert!(
        missing.is_empty(),
        "the guide names what does not exist: {missing:#?}"
    );
}

/// Reads from `stream` until `needle` has arrived (bounded); returns all read so far.
fn read_until(stream: &mut TcpStream, seen: &mut String, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) && Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return seen.contains(needle),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return false,
        }
    }
    seen.contains(needle)
}

fn http_get(addr: SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect to the http server");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    stream
}

#[test]
fn events_show_http_and_echo_and_end_when_the_server_stops() {
    let mut server = start_server(&repo_root(), &[], &["serve".to_string()]);
    let http = server.http.expect("http address");
    let echo = server.echo.expect("echo address");

    let mut events = http_get(http, "/events");
    let mut seen = String::new();
    assert!(
        read_until(&mut events, &mut seen, "asynclab events"),
        "{seen}"
    );

    let mut fast = http_get(http, "/fast");
    let mut answer = String::new();
    assert!(
        read_until(&mut fast, &mut answer, "Fast response"),
        "{answer}"
    );
    let mut client = TcpStream::connect(echo).expect("connect to echo");
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    client.write_all(b"hello\n").expect("send a line");
    let mut echoed = String::new();
    assert!(read_until(&mut client, &mut echoed, "hello"), "{echoed}");
    drop(client);

    assert!(
        read_until(&mut events, &mut seen, "event: echo_close"),
        "{seen}"
    );
    assert!(seen.contains("\"route\":\"/fast\""), "{seen}");
    assert!(seen.contains("event: echo_open"), "{seen}");

    server.signal("TERM");
    assert!(
        read_until(&mut events, &mut seen, "event: shutdown"),
        "{seen}"
    );
    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "exit {status}; logs:\n{}", server.logs());
    let logs = server.logs();
    assert!(
        logs.contains("\"http_requests_cut\":0"),
        "the open stream did not hold up the drain:\n{logs}"
    );
}

/// The guide's `/limited` run with 50 clients, as written (not shortened), against
/// a server with the built-in defaults: its report must show the 503s the guide
/// says it shows. (With a queue timeout as long as the load generator's own
/// `--timeout`, it showed timeouts and no 503.)
#[test]
fn the_guides_limited_run_shows_503s_with_the_defaults() {
    let line = GUIDE
        .lines()
        .find(|l| l.starts_with("asynclab load") && l.contains("/limited -c 50"))
        .expect("the guide's /limited run with 50 clients");
    let server = start_server(&repo_root(), &[], &["http".to_string()]);
    let http = server.http.expect("http address").to_string();
    let args: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(|w| w.replace(DEFAULT_HTTP, &http))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run(common::command(&args), Duration::from_secs(60));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    let refused = report
        .lines()
        .skip_while(|l| l.trim() != "status codes")
        .find_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            ["503", n] => n.parse::<u64>().ok(),
            _ => None,
        });
    assert!(refused.is_some_and(|n| n > 0), "no 503 in:\n{report}");
}
