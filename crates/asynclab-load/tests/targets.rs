//! How the generator meets its target: credentials in the URL, a port nothing
//! listens on, and a server that says goodbye.

mod servers;
mod support;

use std::time::Duration;

use asynclab_core::config::Config;
use asynclab_core::{Metrics, Shutdown};
use asynclab_load::{Control, EchoMode, ErrorKind};
use support::*;

/// `http://user:pw@host/` sends `Authorization: Basic ...` as curl does, and a
/// `Host` without the credentials (the server answers 400 to one with them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_url_are_sent_as_basic_auth() {
    let (addr, _) = servers::http().await;
    let url = format!("http://user:pw@{addr}/auth");
    let settings = count(
        asynclab_load::Settings::new(url.parse().expect("valid URL")),
        10,
        2,
    );
    let report = load(&settings).await;
    assert_eq!(report.status.get("200"), Some(&10), "{:?}", report.status);
    assert_eq!(
        report.target,
        format!("http://{addr}/auth"),
        "no password in the report"
    );
    // Without the credentials: 401.
    let report = load(&count(http(addr, "/auth"), 10, 2)).await;
    assert_eq!(report.status.get("401"), Some(&10), "{:?}", report.status);
}

/// A refused connection is tried again after a backoff, not as fast as the loop
/// can spin: in half a second one connection makes a handful of attempts (10 ms,
/// doubling up to 200 ms), not tens of thousands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_retried_with_a_backoff() {
    let addr = servers::refused().await;
    let mut settings = http(addr, "/");
    (settings.connections, settings.duration) = (1, Some(Duration::from_millis(500)));
    let report = load_within(&settings, &Control::default(), Duration::from_secs(3)).await;
    let refused = errors(&report, ErrorKind::ConnectRefused);
    assert_eq!(refused, report.requests.started);
    assert!((3..=12).contains(&refused), "{refused} attempts in 500 ms");
}

/// The asynclab echo server, stopped during a run, tells each connection `server
/// shutting down` and closes: counted as closed by the server, not as a wrong echo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_servers_farewell_is_closed_by_server_not_a_mismatch() {
    let shutdown = Shutdown::with_grace(Duration::from_secs(1));
    let server =
        asynclab_echo::Server::new(Config::builtin().echo, Metrics::new(), shutdown.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(server.run(listener));
    let mut settings = echo(addr, EchoMode::Line);
    // Slow enough that connections sit idle between messages, where the farewell
    // is said.
    (settings.connections, settings.rate) = (4, Some(100.0));
    settings.duration = Some(Duration::from_millis(1000));
    let stopper = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stopper.stop();
    });
    let report = load(&settings).await;
    assert!(report.requests.ok > 0, "{:?}", report.requests);
    assert_eq!(
        errors(&report, ErrorKind::EchoMismatch),
        0,
        "{:?}",
        report.errors
    );
    assert!(
        errors(&report, ErrorKind::Closed) >= 1,
        "{:?}",
        report.errors
    );
}
