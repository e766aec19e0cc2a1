//! `asynclab load https://` and `wss://` against the real HTTP server's HTTPS
//! listener, and `tls://` against the real echo server with `echo.tls`, with
//! real handshakes: HTTP/1.1 and h2 by ALPN, `--cacert` and `--insecure`,
//! mutual TLS accepted and refused, handshakes counted exactly (and resumed, or
//! not with `--no-resume`), WebSocket and TCP echoes checked; and the HTML
//! report's `tls` table.

use std::net::SocketAddr;
use std::time::Duration;

use asynclab_core::config::{Config, EchoMode as ServerMode, Loaded};
use asynclab_core::{Metrics, Shutdown};
use asynclab_http::{Https, Server};
use asynclab_load::{Control, EchoMode, ErrorKind, Report, Settings, Target, TlsReport, run};
use asynclab_tls::{ClientAuth, ClientTlsOptions, Pki, ServerTls, ServerTlsOptions};

/// The longest a run of these tests may take.
const BOUND: Duration = Duration::from_secs(30);

/// The asynclab HTTP server with an HTTPS listener, as `asynclab serve` runs
/// it with `tls.addr` set: the HTTPS address.
async fn https_server(tls: &ServerTlsOptions) -> SocketAddr {
    let mut config = Config::builtin();
    config.http.addr = "127.0.0.1:0".parse().expect("address");
    let loaded = Loaded::from_config(config);
    let server = Server::new(&loaded, Metrics::new(), Shutdown::new()).expect("server builds");
    let bind = || asynclab_core::listen::listen("127.0.0.1:0".parse().expect("addr"), 1024);
    let https = Https {
        listener: bind().expect("bind https"),
        tls: ServerTls::new(tls).expect("TLS config builds"),
    };
    let addr = https.listener.local_addr().expect("address");
    tokio::spawn(server.run_with_tls(bind().expect("bind http"), Some(https)));
    addr
}

/// The asynclab echo server as `asynclab echo --set echo.tls=true` runs it:
/// the `[tls]` certificate, no ALPN, in `mode`.
async fn tls_echo_server(tls: &ServerTlsOptions, mode: ServerMode) -> SocketAddr {
    let mut config = Config::builtin().echo;
    config.mode = mode;
    let acceptor = ServerTls::new(tls)
        .expect("TLS config builds")
        .acceptor_with_alpn(Vec::new());
    let server =
        asynclab_echo::Server::new(config, Metrics::new(), Shutdown::new()).with_tls(acceptor);
    let listener = asynclab_core::listen::listen("127.0.0.1:0".parse().expect("addr"), 1024)
        .expect("bind echo");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(server.run(listener));
    addr
}

/// `-n requests -c connections` against `url`, with `tls` as the flags make it.
fn settings(url: &str, requests: u64, connections: usize, tls: ClientTlsOptions) -> Settings {
    let mut settings = Settings::new(url.parse::<Target>().expect("a valid target"));
    settings.requests = Some(requests);
    settings.duration = None;
    settings.connections = connections;
    settings.tls = tls;
    settings
}

async fn load(settings: &Settings) -> Report {
    tokio::time::timeout(BOUND, run(settings, &Control::default()))
        .await
        .expect("the run ends within BOUND")
        .expect("the run starts")
}

fn tls(report: &Report) -> &TlsReport {
    report
        .tls
        .as_ref()
        .expect("an https run reports its handshakes")
}

/// Every request answered 200, none failed.
fn all_ok(report: &Report, requests: u64) {
    assert_eq!(report.requests.started, requests, "{:?}", report.errors);
    assert_eq!(
        report.status.get("200"),
        Some(&requests),
        "{:?}",
        report.errors
    );
    assert!(
        report.errors.values().all(|n| *n == 0),
        "{:?}",
        report.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_h2_by_alpn_with_one_handshake_per_connection() {
    let pki = Pki::new("load-alpn");
    let addr = https_server(&pki.server()).await;
    let url = format!("https://localhost:{}/fast", addr.port());
    for (http2, protocol) in [(false, "http/1.1"), (true, "h2")] {
        let mut settings = settings(&url, 300, 4, pki.client(&[]));
        if let Target::Http(http) = &mut settings.target {
            http.http2 = http2;
        }
        let report = load(&settings).await;
        all_ok(&report, 300);
        assert_eq!(report.protocol, protocol);
        let tls = tls(&report);
        assert_eq!((tls.handshakes, tls.failed), (4, 0), "{protocol}");
        assert!(tls.handshake_p50_us > 0 && tls.handshake_max_us >= tls.handshake_p99_us);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keepalive_every_request_has_its_handshake_resumed_unless_told_not_to() {
    let pki = Pki::new("load-resume");
    let addr = https_server(&pki.server()).await;
    let url = format!("https://localhost:{}/fast", addr.port());
    for no_resumption in [false, true] {
        let mut settings = settings(
            &url,
            60,
            2,
            ClientTlsOptions {
                no_resumption,
                ..pki.client(&[])
            },
        );
        if let Target::Http(http) = &mut settings.target {
            http.keepalive = false;
        }
        let report = load(&settings).await;
        all_ok(&report, 60);
        let tls = tls(&report);
        assert_eq!(tls.handshakes, 60);
        match no_resumption {
            // The first handshake of each connection is a full one; the
            // server's session tickets make later ones resumptions.
            false => assert!(tls.resumed > 0, "{tls:?}"),
            true => assert_eq!(tls.resumed, 0),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_accepts_a_self_signed_server_that_an_unrelated_ca_does_not() {
    let pki = Pki::new("load-insecure");
    // No files: the server makes a self-signed certificate.
    let addr = https_server(&ServerTlsOptions {
        names: vec!["localhost".into()],
        ..Default::default()
    })
    .await;
    let url = format!("https://localhost:{}/fast", addr.port());
    let insecure = ClientTlsOptions {
        insecure: true,
        ..Default::default()
    };
    all_ok(&load(&settings(&url, 20, 2, insecure)).await, 20);

    let report = load(&settings(&url, 5, 1, pki.client(&[]))).await;
    assert_eq!(report.errors.get(&ErrorKind::Tls), Some(&5));
    assert_eq!((tls(&report).handshakes, tls(&report).failed), (0, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_is_accepted_with_a_client_certificate_and_refused_without() {
    let pki = Pki::new("load-mtls");
    let addr = https_server(&ServerTlsOptions {
        client_ca: Some(pki.ca.clone()),
        client_auth: ClientAuth::Required,
        ..pki.server()
    })
    .await;
    let url = format!("https://localhost:{}/whoami", addr.port());
    let alice = ClientTlsOptions {
        cert: Some(pki.client_cert.clone()),
        key: Some(pki.client_key.clone()),
        ..pki.client(&[])
    };
    all_ok(&load(&settings(&url, 50, 2, alice)).await, 50);

    // TLS 1.3: the client's handshake is done before the server has checked
    // (and refused) the certificate; the refusal is the first read's alert.
    let report = load(&settings(&url, 5, 1, pki.client(&[]))).await;
    assert_eq!(
        report.errors.get(&ErrorKind::Tls),
        Some(&5),
        "{:?}",
        report.errors
    );
    assert_eq!(report.requests.started, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_echoes_are_checked_and_handshakes_counted_apart() {
    let pki = Pki::new("load-wss");
    let addr = https_server(&pki.server()).await;
    let mut settings = settings(
        &format!("wss://localhost:{}/ws/echo", addr.port()),
        400,
        4,
        pki.client(&[]),
    );
    if let Target::Ws(ws) = &mut settings.target {
        ws.size = 100;
    }
    let report = load(&settings).await;
    assert_eq!(report.requests.started, 400);
    assert!(
        report.errors.values().all(|n| *n == 0),
        "{:?}",
        report.errors
    );
    let ws = report.websocket.as_ref().expect("websocket stats");
    assert_eq!((ws.handshakes, ws.clean_closes), (4, 4));
    assert_eq!(tls(&report).handshakes, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_echo_lines_and_raw_bytes_are_checked_with_one_handshake_per_connection() {
    let pki = Pki::new("load-tls-echo");
    for (server_mode, mode, protocol) in [
        (ServerMode::Line, EchoMode::Line, "echo-line"),
        (ServerMode::Raw, EchoMode::Raw, "echo-raw"),
    ] {
        let addr = tls_echo_server(&pki.server(), server_mode).await;
        let url = format!("tls://localhost:{}", addr.port());
        let mut settings = settings(&url, 300, 3, pki.client(&[]));
        if let Target::Echo(echo) = &mut settings.target {
            echo.mode = mode;
        }
        let report = load(&settings).await;
        assert_eq!(
            (report.requests.ok, report.requests.errors),
            (300, 0),
            "{protocol}: {:?}",
            report.errors
        );
        assert_eq!(
            (report.target.as_str(), report.protocol.as_str()),
            (url.as_str(), protocol)
        );
        let tls = tls(&report);
        assert_eq!((tls.handshakes, tls.failed), (3, 0), "{protocol}");
        assert!(tls.handshake_p50_us > 0 && tls.handshake_max_us >= tls.handshake_p99_us);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_echo_server_is_refused_with_the_wrong_ca_and_without_a_required_client_cert() {
    let pki = Pki::new("load-tls-echo-ca");
    let stranger = Pki::new("load-tls-echo-stranger");
    let addr = tls_echo_server(
        &ServerTlsOptions {
            client_ca: Some(pki.ca.clone()),
            client_auth: ClientAuth::Required,
            ..pki.server()
        },
        ServerMode::Line,
    )
    .await;
    let url = format!("tls://localhost:{}", addr.port());
    let alice = ClientTlsOptions {
        cert: Some(pki.client_cert.clone()),
        key: Some(pki.client_key.clone()),
        ..pki.client(&[])
    };
    let report = load(&settings(&url, 40, 2, alice)).await;
    assert_eq!(
        (report.requests.ok, report.requests.errors),
        (40, 0),
        "{:?}",
        report.errors
    );

    // A CA that did not sign the server's certificate: our side of the
    // handshake fails, and no message is sent.
    let report = load(&settings(&url, 5, 1, stranger.client(&[]))).await;
    assert_eq!(
        report.errors.get(&ErrorKind::Tls),
        Some(&5),
        "{:?}",
        report.errors
    );
    assert_eq!((tls(&report).handshakes, tls(&report).failed), (0, 5));

    // No client certificate: under TLS 1.3 the server's refusal is an alert
    // on the first read, still a `tls` error.
    let report = load(&settings(&url, 5, 1, pki.client(&[]))).await;
    assert_eq!(
        report.errors.get(&ErrorKind::Tls),
        Some(&5),
        "{:?}",
        report.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_shows_the_handshakes_of_a_tls_run_and_a_dash_for_a_plain_one() {
    let pki = Pki::new("load-tls-html");
    let addr = https_server(&pki.server()).await;
    let url = format!("https://localhost:{}/fast", addr.port());
    let mut settings = settings(&url, 40, 2, pki.client(&[]));
    if let Target::Http(http) = &mut settings.target {
        http.keepalive = false;
    }
    let https = load(&settings).await;
    let handshakes = tls(&https).handshakes;
    assert_eq!(handshakes, 40);
    let mut plain = https.clone();
    plain.tls = None;

    let html = |runs: &[(String, &Report)], name: &str| {
        let path =
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.html"));
        asynclab_load::write_html(runs, &path).expect("the report is written");
        std::fs::read_to_string(&path).expect("readable")
    };
    let one = html(&[("https".into(), &https)], "tls-one");
    let table = one
        .split_once("<h2>tls</h2>")
        .expect("a tls section")
        .1
        .split_once("</table>")
        .expect("the section is a table")
        .0;
    let t = tls(&https);
    for row in [
        format!("<td>handshakes</td><td>{handshakes}</td>"),
        format!("<td>resumed</td><td>{}</td>", t.resumed),
        format!("<td>failed</td><td>{}</td>", t.failed),
        format!(
            "<td>handshake p50</td><td>{}</td>",
            asynclab_load::show_us(t.handshake_p50_us as f64)
        ),
        format!(
            "<td>handshake p99</td><td>{}</td>",
            asynclab_load::show_us(t.handshake_p99_us as f64)
        ),
        format!(
            "<td>handshake max</td><td>{}</td>",
            asynclab_load::show_us(t.handshake_max_us as f64)
        ),
    ] {
        assert!(table.contains(&row), "{row} in {table}");
    }
    assert!(!html(&[("plain".into(), &plain)], "tls-none").contains("<h2>tls</h2>"));
    let both = html(
        &[("https".into(), &https), ("plain".into(), &plain)],
        "tls-both",
    );
    assert!(
        both.contains(&format!(
            "<td>handshakes</td><td>{handshakes}</td><td>-</td>"
        )),
        "{both}"
    );
}
