//! What the run shows while it goes: on a terminal, a progress bar with the
//! elapsed time, requests done, the current rate and the errors so far, and the
//! last interval of the timeline (p50, p99); elsewhere (a CI log, a pipe), one plain
//! line per interval of the timeline, which a log keeps readable.
//!
//! Pattern: **a side task that samples, never touches the hot path**. The bar is
//! redrawn by its own task ten times a second from the relaxed counters in
//! [`Live`]; connection tasks only bump those counters. The task ends when its token is
//! cancelled, and it clears the bar so the summary prints on a clean screen.

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Settings;
use crate::stats::Live;
use crate::timeline::Ticks;

/// How the run is shown as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Display {
    /// A progress bar redrawn in place (a terminal).
    Bar,
    /// One line per timeline interval (not a terminal).
    Lines,
}

/// Starts the display on stderr; stop it by cancelling `done` and awaiting the handle.
pub(crate) fn spawn(
    display: Display,
    settings: &Settings,
    live: Arc<Live>,
    ticks: Ticks,
    done: CancellationToken,
) -> JoinHandle<()> {
    match display {
        Display::Bar => bar(settings, live, ticks, done),
        Display::Lines => tokio::spawn(lines(ticks, done)),
    }
}

/// Prints each new interval of the timeline as one line, the last ones too.
async fn lines(ticks: Ticks, done: CancellationToken) {
    let mut printed = 0;
    let print_new = |printed: &mut usize| {
        let ticks = ticks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for tick in &ticks[*printed..] {
            eprintln!("{}", tick.line());
        }
        *printed = ticks.len();
    };
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = ticker.tick() => print_new(&mut printed),
            () = done.cancelled() => break,
        }
    }
    print_new(&mut printed);
}

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);

fn bar(
    settings: &Settings,
    live: Arc<Live>,
    ticks: Ticks,
    done: CancellationToken,
) -> JoinHandle<()> {
    // The bar's length is the measured time in milliseconds, or the request count.
    let (length, by_time) = match (settings.duration, settings.requests) {
        (_, Some(n)) => (n, false),
        (Some(d), None) => (u64::try_from(d.as_millis()).unwrap_or(u64::MAX), true),
        (None, None) => (0, true),
    };
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {msg}")
        .expect("constant, valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    let warmup = settings.warmup;
    tokio::spawn(async move {
        let start = Instant::now();
        let mut ticker = tokio::time::interval(TICK);
        let mut last = (0, start);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = done.cancelled() => break,
            }
            let now = Instant::now();
            let (requests, errors) = live.snapshot();
            let rate = (requests - last.0) as f64 / (now - last.1).as_secs_f64().max(1e-3);
            last = (requests, now);
            let measuring = now.saturating_duration_since(start + warmup);
            if measuring.is_zero() {
                bar.set_message("warming up");
                continue;
            }
            bar.set_position(if by_time {
                u64::try_from(measuring.as_millis()).unwrap_or(u64::MAX)
            } else {
                requests
            });
            let last = ticks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .last()
                .map(|t| {
                    let show =
                        |v: Option<u64>| v.map_or("-".into(), |us| crate::show_us(us as f64));
                    format!(
                        "; last {:.0}s: p50 {} p99 {}",
                        t.interval_s,
                        show(t.p50_us),
                        show(t.p99_us)
                    )
                })
                .unwrap_or_default();
            bar.set_message(format!(
                "{requests} requests, {rate:.0}/s, {errors} errors{last}"
            ));
        }
        bar.finish_and_clear();
    })
}
