//! The httpbin routes as data: templates, methods, one line each for the index,
//! and which handler answers. The server's own route table takes its lines from
//! here ([`about`]), and [`route`] finds the route a path is an instance of.

use asynclab_core::template;
use http::Method;

use crate::{formats, inspect, redirect};

/// `allow` of a route that takes every method (httpbin's `/anything`, `/status`...).
pub const ANY: &str = "any";

/// One httpbin route, for the HTTP server's index page, labels and 405s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The template: `/get`, `/status/{codes}`, `/anything/{path}`.
    pub template: &'static str,
    /// The methods it takes, as an `Allow` header value, or [`ANY`].
    pub allow: &'static str,
    /// One line for the index.
    pub about: &'static str,
    pub(crate) kind: Kind,
}

impl Route {
    /// True when `method` is one this route takes.
    pub fn allows(&self, method: &Method) -> bool {
        self.allow == ANY || self.allow.split(", ").any(|m| m == method.as_str())
    }

    /// The method the server's route table files it under (its first).
    pub fn method(&self) -> &'static str {
        match self.allow {
            ANY => "GET",
            allow => allow.split(", ").next().unwrap_or("GET"),
        }
    }
}

/// Which handler answers a route: dispatch is an exhaustive `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Inspect(inspect::Shape),
    Headers,
    Ip,
    UserAgent,
    Uuid,
    Status,
    Delay,
    Bytes,
    StreamBytes,
    Stream,
    Drip,
    Range,
    Base64,
    Redirect(redirect::Hops),
    RedirectTo,
    ResponseHeaders,
    Cookies,
    CookiesSet,
    CookiesDelete,
    BasicAuth { hidden: bool },
    Bearer,
    Cache,
    CacheFor,
    Etag,
    Format(formats::Doc),
}

const fn r(template: &'static str, allow: &'static str, kind: Kind, about: &'static str) -> Route {
    Route {
        template,
        allow,
        about,
        kind,
    }
}

const GET: &str = "GET, HEAD";

/// Every httpbin route, in the order `GET /` lists them.
pub const ROUTES: &[Route] = &[
    r(
        "/get",
        GET,
        Kind::Inspect(inspect::Shape::Get),
        "httpbin: the request's args, headers, origin and url as JSON",
    ),
    r(
        "/post",
        "POST",
        Kind::Inspect(inspect::Shape::Body),
        "httpbin: the request as JSON, with its body parsed (data, form, files, json)",
    ),
    r(
        "/put",
        "PUT",
        Kind::Inspect(inspect::Shape::Body),
        "httpbin: as /post, for PUT",
    ),
    r(
        "/patch",
        "PATCH",
        Kind::Inspect(inspect::Shape::Body),
        "httpbin: as /post, for PATCH",
    ),
    r(
        "/delete",
        "DELETE",
        Kind::Inspect(inspect::Shape::Body),
        "httpbin: as /post, for DELETE",
    ),
    r(
        "/anything",
        ANY,
        Kind::Inspect(inspect::Shape::Anything),
        "httpbin: any method; the request as JSON, with its method",
    ),
    r(
        "/anything/{path}",
        ANY,
        Kind::Inspect(inspect::Shape::Anything),
        "httpbin: as /anything, under any path",
    ),
    r(
        "/headers",
        GET,
        Kind::Headers,
        "httpbin: the request headers as JSON",
    ),
    r(
        "/ip",
        GET,
        Kind::Ip,
        "httpbin: the client's address as JSON",
    ),
    r(
        "/user-agent",
        GET,
        Kind::UserAgent,
        "httpbin: the User-Agent as JSON",
    ),
    r(
        "/uuid",
        GET,
        Kind::Uuid,
        "httpbin: a random UUID (version 4)",
    ),
    r(
        "/status/{codes}",
        ANY,
        Kind::Status,
        "httpbin: that status, or a weighted choice (/status/200:90,503:10)",
    ),
    r(
        "/delay/{n}",
        ANY,
        Kind::Delay,
        "httpbin: waits n seconds (at most http.httpbin.max_delay), then answers",
    ),
    r(
        "/bytes/{n}",
        GET,
        Kind::Bytes,
        "httpbin: n random bytes (?seed= for the same bytes every time)",
    ),
    r(
        "/stream-bytes/{n}",
        GET,
        Kind::StreamBytes,
        "httpbin: n random bytes, streamed in ?chunk_size= pieces",
    ),
    r(
        "/stream/{n}",
        GET,
        Kind::Stream,
        "httpbin: n lines of JSON, streamed",
    ),
    r(
        "/drip",
        GET,
        Kind::Drip,
        "httpbin: ?numbytes= bytes dripped over ?duration= seconds",
    ),
    r(
        "/range/{n}",
        GET,
        Kind::Range,
        "httpbin: n bytes that honour Range requests (206)",
    ),
    r(
        "/base64/{value}",
        GET,
        Kind::Base64,
        "httpbin: the value, base64-decoded",
    ),
    r(
        "/redirect/{n}",
        GET,
        Kind::Redirect(redirect::Hops::Relative),
        "httpbin: n relative 302 redirects, then /get",
    ),
    r(
        "/relative-redirect/{n}",
        GET,
        Kind::Redirect(redirect::Hops::Relative),
        "httpbin: n relative 302 redirects, then /get",
    ),
    r(
        "/absolute-redirect/{n}",
        GET,
        Kind::Redirect(redirect::Hops::Absolute),
        "httpbin: n absolute 302 redirects, then /get",
    ),
    r(
        "/redirect-to",
        ANY,
        Kind::RedirectTo,
        "httpbin: redirects to ?url= (this host, relative, or http.httpbin.allowed_redirect_hosts)",
    ),
    r(
        "/response-headers",
        "GET, HEAD, POST",
        Kind::ResponseHeaders,
        "httpbin: answers with the headers given as ?Name=value",
    ),
    r(
        "/cookies",
        GET,
        Kind::Cookies,
        "httpbin: the request's cookies as JSON",
    ),
    r(
        "/cookies/set",
        GET,
        Kind::CookiesSet,
        "httpbin: sets the cookies ?name=value, redirects to /cookies",
    ),
    r(
        "/cookies/delete",
        GET,
        Kind::CookiesDelete,
        "httpbin: expires the cookies ?name, redirects to /cookies",
    ),
    r(
        "/basic-auth/{user}/{passwd}",
        GET,
        Kind::BasicAuth { hidden: false },
        "httpbin: 200 for those Basic credentials, else 401",
    ),
    r(
        "/hidden-basic-auth/{user}/{passwd}",
        GET,
        Kind::BasicAuth { hidden: true },
        "httpbin: 200 for those Basic credentials, else 404",
    ),
    r(
        "/bearer",
        GET,
        Kind::Bearer,
        "httpbin: 200 with a Bearer token, else 401",
    ),
    r(
        "/cache",
        GET,
        Kind::Cache,
        "httpbin: 304 to a conditional request, else 200",
    ),
    r(
        "/cache/{n}",
        GET,
        Kind::CacheFor,
        "httpbin: Cache-Control: public, max-age=n",
    ),
    r(
        "/etag/{etag}",
        GET,
        Kind::Etag,
        "httpbin: ETag, If-None-Match (304) and If-Match (412)",
    ),
    r(
        "/gzip",
        GET,
        Kind::Format(formats::Doc::Gzip),
        "httpbin: a gzip-encoded JSON document",
    ),
    r(
        "/deflate",
        GET,
        Kind::Format(formats::Doc::Deflate),
        "httpbin: a deflate-encoded JSON document",
    ),
    r(
        "/json",
        GET,
        Kind::Format(formats::Doc::Json),
        "httpbin: a JSON document",
    ),
    r(
        "/html",
        GET,
        Kind::Format(formats::Doc::Html),
        "httpbin: an HTML page",
    ),
    r(
        "/xml",
        GET,
        Kind::Format(formats::Doc::Xml),
        "httpbin: an XML document",
    ),
    r(
        "/robots.txt",
        GET,
        Kind::Format(formats::Doc::Robots),
        "httpbin: a robots.txt",
    ),
    r(
        "/deny",
        GET,
        Kind::Format(formats::Doc::Deny),
        "httpbin: the page robots.txt denies",
    ),
    r(
        "/encoding/utf8",
        GET,
        Kind::Format(formats::Doc::Utf8),
        "httpbin: a UTF-8 encoded page",
    ),
];

/// The httpbin route `path` is an instance of, if any.
pub fn route(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| template::matches(r.template, path))
}

/// The index line of the httpbin route with this template, usable in a `static`
/// route table (`asynclab_httpbin::about("/get")`). A template that is not an
/// httpbin route fails the build, so the two tables cannot drift apart silently.
pub const fn about(template: &str) -> &'static str {
    let mut i = 0;
    while i < ROUTES.len() {
        if same(ROUTES[i].template.as_bytes(), template.as_bytes()) {
            return ROUTES[i].about;
        }
        i += 1;
    }
    panic!("not an httpbin route")
}

/// `a == b` for byte strings, in a `const fn`.
const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// True when the route with this template takes every method (`/anything`,
/// `/status/{codes}`...): the server files every method under it.
pub fn takes_any_method(template: &str) -> bool {
    ROUTES
        .iter()
        .any(|r| r.template == template && r.allow == ANY)
}
