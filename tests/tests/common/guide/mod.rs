//! Running a page of `docs/` for real: every `curl` and `asynclab` command in its
//! ```sh blocks is run against live servers, and must succeed. Shared by the test
//! binaries that check a page (`patterns_guide.rs`, `docs_pages.rs`).
//!
//! How a page is read (so it can be written for people, not for this test):
//! - each ```sh block runs top to bottom; a command ending in `&` runs in the
//!   background and is waited for at a `wait` line or at the end of the block;
//! - `asynclab serve ...` with arguments (and `NAME=value` in front) starts that
//!   server, on free ports, for the rest of its block; its `--set http.addr=` and
//!   `--set echo.addr=` ports are rewritten to the real ones, as are `:8080` and
//!   `:7000` everywhere else (on `127.0.0.1` or `localhost`: the page's default
//!   server, started with [`Guide::server`]); likewise `--set tls.addr=` and
//!   `:8443` for HTTPS, and `$CERT` becomes the self-signed certificate's path;
//! - `export NAME=value` lines set the environment of the page's server and of
//!   every command (see [`exports`]);
//! - other lines (`kill`, `nc`, `docker`, ...) are for people at a terminal and are
//!   skipped;
//! - `-d`/`--duration` above 1s is shortened to 1s; nothing else is changed;
//! - success: exit status 0 within a bound (or N, for a command ending in a
//!   `# exit N` comment), and every HTTP status curl got is below
//!   400, or equal to the one named in a trailing comment (`curl ... # 504`); words
//!   after that status (`# 200 Fast response`) must appear in what the command
//!   printed. curl reports its statuses through a `.curlrc` in a temporary
//!   `CURL_HOME`, so the commands run exactly as written;
//! - files a page shows (a fenced block starting `# shop.toml: ...`, see
//!   [`Guide::with_shown_files`]) are written into the page's folder, addresses
//!   rewritten, when the test asks for them.

mod read;

use read::shown_files;
pub use read::{Run, Step, blocks, exports, prepare};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The most any one command may take (the longest in the guide takes about 5 s).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Load runs longer than this are shortened to it (the test checks that commands work, not figures).
pub(crate) const LONGEST_LOAD_SECS: f64 = 1.0;

/// What curl prints on stderr after every transfer (set through `.curlrc`).
const STATUS_MARK: &str = "guide-test: HTTP status ";

/// The default addresses the guide uses.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";
const DEFAULT_ECHO: &str = "127.0.0.1:7000";
const DEFAULT_HTTPS: &str = "127.0.0.1:8443";

/// The folder the repository (and its `public/`) is in.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// `asynclab <args>` on free ports, from `dir` (where `files.root = "public"`
/// points), as someone following the page would run it.
pub fn start_server(dir: &Path, env: &[(String, String)], args: &[String]) -> super::Server {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    // An HTTPS listener the page turns on goes to a free port too.
    if args.iter().any(|a| a.starts_with("tls.addr=")) {
        args.extend(["--set", "tls.addr=127.0.0.1:0"]);
    }
    let mut cmd = super::command(&args);
    cmd.current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    super::Server::start_with(cmd)
}

/// `host:port` rewrites that point a block's commands at real servers.
fn rewrites(server: &super::Server, args: &[String]) -> Vec<(String, String)> {
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
    if let Some(https) = server.https {
        map.push((set("tls.addr", DEFAULT_HTTPS), https.to_string()));
    }
    // `$CERT` on a page: the self-signed certificate the banner printed.
    if let Some(cert) = &server.cert {
        map.push(("$CERT".into(), cert.display().to_string()));
    }
    // `localhost:8080` is the same server (the containers page writes it so).
    let aliases: Vec<_> = map
        .iter()
        .filter_map(|(from, to)| {
            let port = from.strip_prefix("127.0.0.1:")?;
            Some((format!("localhost:{port}"), to.clone()))
        })
        .collect();
    map.extend(aliases);
    map
}

/// A command running under `timeout`, its output going to files.
struct Running {
    run: Run,
    prepared: String,
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

fn spawn(
    run: &Run,
    addresses: &[(String, String)],
    guide: &Guide,
    scratch: &Path,
    n: usize,
) -> Running {
    let dir = &guide.dir;
    let prepared = prepare(&run.line, addresses);
    let out = scratch.join(format!("{n}.out"));
    let err = scratch.join(format!("{n}.err"));
    // coreutils `timeout` puts the command in a process group of its own and, when
    // time is up, signals that whole group: a pipeline or a backgrounded load run
    // cannot outlive the test.
    let limit = format!("{}", COMMAND_TIMEOUT.as_secs());
    let mut cmd = Command::new("timeout");
    cmd.args(["--kill-after=5", &limit, "sh", "-c", &prepared])
        .current_dir(dir)
        .env("CURL_HOME", scratch)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ASYNCLAB_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(guide.env.iter().map(|(k, v)| (k, v)));
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
    let status = super::wait_timeout(&mut running.child, COMMAND_TIMEOUT * 2);
    if status.is_none() {
        let _ = running.child.kill();
        let _ = running.child.wait();
    }
    // Lossy: a body may be binary (a compressed file).
    let read = |path: &Path| {
        String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
    };
    let (out, err) = (read(&running.out), read(&running.err));
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
        Some(s) if s.code() != Some(running.run.exit) => {
            let expected = match running.run.exit {
                0 => String::new(),
                n => format!(" (the guide says exit {n})"),
            };
            return Err(report(format!("failed: {s}{expected}")));
        }
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
    if let Some(text) = &running.run.expect_text
        && !out.contains(text.as_str())
    {
        return Err(report(format!("the output does not contain `{text}`")));
    }
    for status in statuses {
        let expected = &running.run.expect;
        // No status named: 0 (curl got no answer, and the command as written
        // handled that) or anything below 400.
        let fine = expected.contains(&status) || (expected.is_empty() && status < 400);
        if !fine {
            let said: Vec<String> = expected.iter().map(u16::to_string).collect();
            return Err(report(format!(
                "HTTP status {status} (the guide says {})",
                if said.is_empty() {
                    "2xx".into()
                } else {
                    said.join(" or ")
                }
            )));
        }
    }
    Ok(())
}

/// A page of `docs/` and how to run it.
#[derive(Debug)]
pub struct Guide {
    /// The page's text.
    pub text: &'static str,
    /// The folder commands and servers run in (holding a `public/`).
    pub dir: PathBuf,
    /// The arguments of the page's default server (`serve`, maybe `--config ...`).
    pub server: Vec<String>,
    /// The page's `export`s: the environment of its server and commands.
    pub env: Vec<(String, String)>,
    /// Files written into `dir` before the commands run (name, text), with the
    /// default server's addresses rewritten as in the commands.
    pub files: Vec<(String, String)>,
}

impl Guide {
    /// A page run from the repository folder against `asynclab serve`.
    pub fn new(text: &'static str) -> Self {
        Self {
            text,
            dir: repo_root(),
            server: vec!["serve".into()],
            env: exports(text),
            files: Vec::new(),
        }
    }

    /// The same, with the files the page shows (a fenced block starting
    /// `# shop.toml: ...`) written into `dir` before its commands run.
    pub fn with_shown_files(self) -> Self {
        Self {
            files: shown_files(self.text),
            ..self
        }
    }

    /// Runs every command of every ```sh block; returns how many ran and a
    /// message for each that failed.
    pub fn run(&self) -> (usize, Vec<String>) {
        let curl = Command::new("curl").arg("--version").output();
        assert!(
            curl.is_ok_and(|o| o.status.success()),
            "the pages' commands need curl (apt-get install -y curl)"
        );
        let scratch = super::temp_dir("guide");
        std::fs::write(
            scratch.join(".curlrc"),
            format!("write-out = \"%{{stderr}}{STATUS_MARK}%{{http_code}}\\n\"\n"),
        )
        .expect("write .curlrc");

        let default = start_server(&self.dir, &self.env, &self.server);
        let default_addresses = rewrites(&default, &[]);
        for (name, text) in &self.files {
            let text = default_addresses
                .iter()
                .fold(text.clone(), |text, (from, to)| {
                    text.replace(from.as_str(), to)
                });
            std::fs::write(self.dir.join(name), text).expect("write a file the page shows");
        }
        let mut failures = Vec::new();
        let mut n = 0;
        for block in &blocks(self.text) {
            let mut addresses = default_addresses.clone();
            // A server the block starts lives until the end of the block.
            let mut own_server = None;
            let mut background = Vec::new();
            for step in block {
                match step {
                    Step::Serve { env, args } if env.is_empty() && args == &self.server => {}
                    Step::Serve { env, args } => {
                        let server = start_server(&self.dir, env, args);
                        // The block's own addresses first: they are more specific.
                        let mut own = rewrites(&server, args);
                        own.extend(addresses);
                        addresses = own;
                        own_server = Some(server);
                    }
                    Step::Run(run) => {
                        n += 1;
                        let running = spawn(run, &addresses, self, &scratch, n);
                        if run.background {
                            background.push(running);
                        } else {
                            failures.extend(finish(running).err());
                        }
                    }
                    Step::Wait => {
                        failures.extend(background.drain(..).filter_map(|r| finish(r).err()))
                    }
                }
            }
            failures.extend(background.drain(..).filter_map(|r| finish(r).err()));
            drop(own_server);
        }
        (n, failures)
    }

    /// Runs the page and fails the test, listing every command that failed.
    pub fn run_and_check(&self, at_least: usize) {
        let (n, failures) = self.run();
        assert!(n >= at_least, "found only {n} commands in the page");
        assert!(
            failures.is_empty(),
            "{} of {n} commands failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

/// A copy of the repository's `public/` in a fresh folder, for pages whose
/// commands write files (uploads) that must not land in the repository.
pub fn with_public_copy(name: &str) -> PathBuf {
    let dir = super::temp_dir(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(repo_root().join("public"))
        .arg(&dir)
        .status()
        .expect("run cp");
    assert!(status.success(), "copy public/");
    dir
}
