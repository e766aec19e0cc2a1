//! The route table: every route the server answers, as data.
//!
//! Not async at all: a `static` list that `GET /` prints, that a 405 reads its
//! `Allow` header from, and whose templates label the logs and metrics (see
//! `routes.rs`, which holds the `match` this table describes; a unit test in
//! `routes_tests.rs` keeps the two in step). To add a route: one arm in the
//! `match`, one line here.

use http::Method;

/// The file server's template: every method under it reaches the file server.
pub(super) const FILES: &str = "/files/{path}";

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
        "liveness: 200 while the process is up (503 when the control API says fail)",
    ),
    route(
        Method::GET,
        "/readyz",
        "readiness: 503 once a shutdown starts (or as the control API says)",
    ),
    route(Method::GET, "/metrics", "Prometheus metrics"),
    route(
        Method::GET,
        "/dashboard",
        "a live page: requests/s, latency, connections, /limited, faults (http.dashboard)",
    ),
    route(
        Method::GET,
        "/dashboard/dashboard.js",
        "the dashboard's script, compiled into the binary",
    ),
    route(
        Method::GET,
        "/dashboard/dashboard.css",
        "the dashboard's style, compiled into the binary",
    ),
    route(
        Method::GET,
        "/dashboard/stream",
        "Server-Sent Events: a snapshot of the counters per http.dashboard.interval",
    ),
    route(
        Method::GET,
        "/control",
        "control API state (404 unless control.token is set; Bearer token)",
    ),
    route(
        Method::POST,
        "/control",
        "control API: change readiness, liveness, faults, permits, log filter",
    ),
    route(
        Method::DELETE,
        "/control",
        "control API: back to the configured values",
    ),
    route(Method::GET, "/fanout", asynclab_demo::about("/fanout")),
    route(Method::GET, "/race", asynclab_demo::about("/race")),
    route(Method::GET, "/timeout", asynclab_demo::about("/timeout")),
    route(Method::GET, "/compute", asynclab_demo::about("/compute")),
    route(Method::GET, "/block", asynclab_demo::about("/block")),
    route(Method::GET, "/counter", asynclab_demo::about("/counter")),
    route(Method::POST, "/counter", "adds ?by=1 to the shared counter"),
    route(Method::GET, "/events", asynclab_demo::about("/events")),
    route(Method::GET, "/retry", asynclab_demo::about("/retry")),
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
        Method::CONNECT,
        "/ws/echo",
        "WebSocket over HTTP/2 (RFC 8441 extended CONNECT)",
    ),
    route(
        Method::CONNECT,
        "/ws/events",
        "WebSocket over HTTP/2 (RFC 8441 extended CONNECT)",
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
