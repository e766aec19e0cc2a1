//! How a WebSocket ends: the close code for each fault, the close handshake
//! the server starts, and a lingering close after a protocol error.
//!
//! | end | what the server does | code |
//! |---|---|---|
//! | the client closed | tungstenite answers its close frame with the same code; the server closes TCP | the client's |
//! | the shutdown's `stopping` phase, or no answer to a ping | sends close, waits (`http.ws.close_timeout`, the cut) for the client's | 1001 |
//! | a protocol error (mask, RSV bits, opcode, continuation, control frame, close code) | sends close, lingers, closes | 1002 |
//! | invalid UTF-8 in a text message (also across fragments) | the same | 1007 |
//! | a message over `http.ws.max_message`, seen in a frame header | the same | 1009 |
//! | the socket failed or vanished | nothing left to say | none |
//!
//! Pattern: **a lingering close.** After a protocol error the client may still
//! be sending (the rest of an oversized frame). Closing a socket with unread
//! data makes the kernel send a reset, which can destroy the close frame before
//! the client reads it. So the server sends its close frame, shuts its side
//! down (FIN), and reads and discards what still comes, for a bounded time,
//! before it lets go: the way web servers close a connection after an error
//! response.

use asynclab_core::config::WsConfig;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::Socket;
use super::session::Context;

/// The reason sent with 1001 at shutdown.
const GOING_AWAY: &str = "server shutting down";

/// Close frame payloads are at most 125 bytes, two of them the code.
const MAX_REASON: usize = 123;

/// Why a session's loop ended.
#[derive(Debug)]
pub(super) enum End {
    /// The socket ended: a finished close handshake, or a client gone.
    Gone,
    /// The server closes cleanly and waits for the client's close.
    Close(CloseCode, &'static str),
    /// The same, with 1001, because the shutdown's `stopping` phase came.
    Shutdown,
    /// The shutdown's cut came while a write was waiting for the client.
    Cut,
    /// The client broke the protocol: close with this code, then a lingering close.
    Fail(CloseCode, String),
}

/// The end that an error from tungstenite calls for.
pub(super) fn fault(error: WsError) -> End {
    match error {
        // The client vanished mid-message: nobody to tell.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => End::Gone,
        WsError::Protocol(e) => End::Fail(CloseCode::Protocol, e.to_string()),
        WsError::Capacity(e) => End::Fail(CloseCode::Size, e.to_string()),
        WsError::Utf8(_) => End::Fail(
            CloseCode::Invalid,
            "invalid UTF-8 in a text message".to_owned(),
        ),
        // I/O errors (a reset, http.write_timeout), or already closed.
        _ => End::Gone,
    }
}

/// Ends the session as `end` says, and counts how it ended.
pub(super) async fn finish(
    mut ws: Socket,
    end: End,
    client_closed: Option<u16>,
    cx: &mut Context<'_>,
) {
    let metrics = cx.metrics;
    let config = cx.config;
    match end {
        End::Gone => match client_closed {
            Some(code) => metrics.closed(Some(code), "client"),
            None => metrics.closed(None, "none"),
        },
        End::Close(code, reason) => {
            metrics.closed(Some(code.into()), "server");
            tokio::select! {
                biased;
                () = &mut cx.cut => {}
                () = handshake(&mut ws, code, reason, config) => {}
            }
        }
        End::Shutdown => {
            let code = CloseCode::Away;
            metrics.closed(Some(code.into()), "server");
            let cut = tokio::select! {
                biased;
                () = &mut cx.cut => true,
                () = handshake(&mut ws, code, GOING_AWAY, config) => false,
            };
            match cut {
                true => metrics.cut.inc(),
                false => metrics.closed_at_shutdown.inc(),
            }
        }
        End::Cut => {
            metrics.closed(None, "none");
            metrics.cut.inc();
        }
        End::Fail(code, reason) => {
            tracing::debug!(peer = %cx.peer, code = u16::from(code), %reason, "websocket protocol error");
            metrics.closed(Some(code.into()), "server");
            tokio::select! {
                biased;
                () = &mut cx.cut => {}
                () = linger(&mut ws, code, reason, config) => {}
            }
        }
    }
    // Dropping the socket closes the connection.
}

/// Sends our close frame and waits for the client's, within `close_timeout`.
/// Messages that arrive meanwhile are dropped: the session is over.
async fn handshake(ws: &mut Socket, code: CloseCode, reason: &str, config: &WsConfig) {
    let wait = async {
        if ws.close(Some(frame(code, reason))).await.is_err() {
            return;
        }
        // tungstenite ends the stream once the client's close has arrived.
        while let Some(Ok(_)) = ws.next().await {}
    };
    let _ = tokio::time::timeout(config.close_timeout, wait).await;
}

/// Sends our close frame, shuts our side down, and reads and drops what the
/// client still sends, until it closes or `close_timeout` passes.
async fn linger(ws: &mut Socket, code: CloseCode, reason: String, config: &WsConfig) {
    let wait = async {
        let _ = ws.close(Some(frame(code, &reason))).await;
        let io = ws.get_mut();
        let _ = io.shutdown().await;
        let mut sink = [0u8; 4096];
        while let Ok(1..) = io.read(&mut sink).await {}
    };
    let _ = tokio::time::timeout(config.close_timeout, wait).await;
}

/// A close frame, its reason cut to fit (at a character boundary).
fn frame(code: CloseCode, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code,
        reason: reason[..end].to_owned().into(),
    }
}
