//! Graceful shutdown, shared by every server: the signal, the two phases, the drain.
//!
//! The pattern (as in tokio's graceful-shutdown guide and mini-redis): servers never
//! look at signals themselves. They take a [`Shutdown`] handle as an argument, so the
//! binary hands them the one wired to ctrl-c and SIGTERM while tests hand them one
//! they trigger by hand. Under the handle are two [`CancellationToken`]s:
//!
//! 1. **requested**: a shutdown has begun. `/readyz` turns 503 so load balancers stop
//!    sending traffic, but everything keeps serving.
//! 2. **stopping**: `shutdown.readiness_delay` later, listeners close. Each server
//!    then [`drain`]s: it asks its tasks (tracked with a [`TaskTracker`]) to finish,
//!    waits for them up to `shutdown.grace`, and whatever is still running then is
//!    cut. Both requests reach the tasks through a [`StopFlag`] each.
//!
//! `docker stop` and Kubernetes send SIGTERM, not SIGINT, so both are handled: a
//! server that only waits for ctrl-c ignores SIGTERM as PID 1 and is killed without
//! draining. A second signal exits at once.

use std::time::Duration;

use tokio::time::Instant;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::stop::StopFlag;

/// The exit status after a second signal forced the process down.
pub const FORCED_EXIT_CODE: i32 = 130;

/// A handle on the process's shutdown. Cheap to clone; every clone sees the same state.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    requested: CancellationToken,
    stopping: CancellationToken,
}

impl Shutdown {
    /// A shutdown that has not started.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a graceful shutdown: requested now, stopping after `readiness_delay`.
    /// Calling it again changes nothing.
    pub fn trigger(&self, readiness_delay: Duration) {
        if self.requested.is_cancelled() {
            return;
        }
        self.requested.cancel();
        if readiness_delay.is_zero() {
            self.stopping.cancel();
        } else {
            let stopping = self.stopping.clone();
            // A detached timer task: nothing needs to wait for it, and if the process
            // ends first there is nothing left to stop.
            tokio::spawn(async move {
                tokio::time::sleep(readiness_delay).await;
                stopping.cancel();
            });
        }
    }

    /// Skips the readiness delay: listeners close now.
    pub fn stop_now(&self) {
        self.requested.cancel();
        self.stopping.cancel();
    }

    /// True once a shutdown has begun (readiness is off).
    pub fn is_requested(&self) -> bool {
        self.requested.is_cancelled()
    }

    /// Completes when a shutdown begins.
    pub async fn requested(&self) {
        self.requested.cancelled().await
    }

    /// True once listeners should be closed.
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// Completes when listeners should close and in-flight work should finish.
    pub async fn stopping(&self) {
        self.stopping.cancelled().await
    }

    /// A token cancelled when listeners should close, for `select!` loops and
    /// libraries that take a token.
    pub fn stopping_token(&self) -> CancellationToken {
        self.stopping.child_token()
    }
}

/// Which signal started the shutdown, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

/// The process's ctrl-c (SIGINT) and SIGTERM listeners.
///
/// Creating it installs the handlers at once, so a signal that arrives any time
/// after [`Signals::new`] returns is seen (before that, the OS default applies:
/// the process dies). Keep one instance for the life of the process: a listener
/// created later does not see signals that arrived before it.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers. Call from inside the runtime.
    pub fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the next ctrl-c or SIGTERM, whichever comes first.
    pub async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            // `select!` polls both futures and runs the branch of the first to
            // finish; the other `recv` is dropped, which loses nothing: a signal
            // not yet received stays pending in its listener.
            tokio::select! {
                _ = self.int.recv() => Signal::Interrupt,
                _ = self.term.recv() => Signal::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        }
    }
}

/// Wires process signals to `shutdown` for the life of the process: the first
/// signal triggers a graceful shutdown, a second one exits at once with
/// [`FORCED_EXIT_CODE`]. The handlers are installed before this returns, so call
/// it before telling anyone the server is up.
pub fn on_signals(
    shutdown: Shutdown,
    readiness_delay: Duration,
) -> std::io::Result<JoinHandle<()>> {
    let mut signals = Signals::new()?;
    Ok(tokio::spawn(async move {
        let sig = signals.recv().await;
        tracing::info!(
            signal = ?sig,
            readiness_delay = %humantime::format_duration(readiness_delay),
            "shutdown requested; send the signal again to exit at once"
        );
        shutdown.trigger(readiness_delay);
        signals.recv().await;
        tracing::warn!("second signal: exiting at once without draining");
        std::process::exit(FORCED_EXIT_CODE);
    }))
}

/// What a server's drain did, for the shutdown log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Units of work (connections or requests) that finished within the grace period.
    pub drained: usize,
    /// Units still running at the deadline, which were cut.
    pub cut: usize,
    /// How long the drain took.
    pub elapsed: Duration,
}

impl DrainReport {
    /// True when nothing had to be cut.
    pub fn clean(&self) -> bool {
        self.cut == 0
    }
}

/// Call once the listener is closed. Tells the tasks in `tracker` to finish
/// (sets `stopping`), waits for them up to `grace`, then sets `cut` so the
/// stragglers stop, and reports how many finished and how many were cut.
///
/// `in_flight` says how many units of work are running (the tracker's task count
/// for a connection-per-task server, a request counter for HTTP).
pub async fn drain(
    tracker: &TaskTracker,
    grace: Duration,
    stopping: &StopFlag,
    cut: &StopFlag,
    in_flight: impl Fn() -> usize,
) -> DrainReport {
    stopping.stop();
    let started = Instant::now();
    let before = in_flight();
    // No new tasks can join once the listener is gone; `close` lets `wait` finish
    // when the count reaches zero.
    tracker.close();
    let finished = tokio::time::timeout(grace, tracker.wait()).await.is_ok();
    let remaining = if finished { 0 } else { in_flight() };
    if !finished {
        cut.stop();
        // Tasks watch `cut` in their `select!` and end promptly; give them a moment
        // to write their last bytes and close their sockets.
        let _ = tokio::time::timeout(Duration::from_secs(1), tracker.wait()).await;
    }
    DrainReport {
        drained: before.saturating_sub(remaining),
        cut: remaining,
        elapsed: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn readiness_delay_separates_requested_from_stopping() {
        let shutdown = Shutdown::new();
        shutdown.trigger(Duration::from_secs(5));
        assert!(shutdown.is_requested());
        assert!(!shutdown.is_stopping());
        tokio::time::sleep(Duration::from_millis(4900)).await;
        assert!(!shutdown.is_stopping());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(shutdown.is_stopping());
    }

    #[tokio::test(start_paused = true)]
    async fn drain_reports_drained_and_cut() {
        let tracker = TaskTracker::new();
        let cut = StopFlag::new();
        for secs in [1, 2, 30] {
            let cut = cut.clone();
            tracker.spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
                    _ = cut.stopped() => {}
                }
            });
        }
        let t = tracker.clone();
        let stopping = StopFlag::new();
        let report = drain(
            &tracker,
            Duration::from_secs(10),
            &stopping,
            &cut,
            move || t.len(),
        )
        .await;
        assert_eq!(report.drained, 2);
        assert_eq!(report.cut, 1);
        assert!(report.elapsed >= Duration::from_secs(10));
        assert!(tracker.is_empty(), "the cut task ended");
    }
}
