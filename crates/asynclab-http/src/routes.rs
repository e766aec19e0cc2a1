//! Routing: a plain `match` on method and path, and the table that says what
//! exists.
//!
//! Pattern: **routing is a `match`.** [`Router::call`] matches the method and
//! the path and calls the handler; that is all a router is. A handler with
//! nothing to wait for (`/fast`, the probes) is a plain function whose answer
//! is ready at once; one that waits (a timer, a semaphore, a body, a file) is
//! an `async fn`, and its future is boxed so that every route fits one type.
//!
//! [`ROUTES`] lists the same routes as data, for what needs a list: `GET /`
//! prints it, a 405 names the allowed methods from it, and the layers outside
//! the router label logs and metrics with its *template* (`/files/{path}`),
//! never the raw path. A unit test keeps the table and the `match` in step.
//! To add a route: one arm in the `match`, one line in the table.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::Either;
use http::{Method, Request, Response};
use tower::Service;

use crate::body::Body;
use crate::error::HttpError;
use crate::handlers::{echo, limited, mounted, probes, slow};
use crate::state::AppState;
use crate::ws::{self, Endpoint};

/// What the router's future resolves to.
type Answer = Result<Response<Body>, Infallible>;

/// The router's future: an answer made at once, or a handler still waiting.
pub type RouteFuture =
    Either<Ready<Answer>, Pin<Box<dyn Future<Output = Answer> + Send + 'static>>>;

/// The innermost service of the stack: every request ends up here.
#[derive(Debug, Clone)]
pub struct Router {
    state: AppState,
}

impl Router {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl Service<Request<Body>> for Router {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = RouteFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> RouteFuture {
        let state = &self.state;
        // `HEAD` is answered by the `GET` handler: hyper sends the headers and
        // drops the body.
        match (req.method().as_str(), req.uri().path()) {
            ("GET" | "HEAD", "/") => now(Ok(probes::index())),
            ("GET" | "HEAD", "/about") => now(Ok(probes::about())),
            ("GET" | "HEAD", "/fast") => now(Ok(probes::fast())),
            ("GET" | "HEAD", "/slow") => later(slow::slow(state.clone(), req)),
            ("GET" | "HEAD", "/limited") => later(limited::limited(state.clone(), req)),
            ("GET" | "HEAD" | "POST", "/echo") => later(echo::echo(state.clone(), req)),
            ("GET" | "HEAD", "/stats") => now(Ok(probes::stats(state))),
            ("GET" | "HEAD", "/info") => now(Ok(probes::info(state))),
            ("GET" | "HEAD", "/whoami") => now(Ok(probes::whoami(&req))),
            ("GET" | "HEAD", "/healthz") => now(Ok(probes::healthz())),
            ("GET" | "HEAD", "/readyz") => now(Ok(probes::readyz(state))),
            ("GET" | "HEAD", "/metrics") => now(Ok(probes::metrics(state, req.headers()))),
            // The handshake is checked (a HEAD is refused there) and answered
            // 101; the socket is then run by the connection's task (`ws/`).
            ("GET" | "HEAD", "/ws/echo") => now(ws::handshake(state, req, Endpoint::Echo)),
            ("GET" | "HEAD", "/ws/events") => now(ws::handshake(state, req, Endpoint::Events)),
            (
                "GET" | "HEAD",
                "/fanout" | "/race" | "/timeout" | "/compute" | "/block" | "/counter" | "/events",
            )
            | ("POST", "/counter") => later(mounted::demo(state.clone(), req)),
            // The httpbin routes know which methods each takes (405 with `Allow`).
            (_, path) if asynclab_httpbin::route(path).is_some() => {
                later(mounted::httpbin(state.clone(), req))
            }
            // The file server knows which methods it allows (PUT only when
            // uploads are on), so every method under /files/ goes to it.
            (_, path) if path.starts_with("/files/") => later(mounted::files(state.clone(), req)),
            (_, path) => now(Err(refusal(path))),
        }
    }
}

/// An answer that is ready now.
fn now(result: Result<Response<Body>, HttpError>) -> RouteFuture {
    Either::Left(ready(Ok(result.unwrap_or_else(HttpError::into_response))))
}

/// The future of a handler that waits, boxed.
fn later(
    handler: impl Future<Output = Result<Response<Body>, HttpError>> + Send + 'static,
) -> RouteFuture {
    Either::Right(Box::pin(async move {
        Ok(handler.await.unwrap_or_else(HttpError::into_response))
    }))
}

/// A path no arm took: 405 if it exists with other methods, else 404.
fn refusal(path: &str) -> HttpError {
    match template(path) {
        UNMATCHED => HttpError::NotFound,
        template => HttpError::MethodNotAllowed {
            allow: allow(template),
        },
    }
}

/// One line of the route table.
#[derive(Debug)]
pub struct Route {
    /// The method served (`ANY`: every method reaches the handler, shown as `GET`).
    pub method: Method,
    /// An exact path (`/fast`), one with parameters (`/status/{codes}`), or a
    /// prefix ending in `{path}` (`/files/{path}`).
    pub template: &'static str,
    /// Shown by `GET /`.
    pub about: &'static str,
}

const fn route(method: Method, template: &'static str, about: &'static str) -> Route {
    Route {
        method,
        template,
        about,
    }
}

/// Every route the server answers, in the order `GET /` lists them.
pub static ROUTES: &[Route] = &[
    route(Method::GET, "/", "this index"),
    route(Method::GET, "/about", "name, version, what asynclab is"),
    route(Method::GET, "/fast", "answers at once"),
    route(
        Method::GET,
        "/slow",
        "waits ?delay=2s without blocking anything, then answers",
    ),
    route(
        Method::GET,
        "/limited",
        "a semaphore lets ?work=1s run for only a few requests at once",
    ),
    route(
        Method::GET,
        "/echo",
        "fortio's echo: ?status=503:5&delay=150ms:10&size=1024&close=5&header=X:y&gzip=true",
    ),
    route(
        Method::POST,
        "/echo",
        "streams the request body back (and takes GET's parameters)",
    ),
    route(
        Method::GET,
        "/stats",
        "JSON: in-flight requests, totals by route, limits",
    ),
    route(
        Method::GET,
        "/info",
        "JSON: name, version, host, pid, uptime, workers",
    ),
    route(
        Method::GET,
        "/whoami",
        "JSON: your address, HTTP version, TLS and client certificate",
    ),
    route(
        Method::GET,
        "/healthz",
        "liveness: 200 while the process is up",
    ),
    route(
        Method::GET,
        "/readyz",
        "readiness: 503 once a shutdown starts",
    ),
    route(Method::GET, "/metrics", "Prometheus metrics"),
    route(Method::GET, "/fanout", asynclab_demo::about("/fanout")),
    route(Method::GET, "/race", asynclab_demo::about("/race")),
    route(Method::GET, "/timeout", asynclab_demo::about("/timeout")),
    route(Method::GET, "/compute", asynclab_demo::about("/compute")),
    route(Method::GET, "/block", asynclab_demo::about("/block")),
    route(Method::GET, "/counter", asynclab_demo::about("/counter")),
    route(Method::POST, "/counter", "adds ?by=1 to the shared counter"),
    route(Method::GET, "/events", asynclab_demo::about("/events")),
    route(
        Method::GET,
        "/ws/echo",
        "WebSocket: every message echoed back as the same type",
    ),
    route(
        Method::GET,
        "/ws/events",
        "WebSocket: the live events of /events, one JSON text message each",
    ),
    route(
        Method::GET,
        FILES,
        "static files from files.root (PUT when files.upload is on)",
    ),
    // The httpbin-compatible routes (`asynclab-httpbin`, docs/httpbin.md).
    route(Method::GET, "/get", asynclab_httpbin::about("/get")),
    route(Method::POST, "/post", asynclab_httpbin::about("/post")),
    route(Method::PUT, "/put", asynclab_httpbin::about("/put")),
    route(Method::PATCH, "/patch", asynclab_httpbin::about("/patch")),
    route(
        Method::DELETE,
        "/delete",
        asynclab_httpbin::about("/delete"),
    ),
    route(
        Method::GET,
        "/anything",
        asynclab_httpbin::about("/anything"),
    ),
    route(
        Method::GET,
        "/anything/{path}",
        asynclab_httpbin::about("/anything/{path}"),
    ),
    route(Method::GET, "/headers", asynclab_httpbin::about("/headers")),
    route(Method::GET, "/ip", asynclab_httpbin::about("/ip")),
    route(
        Method::GET,
        "/user-agent",
        asynclab_httpbin::about("/user-agent"),
    ),
    route(Method::GET, "/uuid", asynclab_httpbin::about("/uuid")),
    route(
        Method::GET,
        "/status/{codes}",
        asynclab_httpbin::about("/status/{codes}"),
    ),
    route(
        Method::GET,
        "/delay/{n}",
        asynclab_httpbin::about("/delay/{n}"),
    ),
    route(
        Method::GET,
        "/bytes/{n}",
        asynclab_httpbin::about("/bytes/{n}"),
    ),
    route(
        Method::GET,
        "/stream-bytes/{n}",
        asynclab_httpbin::about("/stream-bytes/{n}"),
    ),
    route(
        Method::GET,
        "/stream/{n}",
        asynclab_httpbin::about("/stream/{n}"),
    ),
    route(Method::GET, "/drip", asynclab_httpbin::about("/drip")),
    route(
        Method::GET,
        "/range/{n}",
        asynclab_httpbin::about("/range/{n}"),
    ),
    route(
        Method::GET,
        "/base64/{value}",
        asynclab_httpbin::about("/base64/{value}"),
    ),
    route(
        Method::GET,
        "/redirect/{n}",
        asynclab_httpbin::about("/redirect/{n}"),
    ),
    route(
        Method::GET,
        "/relative-redirect/{n}",
        asynclab_httpbin::about("/relative-redirect/{n}"),
    ),
    route(
        Method::GET,
        "/absolute-redirect/{n}",
        asynclab_httpbin::about("/absolute-redirect/{n}"),
    ),
    route(
        Method::GET,
        "/redirect-to",
        asynclab_httpbin::about("/redirect-to"),
    ),
    route(
        Method::GET,
        "/response-headers",
        asynclab_httpbin::about("/response-headers"),
    ),
    route(Method::GET, "/cookies", asynclab_httpbin::about("/cookies")),
    route(
        Method::GET,
        "/cookies/set",
        asynclab_httpbin::about("/cookies/set"),
    ),
    route(
        Method::GET,
        "/cookies/delete",
        asynclab_httpbin::about("/cookies/delete"),
    ),
    route(
        Method::GET,
        "/basic-auth/{user}/{passwd}",
        asynclab_httpbin::about("/basic-auth/{user}/{passwd}"),
    ),
    route(
        Method::GET,
        "/hidden-basic-auth/{user}/{passwd}",
        asynclab_httpbin::about("/hidden-basic-auth/{user}/{passwd}"),
    ),
    route(Method::GET, "/bearer", asynclab_httpbin::about("/bearer")),
    route(Method::GET, "/cache", asynclab_httpbin::about("/cache")),
    route(
        Method::GET,
        "/cache/{n}",
        asynclab_httpbin::about("/cache/{n}"),
    ),
    route(
        Method::GET,
        "/etag/{etag}",
        asynclab_httpbin::about("/etag/{etag}"),
    ),
    route(Method::GET, "/gzip", asynclab_httpbin::about("/gzip")),
    route(Method::GET, "/deflate", asynclab_httpbin::about("/deflate")),
    route(Method::GET, "/json", asynclab_httpbin::about("/json")),
    route(Method::GET, "/html", asynclab_httpbin::about("/html")),
    route(Method::GET, "/xml", asynclab_httpbin::about("/xml")),
    route(
        Method::GET,
        "/robots.txt",
        asynclab_httpbin::about("/robots.txt"),
    ),
    route(Method::GET, "/deny", asynclab_httpbin::about("/deny")),
    route(
        Method::GET,
        "/encoding/utf8",
        asynclab_httpbin::about("/encoding/utf8"),
    ),
];

/// The file server's template: every method under it reaches the file server.
const FILES: &str = "/files/{path}";

/// The template reported for requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The index into [`ROUTES`] of the route that serves `method` and `path`, or
/// `ROUTES.len()` when none does (the per-route counters' last slot).
pub fn index(method: &Method, path: &str) -> usize {
    ROUTES
        .iter()
        .position(|r| {
            matches(r.template, path)
                && (every_method(r.template)
                    || r.method == method
                    || (r.method == Method::GET && method == Method::HEAD))
        })
        .unwrap_or(ROUTES.len())
}

/// The template to log and label metrics with: the first route whose template
/// the path matches (whatever the method: a 405 is labelled with its route), or
/// [`UNMATCHED`].
pub fn template(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|r| matches(r.template, path))
        .map_or(UNMATCHED, |r| r.template)
}

/// The `Allow` header for a template: every method the table has for it.
pub fn allow(template: &str) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for route in ROUTES.iter().filter(|r| r.template == template) {
        methods.push(route.method.as_str());
        if route.method == Method::GET {
            methods.push("HEAD");
        }
    }
    methods.join(", ")
}

/// `/files/` itself is the root folder (its index.html): a last `{path}` matches
/// the rest of the path, even nothing (see `asynclab_core::template`).
fn matches(template: &str, path: &str) -> bool {
    asynclab_core::template::matches(template, path)
}

/// Routes whose handler takes every method: the file server, and the httpbin
/// routes that do (`/anything`, `/status/{codes}`, ...).
fn every_method(template: &str) -> bool {
    template == FILES || asynclab_httpbin::takes_any_method(template)
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
