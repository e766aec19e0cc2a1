//! `--scenario FILE.toml` and `--urls FILE`: several requests instead of one, each
//! named, weighted and templated per request (see `template.rs`).
//!
//! ```toml
//! [[request]]
//! name = "item"
//! weight = 3
//! url = "http://127.0.0.1:8080/echo?id={{seq}}"
//! method = "POST"
//! headers = { "x-request-id" = "{{uuid}}" }
//! body = "size={{rand_int 1 100}}"        # or "@payload.json", read once
//! ```
//!
//! Every request goes to the same `host:port` (the connections are shared); the
//! first URL gives it. A request is picked per exchange, by weight, or with `--urls`
//! in turn (or at random with `--urls-random`); each is counted under its name.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::Method;
use serde::Deserialize;

use crate::Error;
use crate::template::Template;

/// How the next request is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// At random, in proportion to the weights.
    Weighted,
    /// Each in turn (`--urls`).
    RoundRobin,
}

/// One request of a scenario.
#[derive(Debug)]
pub struct Request {
    pub name: String,
    pub weight: u32,
    method: Method,
    /// The path and query, templated.
    path: Template,
    headers: Vec<(http::HeaderName, Template)>,
    body: Template,
}

/// A scenario: its requests, how they are chosen, and the run-wide `{{seq}}`.
#[derive(Debug)]
pub struct Scenario {
    pub requests: Vec<Request>,
    pub order: Order,
    /// `http://host:port` of every request.
    pub base: String,
    total_weight: u64,
    seq: AtomicU64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    request: Vec<toml::Spanned<RequestToml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestToml {
    name: Option<String>,
    weight: Option<u32>,
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

/// `http://host:port` and the path of an absolute URL.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let at = rest.find('/').unwrap_or(rest.len());
    let path = if at == rest.len() { "/" } else { &rest[at..] };
    Some((&url[..7 + at], path))
}

impl Scenario {
    /// Reads `--scenario FILE.toml`; errors name the file and line.
    pub fn read(path: &Path) -> Result<Scenario, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        // The line an offset into the file is on, for messages.
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let bad = |offset: usize, reason: String| Error::Input {
            path: format!("{}:{}", path.display(), line_of(offset)),
            reason,
        };
        let file: FileToml = toml::from_str(&text)
            .map_err(|e| bad(e.span().map_or(0, |s| s.start), e.message().to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut requests = Vec::new();
        let mut base: Option<String> = None;
        for spanned in file.request {
            let line = spanned.span().start;
            let r = spanned.into_inner();
            let (here, path) = split_url(&r.url)
                .ok_or_else(|| bad(line, format!("`{}`: use an http:// URL", r.url)))?;
            match &base {
                Some(base) if base != here => {
                    return Err(bad(
                        line,
                        format!("`{here}`: every request goes to {base} (the first one's)"),
                    ));
                }
                _ => base = Some(here.to_string()),
            }
            let template = |t: &str| Template::parse(t).map_err(|e| bad(line, e));
            let method = r.method.as_deref().unwrap_or("GET");
            let body = match r.body.as_deref().map(|b| (b, b.strip_prefix('@'))) {
                None => Template::parse("").map_err(|e| bad(line, e))?,
                // A body file is sent as it is, never templated.
                Some((_, Some(file))) => {
                    let text = std::fs::read_to_string(dir.join(file))
                        .map_err(|e| bad(line, format!("body file `{file}`: {e}")))?;
                    Template::literal(text)
                }
                Some((text, None)) => template(text)?,
            };
            let mut headers = Vec::new();
            for (name, value) in &r.headers {
                let name = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| bad(line, format!("bad header name `{name}`")))?;
                headers.push((name, template(value)?));
            }
            requests.push(Request {
                name: r.name.unwrap_or_else(|| format!("{method} {path}")),
                weight: r.weight.unwrap_or(1),
                method: Method::from_bytes(method.as_bytes())
                    .map_err(|_| bad(line, format!("bad method `{method}`")))?,
                path: template(path)?,
                headers,
                body,
            });
        }
        Scenario::new(requests, Order::Weighted, base).map_err(|reason| bad(0, reason))
    }

    /// Reads `--urls FILE`: one URL per line (blank lines and `#` comments skipped).
    pub fn read_urls(path: &Path, order: Order) -> Result<Scenario, Error> {
        let bad = |line: usize, reason: String| Error::Input {
            path: format!("{}:{line}", path.display()),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(0, e.to_string()))?;
        let mut requests = Vec::new();
        let mut base: Option<String> = None;
        for (i, line) in text.lines().enumerate() {
            let url = line.trim();
            if url.is_empty() || url.starts_with('#') {
                continue;
            }
            let (here, path) =
                split_url(url).ok_or_else(|| bad(i + 1, format!("`{url}`: use an http:// URL")))?;
            if base.as_deref().is_some_and(|b| b != here) {
                return Err(bad(
                    i + 1,
                    format!("`{here}`: every URL goes to the first one's host"),
                ));
            }
            base.get_or_insert_with(|| here.to_string());
            requests.push(Request {
                name: path.to_string(),
                weight: 1,
                method: Method::GET,
                path: Template::parse(path).map_err(|e| bad(i + 1, e))?,
                headers: Vec::new(),
                body: Template::parse("").map_err(|e| bad(i + 1, e))?,
            });
        }
        Scenario::new(requests, order, base).map_err(|reason| bad(0, reason))
    }

    fn new(requests: Vec<Request>, order: Order, base: Option<String>) -> Result<Scenario, String> {
        let total_weight: u64 = requests.iter().map(|r| u64::from(r.weight)).sum();
        let base = base.ok_or("no request in it")?;
        if total_weight == 0 {
            return Err("every weight is 0".into());
        }
        Ok(Scenario {
            requests,
            order,
            base,
            total_weight,
            seq: AtomicU64::new(0),
        })
    }

    /// Picks the next request: its index and the run-wide sequence number.
    fn pick(&self, rng: &mut fastrand::Rng) -> (usize, u64) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let index = match self.order {
            Order::RoundRobin => (seq % self.requests.len() as u64) as usize,
            Order::Weighted => {
                let mut ticket = rng.u64(..self.total_weight);
                self.requests
                    .iter()
                    .position(|r| {
                        let hit = ticket < u64::from(r.weight);
                        ticket = ticket.saturating_sub(u64::from(r.weight));
                        hit
                    })
                    .unwrap_or(0)
            }
        };
        (index, seq)
    }

    /// Writes request `index` as HTTP/1.1 into `out`: `common` holds the headers every
    /// request carries (Host, User-Agent, ...), already serialised. Returns the body's
    /// length.
    fn render(
        &self,
        index: usize,
        seq: u64,
        rng: &mut fastrand::Rng,
        common: &[u8],
        out: &mut Vec<u8>,
        body: &mut Vec<u8>,
    ) -> u64 {
        let r = &self.requests[index];
        out.clear();
        body.clear();
        r.body.render(seq, rng, body);
        out.extend_from_slice(r.method.as_str().as_bytes());
        out.push(b' ');
        r.path.render(seq, rng, out);
        out.extend_from_slice(b" HTTP/1.1\r\n");
        out.extend_from_slice(common);
        for (name, value) in &r.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            value.render(seq, rng, out);
            out.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() || matches!(r.method, Method::POST | Method::PUT | Method::PATCH) {
            out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        body.len() as u64
    }
}

/// A scenario's side of one connection: the headers every request carries,
/// serialised once, buffers reused for each rendered request, and this
/// connection's own random numbers (no lock shared with other connections).
#[derive(Debug)]
pub(crate) struct Picker {
    scenario: Arc<Scenario>,
    common: Vec<u8>,
    out: Vec<u8>,
    body: Vec<u8>,
    rng: fastrand::Rng,
    picked: usize,
}

impl Picker {
    pub(crate) fn new(scenario: Arc<Scenario>, common: Vec<u8>) -> Picker {
        Picker {
            scenario,
            common,
            out: Vec::new(),
            body: Vec::new(),
            rng: fastrand::Rng::new(),
            picked: 0,
        }
    }

    /// Picks and renders the next request: its bytes and its body's length.
    pub(crate) fn next(&mut self) -> (&[u8], u64) {
        let (index, seq) = self.scenario.pick(&mut self.rng);
        self.picked = index;
        let body_len = self.scenario.render(
            index,
            seq,
            &mut self.rng,
            &self.common,
            &mut self.out,
            &mut self.body,
        );
        (&self.out, body_len)
    }

    /// Which request the last [`Picker::next`] sent.
    pub(crate) fn picked(&self) -> usize {
        self.picked
    }
}
