//! The echo server in process, over real sockets on `127.0.0.1:0`: every
//! behaviour a client can notice, in line and raw mode, under limits and during
//! a shutdown. Timeouts are configured short instead of waiting on long ones.
//!
//! (The 100 MiB line and the file-descriptor exhaustion each run in their own
//! test binary, `memory.rs` and `accept_errors.rs`: they measure or change the
//! whole process.)

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{PATIENCE, config, raw_config, start, start_with_grace, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;

mod connections;
mod lines;
mod raw;
mod shutdown;

/// Sends `line` over and over (up to `FLOOD_CAP` bytes) without ever reading,
/// counting what the kernel accepted.
fn flood(mut write: OwnedWriteHalf, line: &'static [u8]) -> (JoinHandle<()>, Arc<AtomicU64>) {
    let written = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&written);
    let chunk = line.repeat(64 * 1024 / line.len());
    let task = tokio::spawn(async move {
        while count.load(Ordering::Relaxed) < FLOOD_CAP {
            if write.write_all(&chunk).await.is_err() {
                return;
            }
            count.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    });
    (task, written)
}

/// Far more than all the kernel buffers between a client and the server.
const FLOOD_CAP: u64 = 256 << 20;

/// Waits until the flood's writes stop making progress, and returns how much got
/// through.
async fn until_stalled(written: &AtomicU64) -> u64 {
    within(PATIENCE * 3, async {
        let mut before = u64::MAX;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = written.load(Ordering::Relaxed);
            if now == before {
                return now;
            }
            before = now;
        }
    })
    .await
}
