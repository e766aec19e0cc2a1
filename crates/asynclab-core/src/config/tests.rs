//! Unit tests for the layered loader. Environment variables are tested through the
//! real binary (tests/), since they are process-global.

use std::io::Write;

use super::*;

fn load(file: Option<&str>, set: &[&str]) -> Result<Loaded, ConfigError> {
    let file = file.map(|text| {
        let mut f = tempfile().expect("create temp config");
        f.1.write_all(text.as_bytes()).expect("write temp config");
        f.0
    });
    Config::load(&Overrides {
        file,
        set: set.iter().map(|s| s.to_string()).collect(),
        skip_env: true,
        ..Overrides::default()
    })
}

/// A uniquely named file under the target's temp dir (no extra crate needed).
fn tempfile() -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "asynclab-config-test-{}-{}.toml",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}

#[test]
fn builtin_defaults_are_valid_and_match_the_documented_values() {
    let config = Config::builtin();
    config.check().expect("defaults pass validation");
    assert_eq!(config.echo.addr.to_string(), "127.0.0.1:7000");
    assert_eq!(config.http.addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.echo.max_line, Size(64 * 1024));
    assert_eq!(config.shutdown.grace, std::time::Duration::from_secs(10));
}

#[test]
fn printed_config_reads_back_identically() {
    let config = Config::builtin();
    let text = config.to_toml();
    let back: Config = toml::from_str(&text).expect("printed config parses");
    assert_eq!(back, config);
}

#[test]
fn container_overrides_are_valid() {
    let text = include_str!("../../../../config/container.toml");
    let loaded = load(Some(text), &[]).expect("container.toml loads");
    assert_eq!(loaded.config.http.addr.to_string(), "0.0.0.0:8080");
    assert_eq!(loaded.config.log.format, LogFormat::Json);
}

#[test]
fn later_layers_win() {
    let loaded = load(
        Some("[echo]\nprefix = \"file: \"\nmax_line = \"1KiB\"\n"),
        &["echo.prefix=flag: "],
    )
    .expect("loads");
    assert_eq!(loaded.config.echo.prefix, "flag: ");
    assert_eq!(loaded.config.echo.max_line, Size(1024));
    assert_eq!(
        loaded.config.echo.max_connections, 10000,
        "untouched keys keep defaults"
    );
}

#[test]
fn out_of_range_value_names_key_value_and_file_line() {
    let err = load(Some("[echo]\n\nmax_connections = 0\n"), &[]).expect_err("zero is refused");
    let msg = err.to_string();
    assert!(msg.contains("echo.max_connections"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains("at least 1"), "{msg}");
}

#[test]
fn unknown_key_suggests_the_close_one() {
    let err = load(None, &["echo.max_conections=5"]).expect_err("typo is refused");
    let msg = err.to_string();
    assert!(msg.contains("unknown key `echo.max_conections`"), "{msg}");
    assert!(msg.contains("did you mean `echo.max_connections`"), "{msg}");
    assert!(msg.contains("--set echo.max_conections=5"), "{msg}");
}

#[test]
fn wrong_type_and_bad_units_are_explained() {
    // (flag, the key the message names, what it says is wrong)
    let cases = [
        ("http.slow.delay=soon", "http.slow.delay", "not a duration"),
        ("echo.addr=0.0.0.0:70000", "echo.addr", "above 65535"),
        ("echo.mode=loud", "echo.mode", "line, raw"),
        ("runtime.workers=5000", "runtime.workers", "at most 1024"),
        (
            "http.body_rate_window=0s",
            "http.body_rate_window",
            "longer than zero",
        ),
        ("shutdown.grace=0s", "shutdown.grace", "longer than zero"),
    ];
    for (flag, key, why) in cases {
        let msg = load(None, &[flag]).expect_err("refused").to_string();
        assert!(msg.contains(key) && msg.contains(why), "{msg}");
    }
}

#[test]
fn unreadable_file_and_malformed_flag_are_errors() {
    let err = Config::load(&Overrides {
        file: Some("/nonexistent/asynclab.toml".into()),
        skip_env: true,
        ..Overrides::default()
    })
    .expect_err("missing file");
    assert!(matches!(err, ConfigError::Unreadable { .. }), "{err}");
    assert!(matches!(
        load(None, &["novalue"]),
        Err(ConfigError::BadFlag { .. })
    ));
}

#[test]
fn loaded_knows_where_each_value_came_from() {
    let loaded = load(Some("[echo]\nprefix = \"> \"\n"), &["echo.mode=raw"]).expect("loads");
    assert!(loaded.is_default("http.addr"));
    assert!(!loaded.is_default("echo.prefix"));
    assert!(
        loaded.origin("echo.prefix").ends_with("line 2"),
        "{}",
        loaded.origin("echo.prefix")
    );
    assert_eq!(loaded.origin("echo.mode"), "--set echo.mode=raw");
    assert!(Loaded::builtin().is_default("echo.mode"));
}

#[test]
fn a_rule_between_two_keys_blames_the_one_that_was_set() {
    // The default heartbeat (5s) is no longer below the idle timeout: the user
    // set the timeout, so the message is about the timeout.
    let msg = load(None, &["http.idle_timeout=2s"])
        .expect_err("a 5s heartbeat needs a longer idle timeout")
        .to_string();
    assert!(
        msg.starts_with(
            "invalid value for `http.idle_timeout` in --set http.idle_timeout=2s: 2s: \
             must be longer than `http.demo.heartbeat`"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("raise it, or lower `http.demo.heartbeat`")
            && msg.contains("(`http.demo.heartbeat` is 5s, from built-in defaults)"),
        "{msg}"
    );

    let msg = load(None, &["http.demo.heartbeat=2m"])
        .expect_err("a heartbeat longer than the idle timeout")
        .to_string();
    assert!(
        msg.starts_with("invalid value for `http.demo.heartbeat` in --set http.demo.heartbeat=2m")
            && msg.contains("lower it, or raise `http.idle_timeout`"),
        "{msg}"
    );

    let msg = load(None, &["http.dashboard.interval=90s"])
        .expect_err("a dashboard silent for longer than the idle timeout")
        .to_string();
    assert!(
        msg.starts_with(
            "invalid value for `http.dashboard.interval` in --set http.dashboard.interval=90s"
        ) && msg.contains("lower it, or raise `http.idle_timeout`"),
        "{msg}"
    );

    let msg = load(None, &["http.limited.work=40s"])
        .expect_err("longer than the /limited cap (30s)")
        .to_string();
    assert!(
        msg.contains("`http.limited.work` in --set http.limited.work=40s")
            && msg.contains("raise `http.limited.max_work`"),
        "{msg}"
    );
    let msg = load(None, &["http.demo.max_events_for=1m"])
        .expect_err("shorter than the default /events duration (5m)")
        .to_string();
    assert!(
        msg.contains("`http.demo.max_events_for` in --set http.demo.max_events_for=1m")
            && msg.contains("at least as long as `http.demo.events_for`"),
        "{msg}"
    );

    let msg = load(None, &["http.slow.max_delay=500ms"])
        .expect_err("the default /slow delay (2s) is longer")
        .to_string();
    assert!(
        msg.contains("`http.slow.max_delay` in --set http.slow.max_delay=500ms")
            && msg.contains("at least as long as `http.slow.delay`"),
        "{msg}"
    );
}

#[test]
fn show_origin_lists_every_key_with_its_layer() {
    let loaded = load(Some("[echo]\n\nprefix = \"> \"\n"), &["http.slow.delay=1s"]).expect("loads");
    let origins = loaded.origins();
    let find = |key: &str| {
        origins
            .iter()
            .find(|(k, _, _)| k == key)
            .unwrap_or_else(|| panic!("{key} is listed"))
    };
    assert!(find("echo.prefix").2.ends_with("line 3"), "{origins:?}");
    assert_eq!(find("echo.prefix").1, "\"> \"");
    assert_eq!(find("http.slow.delay").2, "--set http.slow.delay=1s");
    assert_eq!(find("shutdown.grace").2, "built-in defaults");
    // Every key of the printed configuration, and nothing else.
    let printed = loaded.config.to_toml();
    let values = printed.lines().filter(|l| l.contains(" = ")).count();
    assert_eq!(origins.len(), values, "{printed}");
}

#[test]
fn log_only_loading_ignores_server_settings() {
    let overrides = |set: &[&str]| Overrides {
        set: set.iter().map(|s| s.to_string()).collect(),
        skip_env: true,
        ..Overrides::default()
    };
    let (log, _) = Config::load_log(&overrides(&[
        "http.idle_timout=5s",
        "runtime.workers=5000",
        "log.level=debug",
    ]))
    .expect("server settings are not read");
    assert_eq!(log.level, "debug");
    let err = Config::load_log(&overrides(&["log.level=verbose"])).expect_err("bad level");
    assert!(
        err.to_string()
            .contains("`log.level` in --set log.level=verbose"),
        "{err}"
    );
}

#[test]
fn the_control_token_is_checked_and_never_printed() {
    let loaded = load(None, &["control.token=a-long-enough-secret-token"]).expect("valid token");
    let printed = loaded.config.to_toml();
    assert!(!printed.contains("a-long-enough-secret-token"), "{printed}");
    assert!(printed.contains("token = \"(hidden)\""), "{printed}");
    assert!(!format!("{:?}", loaded.config).contains("secret"));
    let err = load(None, &["control.token=short"]).expect_err("too short");
    assert!(err.to_string().contains("at least 16 characters"), "{err}");
    assert!(!err.to_string().contains("short\""), "{err}");
}
