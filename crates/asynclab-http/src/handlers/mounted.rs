//! The routes answered by other crates: the async-pattern demos
//! (`asynclab-demo`) and the file server (`asynclab-files`).

use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;

use crate::body::{self, Body, text};
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
    Ok(res.map(|stream| match streaming {
        true => {
            let held = InFlight::enter(&state.http);
            // The closure owns the guard, so it lives exactly as long as the body.
            body::boxed(stream.map_frame(move |frame| {
                let _ = &held;
                frame
            }))
        }
        false => body::boxed(stream),
    }))
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
