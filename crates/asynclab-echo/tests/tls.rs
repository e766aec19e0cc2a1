//! The echo server over TLS (`echo.tls`), in process, with real handshakes: a
//! rustls client and `openssl s_client` get the same echo as a plain client,
//! and the limits (connections, idle timeout, line length), the shutdown
//! farewell and mutual TLS all hold; a client that never finishes its handshake
//! is cut by `echo.handshake_timeout`.

mod common;

use std::time::Duration;

use asynclab_tls::{ClientAuth, Pki, ServerTls, ServerTlsOptions, TlsAcceptor};
use common::{Client, EchoConfig, EchoMode, PATIENCE, TestServer, config, start_tls, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The echo server's acceptor, as `asynclab serve` makes it: the `[tls]`
/// certificate, no ALPN.
fn acceptor(options: &ServerTlsOptions) -> TlsAcceptor {
    ServerTls::new(options)
        .expect("the test certificates load")
        .acceptor_with_alpn(Vec::new())
}

async fn server(pki: &Pki, config: EchoConfig) -> TestServer {
    start_tls(config, acceptor(&pki.server())).await
}

#[tokio::test]
async fn lines_come_back_over_tls_and_a_half_close_is_answered() {
    let pki = Pki::new("echo-lines");
    let server = server(&pki, config()).await;
    let mut client = Client::tls(server.addr, &pki.client(&[]))
        .await
        .expect("handshake");
    assert_eq!(client.round_trip(b"hello\n").await, b"Echo: hello\n");
    // Two lines and the start of a third in one write.
    client.send(b"one\r\ntwo\nthr").await;
    assert_eq!(client.line().await, b"Echo: one\r\n");
    assert_eq!(client.line().await, b"Echo: two\n");
    client.send(b"ee\nlast").await;
    assert_eq!(client.line().await, b"Echo: three\n");
    // TLS's close_notify is the half-close: the last line is still answered.
    client.half_close().await;
    assert_eq!(client.rest().await, b"Echo: last\n");
    server
        .wait_for("the connection to end", |m| m.open.get() == 0)
        .await;
    assert_eq!(server.metrics.lines.get(), 5);
}

#[tokio::test]
async fn raw_mode_echoes_a_megabyte_byte_for_byte_over_tls() {
    let pki = Pki::new("echo-raw");
    let server = server(
        &pki,
        EchoConfig {
            mode: EchoMode::Raw,
            ..config()
        },
    )
    .await;
    let client = Client::tls(server.addr, &pki.client(&[]))
        .await
        .expect("handshake");
    let sent: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let (mut read, mut write) = tokio::io::split(client.stream);
    let payload = sent.clone();
    // Written while the echo is read: more than every buffer on the way holds,
    // so the server's writes to us do not all complete at once.
    let writer = tokio::spawn(async move {
        write.write_all(&payload).await.expect("send");
        write.shutdown().await.expect("close_notify");
    });
    let mut got = Vec::new();
    within(PATIENCE * 2, read.read_to_end(&mut got))
        .await
        .expect("read the echo to the end");
    writer.await.expect("writer");
    assert!(got == sent, "{} bytes back of {}", got.len(), sent.len());
}

#[tokio::test]
async fn idle_timeout_long_lines_and_shutdown_are_told_over_tls() {
    let pki = Pki::new("echo-limits");
    let server = server(
        &pki,
        EchoConfig {
            idle_timeout: Duration::from_millis(400),
            max_line: asynclab_core::config::Size(8),
            ..config()
        },
    )
    .await;
    let options = pki.client(&[]);
    let mut idle = Client::tls(server.addr, &options).await.expect("handshake");
    assert_eq!(idle.line().await, b"bye: idle timeout\n");
    assert_eq!(idle.rest().await, b"");

    let mut long = Client::tls(server.addr, &options).await.expect("handshake");
    long.send(b"far too long a line\n").await;
    assert_eq!(long.line().await, b"error: line too long (max 8 bytes)\n");

    let mut last = Client::tls(server.addr, &options).await.expect("handshake");
    assert_eq!(last.round_trip(b"hi\n").await, b"Echo: hi\n");
    server.stop();
    assert_eq!(last.line().await, b"server shutting down\n");
    let report = server.report().await;
    assert_eq!(report.cut, 0);
}

#[tokio::test]
async fn beyond_max_connections_a_tls_client_is_closed_before_its_handshake() {
    let pki = Pki::new("echo-limit");
    let server = server(
        &pki,
        EchoConfig {
            max_connections: 1,
            ..config()
        },
    )
    .await;
    let options = pki.client(&[]);
    let mut first = Client::tls(server.addr, &options).await.expect("handshake");
    assert_eq!(first.round_trip(b"1\n").await, b"Echo: 1\n");
    assert!(Client::tls(server.addr, &options).await.is_err());
    assert_eq!(server.metrics.rejected.get(), 1);
    assert_eq!(first.round_trip(b"2\n").await, b"Echo: 2\n");
}

#[tokio::test]
async fn a_stalled_handshake_is_cut_and_frees_its_slot() {
    let pki = Pki::new("echo-stalled");
    let server = server(
        &pki,
        EchoConfig {
            max_connections: 1,
            handshake_timeout: Duration::from_millis(300),
            ..config()
        },
    )
    .await;
    // Connects and says nothing: no ClientHello, ever.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let mut byte = [0u8; 1];
    let read = within(PATIENCE, silent.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "closed, not answered: {read:?}"
    );
    server
        .wait_for("the slot to be free", |m| m.open.get() == 0)
        .await;
    let mut client = Client::tls(server.addr, &pki.client(&[]))
        .await
        .expect("handshake");
    assert_eq!(client.round_trip(b"next\n").await, b"Echo: next\n");
}

#[tokio::test]
async fn mutual_tls_lets_in_only_certificates_from_the_client_ca() {
    let pki = Pki::new("echo-mtls");
    let server = start_tls(
        config(),
        acceptor(&ServerTlsOptions {
            client_ca: Some(pki.ca.clone()),
            client_auth: ClientAuth::Required,
            ..pki.server()
        }),
    )
    .await;
    let alice = asynclab_tls::ClientTlsOptions {
        cert: Some(pki.client_cert.clone()),
        key: Some(pki.client_key.clone()),
        ..pki.client(&[])
    };
    let mut client = Client::tls(server.addr, &alice).await.expect("handshake");
    assert_eq!(client.round_trip(b"me\n").await, b"Echo: me\n");

    // TLS 1.3 finishes the client's side before the server has checked its
    // certificate: the refusal arrives as the first read.
    for options in [
        pki.client(&[]),
        asynclab_tls::ClientTlsOptions {
            cert: Some(pki.stranger_cert.clone()),
            key: Some(pki.stranger_key.clone()),
            ..pki.client(&[])
        },
    ] {
        if let Ok(mut refused) = Client::tls(server.addr, &options).await {
            refused.send(b"let me in\n").await;
            let mut answer = Vec::new();
            let read = within(PATIENCE, refused.stream.read_to_end(&mut answer)).await;
            assert!(read.is_err() && answer.is_empty(), "{read:?} {answer:?}");
        }
    }
}

#[tokio::test]
async fn openssl_s_client_gets_the_echo() {
    let pki = Pki::new("echo-openssl");
    let server = server(
        &pki,
        EchoConfig {
            // s_client -quiet keeps the connection after its input ends: the
            // idle timeout closes it.
            idle_timeout: Duration::from_millis(1000),
            ..config()
        },
    )
    .await;
    let args = vec![
        "s_client".to_string(),
        "-quiet".into(),
        "-connect".into(),
        server.addr.to_string(),
        "-CAfile".into(),
        pki.ca.display().to_string(),
        "-verify_return_error".into(),
    ];
    let out = within(
        PATIENCE,
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new("openssl")
                .args(&args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("openssl must be installed (.ci/run installs it)");
            let _ = child
                .stdin
                .take()
                .expect("piped")
                .write_all(b"hello over tls\n");
            child.wait_with_output().expect("openssl exits")
        }),
    )
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Echo: hello over tls\nbye: idle timeout\n"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
