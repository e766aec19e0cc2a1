//! A throwaway PKI for tests (feature `test-pki`): a CA, a server certificate
//! for `localhost`/`127.0.0.1` and client certificates, written as PEM files
//! to a temp folder of their own, so every crate's TLS tests (HTTP, echo, the
//! load generator) build the same certificates the same way.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::{ClientTlsOptions, ServerTlsOptions};

/// Certificates for one test, as PEM files in a folder of their own.
#[derive(Debug)]
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
    /// A fresh PKI under the temp folder, named after the process and `test`.
    pub fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("asynclab-tls-{}-{test}", std::process::id()));
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
            alpn: vec![crate::ALPN_H2.to_vec(), crate::ALPN_HTTP11.to_vec()],
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

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
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
