//! `GET /drip?numbytes=10&duration=2&delay=0&code=200`: a body dripped out over
//! time, as a slow server or a trickling stream would send it.
//!
//! Pattern: **a body paced by a timer.** The handler waits `delay` (a parked
//! future, as `/slow` does), answers the head, and hands hyper a stream whose
//! next piece is ready only after a `sleep`: hyper writes a piece, polls again,
//! and the task sleeps until the next one is due. Nothing is buffered ahead, and
//! when the client goes away the stream is dropped mid-sleep. Pieces are at least
//! [`MIN_PAUSE`] apart (several bytes per piece when there are many), so a large
//! drip costs a bounded number of timer wake-ups, not one per byte.

use std::time::Duration;

use asynclab_core::config::HttpbinConfig;
use bytes::Bytes;
use futures_util::stream;
use http::Response;
use http::header::{CONTENT_LENGTH, HeaderValue};

use crate::Call;
use crate::dynamic::count;
use crate::error::{HttpbinError, bad};
use crate::reply::{self, Body};
use crate::status::{MAX_DELAY_KEY, code, seconds};

/// The shortest pause between two pieces (tokio's timer counts milliseconds).
pub(crate) const MIN_PAUSE: Duration = Duration::from_millis(10);

const DEFAULT_BYTES: usize = 10;
const DEFAULT_DURATION: Duration = Duration::from_secs(2);

/// How `numbytes` bytes are cut over `duration`: `(pieces, pause between them)`.
pub(crate) fn plan(numbytes: usize, duration: Duration) -> (usize, Duration) {
    if numbytes == 0 {
        return (0, Duration::ZERO);
    }
    let most = usize::try_from(duration.as_millis() / MIN_PAUSE.as_millis())
        .unwrap_or(usize::MAX)
        .max(1);
    let pieces = numbytes.min(most);
    (pieces, duration / u32::try_from(pieces).unwrap_or(u32::MAX))
}

/// `GET /drip`.
pub(crate) async fn drip(
    call: &Call,
    config: &HttpbinConfig,
) -> Result<Response<Body>, HttpbinError> {
    let q = call.query();
    let numbytes = match q.get("numbytes") {
        Some(raw) => count(
            "numbytes",
            raw,
            config.max_bytes.as_usize(),
            "http.httpbin.max_bytes",
        )?,
        None => DEFAULT_BYTES,
    };
    let duration = match q.get("duration") {
        Some(raw) => seconds(
            "duration",
            raw,
            config.max_drip_duration,
            "http.httpbin.max_drip_duration",
        )?,
        None => DEFAULT_DURATION.min(config.max_drip_duration),
    };
    let delay = match q.get("delay") {
        Some(raw) => seconds("delay", raw, config.max_delay, MAX_DELAY_KEY)?,
        None => Duration::ZERO,
    };
    let status = match q.get("code") {
        Some(raw) => code(raw).map_err(|e| bad("code", e))?,
        None => http::StatusCode::OK,
    };
    tokio::time::sleep(delay).await;

    let (pieces, pause) = plan(numbytes, duration);
    // Piece `i` carries its share of the bytes; the first ones take the remainder.
    let drops = stream::unfold(0, move |i| async move {
        if i == pieces {
            return None;
        }
        tokio::time::sleep(pause).await;
        let size = numbytes / pieces + usize::from(i < numbytes % pieces);
        Some((Bytes::from(vec![b'*'; size]), i + 1))
    });
    let mut res = reply::typed(status, "application/octet-stream", reply::streamed(drops));
    res.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(numbytes));
    Ok(res)
}
