//! Behaviour and security tests for `asynclab-files`, one test binary.
//!
//! Most tests call [`Files::serve`] directly with a request, the way the HTTP
//! server will; the ones that are about the connection itself (a transfer cut
//! when the file shrinks, an upload interrupted by the client) go through the
//! example's tiny hyper server on `127.0.0.1:0` with a raw TCP client, so what is
//! checked is exactly what a client would see on the wire. Every test gets its
//! own folder under the system temp dir, removed when it ends.

#![allow(clippy::unwrap_used)]

mod refusals;
mod responses;
mod root;
mod streaming;
mod uploads;

#[path = "../../examples/serve.rs"]
#[allow(dead_code)]
mod serve;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use asynclab_core::Config;
use asynclab_core::config::FilesConfig;
use asynclab_files::Files;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "top-secret-outside-the-root";

/// A served folder (`dir/root`) with a secret file beside it (`dir/secret.txt`).
struct Fixture {
    dir: PathBuf,
    root: PathBuf,
    files: Files,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(tweak: impl FnOnce(&mut FilesConfig)) -> Fixture {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "asynclab-files-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(dir.join("secret.txt"), SECRET).unwrap();
    std::fs::write(root.join("data.txt"), "hello, files\n").unwrap();
    std::fs::write(root.join("sub/index.html"), "<h1>sub</h1>\n").unwrap();
    std::fs::write(root.join("sub/b.json"), "{}").unwrap();
    std::fs::write(root.join(".env"), SECRET).unwrap();
    std::fs::write(root.join(".git/config"), SECRET).unwrap();
    std::fs::write(root.join("style.css"), "body{}").unwrap();
    std::fs::write(root.join("style.css.gz"), "GZ").unwrap();
    std::fs::write(root.join("style.css.br"), "BR").unwrap();
    let mut config = Config::builtin().files;
    config.root = root.display().to_string();
    tweak(&mut config);
    let files = Files::new(&config, Path::new(".")).unwrap();
    Fixture { dir, root, files }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(files: &Files, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    send_body(files, method, path, headers, Bytes::new()).await
}

async fn send_body(
    files: &Files,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/files/{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = files.serve(req.body(Full::new(body)).unwrap(), path).await;
    let (parts, body) = res.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

async fn get(files: &Files, path: &str) -> Answer {
    send(files, Method::GET, path, &[]).await
}

/// Serves `files` on 127.0.0.1:0 through the example's hyper loop.
async fn spawn_server(files: Files) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve::run(listener, files));
    addr
}

/// Reads one HTTP/1.1 response head from `stream`: (head, bytes of body already read).
async fn read_head(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the response head");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return (head, buf[end + 4..].to_vec());
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

// ---- streaming -----------------------------------------------------------------

/// A recognisable pattern: byte i is i % 251, so any shift or padding shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

// ---- uploads ---------------------------------------------------------------------

fn no_temp_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".upload-")
    })
}
