//! The repository's own housekeeping, checked like code: what git ignores, and the
//! helper script `deploy/test.sh` uses to find a Debian mirror.
//!
//! Both run the real tools (`git check-ignore`, `bash`) on real files, so a
//! `.gitignore` that stops matching a build folder, or a script that stops
//! reading apt's configuration, fails here rather than on someone's machine.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

#[test]
fn build_outputs_are_ignored_wherever_cargo_runs() {
    // `--no-index`: ask the ignore rules alone, whether or not the path exists.
    for path in [
        "target/debug/asynclab",
        "bench/baselines/bare-hyper/target/release/bare-hyper",
        "bench/baselines/bare-echo/target/CACHEDIR.TAG",
        "bench/echo-rtt/target/release/echo-rtt",
        "crates/asynclab-core/target/debug/libasynclab_core.rlib",
    ] {
        let status = Command::new("git")
            .args(["check-ignore", "--no-index", "-q", path])
            .current_dir(repo_root())
            .status()
            .expect("run git");
        assert!(status.success(), "git does not ignore {path}");
    }
    // And the sources next to them are not ignored.
    let status = Command::new("git")
        .args([
            "check-ignore",
            "--no-index",
            "-q",
            "bench/baselines/bare-hyper/src/main.rs",
        ])
        .current_dir(repo_root())
        .status()
        .expect("run git");
    assert!(!status.success(), "git ignores a baseline's source");
}

/// Runs `deploy/apt-mirror.sh` on a made-up `/etc/apt` holding `files`.
fn mirror_from(files: &[(&str, &str)]) -> (bool, String) {
    let apt = common::temp_dir("apt");
    std::fs::create_dir_all(apt.join("sources.list.d")).expect("create sources.list.d");
    for (name, text) in files {
        std::fs::write(apt.join(name), text).expect("write an apt source");
    }
    let out = Command::new("bash")
        .arg(repo_root().join("deploy/apt-mirror.sh"))
        .arg(&apt)
        .output()
        .expect("run bash");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

// The hosts below are under `.invalid`, a name reserved never to resolve.
const DEB822: &str = "\
Types: deb-src
URIs: http://sources.invalid/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://security.invalid/debian-security
Suites: bookworm-security
Components: main

Types: deb
# a comment between fields
URIs: http://main.invalid/debian/
Suites: bookworm bookworm-updates
Components: main
";

#[test]
fn the_debian_mirror_is_the_one_apt_uses() {
    assert_eq!(
        mirror_from(&[("sources.list.d/debian.sources", DEB822)]),
        (true, "http://main.invalid/debian".to_string()),
        "deb822: the first binary, non-security source"
    );
    assert_eq!(
        mirror_from(&[(
            "sources.list",
            "# deb http://old.invalid/debian bookworm main\n\
             deb [signed-by=/usr/share/keyrings/k.gpg] http://security.invalid/debian-security bookworm-security main\n\
             deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://one-line.invalid/debian bookworm main\n"
        )]),
        (true, "http://one-line.invalid/debian".to_string()),
        "one-line sources.list, options in brackets"
    );
    let (found, _) = mirror_from(&[(
        "sources.list.d/other.sources",
        "Types: deb-src\nURIs: http://x.invalid/\nSuites: bookworm\n",
    )]);
    assert!(!found, "no binary source is an error, not a guess");
}

#[test]
fn the_container_test_names_no_mirror_of_its_own() {
    let script =
        std::fs::read_to_string(repo_root().join("deploy/test.sh")).expect("read deploy/test.sh");
    let default = script
        .lines()
        .find(|l| l.starts_with("DEBIAN_MIRROR="))
        .expect("deploy/test.sh sets DEBIAN_MIRROR");
    assert_eq!(
        default, "DEBIAN_MIRROR=${DEBIAN_MIRROR:-}",
        "the override stays, with no host as its default"
    );
    assert!(
        script.contains("deploy/apt-mirror.sh"),
        "it asks apt instead"
    );
}
