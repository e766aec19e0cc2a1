//! asynclab's live async-pattern endpoints: each route makes one pattern from the
//! tutorials visible in its answer, so you can curl it, load-test it and read the
//! code that does it. `docs/patterns.md` is the guide.
//!
//! | route | pattern | file |
//! |---|---|---|
//! | `GET /fanout` | sequential awaits vs `join_all` vs `spawn` | `fanout.rs` |
//! | `GET /race` | `select!`, cancellation by drop | `race.rs`, `guard.rs` |
//! | `GET /timeout` | `tokio::time::timeout` | `timeout.rs` |
//! | `GET /compute` | `spawn_blocking` + a semaphore | `compute.rs` |
//! | `GET /block` | blocking a worker (the mistake) | `block.rs` |
//! | `GET`/`POST /counter` | shared state, std `Mutex` in an `Arc` | `counter.rs` |
//! | `GET /events` | broadcast channel → SSE stream | `events.rs` |
//! | `GET /retry` | `tower::retry`: backoff, jitter, max attempts, a budget | `retry.rs` |
//!
//! The HTTP server mounts all of it with two calls: [`ROUTES`] for its index page,
//! route templates and `405`/`Allow`, and [`Demo::handle`], which answers any demo
//! path and returns `None` for the rest. [`Demo`] is built once and cloned into
//! every connection: a small struct of `Arc`s (the state is shared, not copied).

mod block;
mod compute;
mod counter;
mod error;
mod events;
mod fanout;
mod guard;
mod race;
mod reply;
mod retry;
mod timeout;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use asynclab_core::config::DemoConfig;
use asynclab_core::{Events, Shutdown};
use http::{Method, Request, Response, StatusCode, Uri};
use tokio::sync::Semaphore;

pub use compute::count_primes;
pub use error::DemoError;
pub use events::Ticket;
pub use reply::Body;

use asynclab_core::query::{Query, QueryError};
use counter::Counter;
use events::Feed;
use fanout::Mode;

/// One demo route, for the HTTP server's index page and its 405 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The exact path, which is also the route template (no path parameters).
    pub path: &'static str,
    /// The methods it takes, as an `Allow` header value.
    pub allow: &'static str,
    /// One line for the index.
    pub about: &'static str,
    /// Which handler answers it.
    kind: Kind,
}

/// The demo routes, so dispatch is an exhaustive `match` rather than string compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fanout,
    Race,
    Timeout,
    Compute,
    Block,
    Counter,
    Events,
    Retry,
}

impl Route {
    /// True when `method` is one of [`Route::allow`]'s.
    pub fn allows(&self, method: &Method) -> bool {
        self.allow.split(", ").any(|m| m == method.as_str())
    }
}

/// Every demo route. `HEAD` is allowed wherever `GET` is, as on the rest of the server.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/fanout",
        kind: Kind::Fanout,
        allow: "GET, HEAD",
        about: "n waits run sequentially, with join_all, or as spawned tasks (?n=3&delay=100ms&mode=join)",
    },
    Route {
        path: "/race",
        kind: Kind::Race,
        allow: "GET, HEAD",
        about: "select! between two waits; the loser is dropped (?a=100ms&b=50ms)",
    },
    Route {
        path: "/timeout",
        kind: Kind::Timeout,
        allow: "GET, HEAD",
        about: "work wrapped in tokio::time::timeout: 200 or 504 (?work=2s&limit=500ms)",
    },
    Route {
        path: "/compute",
        kind: Kind::Compute,
        allow: "GET, HEAD",
        about: "CPU work on the blocking pool with spawn_blocking (?n=1000000)",
    },
    Route {
        path: "/block",
        kind: Kind::Block,
        allow: "GET, HEAD",
        about: "the mistake: std::thread::sleep on a runtime worker (?ms=200; off unless http.demo.allow_blocking)",
    },
    Route {
        path: "/counter",
        kind: Kind::Counter,
        allow: "GET, HEAD, POST",
        about: "shared state: an Arc<Mutex> counter (POST ?by=1 adds)",
    },
    Route {
        path: "/events",
        kind: Kind::Events,
        allow: "GET, HEAD",
        about: "live Server-Sent Events from a broadcast channel (?for=10s ends the stream)",
    },
    Route {
        path: "/retry",
        kind: Kind::Retry,
        allow: "GET, HEAD",
        about: "a flaky call retried by tower::retry: backoff, jitter, budget (?fail=2&attempts=4&base=100ms)",
    },
];

/// The demo route at `path`, if any.
pub fn route(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.path == path)
}

/// The index line of the demo route at `path`, usable in a `static` route table
/// (`asynclab_demo::about("/race")`). A path that is not a demo route fails the
/// build, so the two tables cannot drift apart silently.
pub const fn about(path: &str) -> &'static str {
    let mut i = 0;
    while i < ROUTES.len() {
        if same(ROUTES[i].path.as_bytes(), path.as_bytes()) {
            return ROUTES[i].about;
        }
        i += 1;
    }
    panic!("not a demo route")
}

/// `a == b` for byte strings, in a `const fn` (where `==` on slices is not allowed yet).
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

/// Default values for parameters a request leaves out.
const DEFAULT_FANOUT_N: usize = 3;
const DEFAULT_WAIT: Duration = Duration::from_millis(100);
const DEFAULT_RACE_B: Duration = Duration::from_millis(50);
const DEFAULT_WORK: Duration = Duration::from_secs(2);
const DEFAULT_LIMIT: Duration = Duration::from_millis(500);
const DEFAULT_COMPUTE_N: u64 = 1_000_000;
const DEFAULT_BLOCK: Duration = Duration::from_millis(200);
/// `/retry`: attempts, the longest backoff and each attempt's work by default.
const DEFAULT_ATTEMPTS: u32 = 4;
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(2);
const DEFAULT_RETRY_WORK: Duration = Duration::from_millis(10);
/// The most one `POST /counter?by=` may add.
const MAX_COUNTER_STEP: u64 = 1000;

/// The config key that caps the waits `/fanout`, `/race` and `/timeout` ask for.
const MAX_DELAY_KEY: &str = "http.demo.max_delay";

/// The demo routes' shared state and settings. Clone it freely.
#[derive(Debug, Clone)]
pub struct Demo {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: DemoConfig,
    compute_jobs: Arc<Semaphore>,
    counter: Counter,
    feed: Feed,
    /// `/retry`'s retry budget, shared by every request.
    retry_budget: Arc<tower::retry::budget::TpsBudget>,
}

impl Demo {
    /// Builds the state once; `config` holds every cap a demo request meets.
    pub fn new(config: &DemoConfig, events: Events, shutdown: Shutdown) -> Self {
        Self {
            inner: Arc::new(Inner {
                config: config.clone(),
                compute_jobs: Arc::new(Semaphore::new(config.compute_jobs)),
                counter: Counter::default(),
                retry_budget: retry::budget(
                    config.retry_budget_percent,
                    config.retry_budget_min_per_sec,
                ),
                feed: Feed {
                    events,
                    shutdown,
                    slots: Arc::new(Semaphore::new(config.max_subscribers)),
                    max_subscribers: config.max_subscribers,
                    heartbeat: config.heartbeat,
                },
            }),
        }
    }

    /// A subscription to the live event feed, counted among the
    /// `http.demo.max_subscribers` like an `/events` stream: for another kind of
    /// stream of the same feed (the HTTP server's `GET /ws/events`).
    pub fn subscribe_events(&self) -> Result<Ticket, DemoError> {
        events::ticket(&self.inner.feed)
    }

    /// Answers a demo route, or `None` when `req`'s path is not one (the caller
    /// goes on to its own routes). A demo path with a method it does not take gets
    /// 405 with `Allow`; bad query values get 400 saying why.
    pub async fn handle<B>(&self, req: Request<B>) -> Option<Response<Body>> {
        let answer = self.prepare(req.method(), req.uri())?;
        drop(req);
        Some(answer.await)
    }

    /// Picks the handler for `method` and `uri` without borrowing either, so the
    /// returned future is `'static` and `Send` whatever the request body type.
    pub fn prepare(
        &self,
        method: &Method,
        uri: &Uri,
    ) -> Option<impl Future<Output = Response<Body>> + Send + 'static> {
        let route = route(uri.path())?;
        let demo = self.clone();
        let method = method.clone();
        let query = uri.query().map(str::to_owned);
        Some(async move {
            if !route.allows(&method) {
                return DemoError::MethodNotAllowed { allow: route.allow }.into_response();
            }
            demo.answer(route.kind, &method, query.as_deref())
                .await
                .unwrap_or_else(DemoError::into_response)
        })
    }

    async fn answer(
        &self,
        kind: Kind,
        method: &Method,
        query: Option<&str>,
    ) -> Result<Response<Body>, DemoError> {
        let config = &self.inner.config;
        let max_delay = config.max_delay;
        let ok = |value: serde_json::Value| reply::json(StatusCode::OK, &value);
        match kind {
            Kind::Fanout => {
                let q = Query::parse(query, &["n", "delay", "mode"])?;
                let n = q.number(
                    "n",
                    DEFAULT_FANOUT_N,
                    1,
                    config.max_fanout,
                    "http.demo.max_fanout",
                )?;
                let delay = q.duration("delay", DEFAULT_WAIT, max_delay, MAX_DELAY_KEY)?;
                let mode = Mode::parse(q.get("mode"))?;
                Ok(ok(fanout::fanout(n, delay, mode).await))
            }
            Kind::Race => {
                let q = Query::parse(query, &["a", "b"])?;
                let a = q.duration("a", DEFAULT_WAIT, max_delay, MAX_DELAY_KEY)?;
                let b = q.duration("b", DEFAULT_RACE_B, max_delay, MAX_DELAY_KEY)?;
                Ok(ok(race::race(a, b).await))
            }
            Kind::Timeout => {
                let q = Query::parse(query, &["work", "limit"])?;
                let work = q.duration("work", DEFAULT_WORK, max_delay, MAX_DELAY_KEY)?;
                let limit = q.duration("limit", DEFAULT_LIMIT, max_delay, MAX_DELAY_KEY)?;
                let (status, value) = timeout::timeout(work, limit).await;
                Ok(reply::json(status, &value))
            }
            Kind::Compute => {
                let q = Query::parse(query, &["n"])?;
                let n = q.number(
                    "n",
                    DEFAULT_COMPUTE_N.min(config.max_compute),
                    2,
                    config.max_compute,
                    "http.demo.max_compute",
                )?;
                Ok(ok(
                    compute::compute(self.inner.compute_jobs.clone(), n).await
                ))
            }
            Kind::Block => {
                if !config.allow_blocking {
                    return Err(DemoError::BlockingDisabled);
                }
                let q = Query::parse(query, &["ms"])?;
                let cap = config.max_block;
                let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
                let default_ms = u64::try_from(DEFAULT_BLOCK.min(cap).as_millis()).unwrap_or(0);
                let ms = q.number("ms", default_ms, 0, cap_ms, "http.demo.max_block")?;
                Ok(ok(block::block(Duration::from_millis(ms)).await))
            }
            Kind::Counter if method == Method::POST => {
                let q = Query::parse(query, &["by"])?;
                let by = q.number("by", 1, 1, MAX_COUNTER_STEP, "the demo's fixed limit")?;
                Ok(ok(self.inner.counter.increment(by)))
            }
            Kind::Counter => {
                Query::parse(query, &[])?;
                Ok(ok(self.inner.counter.read()))
            }
            Kind::Events => {
                let q = Query::parse(query, &["for"])?;
                let end_after = q.duration(
                    "for",
                    config.events_for,
                    config.max_events_for,
                    "http.demo.max_events_for",
                )?;
                events::subscribe(&self.inner.feed, end_after)
            }
            Kind::Retry => {
                let params = self.retry_params(query)?;
                let (status, value) = retry::retry(params, self.inner.retry_budget.clone()).await;
                Ok(reply::json(status, &value))
            }
        }
    }

    /// `/retry`'s query: every count and duration within its cap.
    fn retry_params(&self, query: Option<&str>) -> Result<retry::Params, DemoError> {
        let q = Query::parse(
            query,
            &[
                "fail",
                "chance",
                "attempts",
                "base",
                "max_backoff",
                "jitter",
                "work",
            ],
        )?;
        let config = &self.inner.config;
        let (max, max_delay) = (config.max_attempts, config.max_delay);
        let base = q.duration("base", DEFAULT_WAIT, max_delay, MAX_DELAY_KEY)?;
        let max_backoff =
            q.duration("max_backoff", DEFAULT_MAX_BACKOFF, max_delay, MAX_DELAY_KEY)?;
        if max_backoff < base || base.is_zero() {
            return Err(
                QueryError("`base` must be above zero and at most `max_backoff`".into()).into(),
            );
        }
        Ok(retry::Params {
            fail: q.number("fail", 2, 0, max, "http.demo.max_attempts")?,
            chance: q.number("chance", 0, 0, 100, "100 percent")?,
            attempts: q.number(
                "attempts",
                DEFAULT_ATTEMPTS.min(max),
                1,
                max,
                "http.demo.max_attempts",
            )?,
            base,
            max_backoff,
            jitter: q.number("jitter", 0.5, 0.0, 1.0, "1 (the whole backoff)")?,
            work: q.duration("work", DEFAULT_RETRY_WORK, max_delay, MAX_DELAY_KEY)?,
        })
    }
}
