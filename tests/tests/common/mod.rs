//! Helpers for black-box tests: run the real `asynclab` binary as a child process.
//!
//! Like zero-to-production's `spawn_app`, a test asks for a running server and gets
//! back its real addresses: the servers bind port 0 and the helper reads the
//! `listening on` lines of the startup banner (or, with JSON logs, the addresses in
//! the `asynclab started` event). Signals are real (`kill -TERM`), and
//! every wait is bounded so a broken server fails the test instead of hanging it.

#![allow(dead_code)] // each test binary uses a different subset

pub mod guide;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long the banner may take to appear (a cold debug binary on a busy box).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The `asynclab` binary, built (or found up to date) once per test binary.
pub fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // Test binaries live in target/<profile>/deps/; the command is one level up.
        let exe = std::env::current_exe().expect("test binary path");
        let dir = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target/<profile>");
        let bin = dir.join(format!("asynclab{}", std::env::consts::EXE_SUFFIX));
        // `cargo test --workspace` builds it (the asynclab package has integration
        // tests); when only this package is tested, build it here so it is current.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut build = Command::new(cargo);
        build
            .args(["build", "-q", "-p", "asynclab", "--bin", "asynclab"])
            .current_dir(&workspace);
        if dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p asynclab failed");
        assert!(
            bin.exists(),
            "asynclab binary not found at {}",
            bin.display()
        );
        bin
    })
    .clone()
}

/// A `Command` for the binary with a clean slate: no inherited `ASYNCLAB_*` or
/// `RUST_LOG`, JSON logs, and the working directory set to a fresh temp folder.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args);
    clean_env(&mut cmd);
    cmd
}

/// Like [`command`], run under `prlimit --nofile=SOFT:HARD` (util-linux), so the
/// binary starts with that open-files limit.
pub fn command_with_open_files(nofile: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={nofile}"))
        .arg("--")
        .arg(binary())
        .args(args);
    clean_env(&mut cmd);
    cmd
}

/// No `ASYNCLAB_*` or `RUST_LOG` from the test's environment, and no colours.
fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars() {
        if key.starts_with("ASYNCLAB_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("NO_COLOR", "1");
}

/// Runs the binary to completion (bounded by `timeout`) and returns its output.
pub fn run(mut cmd: Command, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn asynclab");
    let stdout = drain_in_background(child.stdout.take().expect("stdout piped"));
    let stderr = drain_in_background(child.stderr.take().expect("stderr piped"));
    let status = wait_timeout(&mut child, timeout).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("asynclab did not finish within {timeout:?}")
    });
    Output {
        status,
        stdout: join_bytes(stdout),
        stderr: join_bytes(stderr),
    }
}

fn drain_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn join_bytes(handle: std::thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    handle.join().unwrap_or_default()
}

/// Polls `child` until it exits or `timeout` passes.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `asynclab` server process. Killed on drop if still running.
pub struct Server {
    child: Child,
    pub http: Option<SocketAddr>,
    pub echo: Option<SocketAddr>,
    /// The HTTPS listener, when `tls.addr` is set.
    pub https: Option<SocketAddr>,
    /// The self-signed certificate's file, when the server made one.
    pub cert: Option<PathBuf>,
    logs: Arc<Mutex<String>>,
    /// Disconnected once the stderr reader has read everything (the pipe closed).
    logs_done: mpsc::Receiver<()>,
    output: Arc<Mutex<String>>,
}

/// What a JSON `asynclab started` log line says: http, echo and https
/// addresses, and the self-signed certificate's path.
type Started = (
    Option<SocketAddr>,
    Option<SocketAddr>,
    Option<SocketAddr>,
    Option<PathBuf>,
);

/// The addresses in a JSON `asynclab started` log line, if `line` is one.
fn started_event(line: &str) -> Option<Started> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    if event["message"] != "asynclab started" {
        return None;
    }
    let addr = |field: &str, scheme: &str| {
        event[field].as_str().map(|url| {
            // The echo server's address is `tls://` with `echo.tls`.
            url.trim_start_matches(scheme)
                .trim_start_matches("tls://")
                .parse()
                .expect("a socket address in the started event")
        })
    };
    Some((
        addr("http", "http://"),
        addr("echo", "tcp://"),
        addr("https", "https://"),
        event["self_signed_cert"].as_str().map(PathBuf::from),
    ))
}

impl Server {
    /// Starts `asynclab <args>` with both servers on port 0 (unless the args say
    /// otherwise) and waits for the banner.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(command(args))
    }

    /// Starts a prepared command and waits for its banner.
    pub fn start_with(mut cmd: Command) -> Self {
        cmd.args([
            "--set",
            "http.addr=127.0.0.1:0",
            "--set",
            "echo.addr=127.0.0.1:0",
        ]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn asynclab");

        // Both pipes are read on threads of their own and every line also goes
        // down one channel, so the addresses can come from either: the banner on
        // stdout (pretty logs), or the `asynclab started` event on stderr (JSON logs,
        // where the banner is left out).
        let (tx, rx) = mpsc::channel::<String>();
        let logs = Arc::new(Mutex::new(String::new()));
        let (logs_end, logs_done) = mpsc::channel::<()>();
        let stderr = child.stderr.take().expect("stderr piped");
        let (sink, lines) = (logs.clone(), tx.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut logs = sink.lock().expect("log buffer");
                logs.push_str(&line);
                logs.push('\n');
                drop(logs);
                let _ = lines.send(line);
            }
            drop(logs_end);
        });
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("stdout piped");
        let sink = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut output = sink.lock().expect("stdout buffer");
                output.push_str(&line);
                output.push('\n');
                drop(output);
                let _ = tx.send(line);
            }
        });

        let (mut http, mut echo, mut https, mut cert) = (None, None, None, None);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        http = Some(rest.trim().parse().expect("http address"));
                    }
                    // `tls://` with `echo.tls`.
                    let echo_line = ["listening on tcp://", "listening on tls://"]
                        .iter()
                        .find_map(|at| line.split(at).nth(1));
                    if let Some(rest) = echo_line {
                        echo = Some(rest.trim().parse().expect("echo address"));
                    }
                    if let Some(rest) = line.split("listening on https://").nth(1) {
                        https = Some(rest.trim().parse().expect("https address"));
                    }
                    if let Some(rest) = line.split("self-signed certificate: ").nth(1) {
                        cert = Some(PathBuf::from(rest.trim()));
                    }
                    if line.starts_with("stop with") {
                        break;
                    }
                    if let Some(started) = started_event(&line) {
                        (http, echo, https, cert) = started;
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let logs = logs.lock().expect("log buffer").clone();
                    panic!("asynclab printed no banner within {START_TIMEOUT:?}; stderr:\n{logs}");
                }
            }
        }
        // Keep taking lines so the reader threads never block on the channel.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Self {
            child,
            http,
            echo,
            https,
            cert,
            logs,
            logs_done,
            output,
        }
    }

    /// Everything the process has written to stdout so far.
    pub fn stdout(&self) -> String {
        self.output.lock().expect("stdout buffer").clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a real signal (`TERM`, `INT`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit; panics (after killing it) past `timeout`.
    /// Once it has exited, also waits (bounded) until its last log lines are read:
    /// the process can end before the reader thread has taken them from the pipe.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        match wait_timeout(&mut self.child, timeout) {
            Some(status) => {
                let _ = self.logs_done.recv_timeout(Duration::from_secs(5));
                status
            }
            None => {
                let _ = self.child.kill();
                panic!(
                    "asynclab did not exit within {timeout:?}; logs:\n{}",
                    self.logs()
                );
            }
        }
    }

    /// Everything the process has logged to stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("log buffer").clone()
    }

    /// Waits until the logs contain `needle` (bounded).
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A fresh, empty folder under the system temp dir for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "asynclab-test-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// One HTTP/1.1 GET on a fresh connection: (status code, body). Bounded by a read
/// timeout so a broken server fails the test instead of hanging it.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to http");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read response");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}
