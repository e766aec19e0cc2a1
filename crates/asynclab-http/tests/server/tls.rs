//! HTTPS: real handshakes with rustls and curl, HTTP/2 and HTTP/1.1 chosen by
//! ALPN, old TLS versions refused, mutual TLS, plain HTTP on the TLS port,
//! handshakes cut by the header timeout and by the shutdown, and a WebSocket
//! over TLS (`wss://`).

use asynclab_tls::{ALPN_H2, ALPN_HTTP11};
use futures_util::{SinkExt, StreamExt};
use support::tls::*;
use tokio_tungstenite::tungstenite::Message;

use super::*;

#[tokio::test]
async fn alpn_picks_h2_or_http11_and_both_serve_the_same_app() {
    let pki = Pki::new("alpn");
    let server = spawn_tls(&pki.server(), |_| {}).await;
    let https = server.https.expect("an HTTPS listener");
    for (offer, version) in [
        (&[ALPN_H2, ALPN_HTTP11][..], Version::HTTP_2),
        (&[ALPN_HTTP11][..], Version::HTTP_11),
        // No ALPN at all (openssl s_client, old clients): HTTP/1.1.
        (&[][..], Version::HTTP_11),
    ] {
        let answer = https_get(https, &pki.client(offer), "/whoami").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.version, version, "offered {offer:?}");
        let who = answer.json();
        assert_eq!(who["tls"], true);
        assert_eq!(who["client_cert"], serde_json::Value::Null);
    }
    // The cleartext port is the same server, without TLS.
    assert_eq!(get(server.addr, "/whoami").await.json()["tls"], false);
}

#[tokio::test]
async fn curl_speaks_h2_and_http11_with_the_ca_file() {
    let pki = Pki::new("curl");
    let server = spawn_tls(&pki.server(), |_| {}).await;
    let url = format!(
        "https://localhost:{}/fast",
        server.https.expect("https").port()
    );
    let resolve = format!(
        "localhost:{}:127.0.0.1",
        server.https.expect("https").port()
    );
    for (flag, expected) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let args = [
            "-sS",
            "--resolve",
            &resolve,
            "--cacert",
            &path(&pki.ca),
            flag,
            "-w",
            " %{http_version}",
            &url,
        ];
        let (ok, out, err) = run("curl", args.map(String::from).to_vec(), b"").await;
        assert!(ok, "curl failed: {err}");
        assert_eq!(out, format!("Fast response\n {expected}"));
    }
    // Without the CA, curl refuses the certificate.
    let args = ["-sS", "--resolve", &resolve, &url];
    let (ok, _, err) = run("curl", args.map(String::from).to_vec(), b"").await;
    assert!(!ok && err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn tls_1_1_is_refused_and_1_2_accepted() {
    let pki = Pki::new("versions");
    let server = spawn_tls(&pki.server(), |_| {}).await;
    let connect = format!("127.0.0.1:{}", server.https.expect("https").port());
    let probe = |version: &str| {
        // SECLEVEL=0 lets this openssl offer TLS 1.1 at all: the refusal must
        // come from the server.
        [
            "s_client",
            version,
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
            "-connect",
            &connect,
        ]
        .map(String::from)
        .to_vec()
    };
    let (ok, out, err) = run("openssl", probe("-tls1_1"), b"").await;
    assert!(!ok, "TLS 1.1 was accepted: {out}");
    assert!(
        err.contains("alert") || err.contains("handshake failure"),
        "{err}"
    );
    let (ok, out, err) = run("openssl", probe("-tls1_2"), b"").await;
    assert!(ok && out.contains("Protocol  : TLSv1.2"), "{out}\n{err}");
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_told_to_use_https() {
    let pki = Pki::new("plaintext");
    let server = spawn_tls(&pki.server(), |_| {}).await;
    let answer = raw(
        server.https.expect("https"),
        b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.0 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("use https://"), "{answer}");
}

#[tokio::test]
async fn a_stalled_handshake_is_cut_by_the_header_timeout() {
    let pki = Pki::new("stalled");
    let server = spawn_tls(&pki.server(), |c| c.http.header_read_timeout = MS(300)).await;
    let mut stream = TcpStream::connect(server.https.expect("https"))
        .await
        .expect("connect");
    // The start of a ClientHello record, and then nothing.
    stream.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
    let started = Instant::now();
    read_to_close(&mut stream).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_handshake_in_progress_is_closed_at_shutdown() {
    let pki = Pki::new("shutdown");
    let server = spawn_tls(&pki.server(), |c| {
        c.shutdown.grace = Duration::from_secs(30)
    })
    .await;
    let mut stream = TcpStream::connect(server.https.expect("https"))
        .await
        .expect("connect");
    stream.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
    wait_stats(server.addr, |st| st["connections_open"] == 2).await;
    let started = Instant::now();
    server.shut_down(Duration::ZERO);
    read_to_close(&mut stream).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not before the grace period ended"
    );
    let report = tokio::time::timeout(STEP, server.run)
        .await
        .expect("drains")
        .expect("joined");
    assert_eq!(report.cut, 0);
}

#[tokio::test]
async fn mutual_tls_required_admits_only_the_ca_s_clients_and_shows_their_subject() {
    let pki = Pki::new("mtls-required");
    let mut options = pki.server();
    options.client_ca = Some(pki.ca.clone());
    let server = spawn_tls(&options, |_| {}).await;
    let https = server.https.expect("https");

    let mut alice = pki.client(&[ALPN_H2]);
    alice.cert = Some(pki.client_cert.clone());
    alice.key = Some(pki.client_key.clone());
    let who = https_get(https, &alice, "/whoami").await.json();
    assert_eq!(who["client_cert"], "CN=alice");

    let mut mallory = pki.client(&[ALPN_HTTP11]);
    mallory.cert = Some(pki.stranger_cert.clone());
    mallory.key = Some(pki.stranger_key.clone());
    for client in [pki.client(&[ALPN_HTTP11]), mallory] {
        // TLS 1.3: the client's handshake ends before the server has judged its
        // certificate; the refusal arrives as an alert on the first read.
        let refused = match connect(https, &client).await {
            Err(_) => true,
            Ok(stream) => get_over(stream, "/whoami").await.is_err(),
        };
        assert!(refused, "a client without a certificate from the CA got in");
    }
}

#[tokio::test]
async fn mutual_tls_optional_lets_a_client_without_a_certificate_in() {
    let pki = Pki::new("mtls-optional");
    let mut options = pki.server();
    options.client_ca = Some(pki.ca.clone());
    options.client_auth = asynclab_tls::ClientAuth::Optional;
    let server = spawn_tls(&options, |_| {}).await;
    let who = https_get(
        server.https.expect("https"),
        &pki.client(&[ALPN_H2]),
        "/whoami",
    )
    .await;
    assert_eq!(who.json()["client_cert"], serde_json::Value::Null);
    assert_eq!(who.json()["tls"], true);
}

#[tokio::test]
async fn the_connection_limit_counts_tls_connections() {
    let pki = Pki::new("limit");
    let server = spawn_tls(&pki.server(), |c| c.http.max_connections = 1).await;
    let https = server.https.expect("https");
    // One TLS connection open takes the only slot...
    let held = connect(https, &pki.client(&[ALPN_HTTP11]))
        .await
        .expect("handshake");
    // ...so a cleartext connection waits in the backlog, unanswered.
    let waiting = tokio::time::timeout(MS(500), get(server.addr, "/fast"));
    assert!(
        waiting.await.is_err(),
        "answered while the TLS connection held the slot"
    );
    drop(held);
    assert_eq!(get(server.addr, "/fast").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_websocket_runs_over_the_https_port() {
    let pki = Pki::new("wss");
    let server = spawn_tls(&pki.server(), |_| {}).await;
    let https = server.https.expect("an HTTPS listener");
    // The upgrade is HTTP/1.1's: a WebSocket client offers `http/1.1` alone.
    let stream = connect(https, &pki.client(&[ALPN_HTTP11]))
        .await
        .expect("TLS handshake");
    let handshake = tokio_tungstenite::client_async("wss://localhost/ws/echo", stream);
    let (mut ws, res) = tokio::time::timeout(STEP, handshake)
        .await
        .expect("a 101 within STEP")
        .expect("WebSocket handshake");
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let echo = tokio::time::timeout(STEP, ws.next()).await;
    assert_eq!(
        echo.expect("an echo within STEP").expect("open").unwrap(),
        Message::binary(vec![1u8, 2, 3])
    );
    ws.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(STEP, ws.next()).await {}
    let counted = &server.state.ws;
    assert_eq!(counted.messages("in", "binary"), 1);
    assert_eq!(counted.closes(1005, "client"), 1, "a clean close");
}
