//! The TLS configuration against real files: what a bad file says, and a
//! certificate replaced on disk reaching new handshakes (a bad one never does).

use std::path::{Path, PathBuf};

use asynclab_tls::{ReloadableCert, SelfSigned, ServerTls, ServerTlsOptions, TlsError};

/// A fresh folder under the system temp dir, unique to this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asynclab-tls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

/// Writes a new certificate and key for `localhost` as `cert.pem`/`key.pem`.
fn write_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.pem()).expect("write cert");
    std::fs::write(&k, key.serialize_pem()).expect("write key");
    (c, k)
}

fn options(cert: &Path, key: &Path) -> ServerTlsOptions {
    ServerTlsOptions {
        cert: Some(cert.into()),
        key: Some(key.into()),
        ..Default::default()
    }
}

#[test]
fn a_missing_file_is_named_with_the_reason() {
    let dir = scratch("missing");
    let (cert, _) = write_pair(&dir);
    let err = ServerTls::new(&options(&cert, &dir.join("nope.pem"))).expect_err("no key file");
    let text = err.to_string();
    assert!(
        text.contains("private key") && text.contains("nope.pem"),
        "{text}"
    );
    assert!(text.contains("No such file"), "{text}");
}

#[test]
fn a_file_that_is_not_pem_is_refused() {
    let dir = scratch("garbage");
    let (_, key) = write_pair(&dir);
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "hello").expect("write");
    let err = ServerTls::new(&options(&garbage, &key)).expect_err("not a certificate");
    assert!(
        err.to_string().contains("garbage.pem") && err.to_string().contains("BEGIN CERTIFICATE"),
        "{err}"
    );
}

#[test]
fn a_key_from_another_certificate_is_a_mismatch() {
    let (a, b) = (scratch("mismatch-a"), scratch("mismatch-b"));
    let (cert, _) = write_pair(&a);
    let (_, other_key) = write_pair(&b);
    let err = ServerTls::new(&options(&cert, &other_key)).expect_err("mismatch");
    assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn a_cert_without_a_key_is_refused() {
    let dir = scratch("half");
    let (cert, _) = write_pair(&dir);
    let half = ServerTlsOptions {
        cert: Some(cert),
        ..Default::default()
    };
    let err = ServerTls::new(&half).expect_err("half a pair");
    assert!(err.to_string().contains("tls.key"), "{err}");
}

#[test]
fn no_files_make_a_self_signed_certificate_for_the_names() {
    let made = SelfSigned::generate(&["localhost".into(), "127.0.0.1".into()]).expect("made");
    assert!(made.pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let dir = scratch("selfsigned");
    let path = made.write(&dir).expect("written");
    assert_eq!(std::fs::read_to_string(path).expect("read back"), made.pem);
}

#[test]
fn a_reload_takes_a_good_new_pair_and_keeps_the_old_one_on_a_bad_one() {
    let dir = scratch("reload");
    let (cert, key) = write_pair(&dir);
    let store = ReloadableCert::from_files(&cert, &key).expect("loads");
    let first = store.current().cert[0].clone();

    write_pair(&dir);
    assert!(store.reload().expect("a good pair reloads"));
    let second = store.current().cert[0].clone();
    assert_ne!(first, second, "the new certificate is served");

    std::fs::write(&key, "not a key").expect("write");
    let err = store.reload().expect_err("a bad key is refused");
    assert!(err.to_string().contains("key.pem"), "{err}");
    assert_eq!(store.current().cert[0], second, "the old certificate stays");
}
