//! Raw mode: bytes are echoed as they arrive, with no framing, like tokio's
//! `echo-tcp` example.
//!
//! Pattern: **backpressure for free.** The loop reads a chunk, writes it back,
//! and only then reads again. A client that sends but never reads fills the
//! kernel's buffers, our `write` waits, and so we stop reading: the client's own
//! sends block. Memory held per connection never exceeds one chunk
//! (`echo.read_buffer`), and only this connection is stalled.

use bytes::BytesMut;

use crate::connection::{Connection, End, Input};
use crate::error::{Error, IDLE};

/// Serves one connection in raw mode until it ends.
pub(crate) async fn serve(conn: &mut Connection) -> Result<End, Error> {
    let mut chunk = BytesMut::new();
    loop {
        match conn.read(&mut chunk).await? {
            Input::Data => {
                conn.write(&chunk).await?;
                // Emptied, so the next `read` frees it before waiting.
                chunk.clear();
            }
            Input::Eof => return conn.finish().await,
            Input::Idle => {
                conn.goodbye(IDLE).await;
                return Ok(End::Idle);
            }
            Input::Stopping => {
                // Raw mode carries arbitrary bytes, so no farewell text is mixed
                // in: everything read has been echoed; just close cleanly.
                conn.goodbye(b"").await;
                return Ok(End::ShuttingDown);
            }
        }
    }
}
