//! The WebSocket counters: open sockets, messages and bytes each way, closes
//! by code, and what a shutdown did to the sockets it found open.
//!
//! Registered like the HTTP metrics in `state.rs`, in the same registry, so
//! `GET /metrics` lists them (`docs/metrics.md`). Labels are a fixed set (a
//! close code a client invents is counted under its range, not as a label of
//! its own), so no client can create unbounded time series. As for the HTTP
//! counters (`counters.rs`), a labelled series appears when it first moves; the
//! message series are then kept, so counting a message is one atomic add.

use std::sync::OnceLock;

use asynclab_core::Metrics;
use asynclab_core::sharded::ShardedCounter as Counter;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

/// Which way a message went, and what kind it was.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct MessageLabels {
    pub direction: &'static str,
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DirectionLabels {
    pub direction: &'static str,
}

/// The code a WebSocket closed with, and which side sent the first close frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CloseLabels {
    pub code: &'static str,
    pub by: &'static str,
}

/// A direction's series, each looked up on its first message and kept.
#[derive(Debug)]
pub struct Way {
    direction: &'static str,
    text: OnceLock<Counter>,
    binary: OnceLock<Counter>,
    bytes: OnceLock<Counter>,
}

impl Way {
    fn new(direction: &'static str) -> Self {
        Self {
            direction,
            text: OnceLock::new(),
            binary: OnceLock::new(),
            bytes: OnceLock::new(),
        }
    }
}

/// Every WebSocket counter of the server.
#[derive(Debug)]
pub struct WsMetrics {
    messages: Family<MessageLabels, Counter>,
    bytes: Family<DirectionLabels, Counter>,
    closes: Family<CloseLabels, Counter>,
    /// Messages and bytes received from clients.
    pub received: Way,
    /// Messages and bytes sent to clients (echoes, events).
    pub sent: Way,
    /// WebSockets open now.
    pub open: Gauge,
    /// WebSockets opened (101 answered and the socket handed over).
    pub opened: Counter,
    /// WebSockets that finished their close handshake after the shutdown's
    /// `stopping` phase sent them 1001.
    pub closed_at_shutdown: Counter,
    /// WebSockets dropped by the shutdown's cut, their close handshake unfinished.
    pub cut: Counter,
}

impl Default for WsMetrics {
    fn default() -> Self {
        Self {
            messages: Family::default(),
            bytes: Family::default(),
            closes: Family::default(),
            received: Way::new("in"),
            sent: Way::new("out"),
            open: Gauge::default(),
            opened: Counter::default(),
            closed_at_shutdown: Counter::default(),
            cut: Counter::default(),
        }
    }
}

impl WsMetrics {
    pub fn register(&self, m: &Metrics) {
        m.register(
            "http_websockets_open",
            "WebSockets open now (each also holds one of http.max_connections)",
            self.open.clone(),
        );
        m.register(
            "http_websockets_opened",
            "WebSockets opened (handshakes answered 101)",
            self.opened.clone(),
        );
        m.register(
            "http_websocket_messages",
            "WebSocket messages, by direction (in: from clients) and kind (text, binary)",
            self.messages.clone(),
        );
        m.register(
            "http_websocket_message_bytes",
            "WebSocket message payload bytes, by direction",
            self.bytes.clone(),
        );
        m.register(
            "http_websocket_closes",
            "WebSockets closed, by close code and by who sent the first close frame (client, server; none: the socket ended without one)",
            self.closes.clone(),
        );
        m.register(
            "http_websockets_cut",
            "WebSockets dropped at the end of the shutdown's grace period, their close handshake unfinished",
            self.cut.clone(),
        );
    }

    /// Counts a data message of `len` payload bytes going `way`.
    pub fn message(&self, way: &Way, binary: bool, len: usize) {
        let direction = way.direction;
        let (slot, kind) = match binary {
            true => (&way.binary, "binary"),
            false => (&way.text, "text"),
        };
        // One `get_or_create` at a time: it hands back a read guard on the
        // family, and a second lookup in the same expression would wait for it.
        slot.get_or_init(|| {
            self.messages
                .get_or_create(&MessageLabels { direction, kind })
                .clone()
        })
        .inc();
        way.bytes
            .get_or_init(|| {
                self.bytes
                    .get_or_create(&DirectionLabels { direction })
                    .clone()
            })
            .inc_by(len as u64);
    }

    /// Messages of `kind` (`text`, `binary`) counted going `direction` (`in`, `out`).
    pub fn messages(&self, direction: &'static str, kind: &'static str) -> u64 {
        self.messages
            .get(&MessageLabels { direction, kind })
            .map_or(0, |c| c.get())
    }

    /// Payload bytes counted going `direction` (`in`, `out`).
    pub fn message_bytes(&self, direction: &'static str) -> u64 {
        self.bytes
            .get(&DirectionLabels { direction })
            .map_or(0, |c| c.get())
    }

    /// Counts a WebSocket's end: `code` is `None` when it ended without a close frame.
    pub fn closed(&self, code: Option<u16>, by: &'static str) {
        let labels = match code {
            Some(code) => CloseLabels {
                code: code_label(code),
                by,
            },
            None => CloseLabels {
                code: "none",
                by: "none",
            },
        };
        self.closes.get_or_create(&labels).inc();
    }

    /// WebSockets closed with `code`, first sent by `by` (`client`, `server`).
    pub fn closes(&self, code: u16, by: &'static str) -> u64 {
        // `get`, not `get_or_create`: reading must not make a series.
        self.closes
            .get(&CloseLabels {
                code: code_label(code),
                by,
            })
            .map_or(0, |c| c.get())
    }

    /// What the shutdown did to the WebSockets it found open.
    pub fn at_shutdown(&self) -> WebSocketsAtShutdown {
        WebSocketsAtShutdown {
            closed: self.closed_at_shutdown.get(),
            cut: self.cut.get(),
        }
    }

    /// WebSockets open now.
    pub fn open_now(&self) -> usize {
        usize::try_from(self.open.get()).unwrap_or(0)
    }
}

/// The WebSockets a shutdown found open, for the stop summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebSocketsAtShutdown {
    /// Sent 1001, and the close handshake finished within the grace period.
    pub closed: u64,
    /// Dropped by the cut at the end of the grace period.
    pub cut: u64,
}

/// The label of a close code: the codes RFC 6455 names one by one, the rest by range.
fn code_label(code: u16) -> &'static str {
    match code {
        1000 => "1000",
        1001 => "1001",
        1002 => "1002",
        1003 => "1003",
        1005 => "1005",
        1007 => "1007",
        1008 => "1008",
        1009 => "1009",
        1010 => "1010",
        1011 => "1011",
        3000..=3999 => "3000-3999",
        4000..=4999 => "4000-4999",
        _ => "other",
    }
}
