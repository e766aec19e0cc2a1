//! The opening handshake: check the request, answer it, and hand the socket
//! over. Two ways to open a WebSocket, one session behind both:
//!
//! - **HTTP/1.1** (RFC 6455 §4.2): `GET` with `Upgrade: websocket`, answered
//!   `101 Switching Protocols` with the `Sec-WebSocket-Accept` derived from the
//!   client's key. The whole connection switches.
//! - **HTTP/2** (RFC 8441): an extended `CONNECT` with `:protocol = websocket`,
//!   answered `200`. Only that stream switches: the connection goes on carrying
//!   other requests (and other WebSockets) beside it. There is no key and no
//!   accept value; the server announces `SETTINGS_ENABLE_CONNECT_PROTOCOL`
//!   (`Server::new`) so that clients know they may ask.
//!
//! Pattern: **an upgrade takes the socket out of hyper.** The handler does not
//! get a socket: it checks the request and answers, with a [`Handover`] in the
//! response's extensions. hyper sends the answer and fulfils the request's
//! [`hyper::upgrade::OnUpgrade`] with the raw byte stream: the connection (and
//! any bytes it had already read past the request) for HTTP/1.1, the stream's
//! DATA frames for HTTP/2. Who runs the session then differs (`conn/service.rs`):
//! the connection's task once hyper is done (HTTP/1.1), or a task of its own
//! while hyper keeps serving the connection (HTTP/2).
//!
//! Every refusal is a 4xx, answered before anything is switched: no `Upgrade`
//! asked for, or an unknown `Sec-WebSocket-Version`, gets 426 naming version 13;
//! a missing or malformed `Sec-WebSocket-Key`, a method other than GET (or
//! CONNECT over HTTP/2), a `:protocol` other than `websocket`, or HTTP/1.0 gets
//! 400.

use std::sync::{Arc, Mutex};

use asynclab_core::query::Query;
use http::header::{CONNECTION, HeaderMap, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY};
use http::header::{SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::ext::Protocol;
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

/// The session a 101 (HTTP/1.1) or 200 (HTTP/2) answer carries to whoever
/// runs it (`conn/service.rs`). A response extension must be `Clone`; the
/// session inside is taken exactly once.
#[derive(Debug, Clone)]
pub struct Handover(Arc<Mutex<Option<Session>>>);

impl Handover {
    /// The session, the first time it is asked for.
    pub fn take(&self) -> Option<Session> {
        self.0.lock().map(|mut slot| slot.take()).unwrap_or(None)
    }
}

/// How a checked handshake is answered.
#[derive(Debug, PartialEq, Eq)]
enum Switch {
    /// HTTP/1.1: `101`, with the `Sec-WebSocket-Accept` value for the client's key.
    Upgrade { accept: String },
    /// HTTP/2 extended CONNECT: `200`, and the stream carries the WebSocket.
    Connect,
}

/// Answers a WebSocket handshake for `endpoint`: 101 (HTTP/1.1) or 200
/// (HTTP/2) with the session handed over, or the 4xx that says what is wrong
/// with the request.
pub fn handshake(
    state: &AppState,
    mut req: Request<Body>,
    endpoint: Endpoint,
) -> Result<Response<Body>, HttpError> {
    let switch = check(&req)?;
    let upgrade = req
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or_else(|| {
            HttpError::BadRequest("this connection cannot switch protocols".to_owned())
        })?;
    let feed = match endpoint {
        Endpoint::Echo => Feed::None,
        // A place among the event streams is taken before answering: over the
        // limit, the client gets 503 instead of a socket closed at once.
        Endpoint::Events => {
            // How long the feed lasts: as for `/events`, `?for=`, or
            // `http.demo.events_for`, capped by `http.demo.max_events_for`.
            let demo = &state.config.demo;
            let end_after = Query::parse(req.uri().query(), &["for"])?.duration(
                "for",
                demo.events_for,
                demo.max_events_for,
                "http.demo.max_events_for",
            )?;
            match state.demo.subscribe_events() {
                Ok(ticket) => Feed::Events { ticket, end_after },
                Err(refused) => return Ok(refused.into_response().map(body::boxed)),
            }
        }
    };
    let session = Session::new(state, upgrade, feed);

    let mut res = Response::new(body::empty());
    match switch {
        Switch::Upgrade { accept } => {
            *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let headers = res.headers_mut();
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(
                SEC_WEBSOCKET_ACCEPT,
                HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
            );
        }
        // A 2xx to a CONNECT is what makes hyper switch the stream.
        Switch::Connect => *res.status_mut() = StatusCode::OK,
    }
    res.extensions_mut()
        .insert(Handover(Arc::new(Mutex::new(Some(session)))));
    Ok(res)
}

/// Checks the request: RFC 6455 §4.2.1 over HTTP/1.1, RFC 8441 §4-5 over HTTP/2.
fn check(req: &Request<Body>) -> Result<Switch, HttpError> {
    let headers = req.headers();
    match req.version() {
        Version::HTTP_11 => {
            let has_token = |name, token: &str| {
                headers.get_all(name).iter().any(|v| {
                    v.to_str()
                        .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                })
            };
            if !has_token(UPGRADE, "websocket") || !has_token(CONNECTION, "upgrade") {
                return Err(HttpError::UpgradeRequired(
                    "this is a WebSocket endpoint: send `Connection: Upgrade` and `Upgrade: websocket`",
                ));
            }
            if req.method() != Method::GET {
                return Err(bad("a WebSocket handshake is a GET request"));
            }
            check_version(headers)?;
            let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
            match (keys.next().and_then(|k| k.to_str().ok()), keys.next()) {
                (Some(key), None) if is_key(key) => Ok(Switch::Upgrade {
                    accept: derive_accept_key(key.as_bytes()),
                }),
                _ => Err(bad(
                    "Sec-WebSocket-Key must be one base64-encoded 16-byte value",
                )),
            }
        }
        Version::HTTP_2 => {
            let protocol = req.extensions().get::<Protocol>();
            if req.method() != Method::CONNECT || protocol.is_none() {
                return Err(bad(
                    "over HTTP/2 a WebSocket opens with an extended CONNECT (RFC 8441): `:method CONNECT` and `:protocol websocket`",
                ));
            }
            if !protocol.is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket")) {
                return Err(bad("this endpoint speaks `:protocol websocket` only"));
            }
            check_version(headers)?;
            Ok(Switch::Connect)
        }
        _ => Err(bad(
            "a WebSocket handshake needs HTTP/1.1 (Upgrade) or HTTP/2 (extended CONNECT)",
        )),
    }
}

fn bad(why: &str) -> HttpError {
    HttpError::BadRequest(why.to_owned())
}

/// Both ways carry `Sec-WebSocket-Version: 13` (RFC 8441 §5 keeps it).
fn check_version(headers: &HeaderMap) -> Result<(), HttpError> {
    if headers.get(SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
        return Err(HttpError::UpgradeRequired(
            "only WebSocket version 13 is spoken: send `Sec-WebSocket-Version: 13`",
        ));
    }
    Ok(())
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

    const GOOD: [(&str, &str); 4] = [
        ("upgrade", "WebSocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    /// A request with the pairs of [`GOOD`] but `skip`.
    fn request(method: Method, version: Version, skip: &str) -> Request<Body> {
        let mut req = Request::builder().method(method).version(version);
        for (name, value) in GOOD.iter().filter(|(k, _)| *k != skip) {
            req = req.header(*name, *value);
        }
        req.body(body::empty()).expect("a valid request")
    }

    /// An HTTP/2 extended CONNECT with `protocol`, as hyper hands it over.
    fn connect(protocol: Option<&'static str>, skip: &str) -> Request<Body> {
        let mut req = request(Method::CONNECT, Version::HTTP_2, skip);
        if let Some(protocol) = protocol {
            req.extensions_mut().insert(Protocol::from_static(protocol));
        }
        req
    }

    #[test]
    fn the_rfc_example_is_accepted_and_answered_with_its_accept_key() {
        let switch = check(&request(Method::GET, Version::HTTP_11, "")).expect("a good handshake");
        let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned();
        assert_eq!(switch, Switch::Upgrade { accept });
    }

    #[test]
    fn each_missing_piece_gets_its_own_4xx() {
        let status = |req| check(&req).expect_err("refused").status();
        let h1 = |method, skip| request(method, Version::HTTP_11, skip);
        assert_eq!(status(h1(Method::GET, "upgrade")), 426);
        assert_eq!(status(h1(Method::GET, "connection")), 426);
        assert_eq!(status(h1(Method::GET, "sec-websocket-version")), 426);
        assert_eq!(status(h1(Method::GET, "sec-websocket-key")), 400);
        assert_eq!(status(h1(Method::POST, "")), 400);
        assert_eq!(status(request(Method::GET, Version::HTTP_10, "")), 400);
    }

    #[test]
    fn over_http2_only_an_extended_connect_for_websocket_opens_one() {
        let status = |req| check(&req).expect_err("refused").status();
        // The key is HTTP/1.1's: over HTTP/2 it is neither needed nor used.
        let good = connect(Some("websocket"), "sec-websocket-key");
        assert_eq!(check(&good).expect("accepted"), Switch::Connect);
        assert_eq!(status(request(Method::GET, Version::HTTP_2, "")), 400);
        assert_eq!(status(connect(None, "")), 400);
        assert_eq!(status(connect(Some("chat"), "")), 400);
        assert_eq!(
            status(connect(Some("websocket"), "sec-websocket-version")),
            426
        );
    }

    #[test]
    fn keys_must_be_sixteen_bytes_of_base64() {
        assert!(is_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_key("dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_key("dGhlIHNhbXBsZSBub25j*Q=="));
        assert!(!is_key(""));
    }
}
