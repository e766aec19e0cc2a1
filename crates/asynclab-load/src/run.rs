//! [`run`]: one load run, from resolving the target to the merged [`Report`].
//!
//! Pattern: **one task per connection, joined with a `JoinSet`**. Each connection is
//! an independent loop (see `worker.rs`), spawned on one of the runtimes it is given
//! (the command gives one per thread, see `threads.rs`; tests use their
//! own) by a task running on that runtime (see [`Launch`] for why). The `JoinSet`s
//! wait for all of them (and report a panic in one); their counts, kept in shards
//! (`stats.rs`), are merged once they have all ended.
//!
//! Stopping is cooperative and in two steps, both through `StopFlag`s in
//! [`Control`] (`asynclab_core::stop`: each connection watches them with a load per
//! wake-up, not a lock): `stop` (a first ctrl-c, or the caller) means "start nothing new",
//! and every request in flight still gets its answer, error or timeout, so the counts
//! stay exact; `cut` (a second ctrl-c) abandons the requests in flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use asynclab_core::stop::StopFlag;
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::echo::EchoClient;
use crate::h1::H1Client;
use crate::h2::H2Client;
use crate::pace::{Pacer, Plan};
use crate::report::{Ending, Report};
use crate::settings::Settings;
use crate::stats::{Live, Shards};
use crate::target::Target;
use crate::timeline::{self, Ticks};
use crate::tls::Connector;
use crate::worker::{self, Context};
use crate::ws::{WsClient, WsStats};

/// How the caller steers a run from outside.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Start no new request; let the ones in flight finish.
    pub stop: StopFlag,
    /// Abandon the requests in flight too (counted as `cut`).
    pub cut: StopFlag,
    /// Running totals for a progress display, when wanted.
    pub live: Option<Arc<Live>>,
    /// The timeline as it grows, for a live display; the report gets a copy.
    pub ticks: Ticks,
}

/// How long [`resolve`] waits for each address it tries.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Resolves the target's host name (`localhost`, a compose service name, an IP).
///
/// A name with several addresses (`localhost` is often `::1` and `127.0.0.1`) gets
/// the first one that accepts a connection, so a server bound to `127.0.0.1` is found
/// whichever order the resolver returns. When none answers, the first is used and the
/// run reports the connect errors.
pub async fn resolve(target: &Target) -> Result<SocketAddr, Error> {
    let (host, port) = target.authority();
    let resolve_error = |source| Error::Resolve {
        host: host.to_string(),
        source,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(resolve_error)?
        .collect();
    let Some(&first) = addrs.first() else {
        return Err(resolve_error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no address found",
        )));
    };
    if addrs.len() > 1 {
        for &addr in &addrs {
            let probe = tokio::time::timeout(PROBE_TIMEOUT, TcpStream::connect(addr)).await;
            if matches!(probe, Ok(Ok(_))) {
                return Ok(addr);
            }
        }
    }
    Ok(first)
}

/// Runs the load described by `settings` on the current runtime and returns what was
/// measured.
///
/// Returns when every connection has finished: at the end of the duration (plus at
/// most `--timeout` for the requests then in flight), after `-n` requests, or after
/// `control.stop`.
pub async fn run(settings: &Settings, control: &Control) -> Result<Report, Error> {
    run_on(settings, control, &[Handle::current()]).await
}

/// Like [`run`], with connection *i* on `runtimes[i % runtimes.len()]` (see
/// [`Runtimes`](crate::Runtimes)).
pub async fn run_on(
    settings: &Settings,
    control: &Control,
    runtimes: &[Handle],
) -> Result<Report, Error> {
    settings.check()?;
    let addr = resolve(&settings.target).await?;
    let connector = connector(settings, addr)?;
    let start = Instant::now();
    // The wall clock, read once beside the monotonic one: only for the report's
    // `started_at`, never to measure with.
    let wall_start = SystemTime::now();
    let plan = Arc::new(Plan::new(settings, start));
    let stats = Shards::new(settings.connections);
    let current = [Handle::current()];
    let runtimes = if runtimes.is_empty() {
        &current[..]
    } else {
        runtimes
    };
    // Each runtime's connections are spawned by a task running on that runtime (see
    // `Launch`); each launcher hands back the `JoinSet` of what it spawned.
    let shared = Arc::new(settings.clone());
    let ws = Arc::new(WsStats::default());
    let mut launchers = Vec::with_capacity(runtimes.len());
    for (first, runtime) in runtimes.iter().enumerate() {
        let launch = Launch {
            settings: shared.clone(),
            connector: connector.clone(),
            plan: plan.clone(),
            stats: stats.clone(),
            control: control.clone(),
            first,
            step: runtimes.len(),
            ws: ws.clone(),
        };
        launchers.push(runtime.spawn(launch.spawn_connections()));
    }
    // The timeline's sampler, on this runtime: it only locks each shard briefly
    // once per interval.
    let sampled = CancellationToken::new();
    let sampler = tokio::spawn(timeline::sample(
        stats.clone(),
        plan.measure_from,
        settings.interval,
        control.ticks.clone(),
        sampled.clone(),
    ));
    for launcher in launchers {
        let mut tasks = launcher.await.map_err(|e| Error::Task(e.to_string()))?;
        while let Some(joined) = tasks.join_next().await {
            joined.map_err(|e| Error::Task(e.to_string()))?;
        }
    }
    let elapsed = Instant::now().saturating_duration_since(plan.measure_from);
    sampled.cancel();
    sampler.await.map_err(|e| Error::Task(e.to_string()))?;
    let timeline = control
        .ticks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let stats = stats.total();
    let missed = plan.missed();
    let end = Ending {
        elapsed,
        scheduled: plan.span_of(stats.started + missed),
        missed,
        interrupted: control.stop.is_stopped(),
        measured_from: wall_start + settings.warmup,
        timeline,
    };
    let mut report = Report::new(settings, stats, end);
    if let Target::Ws(_) = settings.target {
        report.websocket = Some(ws.report());
    }
    report.tls = connector.report();
    Ok(report)
}

/// How the run's connections are opened: with a TLS handshake for `https://`,
/// `wss://` and `tls://`, offering by ALPN the one protocol the run speaks (`h2`
/// with `--http2`, otherwise `http/1.1`; a WebSocket upgrade is HTTP/1.1; the
/// echo protocol has no ALPN name, so nothing is offered).
fn connector(settings: &Settings, addr: SocketAddr) -> Result<Connector, Error> {
    let target = &settings.target;
    if !target.tls() {
        return Ok(Connector::plain(addr));
    }
    let alpn = match target {
        Target::Http(http) if http.http2 => Some(asynclab_tls::ALPN_H2),
        Target::Echo(_) => None,
        _ => Some(asynclab_tls::ALPN_HTTP11),
    };
    Connector::tls(addr, target.authority().0, &settings.tls, alpn)
}

/// Spawns one runtime's share of the connections: connection `first`, then every
/// `step`-th after it.
///
/// Pattern: **spawn from inside the runtime that will run the tasks**. A task
/// spawned from another thread goes into the runtime's queue for remote work, and a
/// busy single-threaded runtime takes one task from that queue only every 31 polls
/// (tokio's `global_queue_interval`) while its own queue has work. Spawned from
/// outside, ten thousand connections would trickle in over seconds while the first
/// ones already send requests, so `-c 10000` would not mean 10,000 connections. This
/// task is spawned once from outside; the connections it spawns go into the
/// runtime's own queue, in order, and each makes its first request (connecting
/// first) in turn.
struct Launch {
    settings: Arc<Settings>,
    /// Opens every connection (TLS included).
    connector: Connector,
    plan: Arc<Plan>,
    stats: Shards,
    control: Control,
    first: usize,
    step: usize,
    /// Handshakes and closes of a `ws://` run.
    ws: Arc<WsStats>,
}

impl Launch {
    async fn spawn_connections(self) -> JoinSet<()> {
        let mut tasks = JoinSet::new();
        for index in (self.first..self.settings.connections).step_by(self.step) {
            let pacer = Pacer::new(self.plan.clone(), index, &self.control.stop);
            let cx = Context {
                index,
                stats: self.stats.clone(),
                timeout: self.settings.timeout,
                cut: self.control.cut.clone(),
                live: self.control.live.clone(),
            };
            match &self.settings.target {
                Target::Http(http) if http.http2 => {
                    let client = H2Client::new(http, self.connector.clone());
                    tasks.spawn(worker::drive(client, pacer, cx))
                }
                Target::Http(http) => {
                    let client =
                        H1Client::new(http, self.connector.clone(), self.settings.scenario.clone());
                    tasks.spawn(worker::drive(client, pacer, cx))
                }
                Target::Echo(echo) => {
                    let client = EchoClient::new(echo, self.connector.clone(), index);
                    tasks.spawn(worker::drive(client, pacer, cx))
                }
                Target::Ws(ws) => {
                    let client = WsClient::new(ws, self.connector.clone(), index, self.ws.clone());
                    tasks.spawn(worker::drive(client, pacer, cx))
                }
            };
        }
        tasks
    }
}
