//! A minimal hyper 1.x server answering `Hello, world!` (13 bytes) to everything:
//! the fixed point for comparing `asynclab load` with `wrk`.
//!
//! ```text
//! cargo run --release -p asynclab-load --example hello -- 127.0.0.1:3000
//! ```
//!
//! Pattern: hyper's own `hello` example, nothing more: accept, spawn one task per
//! connection, serve it with `http1::Builder`. No middleware, no logging, so the
//! numbers measure the client and hyper's HTTP/1.1, not asynclab's server.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        // An accept error (out of file descriptors) must not end the server.
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|_: Request<hyper::body::Incoming>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                    b"Hello, world!",
                ))))
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
