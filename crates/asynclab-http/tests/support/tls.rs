//! TLS test helpers: a throwaway PKI written to a temp folder (a CA, a server
//! certificate for `localhost`/`127.0.0.1`, client certificates), a server with
//! its HTTPS listener, and a rustls client that speaks HTTP/1.1 or h2 as ALPN
//! decides.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use asynclab_core::config::Config;
use asynclab_tls::{ClientTls, ClientTlsOptions, ServerTlsOptions};
use bytes::Bytes;
use http::Request;
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::TcpStream;

use super::{Answer, STEP, TestServer, read_answer};

/// Certificates for one test, as PEM files in a folder of their own.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// `CN=alice`, signed by `ca`.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// `CN=mallory`, signed by a CA the server does not trust.
    pub stranger_cert: PathBuf,
    pub stranger_key: PathBuf,
}

impl Pki {
    pub fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("asynclab-http-tls-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        let (ca, ca_key) = authority("asynclab test CA");
        let (_, other_key) = authority("someone else's CA");
        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("write pem");
            path
        };
        let (server_cert, server_key) = leaf(&ca_key, "localhost", &["localhost", "127.0.0.1"]);
        let (client_cert, client_key) = leaf(&ca_key, "alice", &[]);
        let (stranger_cert, stranger_key) = leaf(&other_key, "mallory", &[]);
        Self {
            ca: write("ca.pem", ca.pem()),
            server_cert: write("server.pem", server_cert),
            server_key: write("server-key.pem", server_key),
            client_cert: write("client.pem", client_cert),
            client_key: write("client-key.pem", client_key),
            stranger_cert: write("stranger.pem", stranger_cert),
            stranger_key: write("stranger-key.pem", stranger_key),
            dir,
        }
    }

    /// The server's options with this PKI's certificate and ALPN for HTTP.
    pub fn server(&self) -> ServerTlsOptions {
        ServerTlsOptions {
            cert: Some(self.server_cert.clone()),
            key: Some(self.server_key.clone()),
            alpn: vec![
                asynclab_tls::ALPN_H2.to_vec(),
                asynclab_tls::ALPN_HTTP11.to_vec(),
            ],
            ..Default::default()
        }
    }

    /// A client trusting this PKI's CA, offering `alpn`.
    pub fn client(&self, alpn: &[&[u8]]) -> ClientTlsOptions {
        ClientTlsOptions {
            cacert: Some(self.ca.clone()),
            alpn: alpn.iter().map(|p| p.to_vec()).collect(),
            ..Default::default()
        }
    }
}

fn authority(name: &str) -> (rcgen::Certificate, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("CA certificate");
    (cert, Issuer::new(params, key))
}

/// A certificate for `cn` (and `names`), signed by the issuer: (cert PEM, key PEM).
fn leaf(issuer: &Issuer<'static, KeyPair>, cn: &str, names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.signed_by(&key, issuer).expect("signed");
    (cert.pem(), key.serialize_pem())
}

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
