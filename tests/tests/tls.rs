//! HTTPS from the outside: the binary with `tls.addr` set. A bad certificate
//! file stops it before anything binds (exit 2, naming the file); the
//! self-signed certificate it prints works with `check --cacert`; `check`
//! with each TLS flag; the certificate rotated on SIGHUP, a bad one refused.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Server, command, run, temp_dir};

const T: Duration = Duration::from_secs(30);

/// A self-signed certificate for `localhost`/`127.0.0.1` named `cn`, written
/// as `cert.pem`/`key.pem` in `dir` (replacing what is there).
fn write_cert(dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key).expect("cert");
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    // Written beside and renamed over, as a Secret volume swaps files: a
    // reload never sees half a file.
    for (path, pem) in [(&c, cert.pem()), (&k, key.serialize_pem())] {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, pem).expect("write pem");
        std::fs::rename(&tmp, path).expect("rename");
    }
    // Kept as `<cn>.pem` too: the CA file a client trusts for this one.
    std::fs::copy(&c, dir.join(format!("{cn}.pem"))).expect("copy");
    (c, k)
}

/// `asynclab check <url> <flags>`: (exit code, stdout).
fn check(url: &str, flags: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["check", url];
    args.extend_from_slice(flags);
    let out = run(command(&args), T);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn https_server(extra: &[&str]) -> Server {
    let mut args = vec!["http", "--set", "tls.addr=127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn a_missing_or_mismatched_certificate_stops_the_server_before_it_binds() {
    let dir = temp_dir("tls-bad");
    let missing = dir.join("missing.pem");
    let (cert, _) = write_cert(&dir, "a");
    let other = temp_dir("tls-bad-other");
    let (_, other_key) = write_cert(&other, "b");
    for (cert, key, says) in [
        (&missing, &other_key, "No such file"),
        (&cert, &other_key, "does not match"),
    ] {
        let out = run(
            command(&[
                "http",
                "--set",
                "http.addr=127.0.0.1:0",
                "--set",
                "tls.addr=127.0.0.1:0",
                "--set",
                &format!("tls.cert={}", cert.display()),
                "--set",
                &format!("tls.key={}", key.display()),
            ]),
            T,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("listening"), "{stderr}");
    }
    // `config --check` says the same.
    let out = run(
        command(&[
            "config",
            "--check",
            "--set",
            "tls.addr=127.0.0.1:0",
            "--set",
            &format!("tls.cert={}", missing.display()),
            "--set",
            &format!("tls.key={}", other_key.display()),
        ]),
        T,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.pem"));
}

#[test]
fn check_https_with_the_printed_certificate_insecure_or_neither() {
    let server = https_server(&[]);
    let https = server.https.expect("an https address");
    let cert = server.cert.clone().expect("a self-signed certificate file");
    let url = format!("https://localhost:{}/readyz", https.port());
    let cacert = cert.display().to_string();
    let (code, out) = check(&url, &["--cacert", &cacert]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("ok: https://"), "{out}");
    let (code, out) = check(&url, &["--insecure"]);
    assert_eq!(code, Some(0), "{out}");
    // The system's CAs do not know this certificate.
    let (code, out) = check(&url, &[]);
    assert_eq!(code, Some(1), "{out}");
    // A CA file that is not there is a usage error.
    let (code, out) = check(&url, &["--cacert", "/nonexistent/ca.pem"]);
    assert_eq!(code, Some(2), "{out}");
    let mut server = server;
    server.signal("TERM");
    assert_eq!(server.wait(T).code(), Some(0));
    assert!(!cert.exists(), "the certificate file is removed at exit");
}

#[test]
fn check_with_a_client_certificate_passes_mutual_tls() {
    let dir = temp_dir("tls-mtls");
    let (client_cert, client_key) = write_cert(&dir, "client");
    let server = https_server(&["--set", &format!("tls.client_ca={}", client_cert.display())]);
    let url = format!(
        "https://localhost:{}/readyz",
        server.https.expect("https").port()
    );
    let cacert = server.cert.clone().expect("cert").display().to_string();
    let (code, out) = check(&url, &["--cacert", &cacert]);
    assert_eq!(code, Some(1), "refused without a client certificate: {out}");
    let (c, k) = (
        client_cert.display().to_string(),
        client_key.display().to_string(),
    );
    let (code, out) = check(&url, &["--cacert", &cacert, "--cert", &c, "--key", &k]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn sighup_rotates_the_certificate_and_a_bad_file_keeps_the_old_one() {
    let dir = temp_dir("tls-reload");
    let (cert, key) = write_cert(&dir, "first");
    let server = https_server(&[
        "--set",
        &format!("tls.cert={}", cert.display()),
        "--set",
        &format!("tls.key={}", key.display()),
        // Long: this test rotates by SIGHUP, not by the file watch.
        "--set",
        "tls.reload_interval=1h",
    ]);
    let url = format!(
        "https://localhost:{}/fast",
        server.https.expect("https").port()
    );
    let trusts = |cn: &str| {
        check(
            &url,
            &[
                "--cacert",
                &dir.join(format!("{cn}.pem")).display().to_string(),
            ],
        )
        .0 == Some(0)
    };
    assert!(trusts("first"));

    write_cert(&dir, "second");
    server.signal("HUP");
    assert!(
        server.wait_for_log("TLS certificate reloaded", T),
        "{}",
        server.logs()
    );
    assert!(
        trusts("second") && !trusts("first"),
        "new handshakes get the new certificate"
    );

    std::fs::write(&key, "not a key").expect("write");
    server.signal("HUP");
    assert!(
        server.wait_for_log("TLS certificate not reloaded", T),
        "{}",
        server.logs()
    );
    assert!(
        server.logs().contains("key.pem"),
        "the error names the file"
    );
    assert!(trusts("second"), "the old certificate stays in use");
}
