//! The server side: one rustls `ServerConfig` built at start-up, and the
//! acceptor every connection's handshake uses.
//!
//! The handshake itself runs in each connection's task (see the HTTP server's
//! `conn/` and the echo server), under that server's timeouts and shutdown:
//! this file only decides *what* a handshake offers — which certificate
//! ([`ReloadableCert`]), which application protocols (ALPN: `h2`, `http/1.1`),
//! and whether the client must show a certificate (mutual TLS).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;

use crate::{ReloadableCert, SelfSigned, TlsAcceptor, TlsError, pem, provider};

/// `tls.client_auth`: with a client CA configured, must every client show a
/// certificate signed by it (`Required`), or may it show none (`Optional`; a
/// certificate it does show must still verify)?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    Required,
    Optional,
}

/// What the TLS side of a server needs to know.
#[derive(Debug, Clone, Default)]
pub struct ServerTlsOptions {
    /// The certificate chain (PEM, leaf first) and its key. Neither: a
    /// self-signed certificate for `names` is made.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// CA certificates (PEM) client certificates must be signed by: mutual TLS.
    pub client_ca: Option<PathBuf>,
    pub client_auth: ClientAuth,
    /// DNS names and IP addresses the self-signed certificate is valid for.
    pub names: Vec<String>,
    /// Application protocols offered by ALPN, preferred first (empty: none).
    pub alpn: Vec<Vec<u8>>,
}

/// A server's TLS, ready to accept.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    cert: Arc<ReloadableCert>,
    self_signed: Option<Arc<SelfSigned>>,
}

impl ServerTls {
    /// Reads and checks every file now: a missing, unreadable or mismatched
    /// file is an error naming it, before anything binds.
    pub fn new(options: &ServerTlsOptions) -> Result<Self, TlsError> {
        let (cert, self_signed) = match (&options.cert, &options.key) {
            (Some(cert), Some(key)) => (ReloadableCert::from_files(cert, key)?, None),
            (None, None) => {
                let made = SelfSigned::generate(&options.names)?;
                let key =
                    CertifiedKey::from_der(made.chain.clone(), made.key.clone_key(), &provider())
                        .map_err(|source| TlsError::Rustls {
                        context: "the self-signed certificate".into(),
                        source,
                    })?;
                (ReloadableCert::fixed(key), Some(Arc::new(made)))
            }
            (Some(_), None) => {
                return Err(TlsError::Incomplete(
                    "tls.cert is set but tls.key is not: set both, or neither for a self-signed certificate",
                ));
            }
            (None, Some(_)) => {
                return Err(TlsError::Incomplete(
                    "tls.key is set but tls.cert is not: set both, or neither for a self-signed certificate",
                ));
            }
        };
        let cert = Arc::new(cert);

        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Rustls {
                context: "the TLS versions".into(),
                source,
            })?;
        let builder = match &options.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let verifier = client_verifier(path, options.client_auth)?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_cert_resolver(cert.clone());
        config.alpn_protocols = options.alpn.clone();
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert,
            self_signed,
        })
    }

    /// What every connection's handshake runs through (cheap to clone).
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// An acceptor like [`ServerTls::acceptor`] but offering other ALPN
    /// protocols (the echo server offers none: it speaks no HTTP). It shares
    /// this one's certificate and client CA, so a reload reaches both.
    pub fn acceptor_with_alpn(&self, alpn: Vec<Vec<u8>>) -> TlsAcceptor {
        let mut config = rustls::ServerConfig::clone(self.acceptor.config());
        config.alpn_protocols = alpn;
        TlsAcceptor::from(Arc::new(config))
    }

    /// The certificate, to reload it or watch its files.
    pub fn cert(&self) -> &Arc<ReloadableCert> {
        &self.cert
    }

    /// The certificate made at start-up, when no files were configured.
    pub fn self_signed(&self) -> Option<&SelfSigned> {
        self.self_signed.as_deref()
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("config", self.acceptor.config())
            .field("self_signed", &self.self_signed.is_some())
            .finish()
    }
}

/// A verifier that accepts client certificates signed by a CA in `path`.
fn client_verifier(
    path: &std::path::Path,
    auth: ClientAuth,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    const WHAT: &str = "client CA";
    let mut roots = RootCertStore::empty();
    for cert in pem::chain(WHAT, path)? {
        roots
            .add(cert)
            .map_err(|e| TlsError::file(WHAT, path, format!("not a usable CA certificate: {e}")))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
    let builder = match auth {
        ClientAuth::Required => builder,
        ClientAuth::Optional => builder.allow_unauthenticated(),
    };
    builder.build().map_err(|e| TlsError::file(WHAT, path, e))
}
