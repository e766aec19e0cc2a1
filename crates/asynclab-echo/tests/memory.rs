//! Memory the echo server holds, measured on this very process (server and
//! clients both live here) through `/proc/self/status`: a 100 MiB line with no
//! newline, 100 MiB streamed through raw mode, and thousands of idle connections.
//!
//! This is its own test binary so that nothing else allocates while it measures,
//! and its tests take turns (`ALONE`) for the same reason. Linux only.

#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::sync::Mutex;
use std::time::Duration;

use common::{PATIENCE, config, raw_config, start, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One measurement at a time.
static ALONE: Mutex<()> = Mutex::new(());

const MIB: u64 = 1 << 20;
/// What "a few MiB" means for a 100 MiB input.
const GROWTH_LIMIT: u64 = 4 * MIB;
const STREAMED: u64 = 100 * MIB;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A field of `/proc/self/status`, in bytes (the file says kB).
fn status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number in `{line}`"));
    kib * 1024
}

/// Resident memory now.
fn rss() -> u64 {
    status("VmRSS:")
}

/// Forgets the peak so far, so that `VmHWM` then reports the peak from now on:
/// even a buffer grown and freed again in between shows.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS (Linux 4.0+)");
}

fn peak() -> u64 {
    status("VmHWM:")
}

/// Sends `STREAMED` bytes of `fill` in 64 KiB writes (never holding more), then
/// half-closes; stops quietly if the server closes first.
async fn stream_out(mut write: tokio::net::tcp::OwnedWriteHalf, fill: u8) -> u64 {
    let chunk = vec![fill; 64 * 1024];
    let mut sent = 0;
    while sent < STREAMED {
        if write.write_all(&chunk).await.is_err() {
            return sent;
        }
        sent += chunk.len() as u64;
    }
    let _ = write.shutdown().await;
    sent
}

#[test]
fn a_100_mib_line_without_newline_does_not_grow_the_process() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    runtime().block_on(async {
        // The default max_line (64 KiB); the farewell is long enough for the
        // server to read, and discard, all 100 MiB after refusing the line.
        let server = start(common::EchoConfig {
            farewell_timeout: PATIENCE,
            ..config()
        })
        .await;
        let mut warm = server.connect().await;
        assert_eq!(warm.round_trip(b"warm up\n").await, b"Echo: warm up\n");

        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let (mut read, write) = stream.into_split();
        let before = rss();
        reset_peak();
        let writer = tokio::spawn(stream_out(write, b'x'));
        let mut answer = Vec::new();
        within(PATIENCE * 3, read.read_to_end(&mut answer))
            .await
            .expect("read the answer");
        assert_eq!(writer.await.expect("writer"), STREAMED, "all sent");
        server
            .wait_for("the server to read all 100 MiB", |m| {
                m.bytes_in.get() >= STREAMED
            })
            .await;
        let growth = peak().saturating_sub(before);
        eprintln!("peak RSS grew by {} KiB", growth / 1024);

        assert_eq!(answer, b"error: line too long (max 65536 bytes)\n");
        assert!(
            growth < GROWTH_LIMIT,
            "peak RSS grew by {} KiB",
            growth / 1024
        );
    });
}

#[test]
fn streaming_100_mib_through_raw_mode_does_not_grow_the_process() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    runtime().block_on(async {
        let server = start(raw_config()).await;
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        let (mut read, write) = stream.into_split();
        let before = rss();
        reset_peak();
        let writer = tokio::spawn(stream_out(write, b'r'));
        let mut received = 0u64;
        let mut buf = vec![0; 64 * 1024];
        within(PATIENCE * 3, async {
            loop {
                match read.read(&mut buf).await.expect("read the echo") {
                    0 => break,
                    n => received += n as u64,
                }
            }
        })
        .await;
        let growth = peak().saturating_sub(before);
        eprintln!("peak RSS grew by {} KiB", growth / 1024);
        assert_eq!(writer.await.expect("writer"), STREAMED);
        assert_eq!(received, STREAMED, "every byte came back");
        assert!(
            growth < GROWTH_LIMIT,
            "peak RSS grew by {} KiB",
            growth / 1024
        );
    });
}

/// Idle connections hold no read buffer: far less than the 8 KiB a server that
/// keeps one per connection spends.
#[test]
fn an_idle_connection_costs_far_less_than_a_read_buffer() {
    const CONNECTIONS: u64 = 2000;
    const PER_CONNECTION_LIMIT: u64 = 4096;
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = runtime();
    let server = runtime.block_on(start(config()));
    // Plain blocking sockets on this thread: no client-side runtime state, so
    // what grows is the server's.
    let connect = || {
        let stream = std::net::TcpStream::connect(server.addr).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        let mut line = Vec::new();
        (&stream).write_all(b"hi\n").expect("send");
        BufReader::new(&stream)
            .read_until(b'\n', &mut line)
            .expect("answer");
        assert_eq!(line, b"Echo: hi\n");
        stream
    };
    // Warm the allocator and the runtime up with connections that come and go.
    for _ in 0..200 {
        drop(connect());
    }
    runtime.block_on(server.wait_for("warm-up connections to end", |m| m.open.get() == 0));

    let before = rss();
    let open: Vec<_> = (0..CONNECTIONS).map(|_| connect()).collect();
    // Give each connection task time to get back to waiting, its buffer freed.
    std::thread::sleep(Duration::from_millis(200));
    let per_connection = rss().saturating_sub(before) / CONNECTIONS;
    eprintln!("{per_connection} bytes of RSS per idle connection");
    assert_eq!(server.metrics.open.get(), CONNECTIONS as i64);
    assert!(
        per_connection < PER_CONNECTION_LIMIT,
        "{per_connection} bytes per idle connection"
    );
    drop(open);
}
