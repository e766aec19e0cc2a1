//! The bare hyper 1.x + rustls server asynclab's HTTPS figures are compared
//! against: bare-hyper's `Hello, World!` behind a TLS handshake.
//!
//! One `ServerConfig` (the `ring` provider, TLS 1.3 and 1.2, ALPN `h2` then
//! `http/1.1`), one task per connection doing the handshake and then serving
//! whichever protocol ALPN chose. No routing, no middleware, no limits, no
//! timeouts, no graceful shutdown: the cost floor of serving HTTPS with hyper.
//!
//! ```text
//! cargo build --release && target/release/bare-hyper-tls 127.0.0.1:8444 cert.pem key.pem
//! ```

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpSocket};
use tokio_rustls::TlsAcceptor;

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"Hello, World!"))))
}

fn tls(cert: &str, key: &str) -> std::io::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(std::io::Error::other)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(std::io::Error::other)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8444".into());
    let cert = args.next().unwrap_or_else(|| "cert.pem".into());
    let key = args.next().unwrap_or_else(|| "key.pem".into());
    let acceptor = tls(&cert, &key)?;
    // The same listen backlog as asynclab's default (`http.backlog`).
    let addr: std::net::SocketAddr = addr.parse().map_err(std::io::Error::other)?;
    let socket = match addr {
        std::net::SocketAddr::V4(_) => TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener: TcpListener = socket.listen(4096)?;
    println!("bare-hyper-tls listening on https://{}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let io = TokioIo::new(stream);
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection(io, service_fn(hello))
                .await;
            if let Err(e) = served {
                eprintln!("connection: {e}");
            }
        });
    }
}
