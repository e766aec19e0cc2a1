//! The opening handshake (RFC 6455 §4.2): check the request, answer
//! `101 Switching Protocols`, and hand the socket over.
//!
//! Pattern: **an upgrade takes the connection out of hyper.** The handler does
//! not get a socket: it checks the request and answers 101, with a
//! [`Handover`] in the response's extensions. hyper writes the 101, stops
//! serving HTTP on that connection and fulfils the request's
//! [`hyper::upgrade::OnUpgrade`] with the raw socket (and any bytes it had
//! already read past the request). The connection task (`conn/mod.rs`) sees the
//! handover once hyper is done and runs the WebSocket itself, still holding the
//! connection's slot under `http.max_connections`.
//!
//! Every refusal is a 4xx, answered before anything is switched: no `Upgrade`
//! asked for, or an unknown `Sec-WebSocket-Version`, gets 426 naming version 13;
//! a missing or malformed `Sec-WebSocket-Key`, a method other than GET, or
//! anything but HTTP/1.1 gets 400. WebSocket over HTTP/2 (RFC 8441's extended
//! CONNECT) is not offered: tungstenite's handshake is HTTP/1.1's, and the
//! server does not announce `SETTINGS_ENABLE_CONNECT_PROTOCOL`.

use std::sync::{Arc, Mutex};

use http::header::{CONNECTION, HeaderMap, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY};
use http::header::{SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{Method, Request, Response, StatusCode, Version};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::{Feed, Session};
use crate::body::{self, Body};
use crate::error::HttpError;
use crate::state::AppState;

/// What a WebSocket endpoint does with its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /ws/echo`: every message back, as the same type.
    Echo,
    /// `GET /ws/events`: the live event feed, a JSON text message per event.
    Events,
}

/// The session a 101 response carries to its connection task. A response
/// extension must be `Clone`; the session inside is taken exactly once.
#[derive(Debug, Clone)]
pub struct Handover(Arc<Mutex<Option<Session>>>);

impl Handover {
    /// The session, the first time it is asked for.
    pub fn take(&self) -> Option<Session> {
        self.0.lock().map(|mut slot| slot.take()).unwrap_or(None)
    }
}

/// Answers a WebSocket handshake for `endpoint`: 101 with the session handed
/// over, or the 4xx that says what is wrong with the request.
pub fn handshake(
    state: &AppState,
    mut req: Request<Body>,
    endpoint: Endpoint,
) -> Result<Response<Body>, HttpError> {
    let key = check(req.method(), req.version(), req.headers())?;
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = req
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or_else(|| {
            HttpError::BadRequest("this connection cannot switch protocols".to_owned())
        })?;
    let feed = match endpoint {
        Endpoint::Echo => Feed::None,
        // A place among the event streams is taken before answering 101: over
        // the limit, the client gets 503 instead of a socket closed at once.
        Endpoint::Events => match state.demo.subscribe_events() {
            Ok(ticket) => Feed::Events(ticket),
            Err(refused) => return Ok(refused.into_response().map(body::boxed)),
        },
    };
    let session = Session::new(state, upgrade, feed);

    let mut res = Response::new(body::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    res.extensions_mut()
        .insert(Handover(Arc::new(Mutex::new(Some(session)))));
    Ok(res)
}

/// Checks the request against RFC 6455 §4.2.1; returns the client's key.
fn check<'h>(
    method: &Method,
    version: Version,
    headers: &'h HeaderMap,
) -> Result<&'h str, HttpError> {
    let bad = |why: &str| HttpError::BadRequest(why.to_owned());
    let has_token = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if version != Version::HTTP_11 {
        return Err(bad(
            "a WebSocket handshake needs HTTP/1.1 here (WebSocket over HTTP/2, RFC 8441, is not supported)",
        ));
    }
    if !has_token(UPGRADE, "websocket") || !has_token(CONNECTION, "upgrade") {
        return Err(HttpError::UpgradeRequired(
            "this is a WebSocket endpoint: send `Connection: Upgrade` and `Upgrade: websocket`",
        ));
    }
    if method != Method::GET {
        return Err(bad("a WebSocket handshake is a GET request"));
    }
    if headers.get(SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
        return Err(HttpError::UpgradeRequired(
            "only WebSocket version 13 is spoken: send `Sec-WebSocket-Version: 13`",
        ));
    }
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
    match (keys.next().and_then(|k| k.to_str().ok()), keys.next()) {
        (Some(key), None) if is_key(key) => Ok(key),
        _ => Err(bad(
            "Sec-WebSocket-Key must be one base64-encoded 16-byte value",
        )),
    }
}

/// A key is 16 bytes in base64: 22 characters of the alphabet and `==`.
fn is_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 24
        && bytes.ends_with(b"==")
        && bytes[..22]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    const GOOD: [(&str, &str); 4] = [
        ("upgrade", "WebSocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn the_rfc_example_is_accepted_and_answered_with_its_accept_key() {
        let h = headers(&GOOD);
        let key = check(&Method::GET, Version::HTTP_11, &h).expect("a good handshake");
        assert_eq!(
            derive_accept_key(key.as_bytes()),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn each_missing_piece_gets_its_own_4xx() {
        let status = |method: Method, version, skip: &str| {
            let pairs: Vec<_> = GOOD.iter().copied().filter(|(k, _)| *k != skip).collect();
            check(&method, version, &headers(&pairs))
                .expect_err("refused")
                .status()
        };
        assert_eq!(status(Method::GET, Version::HTTP_11, "upgrade"), 426);
        assert_eq!(status(Method::GET, Version::HTTP_11, "connection"), 426);
        assert_eq!(
            status(Method::GET, Version::HTTP_11, "sec-websocket-version"),
            426
        );
        assert_eq!(
            status(Method::GET, Version::HTTP_11, "sec-websocket-key"),
            400
        );
        assert_eq!(status(Method::POST, Version::HTTP_11, ""), 400);
        assert_eq!(status(Method::GET, Version::HTTP_10, ""), 400);
        assert_eq!(status(Method::GET, Version::HTTP_2, ""), 400);
    }

    #[test]
    fn keys_must_be_sixteen_bytes_of_base64() {
        assert!(is_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_key("dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_key("dGhlIHNhbXBsZSBub25j*Q=="));
        assert!(!is_key(""));
    }
}
