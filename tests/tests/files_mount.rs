//! The file server mounted in the real binary: `/files/` serves the shipped
//! `public/` folder (the crate's own behaviour is tested in `asynclab-files`).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use common::{Server, command};

/// One HTTP/1.1 request on a fresh connection; returns the whole response.
fn get(addr: SocketAddr, method: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read response");
    out
}

#[test]
fn public_folder_is_served_under_files() {
    let public = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../public");
    let root = format!(
        "files.root={}",
        public.canonicalize().expect("public/ exists").display()
    );
    let mut cmd = command(&["http", "--set", &root]);
    cmd.current_dir(common::temp_dir("files"));
    let server = Server::start_with(cmd);
    let addr = server.http.expect("http address");

    let expected = std::fs::read_to_string(public.join("data.txt")).expect("data.txt");
    let res = get(addr, "GET", "/files/data.txt");
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(
        res.to_ascii_lowercase()
            .contains("content-type: text/plain; charset=utf-8"),
        "{res}"
    );
    assert!(res.ends_with(&expected), "{res}");

    let res = get(addr, "GET", "/files/");
    assert!(
        res.starts_with("HTTP/1.1 200") && res.contains("<html"),
        "index.html: {res}"
    );

    let res = get(addr, "DELETE", "/files/data.txt");
    assert!(res.starts_with("HTTP/1.1 405"), "{res}");
    assert!(
        res.to_ascii_lowercase().contains("allow: get, head\r\n"),
        "uploads are off: {res}"
    );
    // Counted under the file server's route, not as an unmatched request.
    let metrics = get(addr, "GET", "/metrics");
    assert!(
        metrics.contains(
            r#"http_requests_total{route="/files/{path}",method="DELETE",status="405"} 1"#
        ),
        "{metrics}"
    );
    for (series, why) in [
        (
            r#"http_request_duration_seconds_count{route="/files/{path}",method="GET",class="2xx"} 2"#,
            "GET data.txt and GET /files/",
        ),
        (
            r#"http_request_duration_seconds_count{route="/files/{path}",method="DELETE",class="4xx"} 1"#,
            "the DELETE",
        ),
    ] {
        assert!(metrics.contains(series), "{why}: {metrics}");
    }

    let res = get(addr, "GET", "/files/..%2f..%2fCargo.toml");
    assert!(res.starts_with("HTTP/1.1 4"), "{res}");
    assert!(
        !res.contains(&public.display().to_string()),
        "no server paths leak: {res}"
    );
}
