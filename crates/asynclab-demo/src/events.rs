//! `GET /events`: the live event feed as Server-Sent Events (`text/event-stream`).
//!
//! Pattern: **a broadcast channel turned into a streaming response body**. Each
//! subscriber gets its own `broadcast::Receiver`; the body is a stream that, for
//! every frame, `select!`s between the next event, the shutdown signal, the
//! stream's end time and a heartbeat timer. hyper polls the body only when the socket can
//! take more, so a client that reads slowly simply stops polling its receiver: the
//! channel keeps the newest `capacity` events, and when this subscriber comes back
//! it gets `RecvError::Lagged(missed)`, sent on as a `lagged` event. Publishers
//! never wait for anyone.
//!
//! Bounded three times: every stream ends after `?for=` (`http.demo.events_for`
//! when not given, at most `http.demo.max_events_for`); at most `http.demo.max_subscribers` streams (a semaphore permit
//! lives inside each stream and is released when the stream is dropped, i.e. when
//! the client goes away), and each stream ends by itself with a `shutdown` event as
//! soon as a graceful shutdown is *requested*, so an endless response never holds up
//! the drain.
//!
//! Wire format (see the HTML spec's "Server-sent events"): `event: NAME`, then
//! `data: JSON`, then a blank line; a line starting with `:` is a comment, which
//! clients ignore (the heartbeat).

use std::sync::Arc;
use std::time::Duration;

use asynclab_core::events::Subscriber;
use asynclab_core::{Event, Events, Shutdown};
use bytes::Bytes;
use http::Response;
use http::header::{CACHE_CONTROL, HeaderValue};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::DemoError;
use crate::reply::{Body, stream};

/// What a subscription needs from the demo's shared state.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    pub events: Events,
    pub shutdown: Shutdown,
    pub slots: Arc<Semaphore>,
    pub max_subscribers: usize,
    pub heartbeat: Duration,
}

/// Opens a stream for one client, or says why not (503 when full).
pub(crate) fn subscribe(feed: &Feed, end_after: Duration) -> Result<Response<Body>, DemoError> {
    // Subscribe before answering, so every event published after this point
    // reaches the client, even one published before it reads the headers.
    let Ticket { rx, slot: permit } = ticket(feed)?;
    let mut heartbeat = tokio::time::interval_at(Instant::now() + feed.heartbeat, feed.heartbeat);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let subscription = Subscription {
        rx,
        shutdown: feed.shutdown.clone(),
        heartbeat,
        end_at: Instant::now() + end_after,
        _slot: permit,
        state: State::Greeting,
    };
    tracing::debug!(
        subscribers = feed.events.subscribers(),
        "events stream opened"
    );

    // `unfold` turns "produce the next frame" into a `Stream`; `StreamBody` turns the
    // stream into a response body. `None` ends the body, and hyper ends the response.
    let frames = futures_util::stream::unfold(subscription, |mut sub| async move {
        let bytes = sub.next_frame().await?;
        Some((Ok::<_, std::io::Error>(Frame::data(bytes)), sub))
    });
    let mut res = stream("text/event-stream", StreamBody::new(frames).boxed_unsync());
    let headers = res.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Asks nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}

/// A place among the `http.demo.max_subscribers` and a subscription, taken
/// together: what any stream of the feed holds (the SSE body here, the
/// WebSocket of `GET /ws/events` in `asynclab-http`). Dropping it frees both.
#[derive(Debug)]
pub struct Ticket {
    pub rx: Subscriber,
    slot: OwnedSemaphorePermit,
}

/// Takes a slot and subscribes, or says why not (503 when full).
pub(crate) fn ticket(feed: &Feed) -> Result<Ticket, DemoError> {
    // `try_acquire`, not `acquire`: a client over the limit is told at once, it
    // does not queue for a slot that may not free up for hours.
    let slot =
        feed.slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| DemoError::TooManySubscribers {
                max: feed.max_subscribers,
            })?;
    Ok(Ticket {
        rx: feed.events.subscribe(),
        slot,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Live,
    Done,
}

/// One client's stream. Dropping it (client gone, or the stream ended) drops the
/// receiver, which unsubscribes, and the permit, which frees the slot.
struct Subscription {
    rx: Subscriber,
    shutdown: Shutdown,
    heartbeat: Interval,
    end_at: Instant,
    _slot: OwnedSemaphorePermit,
    state: State,
}

impl Subscription {
    /// The next chunk of the body, or `None` when the stream is over.
    async fn next_frame(&mut self) -> Option<Bytes> {
        match self.state {
            State::Done => return None,
            State::Greeting => {
                // Something to show at once, so `curl -N` proves the stream is open.
                self.state = State::Live;
                return Some(Bytes::from_static(
                    b": asynclab events: one per finished request and echo connection\nretry: 2000\n\n",
                ));
            }
            State::Live => {}
        }
        let end_at = self.end_at;
        // `biased;` checks the branches in order: shutdown first, so a busy feed
        // cannot postpone the end of the stream.
        tokio::select! {
            biased;
            () = self.shutdown.requested.stopped() => Some(self.last(shutdown_frame())),
            () = tokio::time::sleep_until(end_at) => Some(self.last(message("end", &json!({
                "reason": "the stream's time (?for=, or http.demo.events_for) is up",
            })))),
            received = self.rx.recv() => match received {
                Ok(Event::Shutdown) => Some(self.last(shutdown_frame())),
                Ok(event) => Some(event_frame(&event)),
                // This subscriber fell more than the channel's capacity behind; the
                // oldest events are gone. Say how many, and carry on from there.
                Err(RecvError::Lagged(missed)) => {
                    Some(message("lagged", &json!({ "missed": missed })))
                }
                // Every sender is gone: the process is ending.
                Err(RecvError::Closed) => Some(self.last(shutdown_frame())),
            },
            _ = self.heartbeat.tick() => Some(Bytes::from_static(b": heartbeat\n\n")),
        }
    }

    /// Marks the stream finished after this frame.
    fn last(&mut self, frame: Bytes) -> Bytes {
        self.state = State::Done;
        frame
    }
}

fn shutdown_frame() -> Bytes {
    message(
        "shutdown",
        &json!({ "reason": "the server is shutting down gracefully; this stream ends now" }),
    )
}

/// An event named after its `type` (`request`, `echo_open`, ...), its JSON as data.
fn event_frame(event: &Event) -> Bytes {
    let data = serde_json::to_value(event).expect("an Event always serializes");
    let name = data
        .get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("message")
        .to_string();
    message(&name, &data)
}

fn message(name: &str, data: &serde_json::Value) -> Bytes {
    // Compact JSON is one line, as a `data:` field must be.
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}
