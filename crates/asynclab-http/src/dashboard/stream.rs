//! One open dashboard: the newest frame of the `watch` channel, each time there
//! is a new one, as a Server-Sent Events body.
//!
//! The body is a stream hyper polls only when the socket can take more, so a
//! page that stops reading (a laptop asleep) stops polling its receiver, and
//! nothing piles up for it: when it reads again it gets the newest frame, not
//! the ones it missed. Each stream ends with a `shutdown` event as soon as a
//! graceful shutdown is requested, so an open dashboard never holds up the
//! drain (as `/events` does). Its permit among `http.dashboard.max_viewers`
//! lives inside the stream and goes when the client does.

use asynclab_core::Shutdown;
use bytes::Bytes;
use http::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http_body::Frame;
use http_body_util::StreamBody;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, watch};

use crate::body::{self, Body};

/// The first bytes of every stream: something to show at once, so `curl -N`
/// proves the stream is open, and how long a browser waits to reconnect.
const GREETING: &[u8] =
    b": asynclab dashboard: a snapshot per http.dashboard.interval\nretry: 2000\n\n";

/// One SSE event: `event: NAME`, `data: JSON`, a blank line.
pub(super) fn event(name: &str, data: &Value) -> Bytes {
    // Compact JSON is one line, as a `data:` field must be.
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The response for one viewer.
pub(super) fn open(
    mut frames: watch::Receiver<Bytes>,
    shutdown: Shutdown,
    slot: OwnedSemaphorePermit,
) -> Response<Body> {
    // The frame already there (when the sampler runs for others) goes out at
    // once, instead of a blank page until the next one.
    if !frames.borrow().is_empty() {
        frames.mark_changed();
    }
    let viewer = Viewer {
        frames,
        shutdown,
        _slot: slot,
        greeted: false,
        done: false,
    };
    // `unfold` turns "produce the next frame" into a `Stream`; `StreamBody`
    // turns the stream into a response body; `None` ends both.
    let chunks = futures_util::stream::unfold(viewer, |mut viewer| async move {
        let bytes = viewer.next().await?;
        Some((Ok::<_, std::io::Error>(Frame::data(bytes)), viewer))
    });
    let mut res = Response::new(body::boxed(StreamBody::new(chunks)));
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Asks nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// One viewer's stream. Dropping it (client gone, or the stream ended) drops
/// the receiver and frees the slot.
struct Viewer {
    frames: watch::Receiver<Bytes>,
    shutdown: Shutdown,
    _slot: OwnedSemaphorePermit,
    greeted: bool,
    done: bool,
}

impl Viewer {
    /// The next chunk of the body, or `None` when the stream is over.
    async fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        if !self.greeted {
            self.greeted = true;
            return Some(Bytes::from_static(GREETING));
        }
        // `biased;`: the shutdown first, so a steady stream of frames cannot
        // postpone the end.
        tokio::select! {
            biased;
            () = self.shutdown.requested.stopped() => Some(self.last()),
            changed = self.frames.changed() => match changed {
                // A clone of `Bytes` is a reference count, not a copy: every
                // viewer sends the same frame from the same memory.
                Ok(()) => Some(self.frames.borrow_and_update().clone()),
                // The sender is gone: the server is going away.
                Err(_) => Some(self.last()),
            },
        }
    }

    fn last(&mut self) -> Bytes {
        self.done = true;
        event(
            "shutdown",
            &json!({ "reason": "the server is shutting down gracefully; this stream ends now" }),
        )
    }
}
