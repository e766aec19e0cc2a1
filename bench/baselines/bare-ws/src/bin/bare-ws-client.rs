//! A minimal WebSocket echo client on tokio-tungstenite, the baseline for
//! `asynclab load ws://`: N connections, each a loop of "send a text message,
//! wait for its echo, check it", for a fixed time. Prints one JSON line:
//! `{"round_trips": N, "duration_s": D, "rate": R, "errors": E}`.
//!
//! All connections are opened first, so the timed part is round trips only
//! (as `asynclab load` times the handshakes apart).
//!
//!     cargo run --release --bin bare-ws-client -- ws://127.0.0.1:9001/ 50 3 64

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare-ws-client URL CONNECTIONS SECONDS SIZE";
    let url = args.next().expect(usage);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let size: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);

    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("the WebSocket handshake");
        sockets.push(ws);
    }
    let text: String = (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let message = Message::text(text);
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            let message = message.clone();
            tokio::spawn(async move {
                let (mut done, mut errors) = (0u64, 0u64);
                while Instant::now() < end {
                    if ws.send(message.clone()).await.is_err() {
                        errors += 1;
                        break;
                    }
                    match ws.next().await {
                        Some(Ok(echo)) if echo == message => done += 1,
                        _ => {
                            errors += 1;
                            break;
                        }
                    }
                }
                // The window ends with the last answer, as in `asynclab load`.
                let finished = Instant::now();
                let _ = ws.close(None).await;
                (done, errors, finished)
            })
        })
        .collect();
    let (mut done, mut errors, mut last) = (0u64, 0u64, started);
    for task in tasks {
        let (d, e, finished) = task.await.expect("a connection task");
        done += d;
        errors += e;
        last = last.max(finished);
    }
    let duration = (last - started).as_secs_f64();
    println!(
        "{{\"round_trips\": {done}, \"duration_s\": {duration:.3}, \"rate\": {:.1}, \"errors\": {errors}}}",
        done as f64 / duration
    );
}
