//! Raw mode: bytes are echoed as they arrive, with no framing, like tokio's
//! `echo-tcp` example.
//!
//! Patterns shown:
//!
//! - **Backpressure for free.** The loop reads a chunk, writes it back, and only
//!   then reads again. A client that sends but never reads fills the kernel's
//!   buffers, our write waits, and so we stop reading: the client's own sends
//!   block. Memory held per connection never exceeds one chunk
//!   (`echo.read_buffer`), and only this connection is stalled.
//! - **A fast path that allocates nothing.** Most of the time the kernel takes
//!   an echo back at once. So each chunk is read into the *worker thread's*
//!   buffer (`scratch.rs`) and written straight back with a write that never
//!   waits (`try_write`). Only the part the kernel did not take (a client that
//!   is slow to read) is copied into memory the connection owns, and written
//!   with a normal, bounded `.await`. An idle connection holds no buffer at all,
//!   and a busy one costs no allocation per message.

use crate::connection::{Connection, End, Input};
use crate::error::Error;
use crate::transport::Transport;

/// Serves one connection in raw mode until it ends.
pub(crate) async fn serve<S: Transport>(conn: &mut Connection<S>) -> Result<End, Error> {
    loop {
        // Raw mode carries arbitrary bytes, so no farewell text is mixed in when
        // the server stops: everything read has been echoed; just close cleanly.
        if let Some(end) = conn.wait_for_input(b"").await? {
            return Ok(end);
        }
        match conn.with_scratch(|conn, scratch| echo_now(conn, &mut scratch.read))? {
            Echoed::Nothing | Echoed::All => {}
            // The client is slow to read: wait until it takes the rest (or the
            // write gives up), reading nothing more meanwhile.
            Echoed::Partly(rest) => conn.write(&rest).await?,
            Echoed::Eof => return conn.finish().await,
        }
    }
}

/// What one read-and-write-back without waiting did.
enum Echoed {
    /// The readiness was stale: nothing to read after all.
    Nothing,
    /// Everything read was written back.
    All,
    /// The kernel took only part of the answer; this is the rest.
    Partly(Vec<u8>),
    /// The client half-closed.
    Eof,
}

/// Reads one chunk into `scratch` and writes it straight back, never waiting.
fn echo_now<S: Transport>(conn: &mut Connection<S>, scratch: &mut [u8]) -> Result<Echoed, Error> {
    let n = match conn.read_now(scratch)? {
        None => return Ok(Echoed::Nothing),
        Some(Input::Data(n)) => n,
        Some(_) => return Ok(Echoed::Eof),
    };
    let sent = conn.write_now(&scratch[..n])?;
    Ok(match sent == n {
        true => Echoed::All,
        false => Echoed::Partly(scratch[sent..n].to_vec()),
    })
}
