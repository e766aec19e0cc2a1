//! `docs/patterns.md`, run for real: every `curl` and `asynclab` command in the
//! guide's ```sh blocks is run against a live `asynclab serve` with the default
//! configuration, and must succeed; plus an end-to-end test of the `/events` feed
//! the guide describes (HTTP and echo events, and the end on SIGTERM).
//!
//! How the guide is read (so it can be written for people, not for this test):
//! - each ```sh block runs top to bottom; a command ending in `&` runs in the
//!   background and is waited for at a `wait` line or at the end of the block;
//! - `asynclab serve ...` with arguments (and `NAME=value` in front) starts that
//!   server, on free ports, for the rest of its block; its `--set http.addr=` and
//!   `--set echo.addr=` ports are rewritten to the real ones, as are `:8080` and
//!   `:7000` everywhere else (the shared default server);
//! - other lines (`kill`, `nc`, ...) are for people at a terminal and are skipped;
//! - `-d`/`--duration` above 1s is shortened to 1s; nothing else is changed;
//! - success: exit status 0 within a bound, and every HTTP status curl got is below
//!   400, or equal to the one named in a trailing comment (`curl ... # 504`). curl
//!   reports its statuses through a `.curlrc` in a temporary `CURL_HOME`, so the
//!   commands run exactly as written.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GUIDE: &str = include_str!("../../docs/patterns.md");

/// The most any one command may take (the longest in the guide takes about 5 s).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Load runs longer than this are shortened to it (the test checks that commands work, not figures).
const LONGEST_LOAD_SECS: f64 = 1.0;

/// What curl prints on stderr after every transfer (set through `.curlrc`).
const STATUS_MARK: &str = "guide-test: HTTP status ";

/// The default addresses the guide uses.
const DEFAULT_HTTP: &str = "127.0.0.1:8080";
const DEFAULT_ECHO: &str = "127.0.0.1:7000";

/// One line of a ```sh block that the test acts on.
#[derive(Debug)]
enum Step {
    /// `[NAME=value ...] asynclab serve|http|echo ARGS`: a server for the rest of the block.
    Serve {
        env: Vec<(String, String)>,
        args: Vec<String>,
    },
    /// A `curl` or `asynclab` command.
    Run(Run),
    /// `wait` (with or without job numbers).
    Wait,
}

#[derive(Debug, Clone)]
struct Run {
    /// The command as written (without a trailing `&` and comment).
    line: String,
    background: bool,
    /// The HTTP status named in a trailing `# NNN` comment.
    expect: Option<u16>,
}

/// The ```sh blocks, each as the steps the test takes.
fn blocks(guide: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    for line in guide.lines() {
        let trimmed = line.trim();
        match &mut current {
            None if trimmed == "```sh" => current = Some(Vec::new()),
            None => {}
            Some(steps) if trimmed == "```" => {
                blocks.push(std::mem::take(steps));
                current = None;
            }
            Some(steps) => steps.extend(step(trimmed)),
        }
    }
    assert!(current.is_none(), "an unclosed ```sh block in the guide");
    blocks
}

fn step(line: &str) -> Option<Step> {
    let (code, comment) = match line.find(" #") {
        Some(at) => (line[..at].trim(), Some(line[at + 2..].trim())),
        None => (line, None),
    };
    if code.is_empty() || code.starts_with('#') {
        return None;
    }
    if code == "wait" || code.starts_with("wait ") {
        return Some(Step::Wait);
    }
    let (code, background) = match code.strip_suffix('&') {
        Some(rest) if !rest.ends_with('&') => (rest.trim(), true),
        _ => (code, false),
    };
    let words: Vec<&str> = code.split_whitespace().collect();
    let first = words.iter().position(|w| !is_assignment(w))?;
    match (words[first], words.get(first + 1)) {
        ("asynclab", Some(&("serve" | "http" | "echo"))) => {
            let env = words[..first]
                .iter()
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let args = words[first + 1..].iter().map(|w| w.to_string()).collect();
            Some(Step::Serve { env, args })
        }
        ("asynclab" | "curl", _) => Some(Step::Run(Run {
            line: code.to_string(),
            background,
            expect: comment
                .and_then(|c| c.split_whitespace().next())
                .and_then(|w| w.trim_end_matches(':').parse().ok()),
        })),
        _ => None,
    }
}

/// `NAME=value` in front of a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    })
}

/// The folder the repository (and its `public/`) is in.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// `asynclab <args>` on free ports, from the repository folder (where
/// `files.root = "public"` points), as someone following the guide would run it.
fn start_server(env: &[(String, String)], args: &[String]) -> common::Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = common::command(&args);
    cmd.current_dir(repo_root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::Server::start_with(cmd)
}

/// `host:port` rewrites that point a block's commands at real servers.
fn rewrites(server: &common::Server, args: &[String]) -> Vec<(String, String)> {
    let set = |key: &str, default: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("{key}=")))
            .unwrap_or(default)
            .to_string()
    };
    let mut map = Vec::new();
    if let Some(http) = server.http {
        map.push((set("http.addr", DEFAULT_HTTP), http.to_string()));
    }
    if let Some(echo) = server.echo {
        map.push((set("echo.addr", DEFAULT_ECHO), echo.to_string()));
    }
    map
}

/// The command as it will run: addresses rewritten, long loads shortened, the
/// `asynclab` word pointed at the binary under test.
fn prepare(line: &str, addresses: &[(String, String)]) -> String {
    let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
    for word in &mut words {
        for (from, to) in addresses {
            *word = word.replace(from.as_str(), to);
        }
    }
    for i in 1..words.len() {
        if (words[i - 1] == "-d" || words[i - 1] == "--duration")
            && secs(&words[i]) > LONGEST_LOAD_SECS
        {
            words[i] = format!("{LONGEST_LOAD_SECS}s");
        }
    }
    if let Some(first) = words.iter_mut().find(|w| !is_assignment(w))
        && first == "asynclab"
    {
        *first = common::binary().display().to_string();
    }
    words.join(" ")
}

/// `10s`, `1m`, `500ms` in seconds (0 for anything else).
fn secs(text: &str) -> f64 {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let value: f64 = digits.parse().unwrap_or(0.0);
    match &text[digits.len()..] {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => 0.0,
    }
}

/// A command running under `timeout`, its output going to files.
struct Running {
    run: Run,
    prepared: String,
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

fn spawn(run: &Run, addresses: &[(String, String)], scratch: &Path, n: usize) -> Running {
    let prepared = prepare(&run.line, addresses);
    let out = scratch.join(format!("{n}.out"));
    let err = scratch.join(format!("{n}.err"));
    // coreutils `timeout` puts the command in a process group of its own and, when
    // time is up, signals that whole group: a pipeline or a backgrounded load run
    // cannot outlive the test.
    let limit = format!("{}", COMMAND_TIMEOUT.as_secs());
    let mut cmd = Command::new("timeout");
    cmd.args(["--kill-after=5", &limit, "sh", "-c", &prepared])
        .current_dir(repo_root())
        .env("CURL_HOME", scratch)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ASYNCLAB_") {
            cmd.env_remove(key);
        }
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{prepared}`: {e}"));
    Running {
        run: run.clone(),
        prepared,
        child,
        out,
        err,
    }
}

/// Waits for the command and checks it succeeded; returns a failure message if not.
fn finish(mut running: Running) -> Result<(), String> {
    // `timeout` ends the command; this bound only guards against `timeout` itself.
    let status = common::wait_timeout(&mut running.child, COMMAND_TIMEOUT * 2);
    if status.is_none() {
        let _ = running.child.kill();
        let _ = running.child.wait();
    }
    let out = std::fs::read_to_string(&running.out).unwrap_or_default();
    let err = std::fs::read_to_string(&running.err).unwrap_or_default();
    let report = |why: String| {
        format!(
            "`{}` (run as `{}`): {why}\n--- stdout\n{out}\n--- stderr\n{err}",
            running.run.line, running.prepared
        )
    };
    match status {
        None => return Err(report("`timeout` itself did not end".into())),
        // 124: `timeout` stopped it (137 if it had to use SIGKILL).
        Some(s) if matches!(s.code(), Some(124 | 137)) => {
            return Err(report(format!("still running after {COMMAND_TIMEOUT:?}")));
        }
        Some(s) if !s.success() => return Err(report(format!("failed: {s}"))),
        Some(_) => {}
    }
    let statuses: Vec<u16> = err
        .lines()
        .filter_map(|l| l.strip_prefix(STATUS_MARK))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if running.run.line.starts_with("curl") && statuses.is_empty() {
        return Err(report("curl reported no HTTP status".into()));
    }
    for status in statuses {
        let fine = match running.run.expect {
            Some(expected) => status == expected,
            // 0: curl got no answer, and the command as written handled that.
            None => status < 400,
        };
        if !fine {
            return Err(report(format!(
                "HTTP status {status} (the guide says {})",
                running.run.expect.map_or("2xx".into(), |s| s.to_string())
            )));
        }
    }
    Ok(())
}

#[test]
fn every_command_in_the_patterns_guide_works_against_a_default_server() {
    let blocks = blocks(GUIDE);
    let commands = blocks
        .iter()
        .flatten()
        .filter(|s| matches!(s, Step::Run(_)))
        .count();
    assert!(
        commands >= 20,
        "found only {commands} commands in the guide"
    );

    let curl = Command::new("curl").arg("--version").output();
    assert!(
        curl.is_ok_and(|o| o.status.success()),
        "the guide's commands need curl (apt-get install -y curl)"
    );

    let scratch = common::temp_dir("patterns-guide");
    std::fs::write(
        scratch.join(".curlrc"),
        format!("write-out = \"%{{stderr}}{STATUS_MARK}%{{http_code}}\\n\"\n"),
    )
    .expect("write .curlrc");

    let default = start_server(&[], &["serve".to_string()]);
    let default_addresses = rewrites(&default, &[]);
    let mut failures = Vec::new();
    let mut n = 0;
    for block in &blocks {
        let mut addresses = default_addresses.clone();
        // A server the block starts lives until the end of the block.
        let mut own_server = None;
        let mut background = Vec::new();
        for step in block {
            match step {
                Step::Serve { env, args } if env.is_empty() && args == &["serve"] => {}
                Step::Serve { env, args } => {
                    let server = start_server(env, args);
                    // The block's own addresses first: they are more specific.
                    let mut own = rewrites(&server, args);
                    own.extend(addresses);
                    addresses = own;
                    own_server = Some(server);
                }
                Step::Run(run) => {
                    n += 1;
                    let running = spawn(run, &addresses, &scratch, n);
                    if run.background {
                        background.push(running);
                    } else {
                        failures.extend(finish(running).err());
                    }
                }
                Step::Wait => failures.extend(background.drain(..).filter_map(|r| finish(r).err())),
            }
        }
        failures.extend(background.drain(..).filter_map(|r| finish(r).err()));
        drop(own_server);
    }
    assert!(
        failures.is_empty(),
        "{} of {n} guide commands failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_guide_reader_finds_servers_backgrounds_and_expected_statuses() {
    let steps = blocks(
        "text\n```sh\nTOKIO_WORKER_THREADS=1 asynclab serve --set http.addr=127.0.0.1:8081 &\n\
         curl -i 'http://127.0.0.1:8081/block?ms=1' # 403\nasynclab load http://x/ -d 10s &\n\
         kill %1\nwait %2\n```\n```text\ncurl not-a-command\n```\n",
    );
    assert_eq!(steps.len(), 1, "only sh blocks: {steps:?}");
    let steps = &steps[0];
    assert!(
        matches!(&steps[0], Step::Serve { env, args } if env == &[("TOKIO_WORKER_THREADS".to_string(), "1".to_string())] && args[0] == "serve")
    );
    assert!(matches!(&steps[1], Step::Run(r) if r.expect == Some(403) && !r.background));
    assert!(matches!(&steps[2], Step::Run(r) if r.background && r.expect.is_none()));
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
    let mut server = start_server(&[], &["serve".to_string()]);
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
