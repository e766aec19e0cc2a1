//! The `asynclab load` command line, parsed by clap's derive API, and its conversion
//! into [`Settings`].
//!
//! Durations are human (`10s`, `250ms`, `1m`) and sizes accept units (`64`, `4KiB`),
//! parsed by the same helpers as the configuration file so they read alike.

use std::path::PathBuf;
use std::time::Duration;

use asynclab_core::config::units::{Size, duration};
use bytes::Bytes;
use http::Method;

use crate::Error;
use crate::settings::{EchoMode, Settings, Target};
use crate::stages::Stages;
use crate::thresholds::Threshold;

/// Load-test an HTTP server or a TCP echo server.
///
/// Examples:
///   asynclab load http://localhost:8080/fast -c 50 -d 10s
///   asynclab load http://localhost:8080/ -r 2000 -d 30s --latency-plot latency.svg
///   asynclab load tcp://localhost:7000 --size 64 --mode line -n 100000
///   asynclab load ws://localhost:8080/ws/echo --size 64 --binary -c 50 -d 10s
///   asynclab load merge a.json b.json -o all.json
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
// `load URL ...` runs; `load merge ...` works on saved runs instead.
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LoadArgs {
    #[command(subcommand)]
    pub tool: Option<Tool>,

    /// `http://HOST:PORT/PATH` (HTTP/1.1, or HTTP/2 with --http2), `tcp://HOST:PORT` (echo)
    /// or `ws://HOST:PORT/PATH` (a WebSocket echo).
    #[arg(required = true)]
    pub target: Option<String>,

    /// Connections open at once, each with one request in flight.
    #[arg(short, long, default_value_t = 50)]
    pub connections: usize,

    /// How long to measure (`10s`, `1m`); 10s unless --requests is given.
    #[arg(short, long, value_parser = duration::parse)]
    pub duration: Option<Duration>,

    /// Measure exactly this many requests (also bounded by --duration when given).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,

    /// Send this many requests per second in total, on a fixed schedule (open model);
    /// latency then counts from when each request was due.
    #[arg(short, long)]
    pub rate: Option<f64>,

    /// A stage, `DURATION:TARGET` (repeatable, or a comma list): the target (a rate
    /// with --rate, else connections) moves linearly to TARGET over DURATION, from
    /// --rate (or 0 connections) at the start. The stages set the run's length.
    #[arg(long = "stage", value_name = "DURATION:TARGET")]
    pub stages: Vec<String>,

    /// Run this long first, without counting anything (`1s`).
    #[arg(long, default_value = "0s", value_parser = duration::parse)]
    pub warmup: Duration,

    /// Give up on a request after this long, connecting included.
    #[arg(long, default_value = "5s", value_parser = duration::parse)]
    pub timeout: Duration,

    /// HTTP method.
    #[arg(short, long, default_value = "GET")]
    pub method: String,

    /// A request header, `-H 'Name: value'` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// The request body: `TEXT`, or `@FILE` to send a file's bytes.
    #[arg(short, long)]
    pub body: Option<String>,

    /// Open a new connection for every HTTP request (`Connection: close`).
    #[arg(long)]
    pub no_keepalive: bool,

    /// Speak HTTP/2 without TLS, with prior knowledge.
    #[arg(long)]
    pub http2: bool,

    /// Echo and WebSocket: bytes per message, the newline included in line mode.
    #[arg(long, default_value = "64")]
    pub size: Size,

    /// Echo: the server's framing, as its `echo.mode`.
    #[arg(long, value_enum, default_value = "line")]
    pub mode: EchoMode,

    /// WebSocket: send binary messages (every byte value) instead of text.
    #[arg(long)]
    pub binary: bool,

    /// Echo, line mode: what the server puts before each echoed line (`echo.prefix`).
    #[arg(long, default_value = "Echo: ")]
    pub prefix: String,

    /// Runtime worker threads [default: the number of CPU cores].
    #[arg(long)]
    pub threads: Option<usize>,

    /// Fail (exit 99) when this holds at the end: `p99>200ms`, `errors>0.5%`,
    /// `rate<1000` (repeatable).
    #[arg(long = "fail-if", value_name = "CONDITION")]
    pub fail_if: Vec<String>,

    /// Print the results as one JSON document on stdout (schema in docs/load.md).
    #[arg(long)]
    pub json: bool,

    /// Also draw latency by percentile as an SVG chart.
    #[arg(long, value_name = "FILE.svg")]
    pub latency_plot: Option<PathBuf>,

    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

/// What `asynclab load` does with saved runs (`--json` files).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Tool {
    /// Add up saved runs into one report: exact percentiles (the histograms are
    /// added), summed counts, the rate over the window the runs span together.
    Merge(MergeArgs),
}

/// `asynclab load merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// Reports written by `asynclab load --json` (schema 2).
    #[arg(required = true, value_name = "FILE.json")]
    pub files: Vec<PathBuf>,

    /// Write the merged report (JSON, the same schema) to this file.
    #[arg(short, long, value_name = "FILE.json")]
    pub output: Option<PathBuf>,

    /// Merge runs against different targets or protocols too.
    #[arg(long)]
    pub force: bool,

    /// Print the merged report as JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Fail (exit 99) when this holds for the merged runs (as `load --fail-if`).
    #[arg(long = "fail-if", value_name = "CONDITION")]
    pub fail_if: Vec<String>,
}

/// Parses `--fail-if` values.
pub(crate) fn thresholds(values: &[String]) -> Result<Vec<Threshold>, Error> {
    values.iter().map(|v| Threshold::parse(v)).collect()
}

impl LoadArgs {
    /// The first HTTP-only flag given, if any (for targets that are not HTTP).
    fn http_only_flag(&self) -> Option<&'static str> {
        [
            (!self.headers.is_empty(), "--header"),
            (self.body.is_some(), "--body"),
            (self.http2, "--http2"),
            (self.no_keepalive, "--no-keepalive"),
            (self.method != "GET", "--method"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// Builds and checks the run these arguments describe (reading `-b @FILE`).
    pub fn settings(&self) -> Result<Settings, Error> {
        let url = self.target.as_deref().unwrap_or_default();
        let mut target: Target = url.parse()?;
        match &mut target {
            Target::Http(http) => {
                http.method = Method::from_bytes(self.method.as_bytes())
                    .map_err(|_| Error::Usage(format!("bad method `{}`", self.method)))?;
                for header in &self.headers {
                    http.add_header(header)?;
                }
                http.body = match self.body.as_deref() {
                    None => Bytes::new(),
                    Some(text) => match text.strip_prefix('@') {
                        Some(path) => std::fs::read(path)
                            .map_err(|source| Error::BodyFile {
                                path: path.to_string(),
                                source,
                            })?
                            .into(),
                        None => Bytes::copy_from_slice(text.as_bytes()),
                    },
                };
                http.keepalive = !self.no_keepalive;
                http.http2 = self.http2;
            }
            Target::Ws(ws) => {
                if let Some(flag) = self.http_only_flag() {
                    return Err(Error::Usage(format!(
                        "{flag} applies to http:// targets only"
                    )));
                }
                ws.size = self.size.as_usize();
                ws.binary = self.binary;
            }
            Target::Echo(echo) => {
                if let Some(flag) = self.http_only_flag() {
                    return Err(Error::Usage(format!(
                        "{flag} applies to http:// targets only"
                    )));
                }
                echo.size = self.size.as_usize();
                echo.mode = self.mode;
                echo.prefix = Bytes::copy_from_slice(self.prefix.as_bytes());
            }
        }
        if self.binary && !matches!(target, Target::Ws(_)) {
            return Err(Error::Usage(
                "--binary applies to ws:// targets only".into(),
            ));
        }
        let stages = (!self.stages.is_empty())
            .then(|| Stages::parse(&self.stages, self.rate.unwrap_or(0.0)))
            .transpose()?;
        let settings = Settings {
            target,
            // Without --rate the stages' targets are connections: open as many as
            // the peak needs.
            connections: match &stages {
                Some(stages) if self.rate.is_none() => stages.peak().ceil() as usize,
                _ => self.connections,
            },
            duration: match (&stages, self.duration, self.requests) {
                (Some(_), Some(_), _) => {
                    return Err(Error::Usage(
                        "--stage sets the run's length: drop --duration".into(),
                    ));
                }
                (Some(stages), None, _) => Some(stages.total()),
                (None, None, None) => Some(Duration::from_secs(10)),
                (None, duration, _) => duration,
            },
            requests: self.requests,
            rate: self.rate,
            warmup: self.warmup,
            timeout: self.timeout,
            stages,
        };
        settings.check()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: LoadArgs,
    }

    fn settings(line: &str) -> Result<Settings, Error> {
        let cli = Cli::try_parse_from(line.split_whitespace()).expect("parses");
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
            ("load http://localhost/ -m BAD\"METHOD", "method"),
            (
                "load http://localhost/ -b @/nonexistent/file",
                "/nonexistent/file",
            ),
        ] {
            let err = settings(line).expect_err(line).to_string();
            assert!(err.contains(flag), "{line}: {err}");
        }
    }
}
