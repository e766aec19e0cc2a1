//! The settings only the file system can confirm, checked the same way for
//! `asynclab config --check` and before a server starts, so `config --check`
//! accepts exactly what `serve` accepts.
//!
//! The configuration's own `check` sees values; it cannot see that a folder
//! named in `files.root` is missing. That is still a configuration error (one
//! line naming the key and where it was set, exit 2), found before anything binds.
//! The same goes for the `[tls]` files: a missing, unreadable or mismatched
//! certificate or key stops the process here, naming the file and the problem.

use asynclab_core::ConfigError;
use asynclab_core::config::{ClientAuth, Loaded, base_dir};
use asynclab_files::{Files, FilesError};
use asynclab_tls::{ServerTls, ServerTlsOptions, TlsError};

/// `files.root` must be a folder, unless it is the built-in default: `asynclab`
/// runs from any folder, with file serving off (the HTTP server logs that).
pub fn files_root(loaded: &Loaded) -> Result<(), ConfigError> {
    if loaded.is_default("files.root") {
        return Ok(());
    }
    match Files::check_root(&loaded.config.files, &base_dir(loaded)) {
        Ok(_) => Ok(()),
        Err(FilesError::Root {
            root,
            resolved,
            reason,
        }) => Err(ConfigError::Invalid {
            key: "files.root".into(),
            value: format!("{root:?}"),
            origin: loaded.origin("files.root"),
            reason: format!(
                "not a usable folder (resolved to {}): {reason}",
                resolved.display()
            ),
        }),
    }
}

/// The servers' TLS, when the HTTP server runs with `tls.addr` set or the echo
/// server with `echo.tls`: every file read and checked now. It offers HTTP/2
/// and HTTP/1.1 by ALPN (the echo server takes an acceptor offering none).
pub fn tls(loaded: &Loaded, http: bool, echo: bool) -> Result<Option<ServerTls>, ConfigError> {
    let config = &loaded.config;
    if !((http && config.tls.enabled()) || (echo && config.echo.tls)) {
        return Ok(None);
    }
    let base = base_dir(loaded);
    let path = |text: &str| (!text.trim().is_empty()).then(|| base.join(text.trim()));
    let options = ServerTlsOptions {
        cert: path(&config.tls.cert),
        key: path(&config.tls.key),
        client_ca: path(&config.tls.client_ca),
        client_auth: match config.tls.client_auth {
            ClientAuth::Required => asynclab_tls::ClientAuth::Required,
            ClientAuth::Optional => asynclab_tls::ClientAuth::Optional,
        },
        names: config.tls.names.clone(),
        alpn: vec![
            asynclab_tls::ALPN_H2.to_vec(),
            asynclab_tls::ALPN_HTTP11.to_vec(),
        ],
    };
    ServerTls::new(&options).map(Some).map_err(|e| {
        let key = match &e {
            TlsError::File {
                what: "private key",
                ..
            }
            | TlsError::Mismatch { .. } => "tls.key",
            TlsError::File {
                what: "client CA", ..
            } => "tls.client_ca",
            TlsError::SelfSigned(_) => "tls.names",
            _ => "tls.cert",
        };
        ConfigError::Invalid {
            key: key.into(),
            value: format!("{:?}", loaded_value(loaded, key)),
            origin: loaded.origin(key),
            reason: e.to_string(),
        }
    })
}

/// The text of a `[tls]` key, for the error line.
fn loaded_value(loaded: &Loaded, key: &str) -> String {
    let tls = &loaded.config.tls;
    match key {
        "tls.key" => tls.key.clone(),
        "tls.client_ca" => tls.client_ca.clone(),
        "tls.names" => tls.names.join(","),
        _ => tls.cert.clone(),
    }
}
