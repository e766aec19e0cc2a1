//! `FaultLayer`: the server misbehaves on purpose, so you can watch what
//! clients, proxies and load balancers do about it.
//!
//! `[http.faults]` (and the control API, while the server runs) sets an error
//! distribution (`503:5`: answer 503 to 5% of the requests), a delay
//! distribution (`2s:1`: wait 2 s before 1% of them), a random jitter on every
//! request, and a percent of connections closed without an answer. The probes
//! (`/healthz`, `/readyz`), `/metrics`, `/control/...` and the dashboard are never touched:
//! an operator must still see the truth and be able to turn the faults off.
//!
//! Pattern: **settings changed at run time, read without a lock on the fast
//! path.** The settings sit behind a `std::sync::RwLock` that a request reads
//! once, cloning an `Arc`, and never holds across an `.await` (a std lock held
//! across an await could block a worker thread). Before that, one atomic flag
//! says whether any fault is on: with faults off, which is the normal case,
//! that load is all this layer does, and it hands back the router's future
//! untouched (what that costs: `docs/performance.md`).
//!
//! How a connection is aborted: the answer is marked [`Aborted`], and
//! `error.rs` turns it into an error instead of a response. Every layer above
//! passes an error through, and hyper, given an error by the service, drops an
//! HTTP/1 connection without writing a byte (an HTTP/2 stream is reset
//! instead: the connection's other streams go on).
//!
//! Why our own layer: no tower or tower-http layer injects faults.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use asynclab_core::Metrics;
use asynclab_core::config::{FaultsConfig, Jitter};
use asynclab_core::sharded::ShardedCounter as Counter;
use futures_util::future::Either;
use http::header::HeaderValue;
use http::{Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use tower::{Layer, Service, ServiceExt};

use crate::body::{Body, text};
use crate::routes::RouteFuture;

/// The fault settings in force, and what they have done so far. Built once,
/// shared by every connection and by the control API.
#[derive(Debug)]
pub struct Faults {
    /// False when no fault is on: the only thing a request reads then.
    on: AtomicBool,
    settings: RwLock<Arc<FaultsConfig>>,
    /// `http.slow.max_delay`: no jitter sample waits longer.
    max_delay: Duration,
    /// Faults injected, by kind (`error`, `delay`, `abort`).
    pub injected: Family<KindLabels, Counter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

/// The kinds of fault, as counted.
pub const KINDS: [&str; 3] = ["error", "delay", "abort"];

impl Faults {
    pub fn new(settings: FaultsConfig, max_delay: Duration, metrics: &Metrics) -> Self {
        let faults = Self {
            on: AtomicBool::new(!settings.is_off()),
            settings: RwLock::new(Arc::new(settings)),
            max_delay,
            injected: Family::default(),
        };
        metrics.register(
            "http_faults_injected",
            "Faults injected on purpose ([http.faults], the control API), by kind: error, delay, abort",
            faults.injected.clone(),
        );
        faults
    }

    /// The settings in force now.
    pub fn current(&self) -> Arc<FaultsConfig> {
        self.settings
            .read()
            .expect("the fault settings lock is never held across a panic")
            .clone()
    }

    /// Replaces the settings; the next request sees them.
    pub fn set(&self, settings: FaultsConfig) {
        let on = !settings.is_off();
        *self
            .settings
            .write()
            .expect("the fault settings lock is never held across a panic") = Arc::new(settings);
        self.on.store(on, Ordering::Release);
    }

    /// How many faults of `kind` were injected. (`get`, not `get_or_create`:
    /// reading must not make a series that nothing has counted yet.)
    pub fn count(&self, kind: &'static str) -> u64 {
        self.injected
            .get(&KindLabels { kind })
            .map_or(0, |c| c.get())
    }

    /// What happens to one request, counted.
    fn roll(&self) -> Decision {
        let settings = self.current();
        let decision = decide(&settings, self.max_delay, &mut rand::rng());
        if !decision.delay.is_zero() {
            self.injected
                .get_or_create(&KindLabels { kind: "delay" })
                .inc();
        }
        let kind = match decision.outcome {
            Outcome::Pass => return decision,
            Outcome::Error(_) => "error",
            Outcome::Abort => "abort",
        };
        self.injected.get_or_create(&KindLabels { kind }).inc();
        decision
    }
}

/// What the layer does to one request: wait `delay`, then `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub delay: Duration,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The route answers as usual.
    Pass,
    /// This status instead of the route's answer.
    Error(StatusCode),
    /// The connection is closed without an answer.
    Abort,
}

/// Draws one request's fate from `settings`. The generator is the caller's,
/// so a test with a seeded one gets the same draws every run.
pub fn decide(settings: &FaultsConfig, max_delay: Duration, rng: &mut impl Rng) -> Decision {
    let mut delay = settings
        .delays
        .pick(rng.random::<f64>())
        .copied()
        .unwrap_or_default();
    delay += match settings.jitter {
        Jitter::None => Duration::ZERO,
        Jitter::Uniform(max) => max.mul_f64(rng.random::<f64>()),
        Jitter::LogNormal(median) => {
            // ln(median) is the mean of the underlying normal; sigma 1.
            let dist = LogNormal::new(median.as_secs_f64().max(1e-9).ln(), 1.0)
                .expect("sigma 1 is a valid log-normal shape");
            Duration::from_secs_f64(dist.sample(rng).min(max_delay.as_secs_f64()))
        }
    };
    let outcome = if rng.random_range(0.0..100.0) < settings.abort {
        Outcome::Abort
    } else {
        match settings.errors.pick(rng.random::<f64>()) {
            Some(&code) => Outcome::Error(
                StatusCode::from_u16(code).expect("codes are checked to be 200 to 599"),
            ),
            None => Outcome::Pass,
        }
    };
    Decision {
        delay: delay.min(max_delay),
        outcome,
    }
}

/// The routes no fault touches: the probes, the operator's views (`/metrics`,
/// `/stats`: they report the faults, so they must not suffer them), the
/// control API and the dashboard (the page that turns the faults off).
fn exempt(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/stats" | "/control" | "/dashboard"
    ) || path.starts_with("/control/")
        || path.starts_with("/dashboard/")
}

/// The error a request's future ends with when its connection is to be
/// aborted: hyper closes the connection without an answer.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("connection aborted on purpose (http.faults.abort)")]
pub struct Aborted;

/// Injects the faults of a [`Faults`] (see the module doc).
#[derive(Debug, Clone)]
pub struct FaultLayer {
    faults: Arc<Faults>,
}

impl FaultLayer {
    pub fn new(faults: Arc<Faults>) -> Self {
        Self { faults }
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> FaultService<S> {
        FaultService {
            inner,
            faults: self.faults.clone(),
        }
    }
}

/// The service made by [`FaultLayer`].
#[derive(Debug, Clone)]
pub struct FaultService<S> {
    inner: S,
    faults: Arc<Faults>,
}

/// The fault layer wraps the router and answers with the router's own future
/// type: a request with a fault is one more boxed future, like a handler that
/// waits, and a request without one gets the router's future untouched. So with
/// faults off nothing is wrapped or moved once more: the cost is the flag's load.
impl<S> Service<Request<Body>> for FaultService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future = RouteFuture>
        + Clone
        + Send
        + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = RouteFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> RouteFuture {
        // The fast path: one atomic load when no fault is on.
        if !self.faults.on.load(Ordering::Acquire) || exempt(req.uri().path()) {
            return self.inner.call(req);
        }
        let Decision { delay, outcome } = self.faults.roll();
        if delay.is_zero() && outcome == Outcome::Pass {
            return self.inner.call(req);
        }
        // `poll_ready` made `self.inner` ready for this request: take that one
        // and leave a fresh clone for the next (tower's documented pattern for
        // a service called from a future).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Either::Right(Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match outcome {
                Outcome::Pass => inner.oneshot(req).await,
                Outcome::Error(status) => Ok(injected(status)),
                Outcome::Abort => Ok(aborted()),
            }
        }))
    }
}

/// An answer marked [`Aborted`]: `error.rs` turns it into the error that makes
/// hyper close the connection (the router's future cannot fail itself).
fn aborted() -> Response<Body> {
    let mut res = Response::new(crate::body::empty());
    res.extensions_mut().insert(Aborted);
    res
}

/// The answer of an injected error, marked as such for whoever reads headers.
fn injected(status: StatusCode) -> Response<Body> {
    let mut res = text(
        status,
        format!("fault injected: {status} (http.faults.errors)\n"),
    );
    res.headers_mut()
        .insert("x-fault-injected", HeaderValue::from_static("error"));
    res
}

#[cfg(test)]
#[path = "faults_tests.rs"]
mod tests;
