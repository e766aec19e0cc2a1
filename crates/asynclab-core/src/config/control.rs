//! `[control]`: the HTTP server's control API (`/control/...` in
//! `asynclab-http`), which changes readiness, liveness, faults, permits and
//! the log filter while the server runs. Off unless a token is set.
//!
//! Set the token with `ASYNCLAB_CONTROL__TOKEN` (a Kubernetes Secret, an
//! environment file) rather than in a file that ends up in version control.
//! `asynclab config` never prints it.

use serde::{Deserialize, Serialize, Serializer};

use super::{Check, invalid};

/// The shortest token accepted: a short one can be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

/// What `asynclab config` prints instead of a token that is set.
pub const HIDDEN: &str = "(hidden)";

/// The `[control]` section.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// The bearer token the control API asks for; `""` turns the API off (404).
    #[serde(serialize_with = "hide")]
    pub token: String,
}

impl std::fmt::Debug for ControlConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlConfig")
            .field("token", &shown(&self.token))
            .finish()
    }
}

impl ControlConfig {
    /// True when the control API is on.
    pub fn enabled(&self) -> bool {
        !self.token.is_empty()
    }

    pub(super) fn check(&self) -> Check {
        if self.enabled() && self.token.len() < MIN_TOKEN_LEN {
            return Err(invalid(
                "control.token",
                HIDDEN,
                format!("must be at least {MIN_TOKEN_LEN} characters (or empty: API off)"),
            ));
        }
        if self
            .token
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                "control.token",
                HIDDEN,
                "must not contain spaces or control characters",
            ));
        }
        Ok(())
    }
}

fn shown(token: &str) -> &'static str {
    match token.is_empty() {
        true => "",
        false => HIDDEN,
    }
}

/// A secret is never printed: `asynclab config` shows `(hidden)`.
fn hide<S: Serializer>(token: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(shown(token))
}
