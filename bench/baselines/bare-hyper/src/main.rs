//! The bare hyper 1.x server asynclab's HTTP figures are compared against.
//!
//! Every request gets `Hello, World!` (13 bytes); `GET /slow?delay=250ms` (or
//! `=1s`) first waits on a tokio timer. No routing table, no middleware, no
//! limits, no graceful shutdown: the cost floor of serving HTTP/1.1 with hyper.
//!
//! ```text
//! cargo build --release && target/release/bare-hyper 127.0.0.1:8081
//! ```

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/slow" {
        let delay = req.uri().query().and_then(delay).unwrap_or(Duration::from_secs(2));
        tokio::time::sleep(delay).await;
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"Hello, World!"))))
}

/// `delay=250ms` or `delay=1s` from a query string.
fn delay(query: &str) -> Option<Duration> {
    let value = query.split('&').find_map(|kv| kv.strip_prefix("delay="))?;
    match value.strip_suffix("ms") {
        Some(ms) => ms.parse().ok().map(Duration::from_millis),
        None => value.strip_suffix('s')?.parse().ok().map(Duration::from_secs_f64),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8081".into());
    // The same listen backlog as asynclab's default (`http.backlog`), so a burst of
    // 10,000 connects is queued by the kernel for both servers alike.
    let addr: std::net::SocketAddr = addr.parse().map_err(std::io::Error::other)?;
    let socket = match addr {
        std::net::SocketAddr::V4(_) => TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener: TcpListener = socket.listen(4096)?;
    println!("bare-hyper listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            if let Err(e) = http1::Builder::new().serve_connection(io, service_fn(hello)).await {
                eprintln!("connection: {e}");
            }
        });
    }
}
