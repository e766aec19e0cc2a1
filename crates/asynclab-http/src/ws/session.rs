//! One WebSocket's life, in its connection's task (or, over HTTP/2, a task of
//! its own).
//!
//! Pattern: **one task, one `select!`, no locks.** mini-redis's connection
//! handler is a `select!` over the next frame and the shutdown; this is the
//! same with three more branches: the event feed and its lifetime (for
//! `/ws/events`) and the idle clock. Everything the session owns (the socket,
//! the subscription, the timers) lives in this one task, so nothing is shared
//! and nothing is locked.
//!
//! The echo is sent *inside* the branch that received the message, and the
//! loop reads the next message only once it is written: a client that sends
//! without reading is slowed to the pace at which it reads, its data waiting in
//! its own socket buffers rather than in the server's memory.
//!
//! Pings from the client are answered by tungstenite itself, with the same
//! payload, on the next read (which the loop makes at once), also between the
//! fragments of a message: the loop only sees them as a sign of life.

use std::net::SocketAddr;
use std::time::Duration;

use asynclab_core::Event;
use asynclab_core::config::WsConfig;
use asynclab_core::stop::Watch;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::close::{self, End};
use super::metrics::{Way, WsMetrics};
use super::{Feed, Socket};
use asynclab_demo::Ticket;

/// What a session needs besides its socket and its feed.
pub(super) struct Context<'a> {
    pub config: &'a WsConfig,
    /// `http.write_timeout`: the longest one message may take to be written.
    pub write_timeout: Duration,
    pub metrics: &'a WsMetrics,
    pub peer: SocketAddr,
    /// The shutdown's `stopping` and `cut` phases, made once for this task.
    pub stopping: Watch,
    pub cut: Watch,
}

/// Runs the WebSocket until it ends, then closes it (`close.rs`).
pub(super) async fn run(mut ws: Socket, feed: Feed, mut cx: Context<'_>) {
    let (mut events, end_after) = match feed {
        Feed::Events { ticket, end_after } => (Some(ticket), Some(end_after)),
        Feed::None => (None, None),
    };
    let echo = events.is_none();
    let idle = tokio::time::sleep(cx.config.idle_timeout);
    tokio::pin!(idle);
    // The feed's lifetime (`?for=`); an echo has none but its clocks.
    let time_up = after(end_after);
    tokio::pin!(time_up);
    let mut pinged = false;
    // The code of the client's close frame, once it sent one.
    let mut client_closed = None;

    let end = loop {
        tokio::select! {
            // `biased`: the shutdown first, so a busy socket cannot postpone its 1001.
            biased;
            () = &mut cx.stopping => break End::Shutdown,
            incoming = ws.next() => match incoming {
                // The socket ended: after a close handshake (tungstenite has
                // sent the answer to the client's close), or the client vanished.
                None => break End::Gone,
                Some(Err(error)) => break close::fault(error),
                Some(Ok(message)) => {
                    // Any frame is a sign of life, the pong to our ping included.
                    idle.as_mut().reset(Instant::now() + cx.config.idle_timeout);
                    pinged = false;
                    match message {
                        Message::Text(_) | Message::Binary(_) => {
                            count(cx.metrics, &cx.metrics.received, &message);
                            if echo && let Some(end) = send(&mut ws, message, &mut cx).await {
                                break end;
                            }
                        }
                        // tungstenite has queued the answer; the next read sends
                        // it, and then the stream ends.
                        Message::Close(frame) => {
                            client_closed = Some(frame.map_or(1005, |f| u16::from(f.code)));
                        }
                        // Pings are answered by tungstenite; a pong only resets the clock.
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
            },
            received = next_event(&mut events) => {
                let Some(text) = event_text(received) else {
                    break End::Close(CloseCode::Away, "the event feed ended");
                };
                if let Some(end) = send(&mut ws, Message::text(text), &mut cx).await {
                    break end;
                }
            }
            () = &mut time_up => {
                break End::Close(CloseCode::Normal, "the stream's time (?for=, or http.demo.events_for) is up");
            }
            () = &mut idle => {
                if pinged {
                    break End::Close(CloseCode::Away, "no answer to the server's ping (http.ws.ping_timeout)");
                }
                pinged = true;
                idle.as_mut().reset(Instant::now() + cx.config.ping_timeout);
                if let Some(end) = send(&mut ws, Message::Ping(Default::default()), &mut cx).await {
                    break end;
                }
            }
        }
    };
    close::finish(ws, end, client_closed, &mut cx).await;
}

/// Sends one message and waits until it is written. `Some(end)` when the
/// session is over: the socket failed, the message was not taken within
/// `http.write_timeout`, or the shutdown's cut came first.
async fn send(ws: &mut Socket, message: Message, cx: &mut Context<'_>) -> Option<End> {
    count(cx.metrics, &cx.metrics.sent, &message);
    // A client that does not read can hold a write here: the timeout lets it
    // go, and the cut ends it at shutdown. Nothing more can be said to it (a
    // close frame would wait behind the stuck message), so it simply ends.
    let sent = tokio::select! {
        biased;
        () = &mut cx.cut => return Some(End::Cut),
        sent = tokio::time::timeout(cx.write_timeout, ws.send(message)) => sent,
    };
    match sent {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            tracing::debug!(peer = %cx.peer, %error, "websocket write failed");
            Some(End::Gone)
        }
        Err(_) => {
            tracing::debug!(peer = %cx.peer, "websocket message not taken within http.write_timeout");
            Some(End::Gone)
        }
    }
}

/// Completes `after` from now; never when there is no limit.
async fn after(limit: Option<Duration>) {
    match limit {
        Some(limit) => tokio::time::sleep(limit).await,
        None => std::future::pending().await,
    }
}

/// Counts a data message going one way (control frames are not counted).
fn count(metrics: &WsMetrics, way: &Way, message: &Message) {
    match message {
        Message::Text(text) => metrics.message(way, false, text.len()),
        Message::Binary(bytes) => metrics.message(way, true, bytes.len()),
        _ => {}
    }
}

/// The next event of the feed, or never (for `/ws/echo`).
async fn next_event(events: &mut Option<Ticket>) -> Result<Event, RecvError> {
    match events {
        Some(ticket) => ticket.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// An event as the JSON text sent for it, as on `/events` (`{"type": ...}`).
/// A subscriber that fell behind the channel's capacity is told how many it
/// missed, and carries on. `None`: the feed is gone (the process is ending).
fn event_text(received: Result<Event, RecvError>) -> Option<String> {
    let value = match received {
        Ok(event) => serde_json::to_value(&event).expect("an Event always serializes"),
        Err(RecvError::Lagged(missed)) => serde_json::json!({ "type": "lagged", "missed": missed }),
        Err(RecvError::Closed) => return None,
    };
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_sent_as_on_events_and_a_lag_says_how_many_were_missed() {
        let text = event_text(Ok(Event::EchoOpen {
            peer: "127.0.0.1:1".into(),
        }));
        assert_eq!(
            text.as_deref(),
            Some(r#"{"peer":"127.0.0.1:1","type":"echo_open"}"#)
        );
        let lagged = event_text(Err(RecvError::Lagged(7)));
        assert_eq!(lagged.as_deref(), Some(r#"{"missed":7,"type":"lagged"}"#));
        assert_eq!(event_text(Err(RecvError::Closed)), None);
    }
}
