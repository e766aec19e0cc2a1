//! The routes answered by other crates: the async-pattern demos
//! (`asynclab-demo`), the httpbin-compatible routes (`asynclab-httpbin`) and the
//! file server (`asynclab-files`).

use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;

use http_body::Body as _;

use crate::body::{self, Body, text};
use crate::conn::ClientAddr;
use crate::error::HttpError;
use crate::layers::metrics::InFlight;
use crate::state::AppState;

type Result<T = Response<Body>> = std::result::Result<T, HttpError>;

/// `/fanout`, `/race`, `/timeout`, `/compute`, `/block`, `/counter`, `/events`:
/// the async-pattern demos, answered by the `asynclab-demo` crate (see
/// `docs/patterns.md`).
///
/// An `/events` answer is an endless stream: this handler returns at once and the
/// work goes on in the body. So the body holds a place in the in-flight count for
/// as long as it is open, and the drain sees it (the demo ends each stream with a
/// `shutdown` event as soon as a shutdown is requested, so it never holds it up).
pub async fn demo(state: AppState, req: Request<Body>) -> Result {
    let res = state.demo.handle(req).await.ok_or(HttpError::NotFound)?;
    let streaming = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|t| t == "text/event-stream");
    Ok(res.map(|stream| held_while_open(&state, stream, streaming)))
}

/// `body` boxed; when `streaming`, it holds a place in the in-flight count for as
/// long as it is open, so the drain waits for it like for a request still running.
fn held_while_open<B>(state: &AppState, stream: B, streaming: bool) -> Body
where
    B: http_body::Body<Data = bytes::Bytes, Error = std::io::Error> + Send + 'static,
{
    match streaming {
        true => {
            let held = InFlight::enter(state);
            // The closure owns the guard, so it lives exactly as long as the body.
            body::boxed(stream.map_frame(move |frame| {
                let _ = &held;
                frame
            }))
        }
        false => body::boxed(stream),
    }
}

/// The httpbin-compatible routes (`/get`, `/status/{codes}`, `/drip`, ...),
/// answered by the `asynclab-httpbin` crate (see `docs/httpbin.md`). It reads the
/// body itself when the route wants one, bounded by `http.max_body`. A streamed
/// answer (`/drip`, `/stream/{n}`) counts as in flight until its body ends, as
/// `/events` does.
pub async fn httpbin(state: AppState, req: Request<Body>) -> Result {
    let peer = req.extensions().get::<ClientAddr>().map(|c| c.0);
    let res = state
        .httpbin
        .handle(req, peer)
        .await
        .ok_or(HttpError::NotFound)?;
    let streaming = res.body().size_hint().exact().is_none();
    Ok(res.map(|stream| held_while_open(&state, stream, streaming)))
}

/// `/files/{path}`: static files, answered by the `asynclab-files` crate (see
/// `docs/files.md`). It gets the path still percent-encoded, exactly as sent, so
/// it can refuse every encoding of `..` itself.
pub async fn files(state: AppState, req: Request<Body>) -> Result {
    let Some(files) = &state.files else {
        return Ok(text(
            StatusCode::NOT_FOUND,
            "file not found (file serving is off: files.root does not exist)\n",
        ));
    };
    let path = req
        .uri()
        .path()
        .strip_prefix("/files/")
        .unwrap_or_default()
        .to_owned();
    Ok(files.serve(req, &path).await.map(body::boxed))
}
