//! What is refused: traversal in every encoding, absolute paths, NUL bytes, long paths, symlinks out of the root, hidden files.

use super::*;

// ---- security ----------------------------------------------------------------

/// A refusal must be a 4xx and must not show the secret or any server path.
fn assert_refused(a: &Answer, fx: &Fixture, what: &str) {
    assert!(a.status.is_client_error(), "{what}: {}", a.status);
    let text = a.text();
    assert!(!text.contains(SECRET), "{what}: leaked the secret");
    assert!(
        !text.contains(&fx.dir.display().to_string()),
        "{what}: leaked a path: {text}"
    );
    assert!(!text.contains('/'), "{what}: a path in the body: {text}");
}

#[tokio::test]
async fn traversal_in_every_encoding_is_refused() {
    let fx = fixture(|_| {});
    for path in [
        "../secret.txt",
        "sub/../../secret.txt",
        "%2e%2e/secret.txt",
        "%2E%2E%2Fsecret.txt",
        ".%2e/secret.txt",
        "%2e./secret.txt",
        "%252e%252e/secret.txt",
        "%252e%252e%252fsecret.txt",
        "..%2fsecret.txt",
        "..\\secret.txt",
        "..%5csecret.txt",
        "sub%5c..%5c..%5csecret.txt",
        "sub/..%2F..%2Fsecret.txt",
        "%c0%ae%c0%ae/secret.txt",
        "....//secret.txt",
    ] {
        let a = get(&fx.files, path).await;
        assert_refused(&a, &fx, path);
    }
    // And on the wire, where no client library can tidy the path up first.
    let addr = spawn_server(fx.files.clone()).await;
    for path in [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/..\\secret.txt",
    ] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut all = String::new();
        s.read_to_string(&mut all).await.unwrap();
        assert!(all.starts_with("HTTP/1.1 4"), "{path}: {all}");
        assert!(!all.contains(SECRET), "{path}");
    }
}

#[tokio::test]
async fn absolute_paths_stay_inside_the_root() {
    let fx = fixture(|_| {});
    let secret = fx.dir.join("secret.txt").display().to_string();
    for path in [
        secret.clone(),
        format!("/{secret}"),
        secret.replace('/', "%2F"),
        "/etc/passwd".into(),
    ] {
        let a = get(&fx.files, &path).await;
        assert_refused(&a, &fx, &path);
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
    }
    // `//data.txt` is just `data.txt`.
    assert_eq!(get(&fx.files, "//data.txt").await.status, StatusCode::OK);
}

#[tokio::test]
async fn nul_bytes_are_400() {
    let fx = fixture(|_| {});
    for path in ["data.txt%00", "data.txt%00.html", "%00", "sub%00/b.json"] {
        let a = get(&fx.files, path).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path:?}");
        assert_refused(&a, &fx, path);
    }
}

#[tokio::test]
async fn long_paths_are_414_or_404() {
    let fx = fixture(|_| {});
    let a = get(&fx.files, &"a/".repeat(5000)).await;
    assert_eq!(a.status, StatusCode::URI_TOO_LONG);
    // A name longer than any file system allows (255) but a short enough path.
    let a = get(&fx.files, &"x".repeat(1000)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_refused(&a, &fx, "long name");
}

#[tokio::test]
async fn symlinks_inside_the_root_are_served() {
    let fx = fixture(|_| {});
    std::os::unix::fs::symlink("data.txt", fx.root.join("alias.txt")).unwrap();
    std::os::unix::fs::symlink("sub", fx.root.join("subalias")).unwrap();
    assert_eq!(get(&fx.files, "alias.txt").await.text(), "hello, files\n");
    assert_eq!(get(&fx.files, "subalias/b.json").await.text(), "{}");
}

#[tokio::test]
async fn symlinks_out_of_the_root_are_refused_unless_followed() {
    let fx = fixture(|_| {});
    let secret = fx.dir.join("secret.txt");
    std::os::unix::fs::symlink(&secret, fx.root.join("out.txt")).unwrap();
    std::os::unix::fs::symlink(&fx.dir, fx.root.join("outdir")).unwrap();
    for path in ["out.txt", "outdir/secret.txt"] {
        let a = get(&fx.files, path).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_refused(&a, &fx, path);
    }
    let fx2 = fixture(|c| c.follow_symlinks = true);
    std::os::unix::fs::symlink(&secret, fx2.root.join("out.txt")).unwrap();
    assert_eq!(get(&fx2.files, "out.txt").await.text(), SECRET);
}

#[tokio::test]
async fn hidden_files_are_not_served_unless_enabled() {
    let fx = fixture(|_| {});
    std::os::unix::fs::symlink(".env", fx.root.join("visible")).unwrap();
    for path in [".env", ".git/config", "%2eenv", "sub/../.env", "visible"] {
        let a = get(&fx.files, path).await;
        assert_refused(&a, &fx, path);
    }
    assert_eq!(get(&fx.files, ".env").await.status, StatusCode::NOT_FOUND);
    let fx = fixture(|c| c.hidden = true);
    assert_eq!(get(&fx.files, ".env").await.text(), SECRET);
    assert_eq!(get(&fx.files, ".git/config").await.text(), SECRET);
}
