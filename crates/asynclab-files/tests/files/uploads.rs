//! PUT: created and replaced atomically, bounded, and nothing left behind when it fails.

use super::*;

#[tokio::test]
async fn uploads_are_201_then_204_and_visible_at_once() {
    let fx = fixture(|c| c.upload = true);
    let put = |path: &'static str, body: &'static str| {
        send_body(
            &fx.files,
            Method::PUT,
            path,
            &[],
            Bytes::from_static(body.as_bytes()),
        )
    };
    assert_eq!(put("new.txt", "one").await.status, StatusCode::CREATED);
    assert_eq!(get(&fx.files, "new.txt").await.text(), "one");
    let replaced = put("new.txt", "two").await;
    assert_eq!(replaced.status, StatusCode::NO_CONTENT);
    assert_eq!(
        replaced.header("content-length"),
        "",
        "a 204 has no Content-Length"
    );
    assert_eq!(
        get(&fx.files, "new.txt").await.text(),
        "two",
        "the cache must not serve the old version"
    );
    assert_eq!(
        put("sub/x.txt", "in a folder").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        std::fs::read_to_string(fx.root.join("sub/x.txt")).unwrap(),
        "in a folder"
    );
    // The same path rules as GET.
    assert_eq!(
        put("../escape.txt", "x").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(put(".env", "x").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        put("nofolder/x.txt", "x").await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(put("sub", "x").await.status, StatusCode::CONFLICT);
    assert_eq!(put("sub/", "x").await.status, StatusCode::BAD_REQUEST);
    assert!(!fx.dir.join("escape.txt").exists());
    assert_eq!(
        std::fs::read_to_string(fx.root.join(".env")).unwrap(),
        SECRET
    );
    assert!(no_temp_files(&fx.root) && no_temp_files(&fx.root.join("sub")));
}

#[tokio::test]
async fn uploads_over_the_limit_are_413_and_leave_nothing() {
    let fx = fixture(|c| {
        c.upload = true;
        c.max_upload = asynclab_core::config::units::Size(1000);
    });
    let big = Bytes::from(vec![b'x'; 1001]);
    // Declared too large: refused before reading.
    let a = send_body(
        &fx.files,
        Method::PUT,
        "big.txt",
        &[("content-length", "1001")],
        big.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Undeclared (chunked): refused while streaming.
    let a = send_body(&fx.files, Method::PUT, "big.txt", &[], big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!fx.root.join("big.txt").exists());
    assert!(no_temp_files(&fx.root));
    let ok = Bytes::from(vec![b'x'; 1000]);
    assert_eq!(
        send_body(&fx.files, Method::PUT, "big.txt", &[], ok)
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn an_interrupted_upload_leaves_no_file() {
    let fx = fixture(|c| c.upload = true);
    std::fs::write(fx.root.join("keep.txt"), "old").unwrap();
    let addr = spawn_server(fx.files.clone()).await;
    for target in ["fresh.txt", "keep.txt"] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let head =
            format!("PUT /files/{target} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&[b'y'; 5000]).await.unwrap();
        s.flush().await.unwrap();
        drop(s);
    }
    // The server notices the closed connections on its own; wait (bounded) for
    // the temporary files to go.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !no_temp_files(&fx.root) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "temporary upload files left behind"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!fx.root.join("fresh.txt").exists());
    assert_eq!(
        std::fs::read_to_string(fx.root.join("keep.txt")).unwrap(),
        "old"
    );
}

#[tokio::test]
async fn concurrent_uploads_leave_one_complete_version() {
    let fx = fixture(|c| c.upload = true);
    let versions: Vec<Bytes> = (0..8u8)
        .map(|i| Bytes::from(vec![b'a' + i; 512 * 1024]))
        .collect();
    let mut tasks = Vec::new();
    for v in versions.clone() {
        let files = fx.files.clone();
        tasks.push(tokio::spawn(async move {
            send_body(&files, Method::PUT, "race.bin", &[], v)
                .await
                .status
        }));
    }
    let mut created = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::NO_CONTENT,
            "{status}"
        );
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1, "exactly one upload created the file");
    let stored = std::fs::read(fx.root.join("race.bin")).unwrap();
    assert!(
        versions.iter().any(|v| v[..] == stored[..]),
        "the stored file mixes uploads"
    );
    assert!(no_temp_files(&fx.root));
}
