//! A connection's own clocks: how long it may wait for a request head, and how
//! long it may sit idle between requests.
//!
//! hyper owns the socket, so the connection task cannot watch it. Instead the
//! socket wrapper (`io.rs`) and the per-connection service (`service.rs`) note
//! what happens on an [`Activity`] (a few atomics), and the task's timer reads
//! it each time it wakes. Three states:
//!
//! - **reading a head**, from accept or from the first byte after an idle spell:
//!   the head must be complete within `http.header_read_timeout`, or the
//!   connection is closed;
//! - **busy**, from a request's arrival until its response has been sent whole
//!   (a streamed response included): no connection clock runs; the request's
//!   own limits do (`layers/timeout.rs`, the body's minimum rate, the write
//!   timeout);
//! - **idle**, from the end of the last response: after `http.idle_timeout` the
//!   connection is closed gracefully.
//!
//! Pattern: **timestamps, not timers, per event.** Nothing here arms a timer
//! per request: an event stores the time it happened, and the one timer of the
//! task wakes at the deadline that follows from it. The timer never sleeps
//! longer than the shorter of the two timeouts, so a state that changed while
//! it slept (a head began) is still caught exactly: its deadline is at least
//! that far from the change.
//!
//! hyper's own `header_read_timeout` is not used: it runs between keep-alive
//! requests too, so idle connections would close after the header timeout
//! rather than `http.idle_timeout`, and it does nothing for HTTP/2.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::ws::Session;

/// The connection clocks' settings, copied once from `HttpConfig`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
    pub write: Duration,
}

impl Timeouts {
    /// How long the connection's timer may sleep at most.
    fn longest_sleep(&self) -> Duration {
        self.header_read.min(self.idle)
    }
}

/// What a connection is doing, as its socket and its service see it; and,
/// once, the WebSocket session a 101 answer hands to the connection's task
/// (kept here, in the one allocation every connection has anyway).
#[derive(Debug)]
pub struct Activity {
    /// The session of a WebSocket handshake answered on this connection.
    upgrade: Mutex<Option<Session>>,
    born: Instant,
    /// Requests that arrived and whose response has not been sent whole.
    busy: AtomicUsize,
    /// True while waiting for a request head; false while idle.
    reading_head: AtomicBool,
    /// Milliseconds after `born` when the head wait or the idle spell began.
    since_ms: AtomicU64,
}

/// What the timer should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Look again at this time.
    Wait(Instant),
    /// The request head did not arrive in time.
    HeadTimeout,
    /// Idle for `http.idle_timeout`.
    Idle,
}

impl Activity {
    /// A connection accepted now, waiting for its first request head.
    pub fn new() -> Self {
        Self {
            upgrade: Mutex::new(None),
            born: Instant::now(),
            busy: AtomicUsize::new(0),
            reading_head: AtomicBool::new(true),
            since_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.born.elapsed().as_millis() as u64
    }

    /// Bytes arrived. On an idle connection, that is the start of a request head.
    /// (On a busy one they belong to the request being answered: its body.)
    pub fn on_read(&self) {
        if self.busy.load(Ordering::Acquire) == 0 && !self.reading_head.swap(true, Ordering::AcqRel)
        {
            self.since_ms.store(self.now_ms(), Ordering::Release);
        }
    }

    /// A complete request head arrived.
    pub fn request_started(&self) {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.reading_head.store(false, Ordering::Release);
    }

    /// A response was sent whole (or given up on): idle from now if it was the last.
    pub fn request_finished(&self) {
        if self.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.since_ms.store(self.now_ms(), Ordering::Release);
        }
    }

    /// Notes the WebSocket session of a 101 answer, for the connection's task.
    pub fn hand_over(&self, session: Session) {
        if let Ok(mut slot) = self.upgrade.lock() {
            *slot = Some(session);
        }
    }

    /// The WebSocket session handed over, if a request was answered 101.
    pub fn take_upgrade(&self) -> Option<Session> {
        self.upgrade
            .lock()
            .map(|mut slot| slot.take())
            .unwrap_or(None)
    }

    /// True while a request is being answered.
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire) > 0
    }

    /// Which deadline applies now, and whether it has passed.
    pub fn check(&self, t: &Timeouts) -> Check {
        let now = Instant::now();
        let next_look = now + t.longest_sleep();
        if self.is_busy() {
            return Check::Wait(next_look);
        }
        let head = self.reading_head.load(Ordering::Acquire);
        let since = self.born + Duration::from_millis(self.since_ms.load(Ordering::Acquire));
        let deadline = since + if head { t.header_read } else { t.idle };
        match (deadline <= now, head) {
            (false, _) => Check::Wait(deadline.min(next_look)),
            (true, true) => Check::HeadTimeout,
            (true, false) => Check::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(6),
        write: Duration::from_secs(30),
    };

    /// Sleeps as the connection task does, until the check says something other
    /// than "wait"; returns that and when it happened.
    async fn run_clock(activity: &Activity) -> (Check, Duration) {
        let started = Instant::now();
        loop {
            match activity.check(&T) {
                Check::Wait(at) => tokio::time::sleep_until(at).await,
                other => return (other, started.elapsed()),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_closes_at_the_idle_timeout_not_later() {
        let activity = Activity::new();
        tokio::time::sleep(Duration::from_millis(300)).await;
        activity.request_started();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Writing the response is no reason to wait longer once it is sent.
        activity.request_finished();
        let (check, after) = run_clock(&activity).await;
        assert_eq!(check, Check::Idle);
        assert_eq!(
            after, T.idle,
            "closed exactly idle_timeout after the answer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_begun_while_idle_gets_the_header_timeout_from_its_first_byte() {
        let activity = Activity::new();
        activity.request_started();
        activity.request_finished();
        tokio::time::sleep(Duration::from_secs(4)).await;
        activity.on_read();
        let (check, after) = run_clock(&activity).await;
        assert_eq!(check, Check::HeadTimeout);
        assert_eq!(after, T.header_read);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_has_no_connection_deadline() {
        let activity = Activity::new();
        activity.request_started();
        let clock = tokio::time::timeout(Duration::from_secs(600), run_clock(&activity));
        assert!(clock.await.is_err(), "ten minutes busy, and still open");
        // Bytes of the request's body arriving meanwhile are not a new head.
        activity.on_read();
        activity.request_finished();
        let (check, after) = run_clock(&activity).await;
        assert_eq!((check, after), (Check::Idle, T.idle));
    }
}
