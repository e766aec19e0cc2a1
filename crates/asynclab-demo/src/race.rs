//! `GET /race?a=100ms&b=50ms`: `tokio::select!` between two waits.
//!
//! Pattern: **select! and cancellation by drop**. `select!` polls both branches in
//! this task and returns as soon as one completes; the other branch's future is
//! then *dropped*, mid-`.await`. Nothing after its `.await` runs, and its
//! destructors do. That is what cancellation means in async Rust, so a branch must
//! be "cancel safe": dropping it at an `.await` must not lose data (a `sleep` is;
//! a half-read message is not). Each branch carries a drop guard, so the answer
//! reports what happened to the loser instead of asserting it.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::guard::Dropped;
use crate::reply::ms;

/// One branch: wait, then say who we are. The guard notices if we never got there.
async fn branch(name: &'static str, delay: Duration, dropped: Dropped) -> &'static str {
    let guard = dropped.guard(name);
    tokio::time::sleep(delay).await;
    guard.finish();
    name
}

pub(crate) async fn race(a: Duration, b: Duration) -> serde_json::Value {
    let (a_dropped, b_dropped) = (Dropped::default(), Dropped::default());
    let started = Instant::now();
    // Both branches run concurrently in this one task; the first to finish wins.
    // (Without `biased;`, select! polls them in random order each time, so a tie
    // has no favourite.)
    let winner = tokio::select! {
        name = branch("a", a, a_dropped.clone()) => name,
        name = branch("b", b, b_dropped.clone()) => name,
    };
    // select! has returned, so the losing future no longer exists: its guard ran.
    let elapsed = started.elapsed();
    let (loser, loser_dropped) = match winner {
        "a" => ("b", b_dropped.happened()),
        _ => ("a", a_dropped.happened()),
    };
    json!({
        "a_ms": ms(a),
        "b_ms": ms(b),
        "winner": winner,
        "loser": loser,
        "loser_dropped": loser_dropped,
        "elapsed_ms": ms(elapsed),
        "explanation": format!(
            "select! polled both waits in one task and returned when `{winner}` finished; \
             the `{loser}` future was then dropped mid-.await (its drop guard ran), so its \
             remaining work never happened: that is cancellation in async Rust"
        ),
    })
}
