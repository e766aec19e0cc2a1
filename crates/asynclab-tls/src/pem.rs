//! Reading PEM files: a certificate chain (leaf first, then its intermediates),
//! a private key (PKCS#8, PKCS#1 or SEC1) and a bundle of CA certificates.
//! rustls-pki-types does the parsing; this file turns its errors into ones that
//! say which file and what was wrong with it.

use std::path::Path;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::TlsError;

/// Every certificate in `path`, in file order. At least one is required.
pub fn chain(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    // Read the file ourselves first: "No such file" or "Permission denied"
    // reads better than the parser's wrapping of it.
    let bytes = std::fs::read(path).map_err(|e| TlsError::file(what, path, e))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::file(what, path, problem(e)))?;
    if certs.is_empty() {
        return Err(TlsError::file(
            what,
            path,
            "no `BEGIN CERTIFICATE` section found (is it a PEM certificate?)",
        ));
    }
    Ok(certs)
}

/// The first private key in `path`.
pub fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    const WHAT: &str = "private key";
    let bytes = std::fs::read(path).map_err(|e| TlsError::file(WHAT, path, e))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::file(WHAT, path, problem(e)))
}

fn problem(e: pem::Error) -> String {
    match e {
        pem::Error::NoItemsFound => "no PEM section of the right kind found".into(),
        other => format!("not valid PEM: {other}"),
    }
}
