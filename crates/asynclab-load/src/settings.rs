//! [`Settings`]: one load run, fully described and already validated.
//!
//! The command line ([`crate::LoadArgs`]) is turned into this once, before the
//! runtime starts; tests build it directly. Nothing here is async: the only I/O a
//! run needs before it starts (resolving the host name) happens in [`crate::run`].

use std::sync::Arc;
use std::time::Duration;

use asynclab_tls::ClientTlsOptions;

use crate::Error;
use crate::scenario::Scenario;
use crate::stages::Stages;
use crate::target::Target;

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What to load.
    pub target: Target,
    /// Connections open at once, each with one request in flight at a time.
    pub connections: usize,
    /// Measure for this long (after the warmup). `None` with `requests`: run until done.
    pub duration: Option<Duration>,
    /// Measure exactly this many requests (after the warmup).
    pub requests: Option<u64>,
    /// Requests per second across all connections (open model); `None`: each
    /// connection sends its next request as soon as the previous one is answered.
    pub rate: Option<f64>,
    /// Run this long before measuring; what happens during the warmup is not reported.
    pub warmup: Duration,
    /// The most time one request may take, connecting included.
    pub timeout: Duration,
    /// `--stage`: the rate (with `rate`) or the connections (without) change
    /// during the run; the stages set its length.
    pub stages: Option<Stages>,
    /// The timeline's interval.
    pub interval: Duration,
    /// `--scenario` or `--urls`: requests picked per exchange instead of the
    /// target's one (HTTP/1.1). The target then gives only the host and port.
    pub scenario: Option<Arc<Scenario>>,
    /// `https://` and `wss://`: whom to trust, our certificate (mutual TLS),
    /// session resumption. The ALPN offered is the run's protocol (`run.rs`).
    pub tls: ClientTlsOptions,
}

impl Settings {
    /// A run against `target` with the command's defaults: 50 connections, 10 s.
    pub fn new(target: Target) -> Settings {
        Settings {
            target,
            connections: 50,
            duration: Some(Duration::from_secs(10)),
            requests: None,
            rate: None,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(5),
            stages: None,
            interval: Duration::from_secs(1),
            scenario: None,
            tls: ClientTlsOptions::default(),
        }
    }

    /// Refuses values that would make a run meaningless or endless.
    pub fn check(&self) -> Result<(), Error> {
        let usage = |m: &str| Err(Error::Usage(m.to_string()));
        if self.connections == 0 {
            return usage("--connections must be at least 1");
        }
        if self.duration.is_none() && self.requests.is_none() {
            return usage("give --duration or --requests");
        }
        if self.duration.is_some_and(|d| d.is_zero()) {
            return usage("--duration must be more than 0s");
        }
        if self.requests == Some(0) {
            return usage("--requests must be at least 1");
        }
        // With stages, `--rate 0` is a ramp's starting point.
        let least = if self.stages.is_some() {
            0.0
        } else {
            f64::MIN_POSITIVE
        };
        if self.rate.is_some_and(|r| !(r.is_finite() && r >= least)) {
            return usage("--rate must be a positive number of requests per second");
        }
        if let Some(stages) = &self.stages {
            if self.requests.is_some() || self.duration != Some(stages.total()) {
                return usage("--stage sets the run's length: drop --duration and --requests");
            }
            if !self.warmup.is_zero() {
                return usage("--stage replaces --warmup: make the first stage the warmup");
            }
            if self.rate.is_some() && stages.expected(stages.total().as_secs_f64()) < 1.0 {
                return usage("--stage: the stages hold no request at all");
            }
            if self.rate.is_none() && stages.peak() < 1.0 {
                return usage(
                    "--stage: without --rate the targets are connections; none is 1 or more",
                );
            }
        }
        if self.interval < Duration::from_millis(10) {
            return usage("--interval must be at least 10ms");
        }
        if self.timeout.is_zero() {
            return usage("--timeout must be more than 0s");
        }
        let size = match &self.target {
            Target::Echo(echo) => echo.size,
            Target::Ws(ws) => ws.size,
            Target::Http(_) => 1,
        };
        if size == 0 {
            return usage("--size must be at least 1 byte");
        }
        Ok(())
    }
}
