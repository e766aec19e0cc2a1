//! A minimal WebSocket echo server on tokio-tungstenite, the baseline for
//! asynclab's `/ws/echo`: accept, spawn a task per connection, let
//! tokio-tungstenite do the handshake, send every text and binary message back.
//! Pings are answered by tungstenite itself. No limits, no timeouts, no
//! shutdown, no routes (any path is the echo): only what echoing needs.
//!
//!     cargo run --release --bin bare-ws-server -- 127.0.0.1:9001

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("bare-ws-server listening on ws://{}", listener.local_addr()?);
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: keep going.
            Err(_) => continue,
        };
        // As asynclab does: an echo is small and written whole.
        let _ = socket.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(socket).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    return;
                }
            }
        });
    }
}
