//! Unit tests of `args.rs`: flags parsed into settings, nonsense refused with the flag named.

use clap::Parser;

use super::*;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: LoadArgs,
}

fn settings(line: &str) -> Result<Settings, Error> {
    let cli = Cli::try_parse_from(line.split_whitespace()).expect("parses");
    cli.args.search()?;
    cli.args.settings()
}

#[test]
fn durations_and_counts_have_defaults() {
    let s = settings("load http://localhost:8080/").expect("valid");
    assert_eq!(
        (s.connections, s.duration, s.requests),
        (50, Some(Duration::from_secs(10)), None)
    );
    let s = settings("load http://localhost:8080/ -n 100 -c 4").expect("valid");
    assert_eq!(
        (s.connections, s.duration, s.requests),
        (4, None, Some(100))
    );
    let s = settings("load tcp://localhost:7000 -d 1m30s --size 1KiB --mode raw -r 500")
        .expect("valid");
    assert_eq!(s.duration, Some(Duration::from_secs(90)));
    assert_eq!(s.rate, Some(500.0));
    let Target::Echo(echo) = s.target else {
        panic!("echo target")
    };
    assert_eq!((echo.size, echo.mode), (1024, EchoMode::Raw));
}

#[test]
fn nonsense_is_refused_with_the_flag_named() {
    for (line, flag) in [
        ("load tcp://localhost:7000 --http2", "--http2"),
        ("load http://localhost/ -c 0", "--connections"),
        ("load http://localhost/ -r 0", "--rate"),
        ("load http://localhost/ --stage 10s", "--stage `10s`"),
        ("load http://localhost/ --stage 1s:10 -d 5s", "--stage"),
        ("load http://localhost/ --stage 1s:10 -n 5", "--stage"),
        ("load http://localhost/ -r 0 --stage 1s:0", "--stage"),
        ("load http://localhost/ --stage 1s:0.5", "--stage"),
        ("load http://localhost/ --breakpoint --until p99>1s", "-r"),
        ("load http://localhost/ --breakpoint -r 10", "--until"),
        (
            "load http://localhost/ --breakpoint -r 10 --until p99",
            "--until `p99`",
        ),
        ("load http://localhost/ --until p99>1s", "--breakpoint"),
        ("load http://localhost/ -m BAD\"METHOD", "method"),
        (
            "load http://localhost/ -b @/nonexistent/file",
            "/nonexistent/file",
        ),
        ("load http://localhost/ --cacert ca.pem", "https://"),
        ("load ws://localhost/ws/echo --insecure", "https://"),
        ("load tcp://localhost:7000 --no-resume", "--no-resume"),
    ] {
        let err = settings(line).expect_err(line).to_string();
        assert!(err.contains(flag), "{line}: {err}");
    }
}

#[test]
fn tls_flags_reach_the_settings() {
    let s = settings(
        "load https://localhost:8443/ --cacert ca.pem --cert c.pem --key k.pem --no-resume",
    )
    .expect("valid");
    assert_eq!(
        s.tls.cacert.as_deref(),
        Some(std::path::Path::new("ca.pem"))
    );
    assert_eq!(s.tls.cert.as_deref(), Some(std::path::Path::new("c.pem")));
    assert!(s.tls.no_resumption && !s.tls.insecure);
    let s = settings("load wss://localhost:8443/ws/echo -k").expect("valid");
    assert!(s.tls.insecure && !s.tls.no_resumption);
    let s = settings("load tls://localhost:7000 --cacert ca.pem --mode raw").expect("valid");
    assert!(s.target.tls() && s.tls.cacert.is_some());
    let err = settings("load tcp://localhost:7000 --cacert ca.pem").expect_err("plain echo");
    assert!(err.to_string().contains("tls://"), "{err}");
}
