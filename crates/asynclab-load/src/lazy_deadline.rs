//! A per-request timeout that leaves the timer alone while requests finish in time.
//!
//! Pattern: **a timer re-armed lazily**. `tokio::time::timeout` per request puts an
//! entry into the runtime's timer wheel when the request first waits, and takes it out
//! again when the answer comes: two trips through the wheel (and its lock) for a
//! timeout that almost never fires. A connection here keeps one [`Sleep`] for its
//! whole life instead, and a new request only writes down its deadline. The timer
//! stays armed at an older, earlier deadline; when it fires, the deadline is looked at:
//! passed, and the request has timed out; not yet, and the timer is moved to it. So
//! with a 30 s timeout the wheel is touched about once per 30 s per connection, not
//! twice per request, and a timeout still fires at exactly the request's deadline.
//! Netty's `IdleStateHandler` watches idle connections the same way.
//!
//! The invariant that makes it right: the timer is never armed *later* than the
//! deadline (see [`Deadline::set`]), so it cannot sleep through one.
//!
//! The timer is not even polled again while it waits: once it holds the task's
//! waker it will wake the task when it fires, so each later poll of
//! [`Deadline::passed`] only looks at whether it has fired (the same "look before
//! you register again" as `asynclab_core::stop::Watch`). That is sound because a
//! `Deadline` stays in the one task that polls it, a connection's loop.
//!
//! Why it matters: see "The load generator" in `docs/performance.md`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep};

/// The deadline of a connection's current request, with the timer that enforces it.
#[derive(Debug)]
pub(crate) struct Deadline {
    /// Armed at or before `due`, never after. Boxed once: a `Sleep` must stay pinned
    /// while it is registered, and the connection's loop moves between requests.
    timer: Pin<Box<Sleep>>,
    due: Instant,
    /// The timer was polled since it was last armed, so it holds the task's waker.
    registered: bool,
}

impl Deadline {
    pub(crate) fn new(due: Instant) -> Deadline {
        Deadline {
            timer: Box::pin(tokio::time::sleep_until(due)),
            due,
            registered: false,
        }
    }

    /// The current request must be answered by `due`. Re-arms the timer only when
    /// `due` is earlier than what it is armed for (a shorter timeout than before);
    /// a later one is left for [`Deadline::passed`] to catch up with.
    pub(crate) fn set(&mut self, due: Instant) {
        self.due = due;
        if due < self.timer.deadline() {
            self.rearm(due);
        }
    }

    fn rearm(&mut self, due: Instant) {
        self.timer.as_mut().reset(due);
        self.registered = false;
    }

    /// Completes once the deadline set last has passed. Cancel-safe: dropping it
    /// (the request answered first) leaves the timer armed for the next one.
    pub(crate) async fn passed(&mut self) {
        std::future::poll_fn(|cx| self.poll_passed(cx)).await;
    }

    fn poll_passed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.registered && !self.timer.is_elapsed() {
                return Poll::Pending;
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                self.registered = true;
                return Poll::Pending;
            }
            if self.timer.deadline() >= self.due {
                return Poll::Ready(());
            }
            // It fired for an earlier request's deadline: wait for this one's.
            self.rearm(self.due);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Whether `deadline.passed()` completes within `wait` (paused time: exact).
    async fn passes_within(deadline: &mut Deadline, wait: Duration) -> bool {
        tokio::time::timeout(wait, deadline.passed()).await.is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_deadline_fires_at_its_own_time_not_at_the_armed_one() {
        let start = Instant::now();
        let mut deadline = Deadline::new(start + Duration::from_secs(10));
        // The request due at 10 s was answered at 4 s; the next one is due at 14 s.
        tokio::time::sleep(Duration::from_secs(4)).await;
        deadline.set(start + Duration::from_secs(14));
        // At 10 s the timer fires for the old deadline: not passed yet.
        assert!(!passes_within(&mut deadline, Duration::from_millis(9_999)).await);
        assert!(passes_within(&mut deadline, Duration::from_millis(2)).await);
        assert_eq!(Instant::now() - start, Duration::from_secs(14));
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_re_arms_the_timer_at_once() {
        let start = Instant::now();
        let mut deadline = Deadline::new(start + Duration::from_secs(30));
        deadline.set(start + Duration::from_secs(1));
        assert!(passes_within(&mut deadline, Duration::from_millis(1_001)).await);
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_set_after_the_timer_fired_still_waits_for_its_time() {
        let start = Instant::now();
        let mut deadline = Deadline::new(start + Duration::from_secs(1));
        assert!(passes_within(&mut deadline, Duration::from_secs(2)).await);
        // An idle connection: the timer has fired and stays fired until re-armed.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = Instant::now();
        deadline.set(now + Duration::from_secs(3));
        assert!(!passes_within(&mut deadline, Duration::from_millis(2_999)).await);
        assert!(passes_within(&mut deadline, Duration::from_millis(2)).await);
        assert_eq!(Instant::now() - now, Duration::from_secs(3));
    }
}
