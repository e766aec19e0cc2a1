//! `[tls]`: HTTPS beside HTTP, and TLS for the echo server. See the
//! `asynclab-tls` crate. Off by default (`addr = ""`); the files named here
//! are read and checked before anything binds (`asynclab/src/validate.rs`).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::units;
use super::{Check, invalid, nonzero};

/// The `[tls]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Where the HTTPS listener listens, beside `http.addr`; `None` (written
    /// `""`) means no HTTPS listener. Port 0 picks a free port.
    #[serde(with = "optional_addr")]
    pub addr: Option<SocketAddr>,
    /// The certificate chain (PEM, leaf first); empty with `key` empty: a
    /// self-signed certificate for `names` is made at start-up.
    pub cert: String,
    /// The certificate's private key (PEM).
    pub key: String,
    /// CA certificates (PEM) that client certificates must be signed by; set,
    /// it turns on mutual TLS.
    pub client_ca: String,
    /// With `client_ca`: `required` (no certificate, no connection) or
    /// `optional` (a client may show none; one it shows must verify).
    pub client_auth: ClientAuth,
    /// Names (DNS names, IP addresses) the self-signed certificate is valid for.
    pub names: Vec<String>,
    /// How often the certificate files are looked at for a change (a rotated
    /// Kubernetes Secret); `SIGHUP` reloads them at once.
    #[serde(with = "units::duration")]
    pub reload_interval: Duration,
}

/// `tls.client_auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    Required,
    Optional,
}

impl TlsConfig {
    pub(super) fn check(&self) -> Check {
        match (self.cert.trim().is_empty(), self.key.trim().is_empty()) {
            (false, true) => {
                return Err(invalid(
                    "tls.key",
                    &self.key,
                    "must be set when tls.cert is (or leave both empty for a self-signed certificate)",
                ));
            }
            (true, false) => {
                return Err(invalid(
                    "tls.cert",
                    &self.cert,
                    "must be set when tls.key is (or leave both empty for a self-signed certificate)",
                ));
            }
            _ => {}
        }
        if self.cert.trim().is_empty() && self.names.iter().all(|n| n.trim().is_empty()) {
            return Err(invalid(
                "tls.names",
                "[]",
                "must name at least one host for the self-signed certificate",
            ));
        }
        nonzero("tls.reload_interval", self.reload_interval)
    }

    /// True when an HTTPS listener is configured.
    pub fn enabled(&self) -> bool {
        self.addr.is_some()
    }
}

/// `""` for none, otherwise a socket address as `units::addr` reads it.
mod optional_addr {
    use super::*;

    pub fn serialize<S: Serializer>(a: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
        match a {
            Some(a) => s.collect_str(a),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim() {
            "" => Ok(None),
            some => units::addr::parse(some)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}
