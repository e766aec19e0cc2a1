//! The command line's own surface: `--help` and `--version` behave as users expect.
//!
//! (The behaviour of the servers is tested black-box in the workspace's `tests/`.)

use std::process::Command;

fn asynclab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_asynclab"))
        .args(args)
        .output()
        .expect("run asynclab")
}

#[test]
fn version_prints_name_and_version() {
    let out = asynclab(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        format!("asynclab {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_every_subcommand_and_global_flag() {
    let out = asynclab(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "echo",
        "http",
        "check",
        "config",
        "--config",
        "--set",
        "--log-level",
        "--log-format",
    ] {
        assert!(text.contains(word), "--help mentions {word}:\n{text}");
    }
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = asynclab(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frobnicate"));
}
