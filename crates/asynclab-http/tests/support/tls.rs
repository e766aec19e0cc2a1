//! TLS test helpers: a server with its HTTPS listener, and a rustls client
//! that speaks HTTP/1.1 or h2 as ALPN decides. The certificates are
//! `asynclab_tls::Pki`'s (a CA, a server certificate for `localhost`, client
//! certificates), shared with the other crates' TLS tests.

use std::net::SocketAddr;
use std::path::Path;

use asynclab_core::config::Config;
pub use asynclab_tls::Pki;
use asynclab_tls::{ClientTls, ClientTlsOptions, ServerTlsOptions};
use bytes::Bytes;
use http::Request;
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::{Answer, STEP, TestServer, read_answer};

/// Starts a server with an HTTPS listener too; `TestServer::https` is its address.
pub async fn spawn_tls(tls: &ServerTlsOptions, tweak: impl FnOnce(&mut Config)) -> TestServer {
    super::start(tweak, Some(tls)).await
}

/// A TLS connection to `addr` as `localhost` with `options`: the stream, or
/// the handshake's error.
pub async fn connect(
    addr: SocketAddr,
    options: &ClientTlsOptions,
) -> std::io::Result<asynclab_tls::ClientStream<TcpStream>> {
    let tls = ClientTls::new(options).expect("client TLS builds");
    let tcp = TcpStream::connect(addr).await?;
    let name = ClientTls::server_name("localhost").expect("a DNS name");
    tokio::time::timeout(STEP, tls.connector().connect(name, tcp))
        .await
        .expect("handshake within STEP")
}

/// `GET https://localhost{path}` over `stream`, in the protocol ALPN chose.
pub async fn get_over(
    stream: asynclab_tls::ClientStream<TcpStream>,
    path: &str,
) -> Result<Answer, hyper::Error> {
    let h2 = stream.get_ref().1.alpn_protocol() == Some(asynclab_tls::ALPN_H2);
    let io = TokioIo::new(stream);
    let req = Request::builder()
        .uri(format!("https://localhost{path}"))
        .body(Empty::<Bytes>::new())
        .expect("valid request");
    let fut = async {
        let res = if h2 {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(conn);
            sender.send_request(req).await?
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn);
            sender.send_request(req).await?
        };
        Ok(read_answer(res).await)
    };
    tokio::time::timeout(STEP, fut)
        .await
        .expect("answer within STEP")
}

/// Connects with `options` and gets `path`: the whole exchange.
pub async fn https_get(addr: SocketAddr, options: &ClientTlsOptions, path: &str) -> Answer {
    let stream = connect(addr, options).await.expect("handshake");
    get_over(stream, path).await.expect("request")
}

/// Runs `program args`, returning (exit success, stdout, stderr), off the runtime.
pub async fn run(program: &str, args: Vec<String>, stdin: &'static [u8]) -> (bool, String, String) {
    let program = program.to_string();
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(&program)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} must be installed (.ci/run installs it): {e}"));
        let _ = child.stdin.take().expect("piped").write_all(stdin);
        child.wait_with_output().expect("wait")
    });
    let out = tokio::time::timeout(STEP, out)
        .await
        .expect("exits within STEP")
        .expect("joined");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn path(p: &Path) -> String {
    p.display().to_string()
}
