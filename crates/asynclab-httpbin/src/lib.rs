//! asynclab's httpbin-compatible routes: the `/get`, `/status/418`, `/headers`,
//! `/bytes/1024`, `/redirect/3` requests that tutorials, scripts and client test
//! suites send to httpbin.org, answered with the same paths, methods, status codes
//! and JSON shapes (postmanlabs/httpbin's; `docs/httpbin.md` lists where
//! mccutchen/go-httpbin differs and which one asynclab follows).
//!
//! | file | routes | what it shows |
//! |---|---|---|
//! | `inspect.rs` | `/get` `/post` `/put` `/patch` `/delete` `/anything` `/headers` `/ip` `/user-agent` | the request sent back as JSON |
//! | `body.rs` | (the bodies of those) | a body read whole with a size limit and a semaphore permit; forms and multipart parsed |
//! | `status.rs` | `/status/{codes}` `/delay/{n}` | a weighted random choice; a capped timer |
//! | `dynamic.rs` | `/uuid` `/bytes/{n}` `/stream-bytes/{n}` `/stream/{n}` `/range/{n}` `/base64/{value}` | generated bodies, streamed with bounded memory |
//! | `drip.rs` | `/drip` | a body paced by a timer, one piece at a time |
//! | `redirect.rs` | `/redirect/{n}` ... `/redirect-to` | bounded redirect chains; no open redirect |
//! | `cookies.rs`, `auth.rs` | `/cookies...`, `/basic-auth/...`, `/bearer` | reading and setting cookies; credentials |
//! | `cache.rs` | `/cache` `/cache/{n}` `/etag/{etag}` `/response-headers` | conditional requests |
//! | `formats.rs` | `/gzip` `/deflate` `/json` `/html` `/xml` `/robots.txt` `/deny` `/encoding/utf8` | fixed documents; compression by flate2 |
//!
//! The HTTP server mounts all of it as it mounts the demos: [`ROUTES`] for its
//! index page and metric labels (templates such as `/status/{codes}`, never raw
//! paths), and [`Httpbin::handle`], which answers any httpbin path (405 with `Allow`
//! for a method the route does not take) and returns `None` for the rest. Every
//! size, count and wait a request may ask for is capped by `[http.httpbin]`; over a
//! cap is a 400 naming the key.

mod auth;
mod body;
mod cache;
mod cookies;
mod drip;
mod dynamic;
mod error;
mod formats;
mod inspect;
mod redirect;
mod reply;
mod routes;
mod status;

use std::net::SocketAddr;
use std::sync::Arc;

use asynclab_core::config::HttpbinConfig;
use asynclab_core::query::Query;
use asynclab_core::template;
use http::{HeaderMap, Method, Request, Response, Uri};
use tokio::sync::Semaphore;

pub use error::HttpbinError;
pub use formats::{deflate, gzip};
pub use reply::Body;
pub use routes::{ANY, ROUTES, Route, about, route, takes_any_method};
pub use status::code as status_code;

use routes::Kind;

/// What a handler knows about the request besides its body: the parts a JSON
/// answer echoes, the route's path parameters and the client's address.
#[derive(Debug)]
pub(crate) struct Call {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    /// The `{...}` segments of the route's template, in order.
    pub params: Vec<String>,
    pub peer: Option<SocketAddr>,
}

impl Call {
    /// The query string, keeping every key (httpbin echoes what it does not use).
    pub fn query(&self) -> Query<'_> {
        Query::lenient(self.uri.query())
    }

    /// Path parameter `i` (the route's template guarantees it is there).
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }
}

/// The httpbin routes' settings and the permits for bodies held whole. Clone freely.
#[derive(Debug, Clone)]
pub struct Httpbin {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: HttpbinConfig,
    /// `http.max_body`: the largest request body read.
    pub max_body: u64,
    /// Bodies held whole at once (`http.httpbin.max_buffered_bodies`).
    pub bodies: Arc<Semaphore>,
}

impl Httpbin {
    /// Built once; `max_body` is `http.max_body`.
    pub fn new(config: &HttpbinConfig, max_body: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                config: config.clone(),
                max_body,
                bodies: Arc::new(Semaphore::new(config.max_buffered_bodies)),
            }),
        }
    }

    /// Answers an httpbin route, or `None` when `req`'s path is not one. `peer` is
    /// the client's address (what `/ip` and `origin` show).
    pub async fn handle<B>(
        &self,
        req: Request<B>,
        peer: Option<SocketAddr>,
    ) -> Option<Response<Body>>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let route = route(req.uri().path())?;
        let (parts, incoming) = req.into_parts();
        if !route.allows(&parts.method) {
            return Some(HttpbinError::MethodNotAllowed { allow: route.allow }.into_response());
        }
        let params = template::params(route.template, parts.uri.path())
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let call = Call {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            params,
            peer,
        };
        Some(
            self.answer(route.kind, call, incoming)
                .await
                .unwrap_or_else(HttpbinError::into_response),
        )
    }

    async fn answer<B>(
        &self,
        kind: Kind,
        call: Call,
        incoming: B,
    ) -> Result<Response<Body>, HttpbinError>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let inner = &*self.inner;
        let config = &inner.config;
        match kind {
            Kind::Inspect(shape) => {
                let sent = match shape.reads_body() {
                    true => body::read(inner, &call.headers, incoming).await?,
                    false => body::Sent::default(),
                };
                inspect::inspect(&call, shape, sent)
            }
            Kind::Headers => Ok(inspect::headers(&call)),
            Kind::Ip => Ok(inspect::ip(&call)),
            Kind::UserAgent => Ok(inspect::user_agent(&call)),
            Kind::Uuid => Ok(dynamic::uuid(&mut fastrand::Rng::new())),
            Kind::Status => status::status(call.param(0), fastrand::f64()),
            Kind::Delay => status::delay(&call, config.max_delay).await,
            Kind::Bytes => dynamic::bytes(&call, config),
            Kind::StreamBytes => dynamic::stream_bytes(&call, config),
            Kind::Stream => dynamic::stream(&call, config),
            Kind::Drip => drip::drip(&call, config).await,
            Kind::Range => dynamic::range(&call, config),
            Kind::Base64 => dynamic::base64(call.param(0)),
            Kind::Redirect(hops) => redirect::redirect(&call, hops, config),
            Kind::RedirectTo => redirect::redirect_to(&call, config),
            Kind::ResponseHeaders => cache::response_headers(&call),
            Kind::Cookies => Ok(cookies::cookies(&call)),
            Kind::CookiesSet => cookies::set(&call),
            Kind::CookiesDelete => cookies::delete(&call),
            Kind::BasicAuth { hidden } => Ok(auth::basic(&call, hidden)),
            Kind::Bearer => Ok(auth::bearer(&call)),
            Kind::Cache => Ok(cache::cache(&call)),
            Kind::CacheFor => cache::cache_for(&call),
            Kind::Etag => Ok(cache::etag(&call)),
            Kind::Format(doc) => Ok(formats::document(&call, doc)),
        }
    }
}

#[cfg(test)]
mod tests;
