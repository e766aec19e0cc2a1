//! Large files in bounded chunks, files that change while they are sent, and the cache.

use super::*;

#[tokio::test]
async fn a_large_file_streams_in_bounded_chunks() {
    let fx = fixture(|c| {
        c.chunk = asynclab_core::config::units::Size(16 * 1024);
        c.read_buffer = asynclab_core::config::units::Size(16 * 1024);
    });
    let data = pattern(1_000_003);
    std::fs::write(fx.root.join("big.bin"), &data).unwrap();
    let req = Request::get("/files/big.bin")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let mut body = fx.files.serve(req, "big.bin").await.into_body();
    let mut got = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        assert!(data.len() <= 16 * 1024, "a frame of {} bytes", data.len());
        got.extend_from_slice(&data);
    }
    assert!(got == data, "the streamed bytes differ from the file");
    let a = send(
        &fx.files,
        Method::GET,
        "big.bin",
        &[("range", "bytes=100000-299999")],
    )
    .await;
    assert_eq!(a.status, StatusCode::PARTIAL_CONTENT);
    assert!(a.body[..] == data[100_000..300_000]);
}

/// Starts a download of a 32 MiB file, lets `change` act on it once the
/// transfer is under way, and returns (Content-Length, body bytes received).
async fn download_while(change: impl FnOnce(&Path) + Send + 'static) -> (usize, Vec<u8>, Vec<u8>) {
    let fx = fixture(|c| c.chunk = asynclab_core::config::units::Size(64 * 1024));
    let data = pattern(32 << 20);
    let path = fx.root.join("big.bin");
    std::fs::write(&path, &data).unwrap();
    let addr = spawn_server(fx.files.clone()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (head, mut body) = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // Blocking file work (and a pause) goes to the blocking pool, not the runtime
    // thread the server shares; the server stalls meanwhile anyway, since this
    // client is not reading yet.
    let changed = path.clone();
    tokio::task::spawn_blocking(move || change(&changed))
        .await
        .expect("the change ran");
    let read = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut body)).await;
    // A reset is also a cut; what matters is what arrived before it.
    let _ = read.expect("the server neither finished nor cut the transfer");
    (content_length(&head), body, data)
}

#[tokio::test]
async fn a_file_shrinking_mid_stream_cuts_the_connection() {
    let (len, body, data) = download_while(|p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
    })
    .await;
    assert!(
        body.len() < len,
        "got all {len} bytes of a file that shrank"
    );
    assert!(
        body[..] == data[..body.len()],
        "the bytes sent are not a prefix of the file (padded?)"
    );
}

#[tokio::test]
async fn a_file_changing_mid_stream_cuts_the_connection() {
    let (len, body, data) = download_while(|p| {
        // Same size, new content: overwritten in place (no truncation), so only
        // the modification time tells. The pause lets the clock tick past the
        // file's creation time even on coarse-grained file systems.
        std::thread::sleep(Duration::from_millis(20));
        let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        std::io::Write::write_all(&mut f, &vec![0xAA; 32 << 20]).unwrap();
    })
    .await;
    assert!(
        body.len() < len,
        "got all {len} bytes of a file that changed"
    );
    // Everything sent before the cut came from one version or the other, chunk
    // by chunk; the first bytes (sent before the change) are the original's.
    assert!(body[..1024] == data[..1024]);
}

#[tokio::test]
async fn small_files_are_cached_then_checked_again() {
    let fx = fixture(|c| c.cache_ttl = Duration::from_millis(50));
    assert_eq!(get(&fx.files, "data.txt").await.text(), "hello, files\n");
    std::fs::write(fx.root.join("data.txt"), "changed\n").unwrap();
    // Well past the TTL, the new version (and new validators) must be served.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a = get(&fx.files, "data.txt").await;
    assert_eq!(a.text(), "changed\n");
    assert_eq!(a.header("content-length"), "8");
    std::fs::remove_file(fx.root.join("data.txt")).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get(&fx.files, "data.txt").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_large_file_changed_in_place_is_served_whole_at_once() {
    // A long TTL: the cached descriptor must be checked on every request,
    // not only once the TTL has passed.
    let fx = fixture(|c| c.cache_ttl = Duration::from_secs(3600));
    let old = pattern(300_000);
    std::fs::write(fx.root.join("big.bin"), &old).unwrap();
    assert!(get(&fx.files, "big.bin").await.body == old);
    // The pause lets the modification time move even on coarse clocks.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let new = vec![7u8; 300_000];
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(fx.root.join("big.bin"))
        .unwrap();
    std::io::Write::write_all(&mut f, &new).unwrap();
    drop(f);
    // Not cut (the test's `collect` would fail) and not the old bytes.
    assert!(get(&fx.files, "big.bin").await.body == new);
}
