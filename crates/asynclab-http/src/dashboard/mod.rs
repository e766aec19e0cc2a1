//! `GET /dashboard`: a live page of the server's counters, readiness and
//! faults, and the stream that feeds it (`GET /dashboard/stream`).
//!
//! Pattern: **one producer, a `watch` channel, any number of viewers.** One
//! task (the sampler, started by the first viewer) reads the counters every
//! `http.dashboard.interval`, turns them into one JSON frame
//! (`snapshot.rs`), serializes it once and puts it in a
//! [`tokio::sync::watch`] channel. Each open page holds a receiver
//! (`stream.rs`). A `watch` channel keeps only the newest value: a viewer that
//! reads slowly does not make anything queue up, it simply skips to the
//! newest frame when it reads again. So fifty pages open for a day cost fifty
//! receivers and one frame, and the sampler never waits for any of them.
//! (`/events` uses a `broadcast` channel instead, because there every event
//! counts; here only the newest reading does.)
//!
//! With no viewer the sampler only ticks: it reads nothing. The page itself
//! (HTML, CSS, JavaScript, no library) is compiled into the binary with
//! `include_str!`, so it works offline and in an air-gapped cluster.

mod snapshot;
mod stream;

use std::sync::{Arc, Once};

use asynclab_core::config::DashboardConfig;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use tokio::sync::{Semaphore, watch};
use tokio::time::MissedTickBehavior;

use crate::body::{Body, full};
use crate::error::HttpError;
use crate::state::AppState;
use snapshot::Totals;

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/dashboard.js");
const STYLE: &str = include_str!("assets/dashboard.css");

/// What the page may load: its own script, style and stream, nothing else.
/// The page holds the control token when one is pasted, so no other script
/// (an injected one, a CDN's) may run beside it.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The dashboard's shared part, built once in [`AppState`].
#[derive(Debug)]
pub struct Dashboard {
    config: DashboardConfig,
    /// The newest frame, as the stream sends it (empty until the first one).
    frames: watch::Sender<Bytes>,
    /// One permit per open stream (`http.dashboard.max_viewers`).
    viewers: Arc<Semaphore>,
    sampler: Once,
}

impl Dashboard {
    pub fn new(config: &DashboardConfig) -> Self {
        Self {
            config: config.clone(),
            frames: watch::Sender::new(Bytes::new()),
            viewers: Arc::new(Semaphore::new(config.max_viewers)),
            sampler: Once::new(),
        }
    }
}

/// `GET /dashboard` and its assets.
pub fn page(state: &AppState, path: &str) -> Result<Response<Body>, HttpError> {
    if !state.dashboard.config.enabled {
        return Err(HttpError::NotFound);
    }
    let (content_type, text) = match path {
        "/dashboard/dashboard.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "/dashboard/dashboard.css" => ("text/css; charset=utf-8", STYLE),
        _ => ("text/html; charset=utf-8", PAGE),
    };
    let mut res = Response::new(full(Bytes::from_static(text.as_bytes())));
    *res.status_mut() = StatusCode::OK;
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("content-security-policy", HeaderValue::from_static(POLICY));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // Small, and new with every version of the binary: always ask again.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// `GET /dashboard/stream`: the frames, as Server-Sent Events.
pub fn stream(state: &AppState) -> Result<Response<Body>, HttpError> {
    let dashboard = &state.dashboard;
    if !dashboard.config.enabled {
        return Err(HttpError::NotFound);
    }
    if state.shutting_down() {
        return Err(HttpError::Busy {
            reason: "the server is shutting down",
            retry_after: dashboard.config.interval,
        });
    }
    // `try_acquire`: one viewer too many is told at once, it does not wait.
    let slot = dashboard
        .viewers
        .clone()
        .try_acquire_owned()
        .map_err(|_| HttpError::Busy {
            reason: "too many dashboards open (http.dashboard.max_viewers)",
            retry_after: dashboard.config.interval,
        })?;
    // Started here, by the first viewer, rather than with the server: a server
    // nobody watches runs no sampler at all, and a test driving the app
    // in-process gets one too.
    dashboard.sampler.call_once(|| {
        tokio::spawn(sample(state.clone()));
    });
    Ok(stream::open(
        dashboard.frames.subscribe(),
        state.shutdown.clone(),
        slot,
    ))
}

/// The sampler: a frame every interval while anyone watches, until a
/// shutdown is requested (the streams end then too).
async fn sample(state: AppState) {
    let dashboard = &state.dashboard;
    let mut tick = tokio::time::interval(dashboard.config.interval);
    // After a stall (a busy machine), carry on from now rather than catch up
    // with a burst of frames nobody needs.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut before: Option<Totals> = None;
    loop {
        tokio::select! {
            biased;
            () = state.shutdown.requested.stopped() => break,
            _ = tick.tick() => {}
        }
        let viewers = dashboard.frames.receiver_count();
        if viewers == 0 {
            // Nobody to send to: read nothing, and start afresh for the next viewer.
            before = None;
            continue;
        }
        let now = Totals::read(&state);
        let frame = snapshot::frame(&state, &now, before.as_ref(), viewers);
        // `send_replace` stores the frame even with no receiver left, and never waits.
        dashboard
            .frames
            .send_replace(stream::event("snapshot", &frame));
        before = Some(now);
    }
    tracing::debug!("dashboard sampler stopped: shutdown requested");
}
