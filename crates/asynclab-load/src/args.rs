//! The `asynclab load` command line, parsed by clap's derive API, and its conversion
//! into [`Settings`].
//!
//! Durations are human (`10s`, `250ms`, `1m`) and sizes accept units (`64`, `4KiB`),
//! parsed by the same helpers as the configuration file so they read alike.

use std::path::PathBuf;
use std::time::Duration;

use asynclab_core::config::units::{Size, duration};
use asynclab_tls::{ClientTlsOptions, TlsArgs};
use bytes::Bytes;
use http::Method;

use crate::Error;
use crate::breakpoint::Search;
use crate::scenario::{Order, Scenario};
use crate::settings::Settings;
use crate::stages::Stages;
use crate::target::{EchoMode, Target};
use crate::thresholds::Threshold;
use crate::tools::Tool;

/// Load-test an HTTP server or a TCP echo server.
///
/// Examples:
///   asynclab load http://localhost:8080/fast -c 50 -d 10s
///   asynclab load http://localhost:8080/ -r 2000 -d 30s --latency-plot latency.svg
///   asynclab load tcp://localhost:7000 --size 64 --mode line -n 100000
///   asynclab load tls://localhost:7000 --cacert ca.pem -c 50 -d 10s
///   asynclab load ws://localhost:8080/ws/echo --size 64 --binary -c 50 -d 10s
///   asynclab load https://localhost:8443/fast --cacert ca.pem --http2 -c 50 -d 10s
///   asynclab load merge a.json b.json -o all.json
///   asynclab load report a.json b.json -o compare.html
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
// `load URL ...` runs; `load merge ...` works on saved runs instead.
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LoadArgs {
    #[command(subcommand)]
    pub tool: Option<Tool>,

    /// `http[s]://HOST:PORT/PATH` (HTTP/1.1, or HTTP/2 with --http2), `tcp://HOST:PORT`
    /// (echo; `tls://HOST:PORT` over TLS) or `ws[s]://HOST:PORT/PATH` (a WebSocket echo).
    #[arg(required_unless_present_any = ["scenario", "urls"])]
    pub target: Option<String>,

    /// Several named, weighted, templated requests from a TOML file (docs/load.md).
    #[arg(long, value_name = "FILE.toml", conflicts_with_all = ["target", "urls"])]
    pub scenario: Option<PathBuf>,

    /// One URL per line, sent in turn (or at random with --urls-random).
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    pub urls: Option<PathBuf>,

    /// --urls: pick each request's URL at random instead of in turn.
    #[arg(long, requires = "urls")]
    pub urls_random: bool,

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

    /// Speak HTTP/2: with prior knowledge over http://, by ALPN over https://.
    #[arg(long)]
    pub http2: bool,

    /// https://, wss:// and tls://: whom to trust, and our certificate for mutual TLS.
    #[command(flatten)]
    pub tls: TlsArgs,

    /// https://, wss:// and tls://: make every TLS handshake a full one (keep no sessions
    /// to resume).
    #[arg(long)]
    pub no_resume: bool,

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

    /// Find the highest rate that holds: from -r, --step-rate more every -d, until
    /// an --until condition holds.
    #[arg(long)]
    pub breakpoint: bool,

    /// --breakpoint: the condition that means broken (`p99>200ms`, `errors>1%`;
    /// repeatable, any one breaks).
    #[arg(long, value_name = "CONDITION")]
    pub until: Vec<String>,

    /// --breakpoint: how much faster each step is [default: the -r rate].
    #[arg(long, value_name = "RATE")]
    pub step_rate: Option<f64>,

    /// --breakpoint: the most steps tried.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub steps: usize,

    /// Fail (exit 99) when this holds at the end: `p99>200ms`, `errors>0.5%`,
    /// `rate<1000` (repeatable).
    #[arg(long = "fail-if", value_name = "CONDITION")]
    pub fail_if: Vec<String>,

    /// The timeline's interval: rate, errors and percentiles per interval.
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    pub interval: Duration,

    /// Print the results as one JSON document on stdout (schema in docs/load.md).
    #[arg(long)]
    pub json: bool,

    /// Also write a self-contained HTML report: summary, timeline and latency charts.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,

    /// Also draw latency by percentile as an SVG chart.
    #[arg(long, value_name = "FILE.svg")]
    pub latency_plot: Option<PathBuf>,

    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

impl LoadArgs {
    /// `--breakpoint`'s search, when asked for; refuses what cannot be searched.
    pub fn search(&self) -> Result<Option<Search>, Error> {
        let usage = |m: &str| Err(Error::Usage(m.to_string()));
        if !self.breakpoint {
            if !self.until.is_empty() || self.step_rate.is_some() {
                return usage("--until and --step-rate go with --breakpoint");
            }
            return Ok(None);
        }
        let Some(start) = self.rate else {
            return usage("--breakpoint starts from a rate: give -r");
        };
        if self.until.is_empty() {
            return usage("--breakpoint needs an --until condition, as in --until 'p99>200ms'");
        }
        if !self.stages.is_empty() || self.requests.is_some() {
            return usage("--breakpoint runs -d per step: drop --stage and --requests");
        }
        let step = self.step_rate.unwrap_or(start);
        if !(step.is_finite() && step > 0.0) || self.steps == 0 {
            return usage("--step-rate and --steps must be more than 0");
        }
        let until = thresholds(&self.until)
            .map_err(|e| Error::Usage(e.to_string().replacen("--fail-if", "--until", 1)))?;
        Ok(Some(Search {
            start,
            step,
            steps: self.steps,
            until,
        }))
    }
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
        let scenario = match (&self.scenario, &self.urls) {
            (Some(path), _) => Some(Scenario::read(path)?),
            (None, Some(path)) => {
                let order = if self.urls_random {
                    Order::Weighted
                } else {
                    Order::RoundRobin
                };
                Some(Scenario::read_urls(path, order)?)
            }
            (None, None) => None,
        };
        if scenario.is_some() && self.http2 {
            return Err(Error::Usage(
                "--scenario and --urls are HTTP/1.1 only for now: drop --http2".into(),
            ));
        }
        let url = match &scenario {
            Some(scenario) => format!("{}/", scenario.base),
            None => self.target.clone().unwrap_or_default(),
        };
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
        if (self.tls.any() || self.no_resume) && !target.tls() {
            return Err(Error::Usage(
                "--insecure, --cacert, --cert, --key and --no-resume apply to https://, wss:// and tls:// targets only".into(),
            ));
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
            interval: self.interval,
            scenario: scenario.map(std::sync::Arc::new),
            tls: ClientTlsOptions {
                no_resumption: self.no_resume,
                // The run offers its own protocol by ALPN (`run.rs`).
                ..self.tls.options(&[])
            },
        };
        settings.check()?;
        Ok(settings)
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
