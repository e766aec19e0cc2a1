//! Behaviour and security tests for `asynclab-files`, one test binary.
//!
//! Most tests call [`Files::serve`] directly with a request, the way the HTTP
//! server will; the ones that are about the connection itself (a transfer cut
//! when the file shrinks, an upload interrupted by the client) go through the
//! example's tiny hyper server on `127.0.0.1:0` with a raw TCP client, so what is
//! checked is exactly what a client would see on the wire. Every test gets its
//! own folder under the system temp dir, removed when it ends.

#![allow(clippy::unwrap_used)]

#[path = "../examples/serve.rs"]
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

// ---- behaviour ---------------------------------------------------------------

#[tokio::test]
async fn a_file_gets_every_header() {
    let fx = fixture(|_| {});
    let a = get(&fx.files, "data.txt").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text(), "hello, files\n");
    assert_eq!(a.header("content-length"), "13");
    assert_eq!(a.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(a.header("accept-ranges"), "bytes");
    assert_eq!(a.header("cache-control"), "public, max-age=60");
    let etag = a.header("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    assert!(httpdate::parse_http_date(a.header("last-modified")).is_ok());
    assert_eq!(
        get(&fx.files, "sub/b.json").await.header("content-type"),
        "application/json"
    );
}

#[tokio::test]
async fn head_sends_the_headers_without_a_body() {
    let fx = fixture(|_| {});
    let a = send(&fx.files, Method::HEAD, "data.txt", &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-length"), "13");
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn a_missing_file_is_404_file_not_found() {
    let fx = fixture(|_| {});
    for path in ["nope.txt", "sub/nope", "data.txt/", "data.txt/x"] {
        let a = get(&fx.files, path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(a.text(), "file not found\n");
    }
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let fx = fixture(|_| {});
    for method in [Method::POST, Method::DELETE, Method::PUT, Method::PATCH] {
        let a = send(&fx.files, method.clone(), "data.txt", &[]).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(a.header("allow"), "GET, HEAD");
    }
    let fx = fixture(|c| c.upload = true);
    let a = send(&fx.files, Method::DELETE, "data.txt", &[]).await;
    assert_eq!(a.header("allow"), "GET, HEAD, PUT");
}

#[tokio::test]
async fn conditional_requests_give_304_and_412_in_rfc_order() {
    let fx = fixture(|_| {});
    let first = get(&fx.files, "data.txt").await;
    let etag = first.header("etag").to_owned();
    let lm = first.header("last-modified").to_owned();
    let cond = |h: Vec<(&'static str, String)>| {
        let files = fx.files.clone();
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(&files, Method::GET, "data.txt", &h).await
        }
    };
    let a = cond(vec![("if-none-match", etag.clone())]).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert_eq!(a.header("etag"), etag, "304 carries the validators");
    assert_eq!(a.header("last-modified"), lm);
    assert!(a.body.is_empty());
    assert_eq!(
        cond(vec![("if-modified-since", lm.clone())]).await.status,
        StatusCode::NOT_MODIFIED
    );
    // If-None-Match that does not match wins over a matching If-Modified-Since.
    let a = cond(vec![
        ("if-none-match", "\"x\"".into()),
        ("if-modified-since", lm.clone()),
    ])
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        cond(vec![("if-match", "\"x\"".into())]).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        cond(vec![("if-match", etag.clone())]).await.status,
        StatusCode::OK
    );
    let old = "Sat, 01 Jan 2000 00:00:00 GMT".to_string();
    assert_eq!(
        cond(vec![("if-unmodified-since", old)]).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    // 412 is decided before 304.
    let a = cond(vec![
        ("if-match", "\"x\"".into()),
        ("if-none-match", etag.clone()),
    ])
    .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED);
    // A 304 for HEAD too.
    let a = send(
        &fx.files,
        Method::HEAD,
        "data.txt",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn ranges_give_206_416_and_honour_if_range() {
    let fx = fixture(|_| {});
    let r =
        |h: &'static [(&'static str, &'static str)]| send(&fx.files, Method::GET, "data.txt", h);
    let a = r(&[("range", "bytes=0-4")]).await;
    assert_eq!(a.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(a.text(), "hello");
    assert_eq!(a.header("content-range"), "bytes 0-4/13");
    assert_eq!(a.header("content-length"), "5");
    let a = r(&[("range", "bytes=-6")]).await;
    assert_eq!(
        (a.status, a.text().as_str()),
        (StatusCode::PARTIAL_CONTENT, "files\n")
    );
    let a = r(&[("range", "bytes=7-")]).await;
    assert_eq!(a.header("content-range"), "bytes 7-12/13");
    let a = r(&[("range", "bytes=13-")]).await;
    assert_eq!(a.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(a.header("content-range"), "bytes */13");
    // Several ranges: the whole file.
    let a = r(&[("range", "bytes=0-1,3-4")]).await;
    assert_eq!((a.status, a.body.len()), (StatusCode::OK, 13));
    // If-Range with a stale validator: the whole (new) file.
    let a = r(&[("range", "bytes=0-4"), ("if-range", "\"stale\"")]).await;
    assert_eq!(a.status, StatusCode::OK);
    let etag = get(&fx.files, "data.txt").await.header("etag").to_owned();
    let a = send(
        &fx.files,
        Method::GET,
        "data.txt",
        &[("range", "bytes=0-4"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(a.status, StatusCode::PARTIAL_CONTENT);
    // Range is for GET only.
    let a = send(
        &fx.files,
        Method::HEAD,
        "data.txt",
        &[("range", "bytes=0-4")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn precompressed_siblings_follow_accept_encoding() {
    let fx = fixture(|_| {});
    let css = |ae: &'static str| {
        let files = fx.files.clone();
        async move {
            let headers = if ae.is_empty() {
                vec![]
            } else {
                vec![("accept-encoding", ae)]
            };
            send(&files, Method::GET, "style.css", &headers).await
        }
    };
    let a = css("gzip, deflate, br").await;
    assert_eq!(
        (a.text().as_str(), a.header("content-encoding")),
        ("BR", "br")
    );
    assert_eq!(a.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(a.header("vary"), "accept-encoding");
    let a = css("gzip").await;
    assert_eq!(
        (a.text().as_str(), a.header("content-encoding")),
        ("GZ", "gzip")
    );
    let a = css("br;q=0, gzip;q=0").await;
    assert_eq!(
        (a.text().as_str(), a.header("content-encoding")),
        ("body{}", "")
    );
    let a = css("").await;
    assert_eq!(a.text(), "body{}");
    assert_eq!(a.header("vary"), "accept-encoding");
    let plain_tag = a.header("etag").to_owned();
    assert_ne!(
        css("br").await.header("etag"),
        plain_tag,
        "each encoding has its own ETag"
    );
}

#[tokio::test]
async fn a_folder_serves_its_index_and_gets_a_slash() {
    let fx = fixture(|_| {});
    let a = get(&fx.files, "sub/").await;
    assert_eq!(
        (a.status, a.text().as_str()),
        (StatusCode::OK, "<h1>sub</h1>\n")
    );
    assert_eq!(a.header("content-type"), "text/html; charset=utf-8");
    let a = get(&fx.files, "sub").await;
    assert_eq!(a.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(a.header("location"), "./sub/");
    assert_eq!(get(&fx.files, "empty/").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn listing_is_off_by_default_and_escapes_names() {
    let fx = fixture(|_| {});
    assert_eq!(get(&fx.files, "").await.status, StatusCode::NOT_FOUND);
    let fx = fixture(|c| c.listing = true);
    std::fs::write(fx.root.join("<b>&.txt"), "x").unwrap();
    let a = get(&fx.files, "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-type"), "text/html; charset=utf-8");
    let html = a.text();
    assert!(html.contains("data.txt") && html.contains("sub/"), "{html}");
    assert!(
        html.contains("&lt;b&gt;&amp;.txt") && html.contains("%3Cb%3E%26.txt"),
        "{html}"
    );
    assert!(
        !html.contains(".env") && !html.contains(".git"),
        "hidden names listed: {html}"
    );
    assert!(!html.contains(&fx.root.display().to_string()));
    // A folder with an index still serves the index.
    assert_eq!(get(&fx.files, "sub/").await.text(), "<h1>sub</h1>\n");
}

// ---- security ----------------------------------------------------------------

/// A refusal must be a 4xx and must not show the secret or any server path.
fn assert_refused(a: &Answer, fx: &Fixture, what: &str) {
    assert!(a.status.is_client_error(), "{what}: {}", a.status);
    let text = a.text();
    assert!(!text.contains(SECRET), "{what}: leaked the secret");
    assert!(
        !text.contains(&fx.dir.display().to_string()),
        "{what}: leaked a path: {text}"
    );
    assert!(!text.contains('/'), "{what}: a path in the body: {text}");
}

#[tokio::test]
async fn traversal_in_every_encoding_is_refused() {
    let fx = fixture(|_| {});
    for path in [
        "../secret.txt",
        "sub/../../secret.txt",
        "%2e%2e/secret.txt",
        "%2E%2E%2Fsecret.txt",
        ".%2e/secret.txt",
        "%2e./secret.txt",
        "%252e%252e/secret.txt",
        "%252e%252e%252fsecret.txt",
        "..%2fsecret.txt",
        "..\\secret.txt",
        "..%5csecret.txt",
        "sub%5c..%5c..%5csecret.txt",
        "sub/..%2F..%2Fsecret.txt",
        "%c0%ae%c0%ae/secret.txt",
        "....//secret.txt",
    ] {
        let a = get(&fx.files, path).await;
        assert_refused(&a, &fx, path);
    }
    // And on the wire, where no client library can tidy the path up first.
    let addr = spawn_server(fx.files.clone()).await;
    for path in [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/..\\secret.txt",
    ] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut all = String::new();
        s.read_to_string(&mut all).await.unwrap();
        assert!(all.starts_with("HTTP/1.1 4"), "{path}: {all}");
        assert!(!all.contains(SECRET), "{path}");
    }
}

#[tokio::test]
async fn absolute_paths_stay_inside_the_root() {
    let fx = fixture(|_| {});
    let secret = fx.dir.join("secret.txt").display().to_string();
    for path in [
        secret.clone(),
        format!("/{secret}"),
        secret.replace('/', "%2F"),
        "/etc/passwd".into(),
    ] {
        let a = get(&fx.files, &path).await;
        assert_refused(&a, &fx, &path);
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
    }
    // `//data.txt` is just `data.txt`.
    assert_eq!(get(&fx.files, "//data.txt").await.status, StatusCode::OK);
}

#[tokio::test]
async fn nul_bytes_are_400() {
    let fx = fixture(|_| {});
    for path in ["data.txt%00", "data.txt%00.html", "%00", "sub%00/b.json"] {
        let a = get(&fx.files, path).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path:?}");
        assert_refused(&a, &fx, path);
    }
}

#[tokio::test]
async fn long_paths_are_414_or_404() {
    let fx = fixture(|_| {});
    let a = get(&fx.files, &"a/".repeat(5000)).await;
    assert_eq!(a.status, StatusCode::URI_TOO_LONG);
    // A name longer than any file system allows (255) but a short enough path.
    let a = get(&fx.files, &"x".repeat(1000)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_refused(&a, &fx, "long name");
}

#[tokio::test]
async fn symlinks_inside_the_root_are_served() {
    let fx = fixture(|_| {});
    std::os::unix::fs::symlink("data.txt", fx.root.join("alias.txt")).unwrap();
    std::os::unix::fs::symlink("sub", fx.root.join("subalias")).unwrap();
    assert_eq!(get(&fx.files, "alias.txt").await.text(), "hello, files\n");
    assert_eq!(get(&fx.files, "subalias/b.json").await.text(), "{}");
}

#[tokio::test]
async fn symlinks_out_of_the_root_are_refused_unless_followed() {
    let fx = fixture(|_| {});
    let secret = fx.dir.join("secret.txt");
    std::os::unix::fs::symlink(&secret, fx.root.join("out.txt")).unwrap();
    std::os::unix::fs::symlink(&fx.dir, fx.root.join("outdir")).unwrap();
    for path in ["out.txt", "outdir/secret.txt"] {
        let a = get(&fx.files, path).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_refused(&a, &fx, path);
    }
    let fx2 = fixture(|c| c.follow_symlinks = true);
    std::os::unix::fs::symlink(&secret, fx2.root.join("out.txt")).unwrap();
    assert_eq!(get(&fx2.files, "out.txt").await.text(), SECRET);
}

#[tokio::test]
async fn hidden_files_are_not_served_unless_enabled() {
    let fx = fixture(|_| {});
    std::os::unix::fs::symlink(".env", fx.root.join("visible")).unwrap();
    for path in [".env", ".git/config", "%2eenv", "sub/../.env", "visible"] {
        let a = get(&fx.files, path).await;
        assert_refused(&a, &fx, path);
    }
    assert_eq!(get(&fx.files, ".env").await.status, StatusCode::NOT_FOUND);
    let fx = fixture(|c| c.hidden = true);
    assert_eq!(get(&fx.files, ".env").await.text(), SECRET);
    assert_eq!(get(&fx.files, ".git/config").await.text(), SECRET);
}

// ---- streaming -----------------------------------------------------------------

/// A recognisable pattern: byte i is i % 251, so any shift or padding shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn a_large_file_streams_in_bounded_chunks() {
    let fx = fixture(|c| {
        c.chunk = asynclab_core::config::units::Size(16 * 1024);
        c.read_buffer = asynclab_core::config::units::Size(16 * 1024);
    });
    let data = pattern(1_000_003);
    std::fs::write(fx.root.join("big.bin"), &data).unwrap();
    let req = Request::get("/files/big.bin")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let mut body = fx.files.serve(req, "big.bin").await.into_body();
    let mut got = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        assert!(data.len() <= 16 * 1024, "a frame of {} bytes", data.len());
        got.extend_from_slice(&data);
    }
    assert!(got == data, "the streamed bytes differ from the file");
    let a = send(
        &fx.files,
        Method::GET,
        "big.bin",
        &[("range", "bytes=100000-299999")],
    )
    .await;
    assert_eq!(a.status, StatusCode::PARTIAL_CONTENT);
    assert!(a.body[..] == data[100_000..300_000]);
}

/// Starts a download of a 32 MiB file, lets `change` act on it once the
/// transfer is under way, and returns (Content-Length, body bytes received).
async fn download_while(change: impl FnOnce(&Path) + Send + 'static) -> (usize, Vec<u8>, Vec<u8>) {
    let fx = fixture(|c| c.chunk = asynclab_core::config::units::Size(64 * 1024));
    let data = pattern(32 << 20);
    let path = fx.root.join("big.bin");
    std::fs::write(&path, &data).unwrap();
    let addr = spawn_server(fx.files.clone()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (head, mut body) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // Blocking file work (and a pause) goes to the blocking pool, not the runtime
    // thread the server shares; the server stalls meanwhile anyway, since this
    // client is not reading yet.
    let changed = path.clone();
    tokio::task::spawn_blocking(move || change(&changed))
        .await
        .expect("the change ran");
    let read = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut body)).await;
    // A reset is also a cut; what matters is what arrived before it.
    let _ = read.expect("the server neither finished nor cut the transfer");
    (content_length(&head), body, data)
}

#[tokio::test]
async fn a_file_shrinking_mid_stream_cuts_the_connection() {
    let (len, body, data) = download_while(|p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
    })
    .await;
    assert!(
        body.len() < len,
        "got all {len} bytes of a file that shrank"
    );
    assert!(
        body[..] == data[..body.len()],
        "the bytes sent are not a prefix of the file (padded?)"
    );
}

#[tokio::test]
async fn a_file_changing_mid_stream_cuts_the_connection() {
    let (len, body, data) = download_while(|p| {
        // Same size, new content: overwritten in place (no truncation), so only
        // the modification time tells. The pause lets the clock tick past the
        // file's creation time even on coarse-grained file systems.
        std::thread::sleep(Duration::from_millis(20));
        let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        std::io::Write::write_all(&mut f, &vec![0xAA; 32 << 20]).unwrap();
    })
    .await;
    assert!(
        body.len() < len,
        "got all {len} bytes of a file that changed"
    );
    // Everything sent before the cut came from one version or the other, chunk
    // by chunk; the first bytes (sent before the change) are the original's.
    assert!(body[..1024] == data[..1024]);
}

#[tokio::test]
async fn small_files_are_cached_then_checked_again() {
    let fx = fixture(|c| c.cache_ttl = Duration::from_millis(50));
    assert_eq!(get(&fx.files, "data.txt").await.text(), "hello, files\n");
    std::fs::write(fx.root.join("data.txt"), "changed\n").unwrap();
    // Well past the TTL, the new version (and new validators) must be served.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a = get(&fx.files, "data.txt").await;
    assert_eq!(a.text(), "changed\n");
    assert_eq!(a.header("content-length"), "8");
    std::fs::remove_file(fx.root.join("data.txt")).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get(&fx.files, "data.txt").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_large_file_changed_in_place_is_served_whole_at_once() {
    // A long TTL: the cached descriptor must be checked on every request,
    // not only once the TTL has passed.
    let fx = fixture(|c| c.cache_ttl = Duration::from_secs(3600));
    let old = pattern(300_000);
    std::fs::write(fx.root.join("big.bin"), &old).unwrap();
    assert!(get(&fx.files, "big.bin").await.body == old);
    // The pause lets the modification time move even on coarse clocks.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let new = vec![7u8; 300_000];
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(fx.root.join("big.bin"))
        .unwrap();
    std::io::Write::write_all(&mut f, &new).unwrap();
    drop(f);
    // Not cut (the test's `collect` would fail) and not the old bytes.
    assert!(get(&fx.files, "big.bin").await.body == new);
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

#[tokio::test]
async fn uploads_are_201_then_204_and_visible_at_once() {
    let fx = fixture(|c| c.upload = true);
    let put = |path: &'static str, body: &'static str| {
        send_body(
            &fx.files,
            Method::PUT,
            path,
            &[],
            Bytes::from_static(body.as_bytes()),
        )
    };
    assert_eq!(put("new.txt", "one").await.status, StatusCode::CREATED);
    assert_eq!(get(&fx.files, "new.txt").await.text(), "one");
    let replaced = put("new.txt", "two").await;
    assert_eq!(replaced.status, StatusCode::NO_CONTENT);
    assert_eq!(
        replaced.header("content-length"),
        "",
        "a 204 has no Content-Length"
    );
    assert_eq!(
        get(&fx.files, "new.txt").await.text(),
        "two",
        "the cache must not serve the old version"
    );
    assert_eq!(
        put("sub/x.txt", "in a folder").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        std::fs::read_to_string(fx.root.join("sub/x.txt")).unwrap(),
        "in a folder"
    );
    // The same path rules as GET.
    assert_eq!(
        put("../escape.txt", "x").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(put(".env", "x").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        put("nofolder/x.txt", "x").await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(put("sub", "x").await.status, StatusCode::CONFLICT);
    assert_eq!(put("sub/", "x").await.status, StatusCode::BAD_REQUEST);
    assert!(!fx.dir.join("escape.txt").exists());
    assert_eq!(
        std::fs::read_to_string(fx.root.join(".env")).unwrap(),
        SECRET
    );
    assert!(no_temp_files(&fx.root) && no_temp_files(&fx.root.join("sub")));
}

#[tokio::test]
async fn uploads_over_the_limit_are_413_and_leave_nothing() {
    let fx = fixture(|c| {
        c.upload = true;
        c.max_upload = asynclab_core::config::units::Size(1000);
    });
    let big = Bytes::from(vec![b'x'; 1001]);
    // Declared too large: refused before reading.
    let a = send_body(
        &fx.files,
        Method::PUT,
        "big.txt",
        &[("content-length", "1001")],
        big.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Undeclared (chunked): refused while streaming.
    let a = send_body(&fx.files, Method::PUT, "big.txt", &[], big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!fx.root.join("big.txt").exists());
    assert!(no_temp_files(&fx.root));
    let ok = Bytes::from(vec![b'x'; 1000]);
    assert_eq!(
        send_body(&fx.files, Method::PUT, "big.txt", &[], ok)
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn an_interrupted_upload_leaves_no_file() {
    let fx = fixture(|c| c.upload = true);
    std::fs::write(fx.root.join("keep.txt"), "old").unwrap();
    let addr = spawn_server(fx.files.clone()).await;
    for target in ["fresh.txt", "keep.txt"] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let head =
            format!("PUT /files/{target} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&[b'y'; 5000]).await.unwrap();
        s.flush().await.unwrap();
        drop(s);
    }
    // The server notices the closed connections on its own; wait (bounded) for
    // the temporary files to go.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !no_temp_files(&fx.root) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "temporary upload files left behind"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!fx.root.join("fresh.txt").exists());
    assert_eq!(
        std::fs::read_to_string(fx.root.join("keep.txt")).unwrap(),
        "old"
    );
}

#[tokio::test]
async fn concurrent_uploads_leave_one_complete_version() {
    let fx = fixture(|c| c.upload = true);
    let versions: Vec<Bytes> = (0..8u8)
        .map(|i| Bytes::from(vec![b'a' + i; 512 * 1024]))
        .collect();
    let mut tasks = Vec::new();
    for v in versions.clone() {
        let files = fx.files.clone();
        tasks.push(tokio::spawn(async move {
            send_body(&files, Method::PUT, "race.bin", &[], v)
                .await
                .status
        }));
    }
    let mut created = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::NO_CONTENT,
            "{status}"
        );
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1, "exactly one upload created the file");
    let stored = std::fs::read(fx.root.join("race.bin")).unwrap();
    assert!(
        versions.iter().any(|v| v[..] == stored[..]),
        "the stored file mixes uploads"
    );
    assert!(no_temp_files(&fx.root));
}

// ---- start-up ----------------------------------------------------------------------

#[test]
fn a_missing_root_is_a_clear_error_at_start() {
    let mut config = Config::builtin().files;
    config.root = "definitely-not-here".into();
    let err = Files::new(&config, Path::new("/nonexistent-base"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("files.root") && err.contains("definitely-not-here"),
        "{err}"
    );
}

#[test]
fn a_relative_root_starts_at_the_project_folder() {
    let at = |base: &str| Files::resolve_root("public", Path::new(base));
    assert_eq!(at("."), PathBuf::from("./public"));
    assert_eq!(at("/app/config"), PathBuf::from("/app/public"));
    assert_eq!(at("config"), PathBuf::from("public"));
    assert_eq!(at("/etc/asynclab"), PathBuf::from("/etc/asynclab/public"));
    assert_eq!(
        Files::resolve_root("/srv/www", Path::new("/app/config")),
        PathBuf::from("/srv/www")
    );
}

#[test]
fn the_shipped_public_folder_is_served_by_default() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let files = Files::new(&Config::builtin().files, &base).unwrap();
    for name in [
        "data.txt",
        "index.html",
        "style.css",
        "style.css.gz",
        "style.css.br",
        "info.json",
    ] {
        assert!(
            files.root().join(name).is_file(),
            "public/{name} is missing"
        );
    }
}
