//! The echo server as a real process: started by the `asynclab` binary, stopped by
//! real signals. SIGTERM (what `docker stop` and Kubernetes send) and ctrl-c both
//! drain gracefully and exit 0; a second signal exits at once.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{Server, command, run};

const EXIT: Duration = Duration::from_secs(15);

/// A line-mode client with a read timeout so a broken server fails, not hangs.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect to echo");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Self {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).expect("send");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read a line");
        line
    }
}

fn echo_server() -> Server {
    Server::start(&["echo", "--set", "shutdown.grace=5s", "--log-level", "debug"])
}

fn drains_on(signal: &str) {
    let mut server = echo_server();
    let addr = server.echo.expect("echo address in the banner");
    assert!(
        server.http.is_none(),
        "`asynclab echo` runs the echo server alone"
    );

    let mut client = Client::connect(addr);
    client.send("hello\n");
    assert_eq!(client.line(), "Echo: hello\n");

    server.signal(signal);
    assert_eq!(client.line(), "server shutting down\n");
    assert_eq!(client.line(), "", "then the server closes the connection");

    let status = server.wait(EXIT);
    assert_eq!(status.code(), Some(0), "logs:\n{}", server.logs());
    let logs = server.logs();
    assert!(logs.contains("shutdown requested"), "{logs}");
    assert!(logs.contains("asynclab stopped"), "{logs}");
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens after exit"
    );
}

#[test]
fn sigterm_drains_and_exits_zero() {
    drains_on("TERM");
}

#[test]
fn ctrl_c_drains_and_exits_zero() {
    drains_on("INT");
}

#[test]
fn second_signal_exits_at_once_with_a_failure_status() {
    // A long readiness delay keeps the first shutdown in progress.
    let mut server = Server::start(&["echo", "--set", "shutdown.readiness_delay=60s"]);
    server.signal("TERM");
    assert!(
        server.wait_for_log("shutdown requested", Duration::from_secs(10)),
        "first signal noticed: {}",
        server.logs()
    );
    server.signal("TERM");
    let status = server.wait(Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "logs:\n{}", server.logs());
}

#[test]
fn check_probes_the_real_echo_server() {
    let server = echo_server();
    let addr = server.echo.expect("echo address");
    let out = run(
        command(&["check", &format!("tcp://{addr}")]),
        Duration::from_secs(30),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_busy_port_is_a_clear_startup_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = format!("echo.addr={}", taken.local_addr().expect("addr"));
    let out = run(command(&["echo", "--set", &addr]), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen on") && err.contains("echo.addr"),
        "{err}"
    );
}

#[test]
fn a_signal_sent_as_soon_as_the_banner_appears_is_handled() {
    // The handlers are installed before the banner is printed: a script that
    // signals the moment it sees the banner gets a graceful exit, never the OS
    // default (death by signal) or a lost signal (a hang).
    for _ in 0..3 {
        let mut server = Server::start(&["serve"]);
        server.signal("TERM");
        let status = server.wait(EXIT);
        assert_eq!(status.code(), Some(0), "logs:\n{}", server.logs());
    }
}

/// The `listen` backlog of the socket on `port`, as `ss` reports it (its Send-Q
/// column for a listening socket).
fn listen_backlog(port: u16) -> u32 {
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("run ss (iproute2)");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    fields
        .get(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("ss output: {text}"))
}

#[test]
fn listeners_use_the_configured_backlog() {
    let server = Server::start(&[
        "serve",
        "--set",
        "http.backlog=333",
        "--set",
        "echo.backlog=444",
    ]);
    assert_eq!(listen_backlog(server.http.expect("http").port()), 333);
    assert_eq!(listen_backlog(server.echo.expect("echo").port()), 444);
}
