//! `asynclab serve` / `echo` / `http`: bind, announce, run the servers side by side,
//! and report how the shutdown went.
//!
//! Pattern: **bind first, then log the real address** (port 0 works and the caller
//! learns the port), and **one shutdown for everything**: the servers each take a
//! clone of the same [`Shutdown`] handle, which the signal task triggers.
//! `tokio::join!` waits for both servers in this one task; each server spawns its
//! own tasks for its connections. `SIGHUP` reloads the configuration and the TLS
//! certificate (`reload.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use asynclab_core::config::Loaded;
use asynclab_core::shutdown::{self, DrainReport, Shutdown};
use asynclab_core::{Metrics, Overrides};
use asynclab_http::Https;
use asynclab_tls::{SelfSigned, ServerTls};
use tokio::net::TcpListener;

/// Open files wanted besides one per connection: listeners, runtimes, files being
/// sent, logs.
const SPARE_FILES: u64 = 256;

/// Which servers to run.
#[derive(Debug, Clone, Copy)]
pub struct Servers {
    pub echo: bool,
    pub http: bool,
}

impl Servers {
    pub const ALL: Self = Self {
        echo: true,
        http: true,
    };
    pub const ECHO: Self = Self {
        echo: true,
        http: false,
    };
    pub const HTTP: Self = Self {
        echo: false,
        http: true,
    };
}

/// Runs the chosen servers until the shutdown; `tls` is the servers' TLS, read
/// and checked by `validate::tls` (present when `tls.addr` or `echo.tls` is set).
/// `overrides` are the start-up's variables and flags, which a `SIGHUP` reload
/// applies again over the re-read file.
pub async fn run(
    loaded: Loaded,
    overrides: Overrides,
    servers: Servers,
    tls: Option<ServerTls>,
) -> anyhow::Result<ExitCode> {
    let config = loaded.config.clone();
    let metrics = Metrics::new();
    let shutdown = Shutdown::with_grace(config.shutdown.grace);

    // Everything that can fail is prepared before any port is bound.
    // A setting only the server can check (a missing files.root) is a
    // configuration error like any other: one line, exit 2, nothing bound.
    let http = match servers.http {
        true => match asynclab_http::Server::new(&loaded, metrics.clone(), shutdown.clone()) {
            Ok(server) => Some(server),
            Err(e) => {
                eprintln!("asynclab: {:#}", anyhow::Error::new(e));
                return Ok(ExitCode::from(crate::EXIT_BAD_CONFIG));
            }
        },
        false => None,
    };
    let echo = servers.echo.then(|| {
        let server =
            asynclab_echo::Server::new(config.echo.clone(), metrics.clone(), shutdown.clone());
        // `echo.tls`: the same certificate (and its reloads) as HTTPS, no ALPN.
        match (&tls, config.echo.tls) {
            (Some(tls), true) => server.with_tls(tls.acceptor_with_alpn(Vec::new())),
            _ => server,
        }
    });

    // Every connection is a descriptor: let the process open as many as the
    // connection limits allow, as far as its hard limit permits (Go's runtime
    // and nginx's `worker_rlimit_nofile` do the same). Past the limit a server
    // waits for a free descriptor (see the accept loops), so this is a warning.
    let running: Vec<(&str, u64)> = [
        (
            servers.http,
            "http.max_connections",
            config.http.max_connections,
        ),
        (
            servers.echo,
            "echo.max_connections",
            config.echo.max_connections,
        ),
    ]
    .into_iter()
    .filter_map(|(on, key, max)| on.then_some((key, max as u64)))
    .collect();
    let needed = running.iter().map(|(_, max)| max).sum::<u64>() + SPARE_FILES;
    let open_files = asynclab_core::open_files::raise_toward(needed);
    if let Some(limit) = open_files {
        for (key, max) in running.iter().filter(|(_, max)| *max > limit) {
            tracing::warn!(
                open_files = limit,
                "{key} is {max}, but this process may open only {limit} files (`ulimit -Hn`): \
                 connections past that wait for a free descriptor"
            );
        }
    }

    let http_listener = match &http {
        Some(_) => Some(bind("http.addr", config.http.addr, config.http.backlog)?),
        None => None,
    };
    let echo_listener = match &echo {
        Some(_) => Some(bind("echo.addr", config.echo.addr, config.echo.backlog)?),
        None => None,
    };
    let https_listener = match (&http, &tls, config.tls.addr) {
        (Some(_), Some(_), Some(addr)) => Some(bind("tls.addr", addr, config.http.backlog)?),
        _ => None,
    };
    let http_addr = http_listener.as_ref().map(local_addr).transpose()?;
    let echo_addr = echo_listener.as_ref().map(local_addr).transpose()?;
    let https_addr = https_listener.as_ref().map(local_addr).transpose()?;
    // The self-signed certificate, where clients can find it to trust it.
    let self_signed = match tls.as_ref().and_then(ServerTls::self_signed) {
        Some(made) => Some(SelfSignedFile::write(made)?),
        None => None,
    };

    // From here on, ctrl-c and SIGTERM start a graceful shutdown. The handlers are
    // in place before the banner says we are up, so a signal sent the moment a
    // script sees the banner is never lost (nor kills us with the OS default).
    shutdown::on_signals(shutdown.clone(), config.shutdown.readiness_delay)
        .context("installing the ctrl-c and SIGTERM handlers")?;
    // SIGHUP reloads the configuration and the TLS certificate (`reload.rs`).
    crate::reload::on_sighup(
        overrides,
        config.clone(),
        http.as_ref().map(|server| server.state().clone()),
        tls.as_ref().map(|tls| tls.cert().clone()),
    )
    .context("installing the SIGHUP handler")?;
    // With JSON logs (containers, collectors) the plain banner would mix text
    // into the JSON stream: the `asynclab started` event below carries the same
    // addresses, as one JSON line.
    let banner = Banner {
        http: http_addr,
        https: https_addr,
        echo: echo_addr,
        echo_tls: config.echo.tls,
        self_signed: self_signed.as_ref(),
    };
    if !asynclab_core::telemetry::is_json(&config.log) {
        banner.print();
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %loaded.sources,
        http = http_addr.map(|a| format!("http://{a}")),
        https = https_addr.map(|a| format!("https://{a}")),
        echo = echo_addr.map(|a| format!("{}://{a}", echo_scheme(config.echo.tls))),
        self_signed_cert = self_signed.as_ref().map(|f| f.path.display().to_string()),
        self_signed_sha256 = self_signed.as_ref().map(|f| f.fingerprint.clone()),
        open_files,
        "asynclab started"
    );

    // Certificate rotation: the files changing on disk, until stopping (SIGHUP
    // is handled by the reload task above).
    if let Some(tls) = &tls {
        let stop = shutdown.stopping.watch();
        tokio::spawn(tls.cert().clone().watch(config.tls.reload_interval, stop));
    }

    // Read after the drain, for the stop summary.
    let http_state = http.as_ref().map(|server| server.state().clone());
    let http_run = async {
        let https = https_listener
            .zip(tls.clone())
            .map(|(listener, tls)| Https { listener, tls });
        match (http, http_listener) {
            (Some(server), Some(listener)) => Some(server.run_with_tls(listener, https).await),
            _ => None,
        }
    };
    let echo_run = async {
        match (echo, echo_listener) {
            (Some(server), Some(listener)) => Some(server.run(listener).await),
            _ => None,
        }
    };
    // Both servers run concurrently; `join!` returns when both have drained.
    let (http_report, echo_report) = tokio::join!(http_run, echo_run);

    let total = |f: fn(&DrainReport) -> usize| {
        http_report
            .iter()
            .chain(echo_report.iter())
            .map(f)
            .sum::<usize>()
    };
    let elapsed = http_report
        .iter()
        .chain(echo_report.iter())
        .map(|r| r.elapsed)
        .max()
        .unwrap_or_default();
    let websockets = http_state.map(|state| state.websockets_at_shutdown());
    let websockets_cut = websockets.map_or(0, |ws| ws.cut);
    let cut = total(|r| r.cut) + usize::try_from(websockets_cut).unwrap_or(usize::MAX);
    // Work cut at the deadline is news for whoever runs the server: WARN.
    macro_rules! stopped {
        ($level:expr) => {
            tracing::event!(
                $level,
                http_requests_drained = http_report.map(|r| r.drained),
                http_requests_cut = http_report.map(|r| r.cut),
                http_websockets_closed = websockets.map(|ws| ws.closed),
                http_websockets_cut = websockets.map(|ws| ws.cut),
                echo_connections_drained = echo_report.map(|r| r.drained),
                echo_connections_cut = echo_report.map(|r| r.cut),
                drain_ms = elapsed.as_millis() as u64,
                "asynclab stopped"
            )
        };
    }
    if cut == 0 {
        stopped!(tracing::Level::INFO);
    } else {
        stopped!(tracing::Level::WARN);
    }
    Ok(if cut == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Binds with the configured backlog (see `asynclab_core::listen`), naming the
/// setting if that fails.
fn bind(key: &str, addr: SocketAddr, backlog: u32) -> anyhow::Result<TcpListener> {
    asynclab_core::listen::listen(addr, backlog)
        .with_context(|| format!("cannot listen on {addr} ({key})"))
}

fn local_addr(listener: &TcpListener) -> anyhow::Result<SocketAddr> {
    listener.local_addr().context("reading the bound address")
}

/// The self-signed certificate as written for clients, removed at exit.
#[derive(Debug)]
struct SelfSignedFile {
    path: PathBuf,
    fingerprint: String,
}

impl SelfSignedFile {
    /// Writes the certificate (never the key) under the system's temp folder.
    fn write(made: &SelfSigned) -> anyhow::Result<Self> {
        let path = made
            .write(&std::env::temp_dir())
            .context("writing the self-signed certificate")?;
        Ok(Self {
            path,
            fingerprint: asynclab_tls::fingerprint(&made.chain[0]),
        })
    }
}

impl Drop for SelfSignedFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The banner on stdout, for people at a terminal: where everything listens and
/// what to try. Tests read the `listening on` lines (or, with JSON logs, the
/// `asynclab started` event) to find ports chosen with port 0.
struct Banner<'a> {
    http: Option<SocketAddr>,
    https: Option<SocketAddr>,
    echo: Option<SocketAddr>,
    /// The echo server speaks TLS (`echo.tls`).
    echo_tls: bool,
    self_signed: Option<&'a SelfSignedFile>,
}

/// How the echo server's address is written: `tls://` with `echo.tls` (as
/// `asynclab check` spells it), `tcp://` without.
fn echo_scheme(tls: bool) -> &'static str {
    if tls { "tls" } else { "tcp" }
}

impl Banner<'_> {
    fn print(&self) {
        println!("asynclab {}", env!("CARGO_PKG_VERSION"));
        if let Some(a) = self.http {
            println!("  http listening on http://{a}");
        }
        if let Some(a) = self.https {
            println!("  https listening on https://{a}");
        }
        if let Some(a) = self.echo {
            println!("  echo listening on {}://{a}", echo_scheme(self.echo_tls));
        }
        if let Some(cert) = self.self_signed {
            println!("  self-signed certificate: {}", cert.path.display());
            println!("  certificate sha256: {}", cert.fingerprint);
        }
        println!("try:");
        if let Some(a) = self.http {
            println!("  curl http://{a}/");
            println!("  curl 'http://{a}/slow?delay=500ms'");
            println!("  curl http://{a}/metrics");
        }
        if let Some(a) = self.https {
            match self.self_signed {
                Some(cert) => println!("  curl --cacert {} https://{a}/", cert.path.display()),
                None => println!("  curl https://{a}/"),
            }
        }
        match (self.echo, self.echo_tls) {
            (Some(a), false) => println!("  nc {} {}", a.ip(), a.port()),
            (Some(a), true) => println!("  openssl s_client -quiet -connect {a}"),
            (None, _) => {}
        }
        println!("stop with ctrl-c or SIGTERM (twice to exit at once)");
    }
}
