//! The route table: which handler answers which method and path.
//!
//! Pattern: **routing is data.** A route is one line of [`ROUTES`]: method, path
//! template, handler, and the one-line description `GET /` prints. Looking a request
//! up yields the route *template* (`/files/{path}`) as well as the handler, so logs
//! and metrics are labelled by template, never by raw path. No macro magic and no
//! framework: a linear scan over a dozen entries costs less than parsing the request.
//!
//! To add a route, add one line below (and write the handler). Several lines may
//! share a path with different methods; `HEAD` is answered by the `GET` handler
//! (hyper drops the body and keeps the headers). A route marked `ANY` takes every
//! method and answers the ones it does not serve itself (the file server, whose
//! methods depend on its settings: `PUT` only when uploads are on).

use std::future::Future;
use std::pin::Pin;

use http::{Method, Request, Response};

use crate::body::Body;
use crate::error::HttpError;
use crate::handlers;
use crate::state::AppState;

/// What a handler that waits returns: a boxed future, so handlers of different
/// types fit in one table.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, HttpError>> + Send>>;

/// A handler as the table holds it.
///
/// Pattern: **not every handler needs to be `async`.** One that has nothing to
/// wait for (`/fast`, the probes, `/metrics`) is a plain function from the state
/// and the request to a response, called in place: no future is made, boxed or
/// polled, and the pipeline answers before hyper even asks. One that waits (a
/// timer, a semaphore, a body, a file) returns the future that will answer.
#[derive(Debug, Clone, Copy)]
pub enum Handler {
    /// Answers at once.
    Now(fn(&AppState, Request<Body>) -> Result<Response<Body>, HttpError>),
    /// Returns a future, which gets the request deadline (`http.request_timeout`).
    Later(fn(&AppState, Request<Body>) -> HandlerFuture),
}

/// One line of the route table.
#[derive(Debug)]
pub struct Route {
    /// The method served (for an `ANY` route: the one shown and counted as usual).
    pub method: Method,
    /// `ANY`: every method reaches the handler, which sends its own 405s.
    pub any_method: bool,
    /// An exact path (`/fast`), or a prefix ending in `{path}` (`/files/{path}`).
    pub template: &'static str,
    pub handler: Handler,
    /// Shown by `GET /`.
    pub about: &'static str,
}

/// `route!(GET "/slow" => handlers::slow, "what it does")`: one table line.
///
/// `now` marks a handler that answers without waiting (`route!(GET "/fast" => now
/// handlers::fast, ..)`), taken as it is. Any other is an `async fn` from an owned
/// state and the request: the closure gives it its own clone of the state (the
/// future must own what it uses) and boxes its future; it captures nothing, so
/// it is a plain `fn`.
macro_rules! route {
    (ANY $template:literal => $handler:path, $about:expr) => {
        Route {
            any_method: true,
            ..route!(GET $template => $handler, $about)
        }
    };
    ($method:ident $template:literal => now $handler:path, $about:expr) => {
        route!(@line $method $template, Handler::Now($handler), $about)
    };
    ($method:ident $template:literal => $handler:path, $about:expr) => {
        route!(@line $method $template,
            Handler::Later(|state, req| Box::pin($handler(state.clone(), req))), $about)
    };
    (@line $method:ident $template:literal, $handler:expr, $about:expr) => {
        Route {
            method: Method::$method,
            any_method: false,
            template: $template,
            handler: $handler,
            about: $about,
        }
    };
}

/// Every route the server answers.
pub static ROUTES: &[Route] = &[
    route!(GET "/" => now handlers::index, "this index"),
    route!(GET "/about" => now handlers::about, "name, version, what asynclab is"),
    route!(GET "/fast" => now handlers::fast, "answers at once"),
    route!(GET "/slow" => handlers::slow, "waits ?delay=2s without blocking anything, then answers"),
    route!(GET "/limited" => handlers::limited, "a semaphore lets ?work=1s run for only a few requests at once"),
    route!(POST "/echo" => handlers::echo, "streams the request body back"),
    route!(GET "/stats" => now handlers::stats, "JSON: in-flight requests, totals by route, limits"),
    route!(GET "/info" => now handlers::info, "JSON: name, version, host, pid, uptime, workers"),
    route!(GET "/healthz" => now handlers::healthz, "liveness: 200 while the process is up"),
    route!(GET "/readyz" => now handlers::readyz, "readiness: 503 once a shutdown starts"),
    route!(GET "/metrics" => now handlers::metrics, "Prometheus metrics"),
    // The async-pattern demos live in `asynclab-demo`, which also owns their index
    // lines; `demo_routes_match_the_demo_table` below keeps the methods in step.
    route!(GET "/fanout" => handlers::demo, asynclab_demo::about("/fanout")),
    route!(GET "/race" => handlers::demo, asynclab_demo::about("/race")),
    route!(GET "/timeout" => handlers::demo, asynclab_demo::about("/timeout")),
    route!(GET "/compute" => handlers::demo, asynclab_demo::about("/compute")),
    route!(GET "/block" => handlers::demo, asynclab_demo::about("/block")),
    route!(GET "/counter" => handlers::demo, asynclab_demo::about("/counter")),
    route!(POST "/counter" => handlers::demo, "adds ?by=1 to the shared counter"),
    route!(GET "/events" => handlers::demo, asynclab_demo::about("/events")),
    // The file server knows which methods it allows (PUT only when uploads are
    // on), so every method under /files/ goes to it.
    route!(ANY "/files/{path}" => handlers::files, "static files from files.root (PUT when files.upload is on)"),
];

/// The template reported for requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The outcome of looking a request up.
#[derive(Debug)]
pub enum Found {
    /// `index` is the route's position in [`ROUTES`] (for per-route counters).
    Route {
        index: usize,
        route: &'static Route,
    },
    /// The path exists with other methods.
    WrongMethod {
        template: &'static str,
    },
    NotFound,
}

impl Found {
    /// The template to log and label metrics with.
    pub fn template(&self) -> &'static str {
        match self {
            Found::Route { route, .. } => route.template,
            Found::WrongMethod { template } => template,
            Found::NotFound => UNMATCHED,
        }
    }

    /// Index into per-route counters (the last slot counts unmatched requests).
    pub fn index(&self) -> usize {
        match self {
            Found::Route { index, .. } => *index,
            _ => ROUTES.len(),
        }
    }
}

/// Finds the route for `method` and `path`.
pub fn find(method: &Method, path: &str) -> Found {
    let mut path_known = None;
    for (index, route) in ROUTES.iter().enumerate() {
        if !matches(route.template, path) {
            continue;
        }
        if route.any_method
            || route.method == method
            || (route.method == Method::GET && method == Method::HEAD)
        {
            return Found::Route { index, route };
        }
        path_known = Some(route.template);
    }
    match path_known {
        Some(template) => Found::WrongMethod { template },
        None => Found::NotFound,
    }
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

fn matches(template: &str, path: &str) -> bool {
    match template.strip_suffix("{path}") {
        // `/files/` itself is the root folder (its index.html).
        Some(prefix) => path.starts_with(prefix),
        None => template == path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_yields_templates_and_methods() {
        assert!(
            matches!(find(&Method::GET, "/fast"), Found::Route { route, .. } if route.template == "/fast")
        );
        assert!(matches!(find(&Method::HEAD, "/fast"), Found::Route { .. }));
        assert_eq!(
            find(&Method::GET, "/files/a/b.txt").template(),
            "/files/{path}"
        );
        assert_eq!(find(&Method::GET, "/files/").template(), "/files/{path}");
        // Every method reaches the file server, counted under its own route.
        for method in [Method::PUT, Method::DELETE, Method::POST] {
            assert!(matches!(
                find(&method, "/files/x"),
                Found::Route { route, .. } if route.template == "/files/{path}"
            ));
        }
        assert!(matches!(find(&Method::GET, "/filesx"), Found::NotFound));
        assert!(matches!(
            find(&Method::DELETE, "/fast"),
            Found::WrongMethod { template: "/fast" }
        ));
        assert!(matches!(find(&Method::GET, "/nope"), Found::NotFound));
        assert_eq!(allow("/fast"), "GET, HEAD");
        assert_eq!(allow("/echo"), "POST");
    }

    #[test]
    fn demo_routes_match_the_demo_table() {
        for demo in asynclab_demo::ROUTES {
            assert_eq!(allow(demo.path), demo.allow, "{}", demo.path);
        }
    }
}
