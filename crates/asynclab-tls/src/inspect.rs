//! What a certificate says about itself: the subject a client certificate names
//! (handed to handlers under mutual TLS), its fingerprint (printed for the
//! self-signed one) and its validity (a warning at start when it has expired or
//! soon will).

use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;

/// A certificate closer than this to its expiry gets a warning when loaded.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// The subject's distinguished name (`CN=alice,O=Example`), or `None` when the
/// certificate cannot be parsed (rustls verified it, so that would be odd).
pub fn subject(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    Some(parsed.subject().to_string())
}

/// The SHA-256 fingerprint as `AB:CD:...`, as browsers and `openssl x509
/// -fingerprint -sha256` show it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Logs a warning when `cert` has expired or expires within [`EXPIRY_WARNING`].
/// `source` names where it came from (a file path). Not an error: a demo with
/// an expired certificate still starts, and clients say what they think of it.
pub fn warn_if_expiring(cert: &CertificateDer<'_>, source: &str) {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert) else {
        return;
    };
    let not_after = parsed.validity().not_after;
    let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(not_after.timestamp().max(0) as u64);
    let now = SystemTime::now();
    if expires <= now {
        tracing::warn!(certificate = source, expired = %not_after, "the TLS certificate has expired: clients will refuse it");
    } else if expires <= now + EXPIRY_WARNING {
        tracing::warn!(certificate = source, expires = %not_after, "the TLS certificate expires soon");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_has_a_subject_and_a_sha256_fingerprint() {
        let made = crate::SelfSigned::generate(&["localhost".into()]).expect("rcgen works");
        let cert = &made.chain[0];
        let fp = fingerprint(cert);
        assert_eq!(fp.len(), 32 * 3 - 1, "32 bytes as AB: pairs: {fp}");
        assert!(
            subject(cert).is_some_and(|s| s.contains("CN=")),
            "{:?}",
            subject(cert)
        );
    }
}
