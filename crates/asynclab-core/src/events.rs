//! The live event feed: a `tokio::sync::broadcast` channel every server publishes
//! to and any number of subscribers (the `/events` stream) read from.
//!
//! Pattern: **broadcast with bounded memory**. The channel holds the last
//! `capacity` events; a subscriber that falls behind does not slow the publishers
//! or the other subscribers, it gets `RecvError::Lagged(n)` telling it how many it
//! missed and carries on from the oldest event still held. Publishing is a
//! non-blocking call that never fails the publisher: with no subscribers the event
//! is simply dropped (and not even built, see [`Events::publish_with`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// Events kept for slow subscribers before they start to lag.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Something that happened in the process.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An HTTP request finished.
    Request {
        method: String,
        route: String,
        status: u16,
        latency_ms: f64,
    },
    /// An echo connection was accepted.
    EchoOpen { peer: String },
    /// An echo connection closed.
    EchoClose { peer: String },
    /// A graceful shutdown began; the stream ends after this event.
    Shutdown,
}

/// A handle on the feed. Clone it freely; all clones share one channel.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
    /// Subscribers right now, kept here because the channel's own count
    /// (`Sender::receiver_count`) is read under the channel's lock, and every
    /// HTTP request asks (see [`Events::publish_with`]).
    subscribers: Arc<AtomicUsize>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl Events {
    /// A feed that keeps `capacity` events for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            tx,
            subscribers: Arc::default(),
        }
    }

    /// Publishes an event to every current subscriber.
    pub fn publish(&self, event: Event) {
        // `send` only fails when nobody is subscribed, which is fine.
        let _ = self.tx.send(event);
    }

    /// Builds and publishes an event only when someone is listening, so the hot
    /// path pays one atomic load (no lock, no allocation) when the feed is unused.
    pub fn publish_with(&self, event: impl FnOnce() -> Event) {
        if self.subscribers() > 0 {
            self.publish(event());
        }
    }

    /// A new subscriber, receiving events published from now on.
    pub fn subscribe(&self) -> Subscriber {
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        Subscriber {
            rx: self.tx.subscribe(),
            subscribers: self.subscribers.clone(),
        }
    }

    /// Subscribers right now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }
}

/// One subscription: the channel's receiver, counted in [`Events::subscribers`]
/// until it is dropped.
#[derive(Debug)]
pub struct Subscriber {
    rx: broadcast::Receiver<Event>,
    subscribers: Arc<AtomicUsize>,
}

impl Subscriber {
    /// The next event; `Err(Lagged(n))` if `n` were missed (the next call carries
    /// on from the oldest still held), `Err(Closed)` never while an `Events` lives.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        self.rx.recv().await
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slow_subscriber_lags_without_blocking_the_publisher() {
        let events = Events::new(4);
        let mut fast = events.subscribe();
        let mut slow = events.subscribe();
        for _ in 0..10 {
            events.publish(Event::Shutdown);
            assert_eq!(fast.recv().await.expect("fast keeps up"), Event::Shutdown);
        }
        assert_eq!(slow.recv().await, Err(RecvError::Lagged(6)));
        assert_eq!(
            slow.recv().await,
            Ok(Event::Shutdown),
            "carries on after lagging"
        );
    }

    #[test]
    fn nothing_is_built_without_subscribers() {
        let events = Events::default();
        events.publish_with(|| unreachable!("no subscriber, no event"));
        let rx = events.subscribe();
        let mut built = false;
        events.publish_with(|| {
            built = true;
            Event::Shutdown
        });
        assert!(built);
        assert_eq!(events.clone().subscribers(), 1, "clones share the count");
        drop(rx);
        assert_eq!(events.subscribers(), 0);
        events.publish_with(|| unreachable!("the subscriber left"));
    }
}
