//! A tiny hyper server around [`asynclab_files::Files`], for benchmarks before (and
//! apart from) the real HTTP server, and reused by this crate's socket tests.
//!
//! ```sh
//! cargo run --release -p asynclab-files --example serve -- public 127.0.0.1:8090 [files.key=value ...]
//! curl -i http://127.0.0.1:8090/files/data.txt
//! ```
//!
//! It shows the bare hyper 1.x serve loop: accept, wrap the socket in `TokioIo`,
//! spawn one task per connection, and build the service from a clone of the
//! shared state (`Files` is one `Arc`, so the clone is cheap). An accept error is
//! logged and the loop goes on. There is no graceful shutdown: the real server
//! in `asynclab-http` owns that.

use std::convert::Infallible;
use std::path::Path;

use asynclab_core::{Config, Overrides};
use asynclab_files::Files;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[allow(dead_code)] // Unused when the tests include this file for `run`.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = args.next().unwrap_or_else(|| "public".into());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    // Any further arguments are `section.key=value` settings, as with `--set`
    // (`files.chunk=256KiB`); `ASYNCLAB_FILES__*` variables work too.
    let loaded = Config::load(&Overrides {
        set: std::iter::once(format!("files.root={root}"))
            .chain(args)
            .collect(),
        ..Overrides::default()
    })?;
    let files = Files::new(&loaded.config.files, Path::new("."))?;
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "serving {} on http://{}/files/",
        files.root().display(),
        listener.local_addr()?
    );
    run(listener, files).await;
    Ok(())
}

/// Serves `/files/*` from `files` on every connection `listener` accepts, forever.
pub async fn run(listener: TcpListener, files: Files) {
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let files = files.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let files = files.clone();
                async move {
                    let path = req.uri().path().to_owned();
                    let res = match path.strip_prefix("/files/") {
                        Some(rest) => files.serve(req, rest).await,
                        None => {
                            let mut res = Response::new(asynclab_files::FilesBody::default());
                            *res.status_mut() = hyper::StatusCode::NOT_FOUND;
                            res
                        }
                    };
                    Ok::<_, Infallible>(res)
                }
            });
            // An error here is one connection's (a reset, a cut transfer): it stays here.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
