//! `asynclab control http://HOST:PORT show | set KEY=VALUE ... | reset`: the
//! client of the HTTP server's control API (`/control`).
//!
//! Pattern: **a deadline over a whole exchange**, as in `check`: connect, send
//! and read run as one future under `tokio::time::timeout`. The token comes
//! from `--token` or `ASYNCLAB_CONTROL__TOKEN` (the variable the server reads
//! its `control.token` from). Exit 0 when the server applied the command, 1
//! when it refused it or could not be reached, 2 for a command that cannot be
//! sent (no token, a malformed `KEY=VALUE`, a bad URL: clap's usage errors).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use http_body_util::Full;
use hyper::body::Bytes;

use crate::check::{http_request, send};

/// The environment variable with the token (also the server's `control.token`).
pub const TOKEN_ENV: &str = "ASYNCLAB_CONTROL__TOKEN";

/// What to do.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Action {
    /// Print every setting the API changes, now and as configured.
    Show,
    /// Change settings: `readiness=not-ready`, `http.faults.errors=503:5`, ...
    Set {
        /// `KEY=VALUE` pairs, applied all together or not at all.
        #[arg(required = true, value_parser = pair)]
        changes: Vec<(String, String)>,
    },
    /// Return to the configured values (readiness and liveness to `auto`).
    Reset,
}

/// `KEY=VALUE`.
fn pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// The server's base URL: `http://HOST:PORT` (a path, if any, is ignored).
pub fn server(text: &str) -> Result<hyper::Uri, String> {
    let uri: hyper::Uri = text.parse().map_err(|e| format!("bad URL: {e}"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(authority)) => format!("http://{authority}/control")
            .parse()
            .map_err(|e| format!("bad URL: {e}")),
        _ => Err(format!("`{text}` is not http://HOST:PORT")),
    }
}

pub async fn run(
    url: &hyper::Uri,
    token: Option<String>,
    action: &Action,
    timeout: Duration,
) -> anyhow::Result<ExitCode> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        eprintln!("asynclab: no control token: pass --token or set {TOKEN_ENV}");
        return Ok(ExitCode::from(crate::EXIT_BAD_CONFIG));
    };
    let (method, form) = match action {
        Action::Show => ("GET", String::new()),
        Action::Set { changes } => (
            "POST",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(changes)
                .finish(),
        ),
        Action::Reset => ("DELETE", String::new()),
    };
    let request = http_request(url, method)?
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            hyper::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(Full::new(Bytes::from(form)))
        .context("building the request")?;
    let outcome = match tokio::time::timeout(timeout, send(url, request, None)).await {
        Ok(result) => result,
        Err(_) => Err(anyhow!(
            "no answer within {}",
            humantime::format_duration(timeout)
        )),
    };
    match outcome {
        Ok((status, body)) if status.is_success() => {
            print!("{}", describe(&body));
            Ok(ExitCode::SUCCESS)
        }
        Ok((status, body)) => {
            println!("fail: {status}: {}", String::from_utf8_lossy(&body).trim());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            println!("fail: {url}: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The state as `key = value` lines, each configured value beside one that differs.
fn describe(body: &[u8]) -> String {
    let Ok(state) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::from_utf8_lossy(body).into_owned();
    };
    let mut out = String::new();
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) if s.is_empty() => "\"\"".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(now) = state["now"].as_object() {
        for (key, value) in now {
            let configured = &state["configured"][key];
            out.push_str(&format!("{key} = {}", show(value)));
            if configured != value && !configured.is_null() {
                out.push_str(&format!("  (configured: {})", show(configured)));
            }
            out.push('\n');
        }
    }
    out.push_str(&format!("ready = {}\n", state["ready"]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_urls_that_cannot_be_sent_are_refused() {
        assert_eq!(pair("a.b=1:2"), Ok(("a.b".into(), "1:2".into())));
        assert_eq!(pair("log.level="), Ok(("log.level".into(), String::new())));
        assert!(pair("readiness").is_err());
        assert!(pair("=x").is_err());
        assert_eq!(
            server("http://127.0.0.1:8080/anything").map(|u| u.to_string()),
            Ok("http://127.0.0.1:8080/control".into())
        );
        assert!(server("127.0.0.1:8080").is_err());
        assert!(server("https://127.0.0.1:8080").is_err());
    }
}
