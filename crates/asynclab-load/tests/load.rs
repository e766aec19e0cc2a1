//! The load generator against small servers on 127.0.0.1:0: exact counts, status
//! codes, echo checking, error kinds, the rate schedule and coordinated-omission
//! correction, and stopping. (The report's forms are in `report.rs`.)
//!
//! Every run is bounded by a small `-n` or a short duration, and every timing bound
//! is generous (or, for `--rate`, the 2% the issue asks for over a 2 s run).

mod servers;
mod support;

use std::time::Duration;

use asynclab_load::{Control, EchoMode, ErrorKind, Settings, Target, run};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_n_requests_are_sent_and_counted() {
    let (addr, seen) = servers::http().await;
    let report = load(&count(http(addr, "/"), 1000, 10)).await;
    assert_eq!(report.requests.started, 1000);
    assert_eq!(report.requests.responses, 1000);
    assert_eq!(report.requests.ok, 1000);
    assert_eq!(report.status["200"], 1000);
    assert_eq!(report.bytes.received, 13 * 1000);
    // The server saw exactly as many: none lost, none sent twice, none extra.
    assert_eq!(seen.requests(), 1000);
    // Keep-alive: one connection each.
    assert_eq!(seen.connections(), 10);
    let latency = report.latency_us.as_ref().expect("answers have latencies");
    assert!(latency.min <= latency.p50 && latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    assert_eq!(report.histogram.iter().map(|b| b.count).sum::<u64>(), 1000);
    assert!(report.verdict().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_can_run_on_runtime_threads_of_their_own() {
    let (addr, seen) = servers::http().await;
    let threads = asynclab_load::Runtimes::start(2, "load").expect("threads start");
    let settings = count(http(addr, "/"), 600, 6);
    let report = asynclab_load::run_on(&settings, &Control::default(), threads.handles())
        .await
        .expect("the run starts");
    threads.stop();
    assert_accounted(&report);
    assert_eq!(
        (report.requests.ok, seen.requests(), seen.connections()),
        (600, 600, 6)
    );
}

/// `-c 1000` means a thousand connections from the start, on the command's own
/// runtime threads too. Each connection's first request goes out before any
/// connection's second: the connections are spawned from inside their runtime, in
/// order. Spawned from outside, a busy runtime took in one new connection for every
/// 31 requests of those already running, and a short run measured far fewer
/// connections than asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_starts_before_any_makes_a_second_request() {
    let (addr, seen) = servers::http().await;
    let threads = asynclab_load::Runtimes::start(1, "load").expect("threads start");
    let mut settings = http(addr, "/");
    settings.connections = 1000;
    settings.duration = Some(Duration::from_secs(1));
    let report = asynclab_load::run_on(&settings, &Control::default(), threads.handles())
        .await
        .expect("the run starts");
    threads.stop();
    assert_accounted(&report);
    assert_eq!(seen.connections(), 1000);
    // The server may read the connections in a different order than they were
    // written to, but a second request exists only once every first one was sent.
    // With the old trickle this was about 31 requests per connection.
    assert!(
        seen.before_last_first() < 3 * 1000,
        "{} requests arrived before the last connection's first (of {} in all)",
        seen.before_last_first(),
        seen.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_codes_are_counted() {
    let (addr, _) = servers::http().await;
    let report = load(&count(http(addr, "/alternate"), 100, 4)).await;
    assert_eq!(report.status.get("200"), Some(&50));
    assert_eq!(report.status.get("500"), Some(&50));
    assert_eq!((report.requests.responses, report.requests.ok), (100, 50));
    // A 500 is an answer, not a transport error.
    assert_eq!(report.requests.errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_read_to_the_end_whatever_their_framing() {
    let chunked: usize = servers::CHUNKS.iter().map(|c| c.len()).sum();
    for (path, size) in [("/chunked", chunked), ("/big", servers::BIG)] {
        let (addr, seen) = servers::http().await;
        let report = load(&count(http(addr, path), 40, 2)).await;
        assert_eq!(report.requests.ok, 40, "{path}");
        assert_eq!(report.bytes.received, 40 * size as u64, "{path}");
        // Still one connection each (each connection's first request is its own, so
        // both are opened): every response ended where it should, so the next one
        // was read from the right place.
        assert_eq!(seen.connections(), 2, "{path}");
    }
    // HEAD: a length, but no body to wait for.
    let (addr, _) = servers::http().await;
    let settings = http_tuned(addr, |h| h.method = http::Method::HEAD);
    let report = load(&count(settings, 20, 2)).await;
    assert_eq!((report.requests.ok, report.bytes.received), (20, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge() {
    let (addr, seen) = servers::http().await;
    let settings = http_tuned(addr, |h| h.http2 = true);
    let report = load(&count(settings, 300, 3)).await;
    assert_eq!(report.protocol, "h2");
    assert_eq!(report.status["200"], 300);
    assert_eq!((seen.requests(), seen.connections()), (300, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_keepalive_connects_for_every_request() {
    let (addr, seen) = servers::http().await;
    let settings = http_tuned(addr, |h| h.keepalive = false);
    let report = load(&count(settings, 60, 4)).await;
    assert_eq!(report.requests.ok, 60);
    assert_eq!(seen.connections(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_round_trips_are_checked_in_both_modes() {
    for (mode, line_mode) in [(EchoMode::Line, true), (EchoMode::Raw, false)] {
        let (addr, seen) = servers::echo(line_mode, None).await;
        let report = load(&count(echo(addr, mode), 500, 5)).await;
        assert_eq!(
            (report.requests.responses, report.requests.errors),
            (500, 0),
            "{mode:?}"
        );
        assert_eq!(report.bytes.sent, 500 * 64, "{mode:?}");
        let prefix = if line_mode { 6 } else { 0 };
        assert_eq!(report.bytes.received, 500 * (64 + prefix), "{mode:?}");
        assert!(report.status.is_empty());
        if line_mode {
            assert_eq!(seen.requests(), 500);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_echo_is_a_mismatch() {
    let (addr, _) = servers::echo(true, Some(5)).await;
    // One connection, so the server's every-fifth count is exactly ours.
    let report = load(&count(echo(addr, EchoMode::Line), 50, 1)).await;
    assert_eq!(errors(&report, ErrorKind::EchoMismatch), 10);
    assert_eq!(report.requests.responses, 40);

    // Expecting the wrong prefix makes every answer a mismatch.
    let (addr, _) = servers::echo(true, None).await;
    let mut settings = count(echo(addr, EchoMode::Line), 20, 2);
    if let Target::Echo(e) = &mut settings.target {
        e.prefix = bytes::Bytes::from_static(b"Other: ");
    }
    let report = load(&settings).await;
    assert_eq!(errors(&report, ErrorKind::EchoMismatch), 20);
    assert_fails(&report, "echo mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_gives_timeouts() {
    let addr = servers::silent().await;
    let mut settings = count(http(addr, "/"), 6, 3);
    settings.timeout = Duration::from_millis(200);
    // Two rounds of 200 ms.
    let report = load_within(&settings, &Control::default(), Duration::from_secs(3)).await;
    assert_eq!(errors(&report, ErrorKind::Timeout), 6);
    assert_eq!(report.requests.responses, 0);
    assert_fails(&report, "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_behind_a_silent_server_does_not_stretch_the_run() {
    let addr = servers::silent().await;
    // 100 requests due in 500 ms over 4 connections, each timing out after 200 ms:
    // sending the whole backlog would take 25 × 200 ms = 5 s.
    let mut settings = paced(addr, "/", 4, 200.0, 500);
    settings.timeout = Duration::from_millis(200);
    let report = load_within(&settings, &Control::default(), Duration::from_secs(3)).await;
    assert_eq!(errors(&report, ErrorKind::Timeout), report.requests.started);
    assert!(report.requests.started < 100, "{:?}", report.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_gives_errors_and_the_run_ends_on_time() {
    let addr = servers::refused().await;
    for mut settings in [http(addr, "/"), echo(addr, EchoMode::Line)] {
        settings.duration = Some(Duration::from_millis(300));
        settings.connections = 4;
        let report = load_within(&settings, &Control::default(), Duration::from_secs(3)).await;
        assert!(report.requests.started > 0);
        assert_eq!(
            errors(&report, ErrorKind::ConnectRefused),
            report.requests.started
        );
        assert_fails(&report, "could not be reached");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_is_resolved() {
    let (addr, _) = servers::http().await;
    let url = format!("http://localhost:{}/", addr.port());
    let mut settings = Settings::new(url.parse().expect("valid URL"));
    settings.requests = Some(10);
    settings.duration = None;
    settings.connections = 1;
    // Whatever order `localhost`'s addresses come in, the one that answers is used.
    let resolved = asynclab_load::resolve(&settings.target)
        .await
        .expect("localhost resolves");
    assert_eq!(resolved, addr);
    assert_eq!(load(&settings).await.requests.ok, 10);
    let bad = Settings::new("http://no-such-host.invalid/".parse().expect("valid URL"));
    let err = run(&bad, &Control::default())
        .await
        .expect_err("cannot resolve");
    assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_is_met_within_two_percent() {
    let (addr, _) = servers::http().await;
    // A modest rate over 4 s: the run's measured time includes the last
    // response and joining the tasks, and on a busy 2-core CI box that tail can
    // be tens of milliseconds, which must stay well inside 2% of the run.
    let report = load(&paced(addr, "/", 10, 500.0, 4000)).await;
    // The schedule is exact: 500/s for 4 s is 2000 requests due.
    assert_eq!(report.requests.started, 2000);
    assert_eq!(report.requests.ok, 2000);
    let off = (report.rate - 500.0).abs() / 500.0;
    assert!(off < 0.02, "achieved {:.1} req/s", report.rate);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_the_percentiles_with_a_rate() {
    let (addr, _) = servers::http().await;
    let report = load(&paced(addr, "/stall", 4, 200.0, 2500)).await;
    assert_eq!(report.requests.errors, 0);
    // Requests due during the one-second stall (about 40% of them) wait for its end
    // and are counted from when they were due: their latencies spread from 0 to 1 s.
    // Counted from when they were sent, only 4 requests (one per connection) would be slow.
    let latency = report.latency_us.expect("answers have latencies");
    assert!(latency.from_schedule);
    assert!(latency.p99 >= 900_000, "p99 {} µs", latency.p99);
    assert!(latency.p90 >= 500_000, "p90 {} µs", latency.p90);
    // And the run still ends on time: the backlog drains right after the stall.
    assert!(report.duration_s < 3.5, "{}", report.duration_s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warmup_is_not_counted() {
    let (addr, seen) = servers::http().await;
    let mut settings = paced(addr, "/", 2, 100.0, 300);
    settings.warmup = Duration::from_millis(300);
    let report = load(&settings).await;
    assert_eq!(report.requests.started, 30);
    assert_eq!(seen.requests(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_run_early_with_exact_counts() {
    let (addr, seen) = servers::http().await;
    let control = Control::default();
    stop_after(&control, Duration::from_millis(300), false);
    // A 10 s run, stopped after 300 ms.
    let report = load_within(&http(addr, "/"), &control, Duration::from_secs(3)).await;
    assert!(report.interrupted);
    assert_eq!(report.requests.cut, 0);
    assert!(report.requests.ok > 0);
    // Every request in flight at the stop was still answered and counted.
    assert_eq!(report.requests.started, seen.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_abandons_the_requests_in_flight() {
    let addr = servers::silent().await;
    let mut settings = http(addr, "/");
    settings.connections = 3;
    settings.timeout = Duration::from_secs(30);
    let control = Control::default();
    stop_after(&control, Duration::from_millis(200), true);
    let report = load_within(&settings, &control, Duration::from_secs(3)).await;
    assert_eq!((report.requests.started, report.requests.cut), (3, 3));
}

/// The real asynclab servers, in process: the generator and the servers agree on
/// HTTP framing and on the echo format (`Echo: ` + the line in line mode).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asynclab_servers_answer_correctly() {
    use asynclab_core::config::{Config, EchoMode as ServerMode, Loaded};
    use asynclab_core::{Metrics, Shutdown};
    use tokio::net::TcpListener;

    let shutdown = Shutdown::with_grace(Duration::from_secs(1));
    let loaded = Loaded::from_config(Config::builtin());
    let server = asynclab_http::Server::new(&loaded, Metrics::new(), shutdown.clone())
        .expect("server builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(server.run(listener));
    let report = load(&count(http(addr, "/fast"), 500, 5)).await;
    assert_eq!(report.status.get("200"), Some(&500));
    let report = load(&count(http(addr, "/no-such-route"), 50, 5)).await;
    assert_eq!(report.status.get("404"), Some(&50));

    for (server_mode, mode) in [
        (ServerMode::Line, EchoMode::Line),
        (ServerMode::Raw, EchoMode::Raw),
    ] {
        let mut config = Config::builtin().echo;
        config.mode = server_mode;
        let server = asynclab_echo::Server::new(config, Metrics::new(), shutdown.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("bound address");
        tokio::spawn(server.run(listener));
        let report = load(&count(echo(addr, mode), 500, 5)).await;
        assert_eq!(
            (report.requests.ok, report.requests.errors),
            (500, 0),
            "{mode:?}"
        );
    }
    shutdown.stop();
}
