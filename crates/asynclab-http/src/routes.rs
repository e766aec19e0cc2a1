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
//! never the raw path; it has a file of its own, `routes/table.rs`. A unit test
//! keeps the table and the `match` in step. To add a route: one arm in the
//! `match`, one line in the table.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::Either;
use http::{Method, Request, Response};
use tower::Service;

use crate::body::Body;
use crate::dashboard;
use crate::error::HttpError;
use crate::handlers::{control, echo, limited, mounted, probes, slow};
use crate::state::AppState;
use crate::ws::{self, Endpoint};

mod table;

use table::FILES;
pub use table::ROUTES;

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
            ("GET" | "HEAD", "/healthz") => now(Ok(probes::healthz(state))),
            ("GET" | "HEAD", "/readyz") => now(Ok(probes::readyz(state))),
            ("GET" | "HEAD", "/metrics") => now(Ok(probes::metrics(state, req.headers()))),
            (
                "GET" | "HEAD",
                path @ ("/dashboard" | "/dashboard/dashboard.js" | "/dashboard/dashboard.css"),
            ) => now(dashboard::page(state, path)),
            ("GET" | "HEAD", "/dashboard/stream") => now(dashboard::stream(state)),
            // The handshake is checked (a HEAD is refused there) and answered
            // 101, or 200 to an HTTP/2 extended CONNECT; the socket is then run
            // by the connection's task, or one of its own (`ws/`).
            ("GET" | "HEAD" | "CONNECT", "/ws/echo") => {
                now(ws::handshake(state, req, Endpoint::Echo))
            }
            ("GET" | "HEAD" | "CONNECT", "/ws/events") => {
                now(ws::handshake(state, req, Endpoint::Events))
            }
            (
                "GET" | "HEAD",
                "/fanout" | "/race" | "/timeout" | "/compute" | "/block" | "/counter" | "/events"
                | "/retry",
            )
            | ("POST", "/counter") => later(mounted::demo(state.clone(), req)),
            // The control API answers 404 while no token is set, and knows its methods.
            (_, "/control") => later(control::control(state.clone(), req)),
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

/// The template reported for requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The route for `method` and `path`, in one pass over the table: its index
/// into [`ROUTES`] (`ROUTES.len()` when no route serves it: the per-route
/// counters' last slot) and the template it is labelled with (the first route
/// whose template the path matches, as [`template`] says).
pub fn lookup(method: &Method, path: &str) -> (usize, &'static str) {
    let mut template = None;
    for (i, route) in ROUTES.iter().enumerate() {
        if !matches(route.template, path) {
            continue;
        }
        let named = *template.get_or_insert(route.template);
        // The method first: comparing it is cheap, and it decides most
        // requests before the table of every-method routes is searched.
        if route.method == method
            || (route.method == Method::GET && method == Method::HEAD)
            || every_method(route.template)
        {
            return (i, named);
        }
    }
    (ROUTES.len(), template.unwrap_or(UNMATCHED))
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
