//! `/control`: the control API over HTTP, for whoever holds the token.
//!
//! - no `control.token` configured: the route does not exist (404), so a
//!   scanner learns nothing;
//! - no `Authorization: Bearer ...`: 401 with `WWW-Authenticate`;
//! - a wrong token: 403, logged at WARN with the peer;
//! - `GET` shows the state, `POST` with a form body (`key=value&...`, what
//!   `curl -d` sends) changes it, `DELETE` returns to the configured values.
//!   Every change is logged at WARN with the peer and what changed.
//!
//! The token is compared in constant time (`subtle`): a plain `==` stops at
//! the first differing byte, and the time it takes tells an attacker how many
//! leading bytes they guessed right. (Only the length can leak, and a token
//! of at least 16 characters keeps that harmless.)

use http::header::AUTHORIZATION;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use subtle::ConstantTimeEq;

use crate::body::{self, Body};
use crate::conn::ClientAddr;
use crate::error::HttpError;
use crate::routes;
use crate::state::AppState;

/// The largest change a `POST /control` may send.
const MAX_FORM: usize = 16 * 1024;

type Result<T = Response<Body>> = std::result::Result<T, HttpError>;

/// `/control`, any method.
pub async fn control(state: AppState, req: Request<Body>) -> Result {
    let Some(token) = state.control.token() else {
        return Err(HttpError::NotFound);
    };
    let peer = req
        .extensions()
        .get::<ClientAddr>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.to_string());
    authorize(&req, &token, &peer)?;
    match *req.method() {
        Method::GET | Method::HEAD => {}
        Method::POST => {
            let form = read_form(req).await?;
            state.control_set(&form).map_err(HttpError::BadRequest)?;
            let change: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
            tracing::warn!(%peer, change = %change.join(" "), "control API: settings changed");
        }
        Method::DELETE => {
            state.control_reset();
            tracing::warn!(%peer, change = "reset", "control API: settings back to the configured values");
        }
        _ => {
            return Err(HttpError::MethodNotAllowed {
                allow: routes::allow("/control"),
            });
        }
    }
    Ok(body::json(&state.control_state()))
}

/// 401 without a bearer token, 403 with a wrong one.
fn authorize<B>(req: &Request<B>, token: &str, peer: &str) -> Result<()> {
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        return Err(HttpError::Unauthorized);
    };
    if bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        tracing::warn!(%peer, "control API: wrong token; refused with 403");
        Err(HttpError::Forbidden)
    }
}

/// The form body (`key=value&key=value`), at most [`MAX_FORM`] bytes.
async fn read_form(req: Request<Body>) -> Result<Vec<(String, String)>> {
    let bytes = Limited::new(req.into_body(), MAX_FORM)
        .collect()
        .await
        .map_err(
            |e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                Some(_) => HttpError::PayloadTooLarge {
                    limit: MAX_FORM as u64,
                },
                None => HttpError::from_body(e),
            },
        )?
        .to_bytes();
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}
