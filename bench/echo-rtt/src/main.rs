//! The echo figures' client: closed-loop round trips over many connections, and
//! the memory a server spends per idle connection. Everything is bounded: a fixed
//! number of connections, a fixed duration, loopback addresses.
//!
//!     echo-rtt rtt  ADDR CONNECTIONS SECONDS raw|line [SERVER_PID]
//!     echo-rtt idle ADDR CONNECTIONS SERVER_PID raw|line
//!
//! `rtt` prints round trips per second and, given the server's PID, the server's
//! CPU time per round trip (user + system, from /proc): on a shared machine the
//! rate depends on what else runs, the CPU cost per round trip much less.
//! `idle` prints the server's RSS growth per idle connection.
//!
//! Each connection sends a 64-byte message (63 bytes and a newline) and waits for
//! the whole answer before sending the next: 64 bytes back in raw mode, 70 in line
//! mode (`Echo: ` + the line). Every answer is checked.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

const MESSAGE: &[u8; 64] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\n";
const PREFIX: &[u8] = b"Echo: ";
/// Seconds of load before counting starts (connections open, caches warm).
const WARMUP: Duration = Duration::from_secs(1);
/// Connections being opened at once, so the listen backlog never overflows.
const CONNECTING: usize = 256;

fn usage() -> ! {
    eprintln!("usage: echo-rtt rtt ADDR CONNECTIONS SECONDS raw|line [SERVER_PID]");
    eprintln!("       echo-rtt idle ADDR CONNECTIONS SERVER_PID raw|line");
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| usage())
}

/// The answer a server sends to `MESSAGE`.
fn expected(mode: &str) -> Vec<u8> {
    match mode {
        "raw" => MESSAGE.to_vec(),
        "line" => [PREFIX, &MESSAGE[..]].concat(),
        _ => usage(),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr: SocketAddr = arg(&args, 2);
    let connections: usize = arg(&args, 3);
    let answer = Arc::new(expected(args.get(5).map(String::as_str).unwrap_or("")));
    match args.get(1).map(String::as_str) {
        Some("rtt") => {
            let pid = args.get(6).map(|_| arg(&args, 6));
            rtt(
                addr,
                connections,
                Duration::from_secs(arg(&args, 4)),
                answer,
                pid,
            )
            .await
        }
        Some("idle") => idle(addr, connections, arg(&args, 4), answer).await,
        _ => usage(),
    }
}

/// One exchange: send the message, read back exactly the expected answer.
async fn exchange(stream: &mut TcpStream, answer: &[u8], buf: &mut [u8]) -> std::io::Result<()> {
    stream.write_all(MESSAGE).await?;
    stream.read_exact(buf).await?;
    if buf != answer {
        return Err(std::io::Error::other("wrong answer"));
    }
    Ok(())
}

async fn connect(addr: SocketAddr, gate: &Semaphore) -> TcpStream {
    let _turn = gate.acquire().await.expect("never closed");
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

async fn rtt(
    addr: SocketAddr,
    connections: usize,
    seconds: Duration,
    answer: Arc<Vec<u8>>,
    pid: Option<u32>,
) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let end = Instant::now() + WARMUP + seconds + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (done, errors, gate, answer) =
            (done.clone(), errors.clone(), gate.clone(), answer.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = connect(addr, &gate).await;
            let mut buf = vec![0; answer.len()];
            while Instant::now() < end {
                match exchange(&mut stream, &answer, &mut buf).await {
                    Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => return errors.fetch_add(1, Ordering::Relaxed),
                };
            }
            0
        }));
    }
    tokio::time::sleep(WARMUP).await;
    let (start, from, cpu_from) = (Instant::now(), done.load(Ordering::Relaxed), pid.map(cpu));
    tokio::time::sleep(seconds).await;
    let (took, counted) = (start.elapsed(), done.load(Ordering::Relaxed) - from);
    let cpu_used = pid.map(cpu).zip(cpu_from).map(|(to, from)| to - from);
    for task in tasks {
        task.abort();
    }
    let cpu_per_rt = cpu_used.map_or(String::new(), |c| {
        format!(" server_cpu_us_per_rt={:.2}", c * 1e6 / counted as f64)
    });
    println!(
        "round_trips_per_s={:.0} connections={connections} errors={}{cpu_per_rt}",
        counted as f64 / took.as_secs_f64(),
        errors.load(Ordering::Relaxed)
    );
}

/// CPU time (user + system) a process has used, in seconds.
fn cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("server stat");
    // Fields 14 and 15, counted after the command name, which is in parentheses.
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    // Clock ticks are 1/100 s on Linux (USER_HZ).
    ticks / 100.0
}

/// VmRSS of a process, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// Opens connections that each make one exchange and then stay silent.
async fn open_idle(addr: SocketAddr, n: usize, answer: &Arc<Vec<u8>>) -> Vec<TcpStream> {
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (gate, answer) = (gate.clone(), answer.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = connect(addr, &gate).await;
            let mut buf = vec![0; answer.len()];
            exchange(&mut stream, &answer, &mut buf)
                .await
                .expect("one exchange");
            stream
        }));
    }
    let mut open = Vec::new();
    for task in tasks {
        open.push(task.await.expect("connection task"));
    }
    open
}

async fn idle(addr: SocketAddr, connections: usize, pid: u32, answer: Arc<Vec<u8>>) {
    // A first wave, closed again, warms the server's allocator and runtime up.
    drop(open_idle(addr, 200, &answer).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss(pid);
    let open = open_idle(addr, connections, &answer).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss(pid);
    println!(
        "bytes_per_idle_connection={:.0} connections={} rss_before_kib={} rss_after_kib={}",
        after.saturating_sub(before) as f64 / open.len() as f64,
        open.len(),
        before / 1024,
        after / 1024
    );
}
