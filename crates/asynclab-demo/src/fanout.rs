//! `GET /fanout?n=3&delay=100ms&mode=sequential|join|spawn`: the same `n` waits,
//! run three ways, with every wait's start and end offsets so the overlap shows.
//!
//! Pattern: **sequential vs concurrent awaits**. A future does nothing until it is
//! polled, and `.await` polls one future to the end before the next line runs, so
//! `for ... { wait().await }` takes `n × delay`. `join_all` polls all `n` futures
//! in *one* task, interleaving them at their `.await` points: the waits overlap and
//! the total is about one `delay`, with no extra threads or tasks. `spawn` makes
//! each wait its own task, which the runtime may run on any worker thread: also
//! about one `delay`, and the way to get *parallelism* when the work uses CPU.
//!
//! The spawned tasks live in a [`JoinSet`], not as detached `tokio::spawn`s: if the
//! client disconnects, hyper drops this handler, the `JoinSet` is dropped with it,
//! and that aborts every task it owns. Detached tasks would keep running for nobody.

use std::time::Duration;

use asynclab_core::query::QueryError;
use futures_util::future::join_all;
use serde::Serialize;
use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::DemoError;
use crate::reply::ms;

/// How the waits are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Sequential,
    Join,
    Spawn,
}

impl Mode {
    pub fn parse(raw: Option<&str>) -> Result<Self, DemoError> {
        match raw.unwrap_or("sequential") {
            "sequential" => Ok(Self::Sequential),
            "join" => Ok(Self::Join),
            "spawn" => Ok(Self::Spawn),
            other => Err(DemoError::BadQuery(QueryError(format!(
                "bad value for `mode`: `{other}` (try sequential, join or spawn)"
            )))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Join => "join",
            Self::Spawn => "spawn",
        }
    }

    fn explanation(self) -> &'static str {
        match self {
            Self::Sequential => {
                "each .await finished before the next wait began: the waits did not overlap, \
                 so the total is about n x delay"
            }
            Self::Join => {
                "join_all polled every wait in this one task, switching between them at each \
                 .await: the waits overlapped, so the total is about one delay"
            }
            Self::Spawn => {
                "each wait was its own task (tokio::spawn through a JoinSet), free to run on any \
                 worker thread: the waits overlapped, so the total is about one delay"
            }
        }
    }
}

/// One simulated I/O wait, as offsets from the start of the request.
#[derive(Debug, Serialize)]
struct Wait {
    index: usize,
    start_ms: f64,
    end_ms: f64,
}

/// A simulated I/O call: it starts when first polled, not when created.
async fn wait(index: usize, delay: Duration, origin: Instant) -> Wait {
    let start = origin.elapsed();
    tokio::time::sleep(delay).await;
    Wait {
        index,
        start_ms: ms(start),
        end_ms: ms(origin.elapsed()),
    }
}

pub(crate) async fn fanout(n: usize, delay: Duration, mode: Mode) -> serde_json::Value {
    let origin = Instant::now();
    let waits = match mode {
        Mode::Sequential => {
            let mut waits = Vec::with_capacity(n);
            for i in 0..n {
                // The next wait is not even created until this one is done.
                waits.push(wait(i, delay, origin).await);
            }
            waits
        }
        Mode::Join => join_all((0..n).map(|i| wait(i, delay, origin))).await,
        Mode::Spawn => {
            let mut set = JoinSet::new();
            for i in 0..n {
                set.spawn(wait(i, delay, origin));
            }
            let mut waits = Vec::with_capacity(n);
            while let Some(done) = set.join_next().await {
                waits.push(done.expect("a wait task neither panics nor is aborted while joined"));
            }
            // join_next yields in finishing order; show them in start order.
            waits.sort_by_key(|w| w.index);
            waits
        }
    };
    let total = origin.elapsed();
    let expected = match mode {
        Mode::Sequential => delay * u32::try_from(n).unwrap_or(u32::MAX),
        Mode::Join | Mode::Spawn => delay,
    };
    json!({
        "mode": mode.name(),
        "n": n,
        "delay_ms": ms(delay),
        "total_ms": ms(total),
        "expected_ms": ms(expected),
        "explanation": mode.explanation(),
        "waits": waits,
    })
}
