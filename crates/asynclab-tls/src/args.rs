//! The client's TLS flags, as curl spells them (`--insecure`, `--cacert`,
//! `--cert`, `--key`), declared once for every command that connects over TLS:
//! `asynclab check` and `asynclab load` both flatten [`TlsArgs`] into their
//! own flags (clap's `#[command(flatten)]`), so the two cannot drift apart.

use std::path::PathBuf;

use crate::{ClientTls, ClientTlsOptions, TlsError};

/// The client's TLS flags, for `https://`, `wss://` and `tls://` targets.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Accept any server certificate (like `curl -k`): self-signed test servers only.
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file instead of the system's.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,
    /// A client certificate (PEM) for servers that ask for one (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
}

impl TlsArgs {
    /// The client options these flags describe, offering `alpn`.
    pub fn options(&self, alpn: &[&[u8]]) -> ClientTlsOptions {
        ClientTlsOptions {
            insecure: self.insecure,
            cacert: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            alpn: alpn.iter().map(|p| p.to_vec()).collect(),
            no_resumption: false,
        }
    }

    /// The rustls client these flags describe, offering `alpn`.
    pub fn client(&self, alpn: &[&[u8]]) -> Result<ClientTls, TlsError> {
        ClientTls::new(&self.options(alpn))
    }

    /// True when any flag is given (a plain `http://` target ignores them).
    pub fn any(&self) -> bool {
        self.insecure || self.cacert.is_some() || self.cert.is_some() || self.key.is_some()
    }
}
