//! A minimal tokio echo server, the baseline for asynclab's echo benchmarks:
//! accept, spawn a task per connection, read into an 8 KiB buffer, write it back.
//! No limits, no timeouts, no shutdown, no logging: only what echoing needs.
//!
//!     cargo run --release -- 127.0.0.1:7001

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("bare-echo listening on tcp://{}", listener.local_addr()?);
    loop {
        let (mut socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: keep going.
            Err(_) => continue,
        };
        tokio::spawn(async move {
            // The buffer lives as long as the connection, idle or not.
            let mut buf = vec![0u8; 8 * 1024];
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if socket.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}
