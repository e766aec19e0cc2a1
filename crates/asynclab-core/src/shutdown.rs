//! Graceful shutdown, shared by every server: one handle, three phases, one drain.
//!
//! The pattern (as in tokio's graceful-shutdown guide and mini-redis): servers never
//! look at signals themselves. Each takes the process's [`Shutdown`] in its
//! constructor and watches its phases; the binary moves the phases when a signal
//! comes ([`on_signals`]), tests move them by hand. The phases come in order, and
//! each one is a [`StopFlag`] (set once, watched cheaply by thousands of tasks):
//!
//! | phase | set by | watched by | what a client sees |
//! |---|---|---|---|
//! | 1. `requested` | the first ctrl-c or SIGTERM ([`Shutdown::request`]) | `/readyz`, `/events` streams | `/readyz` answers 503, event streams end with a `shutdown` event; everything else is served as before |
//! | 2. `stopping` | [`Shutdown::sequence`], `shutdown.readiness_delay` after phase 1 | the accept loops, every connection task | new connections are refused; a request in progress is finished (HTTP/1 with `Connection: close`, HTTP/2 with GOAWAY); a connection with no request in progress (idle, or its head not yet complete) is closed at once |
//! | 3. `cut` | each server's [`drain`], `shutdown.grace` after phase 2 if work is left | every connection task | whatever is still running is dropped: the socket closes |
//!
//! A second signal exits the process at once with [`FORCED_EXIT_CODE`].
//!
//! `docker stop` and Kubernetes send SIGTERM, not SIGINT, so both are handled: a
//! server that only waits for ctrl-c ignores SIGTERM as PID 1 and is killed without
//! draining.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::stop::StopFlag;

/// The exit status after a second signal forced the process down.
pub const FORCED_EXIT_CODE: i32 = 130;

/// How long work may finish after phase 2 when nobody says (`shutdown.grace`'s default).
const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The process's shutdown: three phases, set in order, and the grace period
/// between the second and the third. Cheap to clone; every clone sees the
/// same state.
#[derive(Debug, Clone)]
pub struct Shutdown {
    /// Phase 1: a shutdown has begun; readiness is off.
    pub requested: StopFlag,
    /// Phase 2: listeners close, connections finish what they are doing.
    pub stopping: StopFlag,
    /// Phase 3: the grace period is over; what still runs is dropped.
    pub cut: StopFlag,
    /// From phase 2 to phase 3 (`shutdown.grace`).
    pub grace: Duration,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::with_grace(DEFAULT_GRACE)
    }
}

impl Shutdown {
    /// A shutdown that has not started, with the default grace period.
    pub fn new() -> Self {
        Self::default()
    }

    /// A shutdown that has not started, whose drains cut what is left `grace`
    /// after phase 2.
    pub fn with_grace(grace: Duration) -> Self {
        Self {
            requested: StopFlag::new(),
            stopping: StopFlag::new(),
            cut: StopFlag::new(),
            grace,
        }
    }

    /// Phase 1. Calling it again changes nothing.
    pub fn request(&self) {
        self.requested.stop();
    }

    /// Phase 2 (and 1, if it was skipped).
    pub fn stop(&self) {
        self.request();
        self.stopping.stop();
    }

    /// Phase 3 (and the ones before).
    pub fn cut(&self) {
        self.stop();
        self.cut.stop();
    }

    /// True once a shutdown has begun (readiness is off).
    pub fn is_requested(&self) -> bool {
        self.requested.is_stopped()
    }

    /// True once listeners should be closed.
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_stopped()
    }

    /// What the first signal starts: phase 1 now, phase 2 after
    /// `readiness_delay` (phase 3 is the drains' to set). The signal task awaits
    /// it; a test may too, or set the phases itself.
    pub async fn sequence(&self, readiness_delay: Duration) {
        self.request();
        tokio::time::sleep(readiness_delay).await;
        self.stop();
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
/// signal runs the [`Shutdown::sequence`], a second one exits at once with
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
            grace = %humantime::format_duration(shutdown.grace),
            "shutdown requested; send the signal again to exit at once"
        );
        // A second signal may come during the readiness delay or after it.
        let sequence = shutdown.sequence(readiness_delay);
        tokio::pin!(sequence);
        tokio::select! {
            _ = signals.recv() => {}
            () = &mut sequence => { signals.recv().await; }
        }
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

/// How long tasks get, once cut, to write their last bytes and close.
const AFTER_CUT: Duration = Duration::from_secs(1);

/// Call once the listener is closed (phase 2 has begun). Waits for the tasks in
/// `tracker` for up to the shutdown's grace period; if some are still running
/// then, counts them and sets phase 3 (every server's tasks see it), and
/// reports how many finished and how many were cut.
///
/// `in_flight` says how many units of work are running (the tracker's task count
/// for a connection-per-task server, a request counter for HTTP).
pub async fn drain(
    shutdown: &Shutdown,
    tracker: &TaskTracker,
    in_flight: impl Fn() -> usize,
) -> DrainReport {
    let started = Instant::now();
    let before = in_flight();
    // No new tasks can join once the listener is gone; `close` lets `wait` finish
    // when the count reaches zero.
    tracker.close();
    // Another server's drain may reach the deadline first and cut: then the
    // tasks here end too, and what was running is counted as cut below.
    let finished = tokio::select! {
        finished = tokio::time::timeout(shutdown.grace, tracker.wait()) => finished.is_ok(),
        () = shutdown.cut.stopped() => false,
    };
    let remaining = if finished { 0 } else { in_flight() };
    if !finished {
        shutdown.cut();
        // Tasks watch the cut in their `select!` and end promptly.
        let _ = tokio::time::timeout(AFTER_CUT, tracker.wait()).await;
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
    async fn the_sequence_keeps_serving_through_the_readiness_delay() {
        let shutdown = Shutdown::new();
        let run = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.sequence(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(shutdown.is_requested());
        assert!(!shutdown.is_stopping());
        tokio::time::sleep(Duration::from_millis(4900)).await;
        assert!(!shutdown.is_stopping());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(shutdown.is_stopping());
        assert!(!shutdown.cut.is_stopped(), "the cut is the drains' to make");
        run.await.expect("the sequence ran to its end");
    }

    #[tokio::test(start_paused = true)]
    async fn drain_reports_drained_and_cut() {
        let shutdown = Shutdown::with_grace(Duration::from_secs(10));
        let tracker = TaskTracker::new();
        for secs in [1, 2, 30] {
            let cut = shutdown.cut.clone();
            tracker.spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
                    _ = cut.stopped() => {}
                }
            });
        }
        shutdown.stop();
        let t = tracker.clone();
        let report = drain(&shutdown, &tracker, move || t.len()).await;
        assert_eq!(report.drained, 2);
        assert_eq!(report.cut, 1);
        assert!(report.elapsed >= Duration::from_secs(10));
        assert!(shutdown.cut.is_stopped());
        assert!(tracker.is_empty(), "the cut task ended");
    }
}
