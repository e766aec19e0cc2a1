//! The client side, for `asynclab check https://...` and `asynclab load
//! https://...`: which servers to trust (`--cacert FILE`, the system's CAs, or
//! nobody with `--insecure`), a client certificate for mutual TLS (`--cert`,
//! `--key`), and the ALPN protocols to offer.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::{TlsConnector, TlsError, pem, provider};

/// The client's TLS flags.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsOptions {
    /// Trust any server certificate (`curl -k`): for self-signed test servers only.
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file instead of the system's.
    pub cacert: Option<PathBuf>,
    /// A client certificate chain and its key, for servers that ask (mutual TLS).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Application protocols offered by ALPN, preferred first.
    pub alpn: Vec<Vec<u8>>,
    /// Keep no sessions: every handshake is a full one. By default rustls
    /// remembers sessions in memory, and a new connection to the same server
    /// resumes one (fewer round trips, no certificate check or signature).
    pub no_resumption: bool,
}

/// A client TLS configuration, built once and shared by every connection.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
}

impl ClientTls {
    pub fn new(options: &ClientTlsOptions) -> Result<Self, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Rustls {
                context: "the TLS versions".into(),
                source,
            })?;
        let builder = if options.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider())))
        } else {
            builder.with_root_certificates(roots(options.cacert.as_deref())?)
        };
        let mut config = match (&options.cert, &options.key) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(pem::chain("client certificate", cert)?, pem::key(key)?)
                .map_err(|e| TlsError::Mismatch {
                    cert: cert.clone(),
                    key: key.clone(),
                    problem: e.to_string(),
                })?,
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(TlsError::Incomplete("--cert and --key go together")),
        };
        config.alpn_protocols = options.alpn.clone();
        if options.no_resumption {
            config.resumption = rustls::client::Resumption::disabled();
        }
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// What each connection's handshake runs through (cheap to clone).
    pub fn connector(&self) -> TlsConnector {
        TlsConnector::from(self.config.clone())
    }

    /// The rustls configuration (hyper-based clients take it directly).
    pub fn config(&self) -> &Arc<rustls::ClientConfig> {
        &self.config
    }

    /// The name the server's certificate must be valid for, from a URL's host.
    pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
        // `[::1]` in a URL is `::1` to TLS.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(host.to_string()).map_err(|e| TlsError::Rustls {
            context: format!("`{host}` as a TLS server name"),
            source: rustls::Error::General(e.to_string()),
        })
    }
}

/// The CAs to trust: those in `cacert`, or the system's.
fn roots(cacert: Option<&std::path::Path>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    match cacert {
        Some(path) => {
            for cert in pem::chain("CA certificate", path)? {
                roots.add(cert).map_err(|e| {
                    TlsError::file("CA certificate", path, format!("not a usable CA: {e}"))
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(TlsError::Incomplete(
                    "no CA certificates found on this system: pass --cacert FILE (or --insecure)",
                ));
            }
        }
    }
    Ok(roots)
}

/// `--insecure`: every server certificate is accepted, but the handshake's
/// signatures are still checked (so the connection is encrypted to whoever
/// holds that certificate's key, as `curl -k` does).
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
