//! TLS for asynclab: the configuration code the HTTP server, the echo server and
//! the clients (`check`, `load`) share, on [rustls] with the `ring` provider.
//!
//! Pattern: **build the TLS configuration once, hand out cheap handles.** A
//! rustls `ServerConfig` is made at start-up (every file read and checked
//! before anything binds, so a bad file stops the process with the file's
//! name), wrapped in an `Arc`, and every connection's handshake reads it. The
//! certificate itself sits behind a lock in [`ReloadableCert`], so rotating it
//! changes what *new* handshakes present without touching open connections.
//!
//! | file | what it does |
//! |---|---|
//! | `pem.rs` | reading PEM certificate chains, keys and CA bundles, errors naming the file |
//! | `self_signed.rs` | a certificate for `localhost` made at start-up when none is configured |
//! | `server.rs` | [`ServerTls`]: the server config (ALPN, client certificates for mutual TLS) and its acceptor |
//! | `reload.rs` | [`ReloadableCert`]: the certificate new handshakes get, replaced on SIGHUP or when its files change |
//! | `inspect.rs` | what a certificate says: its subject, its expiry (warnings at start) |
//! | `args.rs` | [`TlsArgs`]: the client's flags, shared by `check` and `load` |
//! | `client.rs` | [`ClientTls`]: the client side for `check` and `load` (`--cacert`, `--insecure`, `--cert`/`--key`) |
//! | `test_pki.rs` | (feature `test-pki`) a CA, server and client certificates for tests |
//!
//! TLS versions are rustls's defaults: 1.3 and 1.2, nothing older.

mod args;
mod client;
mod error;
mod inspect;
mod pem;
mod reload;
mod self_signed;
mod server;
#[cfg(feature = "test-pki")]
mod test_pki;

pub use args::TlsArgs;
pub use client::{ClientTls, ClientTlsOptions};
pub use error::TlsError;
pub use inspect::{fingerprint, subject};
pub use reload::ReloadableCert;
pub use rustls;
pub use self_signed::SelfSigned;
pub use server::{ClientAuth, ServerTls, ServerTlsOptions};
#[cfg(feature = "test-pki")]
pub use test_pki::Pki;
pub use tokio_rustls::{
    TlsAcceptor, TlsConnector, client::TlsStream as ClientStream, server::TlsStream as ServerStream,
};

/// The ALPN names HTTP servers and clients offer, preferred first.
pub const ALPN_H2: &[u8] = b"h2";
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The first byte of every TLS connection: a handshake record (RFC 8446 §5.1).
/// A server on a TLS port that peeks anything else is talking to a client that
/// did not start TLS (say, `curl http://` on the HTTPS port).
pub const HANDSHAKE_RECORD: u8 = 0x16;

/// The crypto provider every config here is built with: `ring`.
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
