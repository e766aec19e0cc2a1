//! A certificate made at start-up, so `asynclab serve --set tls.addr=...` works
//! on a fresh machine with no files. Its certificate (never its key) is written
//! to a file that clients can trust with `curl --cacert FILE`; its fingerprint
//! is printed for those who check by eye.

use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::TlsError;

/// A freshly generated certificate and its key, kept in memory.
#[derive(Debug)]
pub struct SelfSigned {
    /// The certificate alone (a chain of one).
    pub chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
    /// The certificate in PEM, as written by [`SelfSigned::write`].
    pub pem: String,
}

impl SelfSigned {
    /// A certificate valid for each of `names` (DNS names or IP addresses; rcgen
    /// encodes `127.0.0.1` as an IP address entry, which is what clients check).
    pub fn generate(names: &[String]) -> Result<Self, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "asynclab self-signed");
        params.distinguished_name = dn;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            pem: cert.pem(),
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }

    /// Writes the certificate to `dir/asynclab-<pid>-cert.pem` and returns the
    /// path. One file per process, so two servers on one machine never trust
    /// each other's certificate by mistake.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(format!("asynclab-{}-cert.pem", std::process::id()));
        std::fs::write(&path, &self.pem)?;
        Ok(path)
    }
}
