//! `asynclab load ws://`: exact counts, every echo checked byte for byte and by
//! type, handshakes and clean closes counted apart (also when a `--stage` ramp
//! lets connections go, and across `load merge`), against the real HTTP
//! server's `/ws/echo` and against a WebSocket server that corrupts echoes.

use std::net::SocketAddr;
use std::time::Duration;

use asynclab_core::config::{Config, Loaded};
use asynclab_core::{Metrics, Shutdown};
use asynclab_http::{AppState, Server};
use asynclab_load::{Control, ErrorKind, Report, Settings, Stages, Target, run};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// The longest a run of these tests may take.
const BOUND: Duration = Duration::from_secs(30);

/// The asynclab HTTP server on 127.0.0.1:0, as `asynclab serve` runs it.
async fn http_server() -> (SocketAddr, AppState) {
    let mut config = Config::builtin();
    config.http.addr = "127.0.0.1:0".parse().expect("address");
    let loaded = Loaded::from_config(config);
    let server = Server::new(&loaded, Metrics::new(), Shutdown::new()).expect("server builds");
    let state = server.state().clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(server.run(listener));
    (addr, state)
}

/// `-n requests -c connections` against `ws://addr/ws/echo`.
fn settings(addr: SocketAddr, requests: u64, connections: usize, binary: bool) -> Settings {
    let mut target: Target = format!("ws://{addr}/ws/echo")
        .parse()
        .expect("a ws:// target");
    if let Target::Ws(ws) = &mut target {
        ws.binary = binary;
        ws.size = 100;
    }
    let mut settings = Settings::new(target);
    settings.requests = Some(requests);
    settings.duration = None;
    settings.connections = connections;
    settings
}

async fn load(settings: &Settings) -> Report {
    tokio::time::timeout(BOUND, run(settings, &Control::default()))
        .await
        .expect("the run ends within BOUND")
        .expect("the run starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_counts_checked_echoes_and_clean_closes_against_ws_echo() {
    let (addr, state) = http_server().await;
    for (binary, protocol) in [(false, "websocket-text"), (true, "websocket-binary")] {
        let report = load(&settings(addr, 500, 5, binary)).await;
        assert_eq!(report.protocol, protocol);
        assert_eq!(
            (
                report.requests.responses,
                report.requests.ok,
                report.requests.errors
            ),
            (500, 500, 0),
            "{protocol}"
        );
        assert_eq!((report.bytes.sent, report.bytes.received), (50_000, 50_000));
        let ws = report.websocket.expect("a ws:// report has its handshakes");
        assert_eq!(
            (ws.handshakes, ws.clean_closes, ws.failed_closes),
            (5, 5, 0)
        );
        assert!(ws.handshake_max_us >= ws.handshake_p50_us && ws.handshake_p50_us > 0);
    }
    // The server saw exactly that: every message, and ten closes with 1000.
    assert_eq!(state.ws.messages("in", "text"), 500);
    assert_eq!(state.ws.messages("in", "binary"), 500);
    assert_eq!(state.ws.closes(1000, "client"), 10);
    let json = serde_json::to_value(load(&settings(addr, 10, 1, false)).await).expect("JSON");
    assert_eq!(json["websocket"]["clean_closes"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_ramp_closes_the_connections_it_lets_go_with_a_handshake() {
    let (addr, state) = http_server().await;
    // Up to 2 connections, held, then down to none: each one the ramp lets go
    // closes as a user leaving would, with a close handshake.
    let stages = Stages::parse(&["400ms:2,400ms:2,400ms:0".into()], 0.0).expect("valid stages");
    let mut settings = settings(addr, 0, 2, false);
    settings.requests = None;
    settings.duration = Some(stages.total());
    settings.stages = Some(stages);
    let report = load(&settings).await;
    assert!(report.requests.ok > 0, "{:?}", report.requests);
    assert_eq!(report.requests.errors, 0);
    let ws = report.websocket.expect("a ws:// report has its handshakes");
    assert!(ws.handshakes >= 2, "{ws:?}");
    assert_eq!((ws.clean_closes, ws.failed_closes), (ws.handshakes, 0));
    assert_eq!(state.ws.closes(1000, "client"), ws.handshakes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_runs_add_their_handshakes_and_closes() {
    let (addr, _) = http_server().await;
    let (small, large) = (settings(addr, 40, 2, false), settings(addr, 60, 3, false));
    let (a, b) = tokio::join!(load(&small), load(&large));
    let dir = std::env::temp_dir();
    let saved: Vec<_> = [("a", &a), ("b", &b)]
        .into_iter()
        .map(|(name, report)| {
            let path = dir.join(format!(
                "asynclab-ws-merge-{}-{name}.json",
                std::process::id()
            ));
            std::fs::write(&path, serde_json::to_vec(report).expect("serialises"))
                .expect("written");
            asynclab_load::read(&path).expect("reads back")
        })
        .collect();
    let merged = asynclab_load::merge(&saved, false).expect("same target and protocol");
    let ws = merged.websocket.expect("the merged runs' handshakes");
    assert_eq!(
        (ws.handshakes, ws.clean_closes, ws.failed_closes),
        (5, 5, 0)
    );
    let (wa, wb) = (a.websocket.expect("a's"), b.websocket.expect("b's"));
    assert_eq!(
        ws.handshake_max_us,
        wa.handshake_max_us.max(wb.handshake_max_us)
    );
}

/// A WebSocket echo server that changes one byte of every `every`-th message,
/// and answers binary messages with text.
async fn corrupting_server(every: u64) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let mut seen = 0u64;
                while let Some(Ok(message)) = ws.next().await {
                    seen += 1;
                    let answer = match message {
                        Message::Text(text) if seen.is_multiple_of(every) => {
                            Message::text(text.as_str().replacen(|_| true, "#", 1))
                        }
                        Message::Binary(bytes) => {
                            Message::text(String::from_utf8_lossy(&bytes).into_owned())
                        }
                        Message::Close(_) => break,
                        other => other,
                    };
                    if ws.send(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_echo_or_one_of_the_wrong_type_is_a_mismatch() {
    let addr = corrupting_server(5).await;
    // One connection: the server's every-fifth count is exactly ours. After a
    // mismatch the connection is dropped, so the count starts again.
    let report = load(&settings(addr, 50, 1, false)).await;
    let mismatches = report.errors[&ErrorKind::EchoMismatch];
    assert_eq!((report.requests.responses, mismatches), (40, 10));
    let report = load(&settings(addr, 20, 2, true)).await;
    assert_eq!(report.errors[&ErrorKind::EchoMismatch], 20);
    assert!(report.verdict().is_err());
}
